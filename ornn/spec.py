r"""The n-t-ORNN update rule as data (the unification paper, Definition 1).

One step maps the state history (Y_l, Y_{l-1}, ...) and the input x_l to Y_{l+1}
through n stages K_1..K_n::

    z_q     = W_q[Y_{l-d_q}, x_l] + b_q + h * sum_{k<q} alpha_qk(K_k)
    K_q     = gamma_q * K_{q-1} + kappa_q * sigma_q(z_q)                (K_0 = 0)
    Y_{l+1} = gamma_o * Y_{l-e_o} + kappa_o * sigma_o(W_o[Y_{l-d_o}, x_l] + b_o + h * sum_k beta_k(K_k))

A :class:`Stage` holds (W_q[.] + b_q, d_q, alpha_q., gamma_q, kappa_q, sigma_q),
an :class:`Output` holds the last line, and an :class:`UpdateRule` holds the
stages, the output(s), the step size h and an optional gate function computed
once per step from (x_l, Y_l). The order n and memory span t are *computed*:
n = number of stages, t = 1 + the largest delay (d_q, d_o or e_o, the output's ``gamma_delay``).

Coefficients (gamma, kappa, alpha, beta) are given as:

* a number c — c times the identity (classical Runge–Kutta couplings);
* a string — the name of a gate tensor g from the rule's gate function, applied
  as the diagonal matrix D[g] (an elementwise product, as for LSTM's gates);
* a callable — a linear map applied to the tensor (an ``nn.Linear`` without bias,
  a bound method, ...).

For a state made of several tensors (LSTM's (h, c)) the rule has one Output
per component. Rules reference parameters through submodules and bound
methods rather than closures, so ``copy.deepcopy`` and ``torch.save`` of the
owning module keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Number
from typing import Any, Callable, Mapping, Optional, Union

import torch

__all__ = ["Coefficient", "InputMap", "Stage", "Output", "UpdateRule", "identity", "state_input"]

Coefficient = Union[float, complex, str, Callable[[torch.Tensor], torch.Tensor]]
#: ``W[Y_{l-d}, x] + b`` as a callable (delayed state, input) -> tensor, or the name of a gate tensor.
InputMap = Union[str, Callable[[Any, Optional[torch.Tensor]], torch.Tensor]]
GateFunction = Callable[[Optional[torch.Tensor], Any, Optional[torch.Tensor]], Mapping[str, torch.Tensor]]


def identity(z: torch.Tensor) -> torch.Tensor:
    """The identity activation; the executor recognises it and skips the call."""
    return z


def state_input(state: Any, x: Optional[torch.Tensor]) -> torch.Tensor:
    """Input map W = [I, 0], b = 0: the (delayed) state itself, as in classical Runge–Kutta."""
    return state


def _check_coefficient(name: str, value: Any) -> None:
    if isinstance(value, bool) or not (isinstance(value, (Number, str)) or callable(value)):
        raise TypeError(f"{name}: expected a number, a gate name (str) or a callable linear map, got {value!r}")


def _check_delay(name: str, delay: Any) -> None:
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        raise ValueError(f"{name}: expected a non-negative integer delay, got {delay!r}")


def _validate_term(term: Any, coupling_field: str) -> None:
    """Checks shared by Stage and Output; ``coupling_field`` names their dict of stage couplings."""
    if not callable(term.activation):
        raise TypeError(f"activation: expected a callable, got {term.activation!r}")
    if term.input_map is not None and not (isinstance(term.input_map, str) or callable(term.input_map)):
        raise TypeError(f"input_map: expected a callable, a gate name or None, got {term.input_map!r}")
    _check_delay("delay", term.delay)
    if isinstance(term.input_map, str) and term.delay != 0:
        raise ValueError(f"delay: a gate-name input map reads Y_l only, so expected delay 0, got {term.delay}")
    couplings = dict(getattr(term, coupling_field))
    for k, coefficient in couplings.items():
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"{coupling_field}: expected non-negative integer stage indices, got key {k!r}")
        _check_coefficient(f"{coupling_field}[{k}]", coefficient)
    _check_coefficient("gamma", term.gamma)
    _check_coefficient("kappa", term.kappa)
    object.__setattr__(term, coupling_field, couplings)


@dataclass(frozen=True)
class Stage:
    """Stage q: ``K_q = gamma * K_{q-1} + kappa * activation(input_map(Y_{l-delay}, x) + h * sum_k couplings[k](K_k))``.

    Args:
        activation: sigma_q, a map of the stage pre-activation (need not be pointwise).
            With ``time_dependent=True`` it is called as ``activation(t, z)`` with
            t = t_l + time * h, the stage time.
        input_map: W_q[Y_{l-d_q}, x_l] + b_q, or None for zero.
        delay: d_q, how many steps back the state is read from (0 = Y_l).
        couplings: {k: alpha_qk} for earlier stages k < q (0-based stage indices).
        gamma: coefficient of the previous stage's value K_{q-1} (0 for the first stage).
        kappa: coefficient of the activation.
        time: c_q, the stage time in units of h (used only when ``time_dependent``).
        time_dependent: whether ``activation`` takes the stage time as first argument.
    """

    activation: Callable[..., torch.Tensor]
    input_map: Optional[InputMap] = None
    delay: int = 0
    couplings: Mapping[int, Coefficient] = field(default_factory=dict)
    gamma: Coefficient = 0.0
    kappa: Coefficient = 1.0
    time: float = 0.0
    time_dependent: bool = False

    def __post_init__(self) -> None:
        _validate_term(self, "couplings")


@dataclass(frozen=True)
class Output:
    """``Y_{l+1} = gamma * Y_{l-gamma_delay} + kappa * activation(input_map(Y_{l-delay}, x) + h * sum_k weights[k](K_k))``.

    For a tuple state, ``Y_.`` here is the matching component of the state.
    Defaults give the Runge–Kutta output Y_l + h * sum_k b_k K_k once ``weights`` holds the b_k.

    ``gamma_delay`` is the unification paper's Eq. (3) read literally: there the dissipative term
    multiplies the *oldest* state of the window, Y_{l+t_n} = gamma Y_l + kappa sigma(W Y_{l+t_n-1} + ...).
    With the step written as Y_{l+1}, that is ``gamma_delay = t - 1`` and ``delay = 0``; the default
    0 multiplies the newest state, as every cell of the zoo does.
    """

    weights: Mapping[int, Coefficient] = field(default_factory=dict)
    activation: Callable[[torch.Tensor], torch.Tensor] = identity
    input_map: Optional[InputMap] = None
    delay: int = 0
    gamma: Coefficient = 1.0
    kappa: Coefficient = 1.0
    gamma_delay: int = 0

    def __post_init__(self) -> None:
        _validate_term(self, "weights")
        _check_delay("gamma_delay", self.gamma_delay)


class _ScaledMap:
    """``a * coupling(K)``: the coupling alpha_qk = a_qk W of a tableau step (a class, so it pickles)."""

    def __init__(self, a: float, coupling: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.a, self.coupling = float(a), coupling

    def __call__(self, k_value: torch.Tensor) -> torch.Tensor:
        return self.a * self.coupling(k_value)

    def __repr__(self) -> str:
        return f"{self.a:g} * {self.coupling!r}"


@dataclass(frozen=True)
class UpdateRule:
    """A complete n-t-ORNN step: stages, output(s), step size and gates.

    Args:
        stages: the n stages, in order.
        output: one :class:`Output` for a single-tensor state, or a tuple with one
            Output per component of a tuple state.
        step_size: h > 0.
        gates: optional ``gates(x_l, Y_l, clock) -> {name: tensor}`` evaluated once per
            step; coefficients and input maps refer to its entries by name. ``clock`` is
            the step counter (a 0-d integer tensor) for clocked rules, else None.
        clocked: whether the step reads the step counter (time-dependent stages,
            clockwork schedules). Cells running a clocked rule carry the counter in their state.
        start_time: t_0, so that step l starts at t_l = t_0 + l * h.
    """

    stages: tuple[Stage, ...]
    output: Union[Output, tuple[Output, ...]]
    step_size: float = 1.0
    gates: Optional[GateFunction] = None
    clocked: bool = False
    start_time: float = 0.0

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        if not stages:
            raise ValueError("stages: expected at least one Stage, got none")
        for q, stage in enumerate(stages):
            if not isinstance(stage, Stage):
                raise TypeError(f"stages[{q}]: expected a Stage, got {stage!r}")
            if stage.input_map is None and not stage.couplings:
                raise ValueError(f"stages[{q}]: expected an input_map or couplings; the pre-activation would be empty")
            for k in stage.couplings:
                if k >= q:
                    raise ValueError(
                        f"stages[{q}].couplings: an explicit step couples to earlier stages only (k < {q}), got k = {k}"
                    )
        outputs = self.output if isinstance(self.output, tuple) else (self.output,)
        if not outputs:
            raise ValueError("output: expected an Output or a non-empty tuple of Outputs, got ()")
        for i, out in enumerate(outputs):
            if not isinstance(out, Output):
                raise TypeError(f"output[{i}]: expected an Output, got {out!r}")
            for k in out.weights:
                if k >= len(stages):
                    raise ValueError(f"output[{i}].weights: stage index {k} out of range for {len(stages)} stages")
        from ._checks import positive_float

        object.__setattr__(self, "step_size", positive_float("step_size", self.step_size))
        if self.gates is not None and not callable(self.gates):
            raise TypeError(f"gates: expected a callable or None, got {self.gates!r}")
        needs_clock = any(stage.time_dependent for stage in stages)
        if needs_clock and not self.clocked:
            raise ValueError("clocked: time-dependent stages read the step counter, so expected clocked=True")
        object.__setattr__(self, "stages", stages)

    @classmethod
    def from_tableau(
        cls,
        tableau: Any,
        stage: Callable[..., torch.Tensor],
        *,
        step_size: float = 1.0,
        input_map: Optional[InputMap] = None,
        coupling: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        gates: Optional[GateFunction] = None,
        gate: Optional[str] = None,
        output: Optional[Mapping[str, Any]] = None,
        time_dependent: bool = False,
        start_time: float = 0.0,
    ) -> "UpdateRule":
        r"""The rule of one explicit Runge–Kutta step of a Butcher tableau, with your own stage function.

        Stage q is ``K_q = stage(input_map(Y_l, x_l) + h * sum_{k<q} a_qk * coupling(K_k))`` (with
        ``time_dependent``, ``stage(t_l + c_q h, z)``) and the output ``Y_{l+1} = Y_l + h sum_k b_k K_k``.

        Args:
            tableau: an explicit :class:`~ornn.Tableau` or a preset name (``"heun"``, ``"rk4"``, ...).
            stage: sigma, the stage function applied to the pre-activation.
            step_size: h > 0.
            input_map: ``W[Y, x] + b`` (a callable of (Y, x), or a gate name); default Y itself, so
                that ``stage = f`` integrates dy/dt = f(y).
            coupling: the linear map the a_qk multiply (default the identity: scalar couplings). For
                f(y, x) = sigma(W y + U x + b) it is y -> W y, which makes K_q = f(Y + h sum a_qk K_k, x).
            gates: ``gates(x_l, Y_l, clock) -> {name: tensor}``, computed once per step.
            gate: the name of a gate tensor g that scales the increment:
                ``Y_{l+1} = Y_l + g * (h sum_k b_k K_k)`` (a gated step; sugar for ``output={"kappa": g}``).
            output: further :class:`Output` fields (``gamma``, ``kappa``, ``activation``, ...); the
                weights are always the tableau's b_k.
            time_dependent, start_time: for stage functions of (t, z); the rule is then clocked.

        Example, a gated Heun cell (composing guide)::

            rule = UpdateRule.from_tableau("heun", torch.tanh, step_size=0.5, input_map="drive",
                                           coupling=cell.recurrent, gates=cell.gates, gate="z")
        """
        from .tableau import tableau as lookup_tableau

        tab = lookup_tableau(tableau)
        if not tab.explicit:
            raise ValueError(f"tableau: expected an explicit tableau (strictly lower-triangular a), got {tab.name!r}")
        if not callable(stage):
            raise TypeError(f"stage: expected a callable, got {stage!r}")
        if coupling is not None and not callable(coupling):
            raise TypeError(f"coupling: expected a callable linear map or None, got {coupling!r}")
        fields = dict(output or {})
        if "weights" in fields:
            raise ValueError("output: the weights are the tableau's b_k; expected the other Output fields only")
        if gate is not None:
            if not isinstance(gate, str):
                raise TypeError(f"gate: expected the name of a gate tensor, got {gate!r}")
            if gates is None:
                raise ValueError(f"gate: {gate!r} names a gate tensor, so expected a gates function")
            if "kappa" in fields:
                raise ValueError("gate: sets the output's kappa; expected kappa in output or gate, not both")
            fields["kappa"] = gate
        stages = tuple(
            Stage(
                activation=stage,
                input_map=state_input if input_map is None else input_map,
                couplings={
                    k: a if coupling is None else _ScaledMap(a, coupling) for k, a in enumerate(row[:q]) if a != 0.0
                },
                time=c,
                time_dependent=time_dependent,
            )
            for q, (row, c) in enumerate(zip(tab.a, tab.c))
        )
        weights = {k: b for k, b in enumerate(tab.b) if b != 0.0}
        return cls(
            stages=stages,
            output=Output(weights=weights, **fields),
            step_size=step_size,
            gates=gates,
            clocked=time_dependent,
            start_time=float(start_time),
        )

    @property
    def num_stages(self) -> int:
        """n: the number of stages (the paper's order of nonlinearity)."""
        return len(self.stages)

    @property
    def memory_span(self) -> int:
        """t: one more than the largest delay into the state history."""
        outputs = self.output if isinstance(self.output, tuple) else (self.output,)
        delays = [stage.delay for stage in self.stages] + [d for out in outputs for d in (out.delay, out.gamma_delay)]
        return 1 + max(delays)

    @property
    def tuple_state(self) -> bool:
        """Whether the state Y is a tuple of tensors (one Output each)."""
        return isinstance(self.output, tuple)
