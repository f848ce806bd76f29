"""The stability verdict of a cell: :func:`check` gathers the trajectory figures in a :class:`StabilityReport`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional, Union

import torch

from .. import _checks
from .._tree import flatten_dynamic
from .trajectory import _gradient_ratio, _lyapunov, _prepare, _round_trip, skewness

__all__ = ["StabilityReport", "check"]


@dataclass(frozen=True)
class StabilityReport:
    """Stability figures of a cell along one input sequence, with a verdict.

    Exponents are per step; ``spectral_radius`` and ``jacobian_norm`` are the largest
    over steps and samples; ``gradient_norm_ratio`` is the geometric mean over samples.
    """

    cell: str
    steps: int
    state_dim: int
    spectral_radius: float
    jacobian_norm: float
    lyapunov_exponent: float
    gradient_norm_ratio: float
    skewness: Optional[float]
    round_trip_error: Optional[float]
    finite: bool
    stable: bool
    rule: str

    @property
    def gradient_regime(self) -> str:
        """'exploding' (ratio > 1e3), 'vanishing' (< 1e-3) or 'balanced' over the T steps."""
        if not math.isfinite(self.gradient_norm_ratio) or self.gradient_norm_ratio > 1e3:
            return "exploding"
        return "vanishing" if self.gradient_norm_ratio < 1e-3 else "balanced"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["gradient_regime"] = self.gradient_regime
        return out

    def __str__(self) -> str:
        def fmt(v: Any) -> str:
            return "n/a" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))

        rows = [
            ("cell", self.cell),
            ("steps", self.steps),
            ("state dimension", self.state_dim),
            ("max spectral radius of dY'/dY", self.spectral_radius),
            ("max spectral norm of dY'/dY", self.jacobian_norm),
            ("largest Lyapunov exponent / step", self.lyapunov_exponent),
            ("gradient-norm ratio over T", f"{fmt(self.gradient_norm_ratio)} ({self.gradient_regime})"),
            ("skewness ||W + W^H||", self.skewness),
            ("round-trip error", self.round_trip_error),
            ("verdict", "stable" if self.stable else "UNSTABLE"),
            ("rule", self.rule),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {fmt(value)}" for name, value in rows)


def check(
    cell: Any,
    inputs: Union[torch.Tensor, int],
    state: Any = None,
    *,
    lyapunov_tol: float = 1e-2,
    reversibility_tol: float = 1e-8,
    skewness_tol: float = 1e-8,
    generator: Optional[torch.Generator] = None,
) -> StabilityReport:
    """Measure a cell's stability figures along ``inputs`` and give a verdict.

    Args:
        cell: any cell (``forward(x_t, state) -> (output, state)`` and ``initial_state``).
        inputs: (L, B, F) inputs, or a number of steps for cells that take no input
            (then ``state`` is required).
        state: the initial state (default: ``cell.initial_state(B)``).
        lyapunov_tol: the largest finite-time Lyapunov exponent (per step) allowed.
        reversibility_tol: the round-trip error allowed for cells with ``inverse``.
        skewness_tol: ||W + W^H||_F allowed for cells exposing ``anti_hermitian_weights()``.
        generator: seeds the random directions (QR start, gradient cotangent).

    The verdict is ``stable`` when the trajectory stays finite, the weights of an
    anti-Hermitian cell are anti-Hermitian to ``skewness_tol``, a reversible cell
    round-trips to ``reversibility_tol``, and the largest Lyapunov exponent is at
    most ``lyapunov_tol``; ``rule`` names the first condition that failed, or all of them.
    """
    for name, value in (
        ("lyapunov_tol", lyapunov_tol),
        ("reversibility_tol", reversibility_tol),
        ("skewness_tol", skewness_tol),
    ):
        _checks.positive_float(name, value)
    xs, state0 = _prepare(cell, inputs, state)
    exponents, radii, norms, finite, _ = _lyapunov(cell, xs, state0, 1, generator)
    state_dim = flatten_dynamic(state0).shape[1]
    lyap = float(exponents[:, 0].max().item()) if finite else math.inf
    radius = float(torch.stack(radii).max().item()) if radii else math.nan
    norm = float(torch.stack(norms).max().item()) if norms else math.nan
    ratios = _gradient_ratio(cell, xs, state0, generator) if finite else torch.tensor([math.inf])
    ratio = float(torch.exp(torch.log(ratios.double()).mean()).item())

    skew = None
    if callable(getattr(cell, "anti_hermitian_weights", None)):
        skew = max((skewness(w.detach()) for w in cell.anti_hermitian_weights()), default=0.0)
    trip = _round_trip(cell, xs, state0) if finite and callable(getattr(cell, "inverse", None)) else None

    if not finite:
        stable, rule = False, f"the trajectory left the finite numbers within {len(xs)} steps"
    elif skew is not None and skew > skewness_tol:
        stable, rule = False, f"weights not anti-Hermitian: ||W + W^H|| = {skew:.3g} > {skewness_tol:g}"
    elif trip is not None and trip > reversibility_tol:
        stable, rule = False, f"not reversible: round-trip error {trip:.3g} > {reversibility_tol:g}"
    elif lyap > lyapunov_tol:
        stable, rule = False, f"largest Lyapunov exponent {lyap:.4g} > {lyapunov_tol:g} per step"
    else:
        parts = [f"finite trajectory, largest Lyapunov exponent {lyap:.4g} <= {lyapunov_tol:g} per step"]
        if skew is not None:
            parts.append(f"||W + W^H|| = {skew:.3g} <= {skewness_tol:g}")
        if trip is not None:
            parts.append(f"round-trip error {trip:.3g} <= {reversibility_tol:g}")
        stable, rule = True, "; ".join(parts)

    return StabilityReport(
        cell=type(cell).__name__,
        steps=len(xs),
        state_dim=state_dim,
        spectral_radius=radius,
        jacobian_norm=norm,
        lyapunov_exponent=lyap,
        gradient_norm_ratio=ratio,
        skewness=skew,
        round_trip_error=trip,
        finite=finite,
        stable=stable,
        rule=rule,
    )
