r"""Stability figures of a cell along a trajectory.

For a cell and an input sequence, along the trajectory:

* the step Jacobian J_l = dY_{l+1}/dY_l (over real coordinates: complex states
  count as (real, imaginary) pairs; a history state gives the companion matrix),
  its spectral radius and spectral norm;
* the finite-time largest Lyapunov exponent, (1/T) sum_l log |R_l[0, 0]| from the
  QR iteration J_l Q_{l-1} = Q_l R_l (per step; log rho(A) for a linear map A);
* the gradient-norm ratio ||dL/dY_0|| / ||dL/dY_T|| over the T steps (exploding > 1 > vanishing);
* the skewness ||W + W^H||_F of the weights of anti-Hermitian cells;
* the round-trip error of reversible cells (T steps forward, T inverse steps back).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Union

import torch

from .. import _checks
from .._tree import flatten_dynamic, unflatten_dynamic

__all__ = [
    "step_jacobian",
    "spectral_radius",
    "spectral_norm",
    "lyapunov_exponents",
    "gradient_norm_ratio",
    "log_gradient_norm_ratio",
    "skewness",
    "round_trip_error",
]


def _stepper(cell: Any) -> Callable[[Optional[torch.Tensor], Any], tuple[torch.Tensor, Any]]:
    return getattr(cell, "forward_unchecked", cell)


def _prepare(cell: Any, inputs: Union[torch.Tensor, int], state: Any) -> tuple[list[Optional[torch.Tensor]], Any]:
    """Validate the inputs once and return (list of x_t, initial state)."""
    if not (callable(cell) and callable(getattr(cell, "initial_state", None))):
        raise TypeError(
            "cell: expected a recurrent cell (forward(x_t, state) -> (output, state) and initial_state()), "
            f"got {_checks.describe(cell)}"
        )
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
        _checks.finite("inputs", inputs)
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
    return _log_gradient_ratio(cell, xs, state, generator)


def _log_gradient_ratio(cell, xs, state, generator) -> torch.Tensor:
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
        raise TypeError(
            f"cell: expected a reversible cell with an inverse(x_t, state) method, got {type(cell).__name__}"
        )
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
