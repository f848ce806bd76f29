r"""The stability verdict of a cell: :func:`check` gathers the trajectory figures in a :class:`StabilityReport`.

Two properties are judged separately, each over the horizon of the inputs given (T steps):

* **bounded**: the trajectory stays finite and nothing explodes, i.e. the largest
  finite-time Lyapunov exponent is at most ``lyapunov_tol`` per step. Every contracting
  cell (an LSTM, a GRU) is bounded.
* **gradient-preserving**: a gradient sent back over the T steps neither vanishes nor
  explodes, i.e. for every sample the ratio ||v^T dY_T/dY_0|| (random unit v) lies in
  [1/``gradient_band``, ``gradient_band``]. This is the property the unification paper's
  Table 4 means by "stability" (URNN, ARNN, QUNN against the LSTM's "?"): it separates a
  rotation from a contraction, which "bounded" cannot.

Structural claims a cell makes about itself are checked too, and a failed one fails both
properties: anti-Hermitian weights (cells with ``anti_hermitian_weights()``) and exact
inverses (cells with ``inverse``, a round trip over the same T steps).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional, Union

import torch

from .. import _checks
from .._tree import flatten_dynamic
from .trajectory import _log_gradient_ratio, _lyapunov, _prepare, _round_trip, skewness

__all__ = ["PROPERTIES", "StabilityReport", "check"]

#: the properties :func:`check` can require, weakest first
PROPERTIES = ("bounded", "gradient-preserving")


@dataclass(frozen=True)
class StabilityReport:
    """Stability figures of a cell along one input sequence, with both verdicts.

    Exponents are per step; ``spectral_radius`` and ``jacobian_norm`` are the largest
    over steps and samples; ``lyapunov_exponent`` is the largest over samples;
    ``gradient_log10_range`` is (min, max) over samples of log10 ||v^T dY_T/dY_0||, and
    ``gradient_norm_ratio`` their geometric mean. ``steps`` is the horizon both verdicts cover.

    ``bounded`` and ``gradient_preserving`` are the two properties (see the module
    docstring); ``stable`` is the one asked for (``require``) together with the structural
    checks, and ``rule`` says why it holds or which condition failed first.
    """

    cell: str
    steps: int
    state_dim: int
    spectral_radius: float
    jacobian_norm: float
    lyapunov_exponent: float
    gradient_norm_ratio: float
    gradient_log10_range: tuple[float, float]
    skewness: Optional[float]
    round_trip_error: Optional[float]
    finite: bool
    bounded: bool
    gradient_preserving: bool
    require: str
    stable: bool
    rule: str
    lyapunov_tol: float = 1e-2
    gradient_band: float = 1e3

    @property
    def gradient_regime(self) -> str:
        """'exploding' or 'vanishing' when some sample leaves the band over the T steps, else 'preserved'."""
        low, high = self.gradient_log10_range
        limit = math.log10(self.gradient_band)
        if not math.isfinite(high) or high > limit:
            return "exploding"
        return "vanishing" if low < -limit else "preserved"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["gradient_log10_range"] = list(self.gradient_log10_range)
        out["gradient_regime"] = self.gradient_regime
        return out

    def __str__(self) -> str:
        def fmt(v: Any) -> str:
            if v is None:
                return "n/a"
            if isinstance(v, bool):
                return "yes" if v else "NO"
            return f"{v:.4g}" if isinstance(v, float) else str(v)

        low, high = self.gradient_log10_range
        band = f"10^{low:.3g} .. 10^{high:.3g}" if math.isfinite(low) and math.isfinite(high) else f"{low} .. {high}"
        rows = [
            ("cell", self.cell),
            ("horizon (steps)", self.steps),
            ("state dimension", self.state_dim),
            ("max spectral radius of dY'/dY", self.spectral_radius),
            ("max spectral norm of dY'/dY", self.jacobian_norm),
            ("largest Lyapunov exponent / step", self.lyapunov_exponent),
            ("gradient-norm ratio over T", f"{band} ({self.gradient_regime})"),
            ("skewness ||W + W^H||", self.skewness),
            ("round-trip error", self.round_trip_error),
            (f"bounded (exponent <= {self.lyapunov_tol:g})", self.bounded),
            (
                f"gradient-preserving (ratio in 1/{self.gradient_band:g} .. {self.gradient_band:g})",
                self.gradient_preserving,
            ),
            (f"verdict ({self.require})", "stable" if self.stable else "UNSTABLE"),
            ("rule", self.rule),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {fmt(value)}" for name, value in rows)


def check(
    cell: Any,
    inputs: Union[torch.Tensor, int],
    state: Any = None,
    *,
    require: str = "gradient-preserving",
    lyapunov_tol: float = 1e-2,
    gradient_band: float = 1e3,
    reversibility_tol: float = 1e-8,
    skewness_tol: float = 1e-8,
    generator: Optional[torch.Generator] = None,
) -> StabilityReport:
    """Measure a cell's stability figures along ``inputs`` and judge both properties.

    Args:
        cell: any cell (``forward(x_t, state) -> (output, state)`` and ``initial_state``).
        inputs: (T, B, F) inputs, or a number of steps T for cells that take no input
            (then ``state`` is required). T is the horizon the verdicts cover: a cell
            that preserves gradients over 100 steps may not over 10,000.
        state: the initial state (default: ``cell.initial_state(B)``).
        require: the property ``stable`` reports, ``"gradient-preserving"`` (default: the
            unification paper's sense, which implies ``"bounded"`` here) or ``"bounded"``.
        lyapunov_tol: the largest finite-time Lyapunov exponent (per step) a bounded cell may have.
        gradient_band: the gradient-norm ratio over T steps must lie in [1/band, band] for every sample.
        reversibility_tol: the round-trip error allowed for cells with ``inverse``.
        skewness_tol: ||W + W^H||_F allowed for cells exposing ``anti_hermitian_weights()``.
        generator: seeds the random directions (QR start, gradient cotangent); by default a
            fixed seed (0), so that the same cell on the same inputs always gets the same verdict.

    Examples: a contraction Y' = 0.5 Y is bounded but not gradient-preserving (its ratio is
    0.5^T); an orthogonal Y' = Q Y is both; Y' = 1.5 Y is neither.
    """
    if require not in PROPERTIES:
        raise ValueError(f"require: expected one of {', '.join(map(repr, PROPERTIES))}, got {require!r}")
    for name, value in (
        ("lyapunov_tol", lyapunov_tol),
        ("reversibility_tol", reversibility_tol),
        ("skewness_tol", skewness_tol),
    ):
        _checks.positive_float(name, value)
    _checks.positive_float("gradient_band", gradient_band)
    if not gradient_band > 1.0:
        raise ValueError(f"gradient_band: expected a number above 1 (the band is [1/band, band]), got {gradient_band}")
    xs, state0 = _prepare(cell, inputs, state)
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    exponents, radii, norms, finite, _ = _lyapunov(cell, xs, state0, 1, generator)
    state_dim = flatten_dynamic(state0).shape[1]
    lyap = float(exponents[:, 0].max().item()) if finite else math.inf
    radius = float(torch.stack(radii).max().item()) if radii else math.nan
    norm = float(torch.stack(norms).max().item()) if norms else math.nan
    if finite:
        log_ratios = _log_gradient_ratio(cell, xs, state0, generator).double() / math.log(10.0)
        log_ratios = torch.nan_to_num(log_ratios, nan=math.inf)
        log_range = (float(log_ratios.min()), float(log_ratios.max()))
        ratio = float(torch.pow(10.0, log_ratios.mean()))  # 0 or inf where the mean under- or overflows
    else:
        log_range, ratio = (math.inf, math.inf), math.inf

    skew = None
    if callable(getattr(cell, "anti_hermitian_weights", None)):
        skew = max((skewness(w.detach()) for w in cell.anti_hermitian_weights()), default=0.0)
    trip = _round_trip(cell, xs, state0) if finite and callable(getattr(cell, "inverse", None)) else None

    horizon = f"over {len(xs)} steps"
    limit = math.log10(gradient_band)
    bounded = finite and lyap <= lyapunov_tol
    preserving = finite and -limit <= log_range[0] and log_range[1] <= limit
    structural = None
    if skew is not None and skew > skewness_tol:
        structural = f"weights not anti-Hermitian: ||W + W^H|| = {skew:.3g} > {skewness_tol:g}"
    elif trip is not None and trip > reversibility_tol:
        structural = f"not reversible {horizon}: round-trip error {trip:.3g} > {reversibility_tol:g}"

    if not finite:
        rule = f"the trajectory left the finite numbers within {len(xs)} steps"
    elif structural is not None:
        rule = structural
    elif not bounded:
        rule = f"not bounded {horizon}: largest Lyapunov exponent {lyap:.4g} > {lyapunov_tol:g} per step"
    elif require == "gradient-preserving" and not preserving:
        side = "below" if log_range[0] < -limit else "above"
        worst = log_range[0] if side == "below" else log_range[1]
        rule = (
            f"gradients not preserved {horizon}: gradient-norm ratio 10^{worst:.3g} {side} the band "
            f"[{1 / gradient_band:g}, {gradient_band:g}] ({'vanishing' if side == 'below' else 'exploding'})"
        )
    else:
        parts = [f"bounded {horizon}: largest Lyapunov exponent {lyap:.4g} <= {lyapunov_tol:g} per step"]
        if require == "gradient-preserving":
            parts.append(
                f"gradient-norm ratio 10^{log_range[0]:.3g} .. 10^{log_range[1]:.3g} within "
                f"[{1 / gradient_band:g}, {gradient_band:g}]"
            )
        if skew is not None:
            parts.append(f"||W + W^H|| = {skew:.3g} <= {skewness_tol:g}")
        if trip is not None:
            parts.append(f"round-trip error {trip:.3g} <= {reversibility_tol:g}")
        rule = "; ".join(parts)
    structure_ok = structural is None
    bounded = bounded and structure_ok
    preserving = preserving and structure_ok
    stable = bounded and (preserving or require == "bounded")

    return StabilityReport(
        cell=type(cell).__name__,
        steps=len(xs),
        state_dim=state_dim,
        spectral_radius=radius,
        jacobian_norm=norm,
        lyapunov_exponent=lyap,
        gradient_norm_ratio=ratio,
        gradient_log10_range=log_range,
        skewness=skew,
        round_trip_error=trip,
        finite=finite,
        bounded=bounded,
        gradient_preserving=preserving,
        require=require,
        stable=stable,
        rule=rule,
        lyapunov_tol=lyapunov_tol,
        gradient_band=gradient_band,
    )
