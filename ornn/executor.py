"""The one executor that runs every :class:`~ornn.spec.UpdateRule`.

``execute(rule, x, history, clock)`` evaluates Definition 1 literally: gates once,
then the stages in order, then the output(s). A rule is compiled once into a
plan (coefficients sorted by kind, h folded into scalar couplings, identity
activations and unit coefficients dropped) so that a classical Runge–Kutta step
costs one fused ``add`` per nonzero tableau entry and nothing else besides the
calls of f. Cells may add fast paths, but this path stays the reference.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Optional, Sequence

import torch

from ._tree import leaves
from .spec import Coefficient, Output, Stage, UpdateRule, identity

__all__ = ["execute"]

_SCALAR, _GATE, _MAP = 0, 1, 2
_NO_GATES: Mapping[str, torch.Tensor] = {}


def _kind(coefficient: Coefficient) -> tuple[int, Any]:
    if isinstance(coefficient, str):
        return _GATE, coefficient
    if callable(coefficient):
        return _MAP, coefficient
    return _SCALAR, coefficient


class _Term(NamedTuple):
    index: int  # stage index k
    kind: int
    value: Any  # h * scalar, gate name, or linear map


class _StagePlan(NamedTuple):
    input_map: Any
    delay: int
    scalar_terms: tuple[_Term, ...]
    other_terms: tuple[_Term, ...]
    activation: Any  # None for the identity
    time_dependent: bool
    time: float
    gamma: Optional[tuple[int, Any]]  # None when gamma is the scalar 0
    kappa: Optional[tuple[int, Any]]  # None when kappa is the scalar 1


class _OutputPlan(NamedTuple):
    input_map: Any
    delay: int
    scalar_terms: tuple[_Term, ...]
    other_terms: tuple[_Term, ...]
    activation: Any
    gamma: Optional[tuple[int, Any]]  # None when gamma is the scalar 0
    gamma_delay: int
    kappa: Optional[tuple[int, Any]]
    fold: bool  # identity activation with unit kappa: accumulate straight onto gamma * Y_l


class _Plan(NamedTuple):
    stages: tuple[_StagePlan, ...]
    outputs: tuple[_OutputPlan, ...]
    time_dependent: bool


def _terms(couplings: Mapping[int, Coefficient], h: float) -> tuple[tuple[_Term, ...], tuple[_Term, ...]]:
    scalar, other = [], []
    for k in sorted(couplings):
        kind, value = _kind(couplings[k])
        if kind == _SCALAR:
            if value != 0:
                scalar.append(_Term(k, kind, h * value))
        else:
            other.append(_Term(k, kind, value))
    return tuple(scalar), tuple(other)


def _optional(coefficient: Coefficient, neutral: float) -> Optional[tuple[int, Any]]:
    kind, value = _kind(coefficient)
    if kind == _SCALAR and value == neutral:
        return None
    return kind, value


def _compile_stage(stage: Stage, h: float) -> _StagePlan:
    scalar, other = _terms(stage.couplings, h)
    return _StagePlan(
        input_map=stage.input_map,
        delay=stage.delay,
        scalar_terms=scalar,
        other_terms=other,
        activation=None if stage.activation is identity else stage.activation,
        time_dependent=stage.time_dependent,
        time=float(stage.time),
        gamma=_optional(stage.gamma, 0.0),
        kappa=_optional(stage.kappa, 1.0),
    )


def _compile_output(out: Output, h: float) -> _OutputPlan:
    scalar, other = _terms(out.weights, h)
    activation = None if out.activation is identity else out.activation
    kappa = _optional(out.kappa, 1.0)
    return _OutputPlan(
        input_map=out.input_map,
        delay=out.delay,
        scalar_terms=scalar,
        other_terms=other,
        activation=activation,
        gamma=_optional(out.gamma, 0.0),
        gamma_delay=out.gamma_delay,
        kappa=kappa,
        fold=activation is None and kappa is None,
    )


def _plan(rule: UpdateRule) -> _Plan:
    plan = rule.__dict__.get("_plan")
    if plan is None:
        h = rule.step_size
        outputs = rule.output if isinstance(rule.output, tuple) else (rule.output,)
        plan = _Plan(
            stages=tuple(_compile_stage(s, h) for s in rule.stages),
            outputs=tuple(_compile_output(o, h) for o in outputs),
            time_dependent=any(s.time_dependent for s in rule.stages),
        )
        object.__setattr__(rule, "_plan", plan)  # a cache on a frozen value; derived, never compared
    return plan


def _gate(gates: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    try:
        return gates[name]
    except KeyError:
        raise ValueError(
            f"gate {name!r} is referenced by the rule but the gate function produced {sorted(gates)}"
        ) from None


def _apply(kind: int, value: Any, tensor: torch.Tensor, gates: Mapping[str, torch.Tensor]) -> torch.Tensor:
    if kind == _SCALAR:
        return tensor * value
    if kind == _GATE:
        return _gate(gates, value) * tensor
    return value(tensor)


def _input(
    input_map: Any, state: Any, x: Optional[torch.Tensor], gates: Mapping[str, torch.Tensor]
) -> Optional[torch.Tensor]:
    if input_map is None:
        return None
    if isinstance(input_map, str):
        return _gate(gates, input_map)
    return input_map(state, x)


def _accumulate(
    z: Optional[torch.Tensor],
    scalar_terms: tuple[_Term, ...],
    other_terms: tuple[_Term, ...],
    stages: Sequence[torch.Tensor],
    gates: Mapping[str, torch.Tensor],
    h: float,
) -> Optional[torch.Tensor]:
    """z + h * sum_k coupling_k(K_k), with h already folded into scalar couplings."""
    for term in scalar_terms:
        k_value = stages[term.index]
        z = k_value * term.value if z is None else torch.add(z, k_value, alpha=term.value)
    for term in other_terms:
        mapped = _apply(term.kind, term.value, stages[term.index], gates)
        if z is None:
            z = mapped if h == 1.0 else mapped * h
        else:
            z = torch.add(z, mapped, alpha=h) if h != 1.0 else z + mapped
    return z


def execute(
    rule: UpdateRule,
    x: Optional[torch.Tensor],
    history: Sequence[Any],
    clock: Optional[torch.Tensor] = None,
) -> Any:
    """One n-t-ORNN step: return Y_{l+1} from the history (Y_l, Y_{l-1}, ...) and x_l.

    ``history`` must hold at least ``rule.memory_span`` states; ``clock`` is the step
    counter l (0-d integer tensor) for clocked rules. No shape checks happen here:
    the cells and :class:`~ornn.Recurrent` check at their public entry points.
    """
    plan = _plan(rule)
    state = history[0]
    gates = rule.gates(x, state, clock) if rule.gates is not None else _NO_GATES
    h = rule.step_size

    time = None
    if plan.time_dependent:
        reference = next(leaves(state))
        real_dtype = reference.real.dtype if reference.is_complex() else reference.dtype
        time = clock.to(real_dtype) * h + rule.start_time

    stages: list[torch.Tensor] = []
    previous: Optional[torch.Tensor] = None
    for q, sp in enumerate(plan.stages):
        z = _input(sp.input_map, history[sp.delay], x, gates)
        z = _accumulate(z, sp.scalar_terms, sp.other_terms, stages, gates, h)
        if z is None:  # refused by UpdateRule validation; kept as a guard for hand-built plans
            raise ValueError(f"stages[{q}]: empty pre-activation (no input map and no couplings)")
        if sp.time_dependent:
            value = sp.activation(time + sp.time * h, z) if sp.activation is not None else z
        else:
            value = sp.activation(z) if sp.activation is not None else z
        if sp.kappa is not None:
            value = _apply(sp.kappa[0], sp.kappa[1], value, gates)
        if sp.gamma is not None and previous is not None:
            value = value + _apply(sp.gamma[0], sp.gamma[1], previous, gates)
        stages.append(value)
        previous = value

    if len(plan.outputs) == 1 and not rule.tuple_state:
        return _output(plan.outputs[0], history[plan.outputs[0].gamma_delay], history, x, stages, gates, h)
    return tuple(
        _output(op, history[op.gamma_delay][i], history, x, stages, gates, h) for i, op in enumerate(plan.outputs)
    )


def _output(
    op: _OutputPlan,
    carried_state: torch.Tensor,
    history: Sequence[Any],
    x: Optional[torch.Tensor],
    stages: Sequence[torch.Tensor],
    gates: Mapping[str, torch.Tensor],
    h: float,
) -> torch.Tensor:
    """Y_{l+1} for one output; ``carried_state`` is Y_{l - gamma_delay} (the matching component of a tuple state)."""
    delayed = history[op.delay]
    carried = None if op.gamma is None else _apply(op.gamma[0], op.gamma[1], carried_state, gates)
    if op.fold:
        # Y' = gamma Y + (input + h sum beta_k K_k): one running sum, as in a Runge–Kutta update.
        z = _input(op.input_map, delayed, x, gates)
        if carried is not None:
            z = carried if z is None else carried + z
        z = _accumulate(z, op.scalar_terms, op.other_terms, stages, gates, h)
        if z is None:
            return torch.zeros_like(carried_state)
        return z
    z = _input(op.input_map, delayed, x, gates)
    z = _accumulate(z, op.scalar_terms, op.other_terms, stages, gates, h)
    if z is None:  # no contribution besides gamma * Y_l
        return carried if carried is not None else torch.zeros_like(carried_state)
    value = op.activation(z) if op.activation is not None else z
    if op.kappa is not None:
        value = _apply(op.kappa[0], op.kappa[1], value, gates)
    return value if carried is None else carried + value
