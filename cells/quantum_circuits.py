r"""Variational-circuit building blocks of the quantum sequence cells (the sequence-model paper), on ``ornn.quantum``.

All circuits act on q qubits, |0>^q at the start, wire 0 the most significant bit
. Features are bounded with arctan before they become angles, as in Chen et
al.'s QLSTM: a feature a becomes the qubit

    RZ(arctan a^2) RY(arctan a) H |0>,

so the encoding is injective on the real line (each angle lies in (-pi/2, pi/2)).

* :func:`angle_encoding` - the product state of q such qubits, built directly as a
  Kronecker product (no gate passes needed).
* :func:`entangle` - the fixed entangler: a CNOT chain 0->1->...->q-1, closed into a
  ring (q-1 -> 0) for q >= 3.
* :func:`variational_unitary` - C circuits of ``depth`` layers [entangler, then
  RX RY RZ on every wire], returned as C (2^q x 2^q) unitaries. They are built by
  running the layers on the 2^q basis states at once, so a gate's circuit costs one
  pass however large the batch: the batch then needs one (B, 2^q) x (2^q, 2^q) product.
* :func:`apply_variational` - the same layers with a different weight set per state
  (QFWP's fast weights differ per sequence).
* :func:`feature_map` - the kernel feature map phi(v) of any dimension: H on every
  wire, then ``reps`` rounds that upload the features q at a time (RY(arctan a),
  RZ(arctan a^2) per wire), each chunk followed by the entangler (data re-uploading,
  so the state is entangled and the fidelity kernel is not a product of
  one-qubit kernels).
* :func:`fidelity_kernel` - k(v, w) = |<phi(w)|phi(v)>|^2 between two sets of states.
  It compares two *different* feature vectors; the circuit U(v) U(v)^dagger with the
  same argument on both halves is the identity, a defect we avoid by construction.
"""

from __future__ import annotations

import functools
import math

import torch

from ornn import _checks, quantum

__all__ = [
    "MAX_QUBITS",
    "check_qubits",
    "angle_encoding",
    "angle_encoding_parts",
    "z_sign_table",
    "entangle",
    "rotation_layer",
    "variational_unitary",
    "apply_variational",
    "feature_map",
    "fidelity_kernel",
]

#: the cells keep a dense 2^q statevector per gate and sample, so q is kept small
MAX_QUBITS = 12


def check_qubits(num_qubits: int) -> int:
    """A qubit count in [1, MAX_QUBITS], or a ValueError naming ``num_qubits``."""
    _checks.positive_int("num_qubits", num_qubits)
    if num_qubits > MAX_QUBITS:
        raise ValueError(
            f"num_qubits: expected at most {MAX_QUBITS} (a dense 2^q statevector per sample), got {num_qubits}"
        )
    return num_qubits


def _features(name: str, features: torch.Tensor) -> torch.Tensor:
    _checks.tensor(name, features)
    if features.dim() != 2 or features.is_complex():
        raise ValueError(
            f"{name}: expected a real tensor (batch, features), got shape {tuple(features.shape)} {features.dtype}"
        )
    return features


def _encoding_gates(features: torch.Tensor) -> torch.Tensor:
    """RZ(arctan a^2) RY(arctan a) for every feature a: (..., 2, 2), complex of the features' precision."""
    cdt = features.dtype.to_complex()
    return quantum.rotation("Z", torch.atan(features * features), dtype=cdt) @ quantum.rotation(
        "Y", torch.atan(features), dtype=cdt
    )


@functools.lru_cache(maxsize=None)
def z_sign_table(q: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``quantum.z_signs(q)`` cached per dtype and device (a constant: built once, never differentiated)."""
    return quantum.z_signs(q, dtype=dtype, device=device)


def angle_encoding_parts(features: torch.Tensor) -> torch.Tensor:
    r"""[Re psi, Im psi] (B, 2 * 2^q) of the :func:`angle_encoding` state psi, in closed form.

    With theta = arctan a and phi = arctan a^2, one qubit is
    RZ(phi) RY(theta) H|0> = (e^{-i phi/2} cos(theta/2 + pi/4), e^{i phi/2} cos(theta/2 - pi/4)),
    so amplitude z of the product state is m_z e^{i p_z}: m_z a Kronecker product of those real
    pairs (both from one cosine) and p_z = -1/2 sum_w phi_w s_w(z), s_w = +-1 the Z eigenvalue of
    wire w, one (q x 2^q) product. Real and imaginary parts come from one cosine of [p, p - pi/2].
    Real tensors throughout, so the quantum cells' sequence paths stay in real arithmetic.
    """
    features = _features("features", features)
    batch, q = features.shape
    pairs, phases, offsets = _encoding_maps(q, features.dtype, features.device)
    halves = torch.cos(torch.add(pairs, torch.atan(features).unsqueeze(-1), alpha=0.5))  # (B, q, 2)
    wires = halves.unbind(1)
    magnitude = wires[0]
    for pair in wires[1:]:  # wire 0 stays the most significant bit
        magnitude = (magnitude[:, :, None] * pair[:, None, :]).reshape(batch, -1)
    return magnitude.repeat(1, 2) * torch.cos(torch.addmm(offsets, torch.atan(features * features), phases))


@functools.lru_cache(maxsize=None)
def _encoding_maps(q: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Constants of :func:`angle_encoding_parts`: the pair offsets [pi/4, -pi/4], the phase map
    -1/2 [Z, Z] (q, 2 * 2^q) and its offsets [0, -pi/2] (cos(p - pi/2) = sin p)."""
    signs = -0.5 * quantum.z_signs(q, dtype=dtype, device=device)
    half_turn = torch.full((2**q,), -math.pi / 2, dtype=torch.float64)  # built in float64, then cast
    offsets = torch.cat([torch.zeros_like(half_turn), half_turn]).to(dtype=dtype, device=device)
    pairs = torch.tensor([math.pi / 4, -math.pi / 4], dtype=dtype, device=device)
    return pairs, torch.cat([signs, signs], dim=1), offsets


def angle_encoding(features: torch.Tensor) -> torch.Tensor:
    """(B, q) real features -> (B, 2^q) product state, one feature per wire: RZ RY H|0> per wire."""
    parts = angle_encoding_parts(features)
    return torch.complex(*parts.chunk(2, dim=1))


@functools.lru_cache(maxsize=None)
def _entangler_permutation(q: int, device: torch.device) -> torch.Tensor:
    """Basis-index gather that applies the whole CNOT ring at once (computed with the engine's CNOTs)."""
    index = torch.arange(2**q, dtype=torch.float64).to(torch.complex128)[None, :]
    for wire in range(q - 1):
        index = quantum.apply_cnot(index, wire, wire + 1)
    if q >= 3:
        index = quantum.apply_cnot(index, q - 1, 0)
    return index.real.long()[0].to(device)


def entangle(state: torch.Tensor) -> torch.Tensor:
    """CNOT(0, 1), CNOT(1, 2), ..., and CNOT(q-1, 0) for q >= 3 (nothing on one qubit), as one permutation."""
    q = quantum.num_wires(state)
    return state[:, _entangler_permutation(q, state.device)]


def rotation_layer(state: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """RZ(c) RY(b) RX(a) on every wire; ``angles`` is (q, 3) shared or (B, q, 3) per state."""
    dtype = state.dtype
    rx = quantum.rotation("X", angles[..., 0], dtype=dtype)
    ry = quantum.rotation("Y", angles[..., 1], dtype=dtype)
    rz = quantum.rotation("Z", angles[..., 2], dtype=dtype)
    return quantum.apply_wise(state, rz @ ry @ rx)


def variational_unitary(weights: torch.Tensor) -> torch.Tensor:
    """(C, depth, q, 3) rotation angles -> (C, 2^q, 2^q): C circuits of ``depth`` [entangler, rotations] layers.

    Column j of circuit c is the circuit applied to basis state |j>.
    """
    _checks.tensor("weights", weights)
    if weights.dim() != 4 or weights.shape[-1] != 3:
        raise ValueError(f"weights: expected shape (circuits, depth, qubits, 3), got {tuple(weights.shape)}")
    circuits, depth, q, _ = weights.shape
    dim = 2 ** check_qubits(q)
    cdt = weights.dtype.to_complex()
    basis = torch.eye(dim, dtype=cdt, device=weights.device).repeat(circuits, 1)  # (C * dim, dim), rows = |j>
    per_state = weights.repeat_interleave(dim, dim=0)  # (C * dim, depth, q, 3)
    state = basis
    for layer in range(depth):
        state = rotation_layer(entangle(state), per_state[:, layer])
    return state.reshape(circuits, dim, dim).transpose(1, 2)


def apply_variational(state: torch.Tensor, weights: torch.Tensor, axes: str = "Y") -> torch.Tensor:
    """``depth`` layers [rotations about ``axes`` on every wire, then the entangler], one weight set per state.

    ``weights`` is (B, depth, q): one angle per wire and layer, applied as R_axis(w) for each axis letter.
    """
    q = quantum.num_wires(state)
    _checks.tensor("weights", weights)
    if weights.dim() != 3 or weights.shape[0] != state.shape[0] or weights.shape[2] != q:
        raise ValueError(f"weights: expected shape ({state.shape[0]}, depth, {q}), got {tuple(weights.shape)}")
    if not axes or any(a not in "XYZ" for a in axes):
        raise ValueError(f"axes: expected a non-empty string over X, Y, Z, got {axes!r}")
    gate = None
    for axis in axes:
        r = quantum.rotation(axis, weights, dtype=state.dtype)  # (B, depth, q, 2, 2)
        gate = r if gate is None else r @ gate
    for layer in range(weights.shape[1]):
        state = entangle(quantum.apply_wise(state, gate[:, layer]))
    return state


def feature_map(features: torch.Tensor, num_qubits: int, reps: int = 2) -> torch.Tensor:
    """phi(v) for (B, d) features on ``num_qubits`` wires: H, then ``reps`` rounds of chunked uploads + entangler."""
    batch, d = _features("features", features).shape
    check_qubits(num_qubits)
    _checks.positive_int("reps", reps)
    chunks = math.ceil(d / num_qubits)
    padded = torch.nn.functional.pad(features, (0, chunks * num_qubits - d)).reshape(batch, chunks, num_qubits)
    gates = _encoding_gates(padded)  # (B, chunks, q, 2, 2), built once for all rounds
    state = quantum.plus_state(num_qubits, batch=batch, dtype=gates.dtype, device=features.device)
    for _ in range(reps):
        for chunk in range(chunks):
            state = entangle(quantum.apply_wise(state, gates[:, chunk]))
    return state


def fidelity_kernel(states: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """k[b, j] = |<references_j | states_b>|^2 for (B, 2^q) and (M, 2^q) normalised states -> (B, M) real."""
    if quantum.num_wires(states) != quantum.num_wires(references):
        raise ValueError(f"references: expected states of width {states.shape[1]}, got {references.shape[1]}")
    overlap = states @ references.conj().T
    return overlap.real**2 + overlap.imag**2
