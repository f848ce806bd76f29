r"""Stability analysis, at the level of a tableau and of a cell.

Tableau level. A Runge–Kutta step applied to y' = lambda y multiplies y by the
stability function

    R(z) = 1 + z b^T (I - z A)^{-1} 1,      z = h lambda,

so the step is stable for the eigenvalue lambda when |R(h lambda)| <= 1. For an
explicit s-stage method R is a polynomial of degree s (1 + z for Euler,
sum_{k<=4} z^k / k! for the 4-stage, 4th-order methods).

Cell level. For a cell and an input sequence, along the trajectory:

* the step Jacobian J_l = dY_{l+1}/dY_l (over real coordinates: complex states
  count as (real, imaginary) pairs; a history state gives the companion matrix),
  its spectral radius and spectral norm;
* the finite-time largest Lyapunov exponent, (1/T) sum_l log |R_l[0, 0]| from the
  QR iteration J_l Q_{l-1} = Q_l R_l (per step; log rho(A) for a linear map A);
* the gradient-norm ratio ||dL/dY_0|| / ||dL/dY_T|| over the T steps (exploding > 1 > vanishing);
* the skewness ||W + W^H||_F of the weights of anti-Hermitian cells;
* the round-trip error of reversible cells (T steps forward, T inverse steps back).

:func:`check` gathers them in a :class:`StabilityReport` with a verdict and the rule that produced it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np
import torch

from . import _checks
from ._tree import flatten_dynamic, unflatten_dynamic
from .tableau import Tableau, tableau as lookup_tableau

__all__ = [
    "stability_function",
    "stability_polynomial",
    "is_stable",
    "real_stability_interval",
    "imaginary_stability_interval",
    "plot_stability_regions",
    "step_jacobian",
    "spectral_radius",
    "spectral_norm",
    "lyapunov_exponents",
    "gradient_norm_ratio",
    "log_gradient_norm_ratio",
    "skewness",
    "round_trip_error",
    "StabilityReport",
    "check",
]

# --------------------------------------------------------------------------- tableau level


def stability_function(tab: Union[str, Tableau], z: Any) -> np.ndarray:
    """R(z) = 1 + z b^T (I - zA)^{-1} 1, elementwise over an array of complex z (any tableau)."""
    tab = lookup_tableau(tab)
    a, b, _ = tab.matrices()
    z_arr = np.asarray(z, dtype=np.complex128)
    flat = z_arr.reshape(-1)
    s = tab.stages
    systems = np.eye(s)[None, :, :] - flat[:, None, None] * a[None, :, :]
    ones = np.ones((flat.size, s, 1), dtype=np.complex128)
    solved = np.linalg.solve(systems, ones)[..., 0]  # (N, s)
    values = 1.0 + flat * (solved @ b)
    return values.reshape(z_arr.shape)


def stability_polynomial(tab: Union[str, Tableau]) -> np.ndarray:
    """Coefficients (c_0, ..., c_s) of R(z) = sum c_k z^k for an explicit tableau (c_k = b^T A^{k-1} 1)."""
    tab = lookup_tableau(tab)
    if not tab.explicit:
        raise ValueError(f"tab: expected an explicit tableau (R is then a polynomial), got {tab.name!r}")
    a, b, _ = tab.matrices()
    coefficients = [1.0]
    power = np.ones(tab.stages)
    for _ in range(tab.stages):
        coefficients.append(float(b @ power))
        power = a @ power
    return np.array(coefficients)


def is_stable(tab: Union[str, Tableau], h_lambda: Any, *, tol: float = 1e-12) -> bool:
    """Whether |R(h lambda)| <= 1 (+ tol) for every given h * eigenvalue."""
    values = np.abs(stability_function(tab, h_lambda))
    return bool(np.all(values <= 1.0 + tol))


def _first_exit(poly: np.polynomial.Polynomial, scale: float = 1.0) -> float:
    """Smallest t > 0 beyond which poly (with poly(0) = 0) turns positive; inf if it never does."""
    coefficients = poly.coef.copy()
    coefficients[np.abs(coefficients) < 1e-12] = 0.0  # the order conditions make low orders vanish
    poly = np.polynomial.Polynomial(coefficients)
    roots = np.sort(np.array([r.real for r in poly.roots() if abs(r.imag) < 1e-9 and r.real > 1e-12]))
    edges = [0.0, *roots.tolist()]
    for left, right in zip(edges, [*roots.tolist(), math.inf]):
        probe = right - (right - left) / 2 if math.isfinite(right) else left + max(1.0, left)
        if poly(probe) > 1e-12 * scale:
            return left
    return math.inf


def real_stability_interval(tab: Union[str, Tableau]) -> float:
    """r such that the explicit method is stable on [-r, 0] of the real axis (r = 2 for Euler)."""
    c = stability_polynomial(tab)
    p = np.polynomial.Polynomial(c * (-1.0) ** np.arange(len(c)))  # R(-x)
    return _first_exit(p * p - 1.0)


def imaginary_stability_interval(tab: Union[str, Tableau]) -> float:
    """y such that the method is stable on [-iy, iy] (0 for Euler and the 2-stage methods, 2 sqrt 2 for rk4)."""
    c = stability_polynomial(tab)
    powers = (1j) ** np.arange(len(c))
    re = np.polynomial.Polynomial((c * powers).real)
    im = np.polynomial.Polynomial((c * powers).imag)
    return _first_exit(re * re + im * im - 1.0)


def plot_stability_regions(
    tableaus: Iterable[Union[str, Tableau]],
    ax: Any = None,
    *,
    extent: tuple[float, float, float, float] = (-4.5, 1.5, -3.5, 3.5),
    resolution: int = 400,
) -> Any:
    """Draw the boundary |R(z)| = 1 of each tableau in the complex plane; returns the matplotlib Axes."""
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 5))
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    grid = xs[None, :] + 1j * ys[:, None]
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    # Methods with the same stability function share one curve (midpoint/heun/ralston, rk4/rk4_38).
    groups: dict[Any, list[Tableau]] = {}
    for tab in map(lookup_tableau, tableaus):
        key = tuple(np.round(stability_polynomial(tab), 12)) if tab.explicit else tab
        groups.setdefault(key, []).append(tab)
    for i, members in enumerate(groups.values()):
        colour = colours[i % len(colours)]
        ax.contour(xs, ys, np.abs(stability_function(members[0], grid)), levels=[1.0], colors=[colour])
        ax.plot([], [], color=colour, label=", ".join(t.name for t in members))
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.axvline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("Re(h λ)")
    ax.set_ylabel("Im(h λ)")
    ax.set_title("Stability regions |R(hλ)| ≤ 1 (inside each curve)")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize="small")
    return ax


# --------------------------------------------------------------------------- cell level


def _stepper(cell: Any) -> Callable[[Optional[torch.Tensor], Any], tuple[torch.Tensor, Any]]:
    return getattr(cell, "forward_unchecked", cell)


def _prepare(cell: Any, inputs: Union[torch.Tensor, int], state: Any) -> tuple[list[Optional[torch.Tensor]], Any]:
    """Validate the inputs once and return (list of x_t, initial state)."""
    if isinstance(inputs, int) and not isinstance(inputs, bool):
        steps = _checks.positive_int("inputs", inputs)
        xs: list[Optional[torch.Tensor]] = [None] * steps
        if state is None:
            raise ValueError("state: expected an initial state when inputs is a number of steps (no input to size it)")
        batch_size = None
    else:
        _checks.tensor("inputs", inputs)
        if inputs.dim() != 3 or inputs.shape[0] == 0:
            raise ValueError(
                f"inputs: expected a (length, batch, features) tensor with length >= 1, got shape {tuple(inputs.shape)}"
            )
        if hasattr(cell, "check_input"):
            cell.check_input(inputs[0])
        xs = list(inputs.unbind(0))
        batch_size = inputs.shape[1]
    if state is None:
        state = cell.initial_state(batch_size, device=inputs.device)
    elif hasattr(cell, "check_state") and batch_size is not None:
        cell.check_state(state, batch_size, inputs.device)
    return xs, state


def _jacobian_and_next(step: Callable, x: Optional[torch.Tensor], state: Any) -> tuple[torch.Tensor, Any]:
    """Per-sample Jacobians (B, D, D) of the flattened step at ``state``, and the next state."""
    flat = flatten_dynamic(state).detach()

    def flat_step(v: torch.Tensor) -> torch.Tensor:
        return flatten_dynamic(step(x, unflatten_dynamic(v, state))[1])

    try:
        # Samples do not interact, so the Jacobian of the batch sum holds every per-sample block.
        jac = torch.func.jacrev(lambda v: flat_step(v).sum(0))(flat).permute(1, 0, 2)
    except (RuntimeError, NotImplementedError):  # an op without a vmap rule: one backward per output
        with torch.enable_grad():
            v = flat.clone().requires_grad_(True)
            out = flat_step(v)
            rows = [torch.autograd.grad(out[:, i].sum(), v, retain_graph=True)[0] for i in range(out.shape[1])]
        jac = torch.stack(rows, dim=1)
    with torch.no_grad():
        next_state = step(x, state)[1]
    return jac.detach(), next_state


def step_jacobian(cell: Any, x_t: Optional[torch.Tensor], state: Any) -> torch.Tensor:
    """dY_{l+1}/dY_l per sample, (B, D, D), in real coordinates of the packed state."""
    return _jacobian_and_next(_stepper(cell), x_t, state)[0]


def spectral_radius(jacobian: torch.Tensor) -> torch.Tensor:
    """max |eigenvalue| of each (D, D) matrix in a batch."""
    return torch.linalg.eigvals(jacobian).abs().amax(dim=-1)


def spectral_norm(jacobian: torch.Tensor) -> torch.Tensor:
    """Largest singular value of each (D, D) matrix in a batch."""
    return torch.linalg.matrix_norm(jacobian, ord=2)


def _trajectory_jacobians(cell: Any, xs: Sequence[Optional[torch.Tensor]], state: Any):
    step = _stepper(cell)
    for x in xs:
        jac, state = _jacobian_and_next(step, x, state)
        yield jac, state


def lyapunov_exponents(
    cell: Any,
    inputs: Union[torch.Tensor, int],
    state: Any = None,
    *,
    k: int = 1,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """The k largest finite-time Lyapunov exponents per sample, (B, k), per step (QR method)."""
    k = _checks.positive_int("k", k)
    xs, state = _prepare(cell, inputs, state)
    return _lyapunov(cell, xs, state, k, generator)[0]


def _lyapunov(cell, xs, state, k, generator):
    q = None
    log_sum = None
    radii, norms = [], []
    finite = True
    final = state
    for jac, final in _trajectory_jacobians(cell, xs, state):
        if not (torch.isfinite(jac).all() and torch.isfinite(flatten_dynamic(final)).all()):
            finite = False
            break
        radii.append(spectral_radius(jac))
        norms.append(spectral_norm(jac))
        if q is None:
            batch, dim = jac.shape[0], jac.shape[-1]
            if k > dim:
                raise ValueError(f"k: expected at most the state dimension {dim}, got {k}")
            start = torch.randn(dim, k, generator=generator, dtype=torch.float64).to(jac)
            q = torch.linalg.qr(start.expand(batch, dim, k))[0]
            log_sum = torch.zeros(batch, k, dtype=jac.dtype, device=jac.device)
        q, r = torch.linalg.qr(jac @ q)
        log_sum = log_sum + torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs())
    steps = len(radii)
    exponents = log_sum / steps if steps else torch.full((1, k), math.nan)
    return exponents, radii, norms, finite, final


def gradient_norm_ratio(
    cell: Any,
    inputs: Union[torch.Tensor, int],
    state: Any = None,
    *,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """||v^T dY_T/dY_0|| for a random unit v per sample, (B,): > 1 exploding, < 1 vanishing."""
    xs, state = _prepare(cell, inputs, state)
    return _gradient_ratio(cell, xs, state, generator)


def _gradient_ratio(cell, xs, state, generator):
    step = _stepper(cell)
    with torch.enable_grad():
        flat0 = flatten_dynamic(state).detach().requires_grad_(True)
        s = unflatten_dynamic(flat0, state)
        for x in xs:
            s = step(x, s)[1]
        final = flatten_dynamic(s)
        v = torch.randn(final.shape, generator=generator, dtype=torch.float64).to(final)
        v = v / v.norm(dim=1, keepdim=True)
        (grad,) = torch.autograd.grad((final * v).sum(), flat0, allow_unused=True)
    if grad is None:
        return torch.zeros(final.shape[0], dtype=final.dtype)
    return grad.norm(dim=1).detach()


def log_gradient_norm_ratio(
    cell: Any,
    inputs: Union[torch.Tensor, int],
    state: Any = None,
    *,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """log ||v^T dY_T/dY_0|| per sample, (B,), for long horizons where the ratio itself under- or overflows.

    The cotangent is pulled back one step at a time (a vector-Jacobian product at each
    stored state) and renormalised after every step, accumulating the log norms.
    """
    xs, state = _prepare(cell, inputs, state)
    step = _stepper(cell)
    states = [state]
    with torch.no_grad():
        for x in xs[:-1]:
            states.append(step(x, states[-1])[1])
    v = None
    log_total = None
    for x, s in zip(reversed(xs), reversed(states)):
        flat = flatten_dynamic(s).detach()
        _, pullback = torch.func.vjp(lambda f: flatten_dynamic(step(x, unflatten_dynamic(f, s))[1]), flat)
        if v is None:
            v = torch.randn(flat.shape, generator=generator, dtype=torch.float64).to(flat)
            v = v / v.norm(dim=1, keepdim=True)
            log_total = torch.zeros(flat.shape[0], dtype=flat.dtype, device=flat.device)
        (v,) = pullback(v)
        norm = v.norm(dim=1, keepdim=True)
        log_total = log_total + torch.log(norm[:, 0])
        v = v / torch.where(norm > 0, norm, torch.ones_like(norm))
    return log_total.detach()


def skewness(weight: torch.Tensor) -> float:
    """||W + W^H||_F: zero for an anti-Hermitian (real antisymmetric) matrix."""
    _checks.tensor("weight", weight)
    if weight.dim() != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(f"weight: expected a square matrix, got shape {tuple(weight.shape)}")
    return float(torch.linalg.matrix_norm(weight + weight.mH).item())


def round_trip_error(cell: Any, inputs: Union[torch.Tensor, int], state: Any = None) -> float:
    """Run T steps forward, then ``cell.inverse`` T steps back; return max |Y_0' - Y_0| / max(1, max |Y_l|)."""
    if not callable(getattr(cell, "inverse", None)):
        raise TypeError(f"cell: expected a reversible cell with an inverse(x_t, state) method, got {type(cell).__name__}")
    xs, state = _prepare(cell, inputs, state)
    return _round_trip(cell, xs, state)


@torch.no_grad()
def _round_trip(cell, xs, state) -> float:
    step = _stepper(cell)
    s = state
    scale = flatten_dynamic(state).abs().max()
    for x in xs:
        s = step(x, s)[1]
        scale = torch.maximum(scale, flatten_dynamic(s).abs().max())
    for x in reversed(xs):
        s = cell.inverse(x, s)
    error = (flatten_dynamic(s) - flatten_dynamic(state)).abs().max()
    return float((error / torch.clamp(scale, min=1.0)).item())


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
    for name, value in (("lyapunov_tol", lyapunov_tol), ("reversibility_tol", reversibility_tol), ("skewness_tol", skewness_tol)):
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
