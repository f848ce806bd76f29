r"""Classical Runge–Kutta as the special case of the n-t-ORNN.

Two cells, both run by the one executor:

* :class:`ODECell` integrates dy/dt = f(y) (or f(t, y)) for *any* torch callable f.
  Stage q is K_q = f(t_l + c_q h, Y + h sum_k a_qk K_k): input map W_q = [I, 0],
  scalar couplings alpha_qk = a_qk, activation sigma_q = f; the output is
  Y_{l+1} = Y_l + h sum_k b_k K_k.
* :class:`RKCell` is the recurrent network f(y, x) = sigma(W y + U x + b) written
  exactly as Definition 1 puts it: input map W_q[Y, x] + b_q = W Y + U x + b and
  matrix couplings alpha_qk = a_qk W, so K_q = sigma(W (Y + h sum_k a_qk K_k) + U x + b).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .cell import ORNNCell, RecurrentCell
from .spec import UpdateRule
from .tableau import Tableau
from .tableau import tableau as lookup_tableau

__all__ = ["ODECell", "RKCell"]


def _explicit_tableau(value: Union[str, Tableau]) -> Tableau:
    tab = lookup_tableau(value)
    if not tab.explicit:
        raise ValueError(f"tableau: expected an explicit tableau (strictly lower-triangular a), got {tab.name!r}")
    return tab


class ODECell(RecurrentCell):
    """One explicit Runge–Kutta step of dy/dt = f(y) as an n-t-ORNN cell.

    Args:
        f: any torch callable or module; called as ``f(y)``, or ``f(t, y)`` with
            ``time_dependent=True`` (t a 0-d tensor, as torchdiffeq passes it).
        tableau: a preset name (``euler``, ``midpoint``, ``heun``, ``ralston``, ``rk4``,
            ``rk4_38``) or an explicit :class:`Tableau`.
        step_size: h > 0.
        time_dependent: whether f takes the time as its first argument. The cell then
            carries the step counter in its state: ``(y, clock)``, t_l = start_time + clock * h.
        start_time: t_0 for time-dependent f.
        state_shape: the shape of one state (without batch), needed only by
            :meth:`initial_state`; :meth:`solve` and ``forward`` take y itself.

    Example::

        >>> cell = ODECell(lambda y: -y, tableau="rk4", step_size=0.1)
        >>> path = cell.solve(torch.ones(3), steps=10)   # (11, 3), path[-1] ~ exp(-1)
    """

    def __init__(
        self,
        f: Callable[..., torch.Tensor],
        tableau: Union[str, Tableau] = "rk4",
        step_size: float = 1.0,
        *,
        time_dependent: bool = False,
        start_time: float = 0.0,
        state_shape: Optional[tuple[int, ...]] = None,
    ) -> None:
        super().__init__()
        if not callable(f):
            raise TypeError(f"f: expected a callable or nn.Module, got {_checks.describe(f)}")
        if not isinstance(time_dependent, bool):
            raise TypeError(f"time_dependent: expected a bool, got {time_dependent!r}")
        if isinstance(start_time, bool) or not isinstance(start_time, (int, float)) or not math.isfinite(start_time):
            raise TypeError(f"start_time: expected a finite real number, got {start_time!r}")
        self.f = f  # registered as a submodule when it is one
        self.tableau = _explicit_tableau(tableau)
        self.step_size = _checks.positive_float("step_size", step_size)
        self.time_dependent = time_dependent
        self.state_shape = (
            None if state_shape is None else tuple(_checks.positive_int("state_shape[i]", s) for s in state_shape)
        )
        self.rule = UpdateRule.from_tableau(
            self.tableau, f, step_size=self.step_size, time_dependent=time_dependent, start_time=float(start_time)
        )

    def zero_state(self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any) -> torch.Tensor:
        if self.state_shape is None:
            raise ValueError(
                "state_shape: ODECell needs state_shape=... to build a zero state; "
                "or pass the initial value y0 to forward()/solve()"
            )
        shape = self.state_shape if batch_size is None else (batch_size, *self.state_shape)
        return torch.zeros(shape, dtype=dtype or self.default_dtype(), device=device)

    def check_input(self, x: Optional[torch.Tensor]) -> None:
        if x is not None:
            raise TypeError(
                f"x_t: ODECell integrates an autonomous or time-dependent ODE and takes no input; "
                f"expected None, got {_checks.describe(x)}"
            )
        return None

    def check_state(self, state: Any, batch_size: Optional[int], device: Any) -> None:
        y = state
        if self.time_dependent:
            if not (isinstance(state, tuple) and len(state) == 2):
                raise ValueError(
                    f"state: expected (y, clock) for a time-dependent ODECell, got {_checks.describe(state)}"
                )
            y, clock = state
            if not (isinstance(clock, torch.Tensor) and clock.dim() == 0 and not clock.is_floating_point()):
                raise TypeError(f"state: expected clock to be a 0-d integer tensor, got {_checks.describe(clock)}")
        _check_ode_state("state", y)

    def forward(self, x_t: Optional[torch.Tensor], hx: Any = None) -> tuple[torch.Tensor, Any]:
        """``y_next, new_state = cell(None, y)`` (``(y, clock)`` for time-dependent f); ``hx`` is the state."""
        state = hx
        self.check_input(x_t)
        if state is None:
            state = self.initial_state(None)
        self.check_state(state, None, None)
        self._check_against_f("state", state[0] if self.time_dependent else state)
        return self.forward_unchecked(None, state)

    def solve(self, y0: torch.Tensor, steps: int) -> torch.Tensor:
        """Integrate ``steps`` steps from y0; returns the trajectory ``(steps + 1, *y0.shape)``.

        The grid is t_l = start_time + l * h, the layout of ``torchdiffeq.odeint``'s output.
        """
        _check_ode_state("y0", y0)
        steps = _checks.positive_int("steps", steps, minimum=0)
        self._check_against_f("y0", y0)
        _checks.finite("y0", y0)
        state: Any = (y0, torch.zeros((), dtype=torch.long, device=y0.device)) if self.time_dependent else y0
        path = [y0]
        for step in range(steps):
            try:
                y, state = self.forward_unchecked(None, state)
            except RuntimeError as err:
                if step:
                    raise
                raise ValueError(
                    f"y0: f could not be evaluated at y0 of shape {tuple(y0.shape)}, dtype {y0.dtype}, device "
                    f"{y0.device} (torch: {str(err).splitlines()[0]})"
                ) from None
            path.append(y)
        return torch.stack(path)

    def _check_against_f(self, name: str, y: torch.Tensor) -> None:
        """Shape against ``state_shape`` and dtype and device against the parameters of f, when they are known."""
        if self.state_shape is not None and tuple(y.shape[-len(self.state_shape) :]) != self.state_shape:
            raise ValueError(
                f"{name}: expected shape (..., {', '.join(map(str, self.state_shape))}) (state_shape), "
                f"got {tuple(y.shape)}"
            )
        for p in self.parameters():
            if p.is_floating_point() and y.is_floating_point() and p.dtype != y.dtype:
                raise TypeError(f"{name}: expected dtype {p.dtype} (the parameters of f), got {y.dtype}")
            if p.device != y.device:
                raise ValueError(
                    f"{name}: expected a tensor on the device of f's parameters {p.device}, got one on {y.device}"
                )
            break

    def times(self, steps: int, *, dtype: torch.dtype = torch.float64, device: Any = None) -> torch.Tensor:
        """The grid t_l = start_time + l * h, l = 0..steps, matching :meth:`solve`."""
        steps = _checks.positive_int("steps", steps, minimum=0)
        return self.rule.start_time + self.step_size * torch.arange(steps + 1, dtype=dtype, device=device)

    def extra_repr(self) -> str:
        return f"tableau={self.tableau.name!r}, step_size={self.step_size}, time_dependent={self.time_dependent}"


def _check_ode_state(name: str, y: Any) -> None:
    _checks.tensor(name, y)
    if not (y.is_floating_point() or y.is_complex()):
        raise TypeError(f"{name}: expected a floating-point or complex tensor, got dtype {y.dtype}")


class RKCell(ORNNCell):
    r"""A recurrent network whose step is an explicit Runge–Kutta step of f(y, x) = sigma(W y + U x + b).

    Built as Definition 1 states the classical special case: K_q = sigma(W Y + U x + b
    + h sum_{k<q} a_qk W K_k) and Y_{l+1} = Y_l + h sum_k b_k K_k, i.e. K_q = f(Y + h sum a_qk K_k, x)
    with the input held over the step. With ``tableau="euler"`` and h = 1 it is the residual
    tanh RNN Y_{l+1} = Y_l + tanh(W Y_l + U x_l + b).

    Parameters follow ``nn.RNNCell``'s names: ``weight_ih`` (H, I), ``weight_hh`` (H, H),
    ``bias`` (H), initialised U(-1/sqrt(H), 1/sqrt(H)).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        tableau: Union[str, Tableau] = "euler",
        step_size: float = 1.0,
        activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
        bias: bool = True,
    ) -> None:
        super().__init__(input_size, hidden_size)
        if not callable(activation):
            raise TypeError(f"activation: expected a callable, got {_checks.describe(activation)}")
        self.tableau = _explicit_tableau(tableau)
        self.step_size = _checks.positive_float("step_size", step_size)
        self.activation = activation
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.reset_parameters()
        self.rule = UpdateRule.from_tableau(
            self.tableau,
            activation,
            step_size=self.step_size,
            input_map="drive",
            coupling=self._recurrent,
            gates=self._drive,
        )

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _drive(self, x: torch.Tensor, y: torch.Tensor, clock: Any) -> dict[str, torch.Tensor]:
        # W Y + U x + b, shared by every stage of the step (computed once).
        return {"drive": F.linear(x, self.weight_ih, self.bias) + F.linear(y, self.weight_hh)}

    def _recurrent(self, k_value: torch.Tensor) -> torch.Tensor:
        # W K: the tableau's a_qk multiply it, alpha_qk = a_qk W
        return F.linear(k_value, self.weight_hh)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, tableau={self.tableau.name!r}, step_size={self.step_size}"
