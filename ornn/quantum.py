r"""A batched, differentiable statevector engine in torch.

States are complex tensors of shape (B, 2^n) (complex64 or complex128). Wire 0 is the
leftmost, most significant bit of a basis index, as in QuTiP's ``tensor`` and PennyLane:
basis index z = sum_w z_w 2^(n-1-w). |0> is spin up: Z|0> = +|0>.

Every operation is a small number of passes over the state, written with reshapes,
``einsum`` and elementwise products, so autograd differentiates through all of it and
a batch of B states (or of B parameter sets) costs one pass of B times the size.

    >>> psi = plus_state(3)                               # (1, 8) complex64
    >>> psi = apply_pauli_rotation(psi, "ZZ", (0, 1), torch.tensor(0.3))
    >>> expectation_z(psi)                                # (1, 3): <Z_w> per wire
"""

from __future__ import annotations

from typing import Sequence, Union

import torch

from . import _checks

__all__ = [
    "PAULI",
    "num_wires",
    "add_x_sum",
    "zero_state",
    "plus_state",
    "basis_state",
    "apply_gate",
    "apply_pauli",
    "apply_pauli_rotation",
    "pauli_table",
    "apply_cnot",
    "apply_wise",
    "product_state",
    "rotation",
    "expectation_diagonal",
    "expectation_z",
    "probabilities",
    "z_signs",
]

_COMPLEX = (torch.complex64, torch.complex128)

#: single-qubit Pauli matrices (complex128; cast on use)
PAULI = {
    "I": torch.eye(2, dtype=torch.complex128),
    "X": torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128),
    "Y": torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128),
    "Z": torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128),
}


def num_wires(state: torch.Tensor) -> int:
    """n for a (B, 2^n) state; refuses anything else with a clear error."""
    _checks.tensor("state", state)
    if state.dim() != 2 or state.shape[1] < 1:
        raise ValueError(f"state: expected shape (batch, 2**n), got {tuple(state.shape)}")
    if state.dtype not in _COMPLEX:
        raise TypeError(f"state: expected dtype complex64 or complex128, got {state.dtype}")
    n = state.shape[1].bit_length() - 1
    if 1 << n != state.shape[1]:
        raise ValueError(f"state: expected a power-of-two dimension 2**n, got {state.shape[1]}")
    return n


def _check_wires(wires: Sequence[int], n: int) -> tuple[int, ...]:
    wires = tuple(wires)
    for w in wires:
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < n:
            raise ValueError(f"wires: expected integers in [0, {n}), got {wires}")
    if len(set(wires)) != len(wires):
        raise ValueError(f"wires: expected distinct wires, got {wires}")
    return wires


def basis_state(
    n: int, index: int = 0, *, batch: int = 1, dtype: torch.dtype = torch.complex64, device=None
) -> torch.Tensor:
    """|index> for each of ``batch`` rows."""
    _checks.positive_int("n", n)
    if not 0 <= index < 2**n:
        raise ValueError(f"index: expected an integer in [0, {2**n}), got {index}")
    state = torch.zeros(batch, 2**n, dtype=dtype, device=device)
    state[:, index] = 1.0
    return state


def zero_state(n: int, *, batch: int = 1, dtype: torch.dtype = torch.complex64, device=None) -> torch.Tensor:
    """|0...0>."""
    return basis_state(n, 0, batch=batch, dtype=dtype, device=device)


def plus_state(n: int, *, batch: int = 1, dtype: torch.dtype = torch.complex64, device=None) -> torch.Tensor:
    """|+>^n, the uniform superposition (QAOA's initial state)."""
    _checks.positive_int("n", n)
    if dtype not in _COMPLEX:
        raise TypeError(f"dtype: expected complex64 or complex128, got {dtype}")
    return torch.full((batch, 2**n), 2 ** (-n / 2), dtype=dtype, device=device)


def apply_gate(state: torch.Tensor, gate: torch.Tensor, wire: int) -> torch.Tensor:
    """Apply a 2x2 gate (or a batch (B, 2, 2), one per state) to ``wire``."""
    n = num_wires(state)
    (wire,) = _check_wires((wire,), n)
    _checks.tensor("gate", gate)
    if gate.shape[-2:] != (2, 2) or gate.dim() not in (2, 3):
        raise ValueError(f"gate: expected shape (2, 2) or (batch, 2, 2), got {tuple(gate.shape)}")
    gate = gate.to(state.dtype)
    view = state.reshape(state.shape[0], 2**wire, 2, 2 ** (n - wire - 1))
    if gate.dim() == 2:
        out = torch.einsum("ij,bajc->baic", gate, view)
    else:
        if gate.shape[0] != state.shape[0]:
            raise ValueError(f"gate: expected a batch of {state.shape[0]} gates, got {gate.shape[0]}")
        out = torch.einsum("bij,bajc->baic", gate, view)
    return out.reshape(state.shape)


def z_signs(n: int, *, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """(n, 2^n) table of Z eigenvalues: z_signs[w, z] = 1 - 2 * (bit w of z), wire 0 the most significant."""
    _checks.positive_int("n", n)
    index = torch.arange(2**n, device=device)
    shifts = torch.arange(n - 1, -1, -1, device=device)
    bits = (index[None, :] >> shifts[:, None]) & 1
    return (1 - 2 * bits).to(dtype)


def _check_pauli(pauli: str, wires: tuple[int, ...]) -> None:
    if not isinstance(pauli, str) or not pauli or any(c not in "IXYZ" for c in pauli):
        raise ValueError(f"pauli: expected a non-empty string over I, X, Y, Z, got {pauli!r}")
    if len(pauli) != len(wires):
        raise ValueError(f"wires: expected {len(pauli)} wires for pauli {pauli!r}, got {len(wires)}")


def apply_pauli(state: torch.Tensor, pauli: str, wires: Sequence[int]) -> torch.Tensor:
    """P psi for a Pauli string P (e.g. ``"ZY"``) acting on ``wires`` (one letter per wire)."""
    n = num_wires(state)
    wires = _check_wires(wires, n)
    _check_pauli(pauli, wires)
    batch = state.shape[0]
    out = state.reshape(batch, *([2] * n))
    phase = 1.0
    for letter, w in zip(pauli, wires):
        axis = w + 1
        if letter in "XY":
            out = out.flip(axis)  # X|z> = |1 - z>
        if letter in "YZ":
            # Z: +1 on |0>, -1 on |1>; Y = i X Z, so after the flip the sign sits on the new |0>
            sign = torch.tensor(
                [1.0, -1.0] if letter == "Z" else [-1.0, 1.0], dtype=state.real.dtype, device=state.device
            )
            out = out * sign.reshape([2 if d == axis else 1 for d in range(n + 1)])
            if letter == "Y":
                phase = phase * 1j
    out = out.reshape(batch, 2**n)
    return out * phase if phase != 1.0 else out


def pauli_table(
    pauli: str, wires: Sequence[int], n: int, *, dtype: torch.dtype = torch.complex128, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(index, phase), both (2^n,), with (P psi)[z] = phase[z] psi[index[z]] for the Pauli string P on ``wires``.

    P permutes the basis and multiplies by +-1 or +-i, so a circuit that applies the same string many
    times can precompute both and apply P as one gather and one product: ``state[:, index] * phase``
    (bit for bit :func:`apply_pauli`, since every factor is exact). X and Y flip their wire's bit
    (index = z xor mask); Z contributes 1 - 2 z_w and Y = i X Z contributes i (2 z_w - 1).
    Costs 24 bytes per basis state, so callers tabulate only small registers.
    """
    _checks.positive_int("n", n)
    wires = _check_wires(wires, n)
    _check_pauli(pauli, wires)
    if dtype not in _COMPLEX:
        raise TypeError(f"dtype: expected complex64 or complex128, got {dtype}")
    z = torch.arange(2**n, device=device)
    index, phase = z.clone(), torch.ones(2**n, dtype=dtype, device=device)
    for letter, w in zip(pauli, wires):
        bit = (z >> (n - 1 - w)) & 1
        if letter in "XY":
            index ^= 1 << (n - 1 - w)
        if letter == "Z":
            phase *= (1 - 2 * bit).to(dtype)
        elif letter == "Y":
            phase *= 1j * (2 * bit - 1).to(dtype)
    return index, phase


def add_x_sum(out: torch.Tensor, state: torch.Tensor, alpha: complex = 1.0) -> torch.Tensor:
    """``out += alpha * sum_w X_w state`` in place, for (B, 2^n) states; returns ``out``.

    The one "X on every wire" kernel: X on wire w exchanges the two halves of every
    (2^w, [2], 2^(n-w-1)) block, so each wire is two in-place strided adds and no flipped
    copy of the state is ever made. It serves the transverse-field terms of the Ising
    chain (H psi) and the QAOA mixer's generator in the adjoint gradient.
    """
    n = num_wires(state)
    if out.shape != state.shape:
        raise ValueError(f"out: expected the shape of state {tuple(state.shape)}, got {tuple(out.shape)}")
    batch = state.shape[0]
    for wire in range(n):
        source = state.reshape(batch, 2**wire, 2, -1)
        target = out.view(batch, 2**wire, 2, -1)
        target[:, :, 0].add_(source[:, :, 1], alpha=alpha)
        target[:, :, 1].add_(source[:, :, 0], alpha=alpha)
    return out


def apply_pauli_rotation(
    state: torch.Tensor, pauli: str, wires: Sequence[int], theta: Union[float, torch.Tensor]
) -> torch.Tensor:
    """exp(-i theta P) psi = cos(theta) psi - i sin(theta) P psi; theta a scalar or one per state (B,)."""
    theta = torch.as_tensor(theta, dtype=state.real.dtype, device=state.device)
    if theta.dim() > 1 or (theta.dim() == 1 and theta.shape[0] != state.shape[0]):
        raise ValueError(f"theta: expected a scalar or shape ({state.shape[0]},), got {tuple(theta.shape)}")
    if theta.dim() == 1:
        theta = theta[:, None]
    return torch.cos(theta) * state - 1j * torch.sin(theta) * apply_pauli(state, pauli, wires)


def rotation(pauli: str, theta: torch.Tensor, *, dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    """The 2x2 matrix exp(-i theta/2 P) for P in X, Y, Z (batched over theta's shape), as in R_P(theta)."""
    if pauli not in ("X", "Y", "Z"):
        raise ValueError(f"pauli: expected 'X', 'Y' or 'Z', got {pauli!r}")
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    half = (torch.as_tensor(theta).to(real) / 2)[..., None, None]
    p = PAULI[pauli].to(device=half.device)
    # cos(h) I - i sin(h) P = [cos(h) I + sin(h) Im P] + i [-sin(h) Re P]: real cosines and sines only
    cos, sin = torch.cos(half), torch.sin(half)
    eye = torch.eye(2, dtype=real, device=half.device)
    return torch.complex(cos * eye + sin * p.imag.to(real), -sin * p.real.to(real)).to(dtype)


def apply_cnot(state: torch.Tensor, control: int, target: int) -> torch.Tensor:
    """CNOT with ``control`` and ``target`` wires: flips the target bit where the control bit is 1 (a permutation)."""
    n = num_wires(state)
    control, target = _check_wires((control, target), n)
    view = state.reshape(state.shape[0], *([2] * n))
    flipped = view.flip(target + 1)
    on = torch.zeros(2, dtype=torch.bool, device=state.device)
    on[1] = True
    mask = on.reshape([2 if d == control + 1 else 1 for d in range(n + 1)])
    return torch.where(mask, flipped, view).reshape(state.shape)


def apply_wise(state: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
    """A layer of single-qubit gates, one per wire: ``gates`` is (n, 2, 2) shared or (B, n, 2, 2) one set per state."""
    n = num_wires(state)
    _checks.tensor("gates", gates)
    if gates.dim() not in (3, 4) or gates.shape[-3:] != (n, 2, 2):
        raise ValueError(f"gates: expected shape ({n}, 2, 2) or (batch, {n}, 2, 2), got {tuple(gates.shape)}")
    if gates.dim() == 4 and gates.shape[0] != state.shape[0]:
        raise ValueError(f"gates: expected a batch of {state.shape[0]} gate sets, got {gates.shape[0]}")
    gates = gates.to(state.dtype)
    batch = state.shape[0]
    pattern = "bij,bajc->baic" if gates.dim() == 4 else "ij,bajc->baic"
    for wire in range(n):  # checked once above; each wire is one einsum over a (B, 2^w, 2, rest) view
        view = state.reshape(batch, 2**wire, 2, 2 ** (n - wire - 1))
        state = torch.einsum(pattern, gates[..., wire, :, :], view).reshape(batch, -1)
    return state


def product_state(qubits: torch.Tensor) -> torch.Tensor:
    """The product state |q_0> (x) |q_1> (x) ... from single-qubit states ``qubits`` (B, n, 2) -> (B, 2^n)."""
    _checks.tensor("qubits", qubits)
    if qubits.dim() != 3 or qubits.shape[-1] != 2 or qubits.shape[1] < 1:
        raise ValueError(f"qubits: expected shape (batch, n, 2), got {tuple(qubits.shape)}")
    if qubits.dtype not in _COMPLEX:
        raise TypeError(f"qubits: expected dtype complex64 or complex128, got {qubits.dtype}")
    state = qubits[:, 0]
    for wire in range(1, qubits.shape[1]):  # wire 0 stays the most significant bit
        state = (state[:, :, None] * qubits[:, wire, None, :]).reshape(qubits.shape[0], -1)
    return state


def probabilities(state: torch.Tensor) -> torch.Tensor:
    """|psi_z|^2, real (B, 2^n)."""
    num_wires(state)
    return state.real**2 + state.imag**2


def expectation_diagonal(state: torch.Tensor, diagonal: torch.Tensor) -> torch.Tensor:
    """<psi| D |psi> for a real diagonal D: (B,) for a (2^n,) diagonal, (B,) for one per state (B, 2^n)."""
    probs = probabilities(state)
    _checks.tensor("diagonal", diagonal)
    if diagonal.shape[-1] != state.shape[1] or diagonal.dim() not in (1, 2):
        raise ValueError(
            f"diagonal: expected shape ({state.shape[1]},) or (batch, {state.shape[1]}), got {tuple(diagonal.shape)}"
        )
    if diagonal.is_complex():
        raise TypeError(f"diagonal: expected a real tensor (a Hermitian diagonal), got {diagonal.dtype}")
    return (probs * diagonal.to(probs.dtype)).sum(-1)


def expectation_z(state: torch.Tensor) -> torch.Tensor:
    """<Z_w> for every wire: (B, n)."""
    n = num_wires(state)
    probs = probabilities(state)
    return probs @ z_signs(n, dtype=probs.dtype, device=probs.device).T
