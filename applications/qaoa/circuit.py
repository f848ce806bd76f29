r"""Expectation values of rotation circuits with adjoint-method gradients.

A circuit here is a sequence of rotations U_j = exp(-i theta_{p(j)} c_j G_j) applied to an
initial state, where the generator G_j is one of

* ``"diagonal"``: a real diagonal operator given by its 2^n entries (a QAOA cost layer),
* ``"x_all"``: sum_w X_w (the transverse-field mixer),
* ``"pauli"``: a Pauli string on some wires (counterdiabatic terms, VQC rotations),

and several rotations may share one parameter. :func:`circuit_expectation` returns
E = <psi_L| D |psi_L> for a real diagonal observable D, batched over rows of the parameters,
and differentiates it with the adjoint method: with lambda = D psi_L carried backwards,

    dE/dtheta_p = sum_{j : p(j) = p} 2 c_j Im <lambda_j| G_j |psi_j>,

undoing one rotation at a time on lambda. Circuits of up to ``STORED_STATES`` rotations keep
psi_j from the forward pass; longer ones undo psi as well, so memory stays at a few states
whatever the depth. The mixer acts on
groups of wires with one Kronecker-power matrix product per group.

A Pauli string permutes the basis up to a phase of +-1 or +-i, so a 'pauli' rotation built by
:func:`pauli_rotation` carries a gather table and a phase table and applies P psi in two kernels,
and the terms of one counterdiabatic layer (one parameter) share their cos and sin. Circuits that
differ only in their problem's data (DC-QAOA on graphs of one size) stack into one circuit over a
(B, 2^n) state (:func:`stack_circuits`), so a batch of problems costs one pass instead of B.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ornn import _checks
from ornn.quantum import add_x_sum, apply_pauli, num_wires, pauli_table

__all__ = [
    "Rotation",
    "circuit_expectation",
    "circuit_state",
    "apply_rotation",
    "diagonal_rotation",
    "pauli_rotation",
    "stack_circuits",
    "PAULI_TABLE_WIRES",
]

#: Pauli rotations on at most this many wires carry their gather tables (24 bytes per basis state each:
#: 1.5 MiB per term at 16 wires, where a DC-QAOA layer on a 3-regular graph holds 24 terms)
PAULI_TABLE_WIRES = 16


def diagonal_rotation(
    param: int, diagonal: torch.Tensor, coefficient: float = 1.0, *, max_levels: int = 4096
) -> "Rotation":
    """A 'diagonal' rotation, compressed to its distinct values when there are at most ``max_levels``
    (an unweighted MaxCut cost has at most |E| + 1)."""
    levels, index = torch.unique(diagonal, return_inverse=True)
    if levels.numel() <= max_levels and diagonal.dim() == 1:
        return Rotation("diagonal", param, coefficient, diagonal=diagonal, levels=levels, level_index=index)
    return Rotation("diagonal", param, coefficient, diagonal=diagonal)


def pauli_rotation(
    param: int,
    pauli: str,
    wires: tuple[int, ...],
    n: int,
    coefficient: float = 1.0,
    *,
    dtype: torch.dtype = torch.complex128,
    device=None,
) -> "Rotation":
    """A 'pauli' rotation on an n-wire register, with its gather tables (:func:`ornn.quantum.pauli_table`)
    while n <= :data:`PAULI_TABLE_WIRES`: P psi is then one gather and one product instead of a flip and
    a sign product per letter on an n-dimensional view (the same bits, about half the time of a
    counterdiabatic QAOA circuit at n = 10)."""
    if _checks.positive_int("n", n) > PAULI_TABLE_WIRES:
        return Rotation("pauli", param, coefficient, pauli=pauli, wires=wires)
    index, phase = pauli_table(pauli, wires, n, dtype=dtype, device=device)
    return Rotation("pauli", param, coefficient, pauli=pauli, wires=wires, pauli_index=index, pauli_phase=phase)


@dataclass(frozen=True)
class Rotation:
    """exp(-i theta[param] * coefficient * G) with G given by ``kind`` (and ``diagonal`` or ``pauli``/``wires``)."""

    kind: str
    param: int
    coefficient: float = 1.0
    diagonal: Optional[torch.Tensor] = None
    pauli: str = ""
    wires: tuple[int, ...] = ()
    #: optional compression of a (2^n,) diagonal with few distinct values: diagonal == levels[level_index];
    #: exp(-i a D) is then computed on the levels and gathered (one pass instead of a transcendental per entry)
    levels: Optional[torch.Tensor] = None
    level_index: Optional[torch.Tensor] = None
    #: optional tables of a 'pauli' rotation: (P psi)[z] = pauli_phase[z] psi[pauli_index[z]] (see pauli_rotation);
    #: (B, 2^n) tables hold one string per row (:func:`stack_circuits`), and then ``pauli`` and ``wires`` stay empty
    pauli_index: Optional[torch.Tensor] = None
    pauli_phase: Optional[torch.Tensor] = None

    def __post_init__(self) -> None:
        if self.kind not in ("diagonal", "x_all", "pauli"):
            raise ValueError(f"kind: expected 'diagonal', 'x_all' or 'pauli', got {self.kind!r}")
        if self.kind == "diagonal" and self.diagonal is None:
            raise ValueError("diagonal: a 'diagonal' rotation needs its generator's 2**n entries")
        if (self.pauli_index is None) != (self.pauli_phase is None) or (
            self.pauli_index is not None and self.pauli_index.shape != self.pauli_phase.shape
        ):
            raise ValueError("pauli_index, pauli_phase: expected both tables of one shape, or neither")
        stacked = self.pauli_index is not None and self.pauli_index.dim() == 2
        if self.kind == "pauli" and not stacked and (not self.pauli or len(self.pauli) != len(self.wires)):
            raise ValueError(f"pauli: expected one letter per wire, got {self.pauli!r} on {self.wires}")


def _pauli(rot: Rotation, state: torch.Tensor) -> torch.Tensor:
    """P psi for a 'pauli' rotation: through its tables when it carries them."""
    if rot.pauli_index is None:
        return apply_pauli(state, rot.pauli, rot.wires)
    if rot.pauli_index.dim() == 2:  # one string per row
        return torch.gather(state, 1, rot.pauli_index).mul_(rot.pauli_phase)
    return state.index_select(1, rot.pauli_index).mul_(rot.pauli_phase)


def _generator_overlap(rot: Rotation, lam: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    """Im <lambda| G |psi> per row."""
    if rot.kind == "diagonal":
        return torch.linalg.vecdot(lam, psi * rot.diagonal).imag
    if rot.kind == "pauli":
        return torch.linalg.vecdot(lam, _pauli(rot, psi)).imag
    return torch.linalg.vecdot(lam, add_x_sum(torch.zeros_like(psi), psi)).imag


def rotation_factors(angle: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos a, -i sin a) in the state's complex ``dtype``: the two factors of exp(-i a P) = cos a - i sin a P."""
    return torch.cos(angle).to(dtype), (-1j * torch.sin(angle)).to(dtype)


def apply_rotation(
    state: torch.Tensor,
    rot: Rotation,
    angle: torch.Tensor,
    n: int,
    factors: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
) -> torch.Tensor:
    """exp(-i angle G) psi with angle (B,) (already multiplied by the coefficient); ``factors`` may pass
    :func:`rotation_factors` of that angle, computed once for rotations that share it."""
    batch = state.shape[0]
    if rot.kind == "diagonal":
        if rot.levels is not None:
            phase = -angle[:, None] * rot.levels
            table = torch.polar(torch.ones_like(phase), phase).to(state.dtype)  # (B, levels)
            if batch == 1:
                return state * torch.take(table, rot.level_index)
            offsets = rot.levels.numel() * torch.arange(batch, device=state.device)[:, None]
            return state * torch.take(table, rot.level_index[None, :] + offsets)
        phase = -angle[:, None] * rot.diagonal
        return state * torch.polar(torch.ones_like(phase), phase).to(state.dtype)
    cos, minus_i_sin = rotation_factors(angle, state.dtype) if factors is None else factors
    if rot.kind == "pauli":
        return cos[:, None] * state + minus_i_sin[:, None] * _pauli(rot, state)
    # exp(-i a X) on every wire
    if batch > 1:  # one angle per row: elementwise, in place, one wire at a time (measured faster here)
        state = state.clone()
        c, s = cos[:, None, None], minus_i_sin[:, None, None]
        for w in range(n):
            view = state.view(batch, 2**w, 2, -1)
            upper, lower = view[:, :, 0], view[:, :, 1]
            kept = upper.clone()
            upper.mul_(c).add_(lower * s)  # cos a |0> - i sin a (X psi)|0>
            lower.mul_(c).add_(kept * s)
        return state
    # a single state: GROUP wires at a time, one (2^k x 2^k) Kronecker power per group as a matrix product
    gate = torch.stack([torch.stack([cos, minus_i_sin], -1), torch.stack([minus_i_sin, cos], -1)], -2)  # (1, 2, 2)
    for start, width in _groups(n):
        state = _apply_group(_kron_power(gate, width), state, start, width)
    return state


def _apply_group(matrix: torch.Tensor, state: torch.Tensor, start: int, width: int) -> torch.Tensor:
    """Apply a (B or 1, 2^k, 2^k) matrix to wires start..start+k-1 of a (B, 2^n) state."""
    batch = state.shape[0]
    view = state.view(batch, 2**start, 2**width, -1)
    if view.shape[-1] == 1:  # the last wires: (B, 2^start, 2^k) @ M^T is one GEMM per row
        return torch.matmul(view.squeeze(-1), matrix.transpose(-1, -2)).reshape(batch, -1)
    return torch.matmul(matrix[:, None], view).reshape(batch, -1)  # M broadcast over the leading wires


GROUP = 4  # wires per matrix product in the mixer (measured fastest of 2..6 at n = 14 and 20)


def _groups(n: int) -> list[tuple[int, int]]:
    return [(start, min(GROUP, n - start)) for start in range(0, n, GROUP)]


def _kron_power(gate: torch.Tensor, width: int) -> torch.Tensor:
    """gate^(x) width for a batch of (2, 2) gates: (B, 2^width, 2^width)."""
    out = gate
    for _ in range(width - 1):
        out = torch.einsum("bij,bkl->bikjl", out, gate).reshape(gate.shape[0], out.shape[1] * 2, out.shape[2] * 2)
    return out


#: circuits with at most this many rotations keep their intermediate states for the backward pass
STORED_STATES = 16


def _shared_factors(cache: dict, rot: Rotation, angle: torch.Tensor, dtype: torch.dtype) -> Optional[tuple]:
    """A 'pauli' rotation's :func:`rotation_factors`, computed once per (parameter, coefficient) in one pass:
    the terms of a counterdiabatic layer share them (the same bits as computing them per term)."""
    if rot.kind != "pauli":
        return None
    key = (rot.param, rot.coefficient)
    if key not in cache:
        cache[key] = rotation_factors(angle, dtype)
    return cache[key]


def stack_circuits(circuits: Sequence[Sequence[Rotation]]) -> Optional[list[Rotation]]:
    """One circuit whose row b runs ``circuits[b]``, or None where they differ in shape.

    The circuits must agree rotation by rotation in kind, parameter and coefficient; their diagonals
    stack into (B, 2^n) generators and their Pauli strings (which must carry tables) into (B, 2^n)
    gather tables, so B problems cost one pass over a (B, 2^n) state instead of B passes.
    """
    if len({len(circuit) for circuit in circuits}) != 1:
        return None
    stacked = []
    for rots in zip(*circuits):
        first = rots[0]
        if any((r.kind, r.param, r.coefficient) != (first.kind, first.param, first.coefficient) for r in rots):
            return None
        if first.kind == "diagonal":
            diagonals = torch.stack([r.diagonal for r in rots])
            stacked.append(Rotation("diagonal", first.param, first.coefficient, diagonal=diagonals))
        elif first.kind == "pauli":
            if any(r.pauli_index is None or r.pauli_index.dim() != 1 for r in rots):
                return None
            index = torch.stack([r.pauli_index for r in rots])
            phase = torch.stack([r.pauli_phase for r in rots])
            stacked.append(Rotation("pauli", first.param, first.coefficient, pauli_index=index, pauli_phase=phase))
        else:
            stacked.append(first)
    return stacked


class _AdjointExpectation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, params: torch.Tensor, initial: torch.Tensor, observable: torch.Tensor, rotations: tuple, n: int):
        # Short circuits keep every intermediate state (backward then undoes lambda only);
        # long ones (many counterdiabatic edge terms) keep memory flat and undo psi as well.
        keep = len(rotations) <= STORED_STATES
        state, states, factors = initial, [], {}
        for rot in rotations:
            angle = params[:, rot.param] * rot.coefficient
            state = apply_rotation(state, rot, angle, n, _shared_factors(factors, rot, angle, state.dtype))
            if keep:
                states.append(state)
        probs = state.real**2 + state.imag**2
        energy = (probs * observable).sum(-1)
        ctx.save_for_backward(params, state, observable)
        ctx.rotations, ctx.n, ctx.states = rotations, n, states if keep else None
        return energy

    @staticmethod
    def backward(ctx, grad_energy: torch.Tensor):
        params, state, observable = ctx.saved_tensors
        n = ctx.n
        grads = torch.zeros_like(params)
        lam = state * observable.to(state.dtype)
        psi = state
        states, factors = ctx.states, {}
        for j in range(len(ctx.rotations) - 1, -1, -1):
            rot = ctx.rotations[j]
            if states is not None:
                psi = states[j]
            overlap = _generator_overlap(rot, lam, psi)
            grads[:, rot.param] += 2.0 * rot.coefficient * overlap.to(grads.dtype)
            undo = -params[:, rot.param] * rot.coefficient
            undo_factors = _shared_factors(factors, rot, undo, state.dtype)
            if states is None:
                psi = apply_rotation(psi, rot, undo, n, undo_factors)
            if j > 0:
                lam = apply_rotation(lam, rot, undo, n, undo_factors)
        ctx.states = None
        return grads * grad_energy[:, None], None, None, None, None


def circuit_state(initial: torch.Tensor, rotations: Sequence[Rotation], params: torch.Tensor) -> torch.Tensor:
    """|psi(theta)> per row of ``params`` (B, P), built with out-of-place ``ornn.quantum`` operations.

    The autograd reference for :func:`circuit_expectation` (whose kernels work in place):
    the same rotations, one gate per wire for the mixer.
    """
    from ornn.quantum import apply_gate, apply_pauli_rotation, rotation

    n, state = _check_circuit(initial, rotations, params)
    for rot in rotations:
        angle = params[:, rot.param] * rot.coefficient
        if rot.kind == "diagonal":
            phase = -angle[:, None] * rot.diagonal
            state = state * torch.polar(torch.ones_like(phase), phase).to(state.dtype)
        elif rot.kind == "pauli" and rot.pauli:
            state = apply_pauli_rotation(state, rot.pauli, rot.wires, angle)
        elif rot.kind == "pauli":  # a stack of strings, one per row: only their tables say which
            cos, minus_i_sin = rotation_factors(angle, state.dtype)
            state = cos[:, None] * state + minus_i_sin[:, None] * _pauli(rot, state)
        else:
            gate = rotation("X", 2 * angle, dtype=state.dtype)  # exp(-i a X) = R_X(2a)
            for wire in range(n):
                state = apply_gate(state, gate, wire)
    return state


def circuit_expectation(
    initial: torch.Tensor, rotations: Sequence[Rotation], params: torch.Tensor, observable: torch.Tensor
) -> torch.Tensor:
    """<psi(theta)| D |psi(theta)> per row of ``params`` (B, P), with adjoint gradients for ``params``.

    ``initial`` is (B, 2^n) or (1, 2^n) (broadcast); ``observable`` and diagonal generators are
    real (2^n,) or (B, 2^n).
    """
    n, initial = _check_circuit(initial, rotations, params)
    if observable.shape[-1] != initial.shape[1] or observable.is_complex():
        raise ValueError(
            f"observable: expected a real diagonal of {initial.shape[1]} entries, got {tuple(observable.shape)} {observable.dtype}"
        )
    return _AdjointExpectation.apply(params, initial, observable, tuple(rotations), n)


def _check_circuit(
    initial: torch.Tensor, rotations: Sequence[Rotation], params: torch.Tensor
) -> tuple[int, torch.Tensor]:
    """Checks shared by the two runners; returns n and the initial state broadcast to the batch."""
    n = num_wires(initial)
    _checks.tensor("params", params)
    if params.dim() != 2:
        raise ValueError(f"params: expected (batch, num_params), got shape {tuple(params.shape)}")
    if initial.shape[0] not in (1, params.shape[0]):
        raise ValueError(
            f"initial: expected 1 or {params.shape[0]} rows (one per parameter row), got {initial.shape[0]}"
        )
    for rot in rotations:
        if not isinstance(rot, Rotation):
            raise TypeError(f"rotations: expected Rotation objects, got {_checks.describe(rot)}")
        if not 0 <= rot.param < params.shape[1]:
            raise ValueError(f"rotations: parameter index {rot.param} out of range for {params.shape[1]} parameters")
        if rot.pauli_phase is not None and (
            rot.pauli_phase.shape not in (initial.shape[1:], (params.shape[0], initial.shape[1]))
            or rot.pauli_phase.dtype != initial.dtype
            or rot.pauli_phase.device != initial.device
        ):
            raise ValueError(
                f"rotations: a {rot.pauli!r} rotation's tables are {tuple(rot.pauli_phase.shape)} "
                f"{rot.pauli_phase.dtype} on {rot.pauli_phase.device}, expected the state's "
                f"{tuple(initial.shape[1:])} (or one row per parameter row) {initial.dtype} on {initial.device}"
            )
    return n, initial.expand(params.shape[0], -1)
