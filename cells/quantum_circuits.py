r"""Variational-circuit building blocks of the quantum sequence cells (the sequence-model paper), on ``ornn.quantum``.

All circuits act on q qubits, |0>^q at the start, wire 0 the most significant bit
. Features are bounded with arctan before they become angles, as in Chen et
al.'s QLSTM: a feature a becomes the qubit

    RZ(arctan a^2) RY(arctan a) H |0>,

so the encoding is injective on the real line (each angle lies in (-pi/2, pi/2)).

* :func:`angle_encoding` - the product state of q such qubits, in closed form (no gate
  passes needed); :func:`angle_encoding_parts` gives its real and imaginary parts.
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

:func:`feature_map` and :func:`apply_variational` (axes "Y" and "YZ") share one engine on up
to ``KRON_MAX_QUBITS`` wires, ``_Uploads``: each layer runs in the Y's eigenbasis as two fixed
(2^q x 2^q) products for the whole batch and two per-sample phase multiplies, with an adjoint gradient
instead of an autograd node per gate.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Optional

import torch

from ornn import _checks, quantum

__all__ = [
    "MAX_QUBITS",
    "KRON_MAX_QUBITS",
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

#: up to this many wires a layer of per-sample rotations runs through dense fixed (2^q x 2^q) products
#: (``_Uploads``); above it, wire by wire, since a dense product costs 2^q multiply-adds per amplitude
KRON_MAX_QUBITS = 6


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


@functools.lru_cache(maxsize=None)
def z_sign_table(q: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``quantum.z_signs(q)`` cached per dtype and device (a constant: built once, never differentiated)."""
    return quantum.z_signs(q, dtype=dtype, device=device)


def angle_encoding_parts(features: torch.Tensor) -> torch.Tensor:
    r"""(Re psi_0, Im psi_0, Re psi_1, Im psi_1, ...) (B, 2 * 2^q) of the :func:`angle_encoding` state psi.

    Real tensors in closed form (:class:`_AngleEncoding`), interleaved as ``torch.view_as_real``
    lays a complex tensor out, so the quantum cells' sequence paths stay in real arithmetic.
    """
    features = _features("features", features)
    return _AngleEncoding.apply(torch.atan(features), torch.atan(features * features))[0]


def angle_encoding(features: torch.Tensor) -> torch.Tensor:
    """(B, q) real features -> (B, 2^q) product state, one feature per wire: RZ RY H|0> per wire."""
    parts = angle_encoding_parts(features)
    return torch.view_as_complex(parts.view(parts.shape[0], -1, 2))


@functools.lru_cache(maxsize=None)
def encoding_maps(q: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Constants of :class:`_AngleEncoding`, all over the interleaved columns (z, Re / Im):

    * ``pairs`` (2,): the half-angle offsets [pi/4, -pi/4] of a wire's two amplitudes;
    * ``bits`` (2q, 2 * 2^q): row (w, b) is 1 where bit w of z is b, so log m = log h @ bits;
    * ``phases`` (q, 2 * 2^q): -1/2 s_w(z), so the phase p = phi @ phases;
    * ``offsets`` (2 * 2^q,): 0 on Re columns and -pi/2 on Im columns (cos(p - pi/2) = sin p).
    """
    signs = quantum.z_signs(q, dtype=torch.float64).repeat_interleave(2, dim=1)  # (q, 2 dim)
    ones = (1 - signs) / 2  # bit w of z
    bits = torch.stack([1 - ones, ones], dim=1).reshape(2 * q, -1)
    offsets = torch.tensor([0.0, -math.pi / 2], dtype=torch.float64).repeat(2**q)
    pairs = torch.tensor([math.pi / 4, -math.pi / 4], dtype=torch.float64)
    return tuple(t.to(dtype=dtype, device=device) for t in (pairs, bits, -0.5 * signs, offsets))


class _AngleEncoding(torch.autograd.Function):
    r"""The angle-encoded product state from theta = arctan a and phi = arctan a^2 (B, q), interleaved (B, 2 * 2^q).

    One qubit is RZ(phi) RY(theta) H|0> = (e^{-i phi/2} h_0, e^{i phi/2} h_1) with
    h_b = cos(theta/2 + (-1)^b pi/4), and both h_b > 0 since |theta| < pi/2. So amplitude z
    of the product state is m_z e^{i p_z} with

        log m_z = sum_w log h_{w, bit_w(z)}   and   p_z = -1/2 sum_w phi_w s_w(z),

    two products with constant maps, and the interleaved parts are exp(log m) cos(p + offsets).
    Everything is a contiguous (B, 2 * 2^q) operation, with no broadcast over tiny axes.
    Backward, with G the parts' gradient and out the parts: dL/dlog m = G out (summed by
    ``bits``^T), d(log h)/dtheta = -1/2 tan(theta/2 +- pi/4), and dL/dp = -G out' where
    out' swaps each (Re, Im) pair to (Im, -Re). ``setup_context`` form (``torch.func``
    accepts it); a differentiated backward rebuilds its saved values with tracked ops.
    """

    @staticmethod
    def forward(theta: torch.Tensor, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _encoded(theta, phi)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        parts, shifted = output
        ctx.mark_non_differentiable(shifted)
        ctx.save_for_backward(inputs[0], inputs[1], parts, shifted)
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx: Any, grad: Optional[torch.Tensor], _: Any) -> tuple[Optional[torch.Tensor], ...]:
        if grad is None:
            return None, None
        theta, phi, parts, shifted = ctx.saved_tensors
        if torch.is_grad_enabled():  # differentiated backward: saved values that carry their graph
            parts, shifted = _AngleEncoding.forward(theta, phi)
        return _angle_encoding_vjp(parts, shifted, grad, *ctx.needs_input_grad[:2])


def _encoded(
    theta: torch.Tensor, phi: torch.Tensor, out: Optional[tuple[torch.Tensor, torch.Tensor]] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:class:`_AngleEncoding`'s forward: the parts (B, 2 * 2^q) and the half angles (B, q, 2), into ``out`` when given."""
    parts_out, shifted_out = (None, None) if out is None else out
    pairs, bits, phases, offsets = encoding_maps(theta.shape[1], theta.dtype, theta.device)
    shifted = torch.add(pairs, theta.unsqueeze(-1), alpha=0.5, out=shifted_out)  # (B, q, 2): theta/2 +- pi/4
    log_m = torch.log(torch.cos(shifted)).view(theta.shape[0], -1) @ bits
    return torch.mul(torch.exp(log_m), torch.cos(torch.addmm(offsets, phi, phases)), out=parts_out), shifted


def angle_encoding_untracked(
    features: torch.Tensor, out: Optional[tuple[torch.Tensor, torch.Tensor]] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The parts of :func:`angle_encoding_parts` and the half angles theta/2 +- pi/4 (B, q, 2), with no autograd
    record, written into ``out`` = (parts, half angles) when given: for sequence paths that differentiate the
    encoding by hand (QLSTM's hand-written BPTT)."""
    return _encoded(torch.atan(features), torch.atan(features * features), out)


def _angle_encoding_vjp(
    parts: torch.Tensor, shifted: torch.Tensor, grad: torch.Tensor, wants_theta: bool = True, wants_phi: bool = True
) -> tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """The gradients with respect to theta and phi of :class:`_AngleEncoding`, from its outputs and the parts' gradient."""
    _, bits, phases, _ = encoding_maps(shifted.shape[1], parts.dtype, parts.device)
    dtheta = dphi = None
    if wants_theta:
        d_log_h = ((grad * parts) @ bits.T).view_as(shifted)  # (B, q, 2)
        dtheta = -0.5 * (d_log_h * torch.tan(shifted)).sum(-1)
    if wants_phi:
        pair = parts.view(parts.shape[0], -1, 2)
        swapped = torch.stack([pair[..., 1], -pair[..., 0]], -1).view_as(parts)  # (Im, -Re) = m sin(p + offsets)
        dphi = -(grad * swapped) @ phases.T
    return dtheta, dphi


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
    For ``axes`` "Y" and "YZ" on up to ``KRON_MAX_QUBITS`` wires each layer is two fixed
    (2^q x 2^q) products and per-sample phases with an adjoint gradient (:class:`_Uploads`); otherwise
    the gates are applied wire by wire.
    """
    q = quantum.num_wires(state)
    _checks.tensor("weights", weights)
    if weights.dim() != 3 or weights.shape[0] != state.shape[0] or weights.shape[2] != q:
        raise ValueError(f"weights: expected shape ({state.shape[0]}, depth, {q}), got {tuple(weights.shape)}")
    if not axes or any(a not in "XYZ" for a in axes):
        raise ValueError(f"axes: expected a non-empty string over X, Y, Z, got {axes!r}")
    if axes in ("Y", "YZ") and q <= KRON_MAX_QUBITS:  # RY layers (and RZ phases): the engine of _Uploads
        angles = weights.to(state.dtype.to_real())
        return _Uploads.apply(angles, angles if axes == "YZ" else None, 1, state)[0]
    gate = None
    for axis in axes:
        r = quantum.rotation(axis, weights, dtype=state.dtype)  # (B, depth, q, 2, 2)
        gate = r if gate is None else r @ gate
    for layer in range(weights.shape[1]):
        state = entangle(quantum.apply_wise(state, gate[:, layer]))
    return state


def feature_map(features: torch.Tensor, num_qubits: int, reps: int = 2) -> torch.Tensor:
    r"""phi(v) for (B, d) features on ``num_qubits`` wires: H, then ``reps`` rounds of chunked uploads + entangler.

    The features are zero-padded to C = ceil(d / q) chunks of q; chunk c uploads
    RZ(arctan a^2) RY(arctan a) on every wire, then the entangler P. Up to
    ``KRON_MAX_QUBITS`` wires, all RY's of a chunk are one phase diagonal in the Y's eigenbasis
    and all RZ's one in the computational basis, so an upload is two fixed products and two
    multiplies, and the gradient is the adjoint recursion of :class:`_Uploads` (no autograd
    graph per gate). Above it, the gates are applied wire by wire.
    """
    batch, d = _features("features", features).shape
    check_qubits(num_qubits)
    _checks.positive_int("reps", reps)
    chunks = math.ceil(d / num_qubits)
    padded = torch.nn.functional.pad(features, (0, chunks * num_qubits - d)).reshape(batch, chunks, num_qubits)
    theta, phi = torch.atan(padded), torch.atan(padded * padded)
    if num_qubits <= KRON_MAX_QUBITS:
        return _Uploads.apply(theta, phi, reps, None)[0]
    cdt = features.dtype.to_complex()
    gates = quantum.rotation("Z", phi, dtype=cdt) @ quantum.rotation("Y", theta, dtype=cdt)  # (B, C, q, 2, 2)
    state = quantum.plus_state(num_qubits, batch=batch, dtype=cdt, device=features.device)
    for _ in range(reps):
        for chunk in range(chunks):
            state = entangle(quantum.apply_wise(state, gates[:, chunk]))
    return state


@functools.lru_cache(maxsize=None)
def _upload_constants(q: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    r"""Constants of :class:`_Uploads` for q wires and a real ``dtype``, with the entangler P folded in.

    RY(theta) = exp(-i theta Y / 2) is diagonal in Y's eigenbasis, V = [[1, 1], [i, -i]] / sqrt 2 (+1 first):
    RY(theta) = V diag(e^{-i y theta / 2}) V^dagger. So a layer of RY's on every wire is
    R = V_q diag(e^{i theta @ theta_map}) V_q^dagger with V_q the Kronecker product of V over the wires
    (wire 0 first): a fixed unitary, a per-sample phase and the fixed unitary back. On row vectors:

    * ``to_eigen`` (2^q, 2^q) complex, conj(V_q): s @ to_eigen = V_q^dagger s;
    * ``from_eigen`` (2^q, 2^q) complex: y @ from_eigen = P V_q y;
    * ``plus_eigen`` (1, 2^q) complex: V_q^dagger |+>, the first layer's input from the default start;
    * ``angle_maps`` (2, q, 2^q) real: [theta_map, phase_map]. theta_map = -y_w(z) / 2, y_w = +-1 as
      ``z_sign_table`` (Y's eigenvalue of wire w in eigenstate z); p' = phi @ phase_map is the RZ layer's
      phase of basis state perm[z] (it follows the entangler), -1/2 s_w(perm[z]).
    """
    perm = _entangler_permutation(q, torch.device("cpu"))
    wire = torch.tensor([[1.0, 1.0], [1.0j, -1.0j]], dtype=torch.complex128) / math.sqrt(2.0)
    eigen = torch.ones(1, 1, dtype=torch.complex128)
    for _ in range(q):
        eigen = torch.kron(eigen, wire)
    signs = quantum.z_signs(q, dtype=torch.float64)
    plus = torch.full((1, 2**q), 2 ** (-q / 2), dtype=torch.complex128)
    complex_ = [eigen.conj(), eigen[perm, :].T, plus @ eigen.conj()]
    angle_maps = torch.stack([-0.5 * signs, -0.5 * signs[:, perm]])
    return tuple(m.to(dtype=dtype.to_complex(), device=device).contiguous() for m in complex_) + (
        angle_maps.to(dtype=dtype, device=device),
    )


def _layer_phases(
    theta: torch.Tensor,
    phi: Optional[torch.Tensor],
    out: Optional[torch.Tensor] = None,
    scratch: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """The layers' eigenphases e^{i theta @ theta_map} and, with ``phi``, phases e^{i phi @ phase_map}, for (B, C, q)
    angles: a complex (n, C, B, 2^q), n = 2 with ``phi`` and 1 without.

    Written into ``out`` when given (a view of a sequence's buffer whose (B, 2^q) rows are contiguous): the cosines
    and sines straight into its real and imaginary parts, the angles into ``scratch`` (a contiguous real
    (n, C B, 2^q)) when given. Without ``out`` every op is differentiable (the backward of a backward rebuilds
    the phases with tracked ops).
    """
    batch, chunks, q = theta.shape
    angle_maps = _upload_constants(q, theta.dtype, theta.device)[3]
    angles = theta[None] if phi is None else torch.stack([theta, phi])  # (n, B, C, q)
    n = angles.shape[0]
    # chunk-major angles (a small copy), so the phases come out in the (n, C, B, dim) layout of ``out``
    p = torch.bmm(angles.transpose(1, 2).reshape(n, chunks * batch, q), angle_maps[:n], out=scratch)
    p = p.view(n, chunks, batch, 2**q)
    if out is None:
        return torch.complex(torch.cos(p), torch.sin(p))
    parts = torch.view_as_real(out)
    torch.cos(p, out=parts[..., 0])
    torch.sin(p, out=parts[..., 1])
    return out


def _angle_gradients(
    values: torch.Tensor,
    conj_grads: torch.Tensor,
    reps: int,
    first_chunk: int = 0,
    scratch: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    r"""dL/dtheta and dL/dphi (n, C - first_chunk, B, q) of :class:`_Uploads`'s layers (chunks from ``first_chunk`` on)
    from their values and conjugate gradients.

    Layer k (chunk c = k mod C, K = reps C layers) maps s_k to b_k = e^{i theta_c @ theta_map} * (V_q^dagger s_k)
    and then to s_{k+1} = e^{i p'_c} * (P V_q b_k). ``values`` (n, K, B, 2^q) holds [b_k; s_{k+1}] (only b_k for
    n = 1, layers without phases), ``conj_grads`` the conjugates of their gradients, conj(dL/db_k) and
    conj(dL/ds_{k+1}) (the adjoint recursion runs on conjugates: it then multiplies by the phases themselves,
    with no conjugation per layer). Since d e^{ia} / da = i e^{ia}, summed over the chunk's passes:

        dL/dtheta_c = -sum_z Im(conj(dL/db_k) b_k)_z theta_map[:, z],
        dL/dphi_c   = -sum_z Im(conj(dL/ds_{k+1}) s_{k+1})_z phase_map[:, z].

    The inputs may be strided views (a sequence's buffers); ``scratch``, a complex tensor of the products' shape
    (n, reps, C - first_chunk, B, 2^q), receives conj_grads * values when given.
    """
    n, layers, batch, dim = values.shape
    q, chunks = dim.bit_length() - 1, layers // reps - first_chunk
    values, conj_grads = (t.view(n, reps, layers // reps, batch, dim)[:, :, first_chunk:] for t in (values, conj_grads))
    imag = torch.view_as_real(torch.mul(conj_grads, values, out=scratch))[..., 1].reshape(n, reps, chunks * batch, dim)
    passes = imag.unbind(1)  # summed by adds: a reduction over this short, strided axis is several times slower
    total = passes[0] + passes[1] if reps > 1 else passes[0]
    for more in passes[2:]:
        total += more
    return torch.bmm(total, _gradient_maps(q, values.real.dtype, values.device)[:n]).view(n, chunks, batch, q)


@functools.lru_cache(maxsize=None)
def _gradient_maps(q: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """-[theta_map; phase_map] transposed (2, 2^q, q): what :func:`_angle_gradients` multiplies the summed terms by."""
    return _upload_constants(q, dtype, device)[3].transpose(1, 2).neg().contiguous()


class _Uploads(torch.autograd.Function):
    r"""Layers [RY on every wire, optional RZ on every wire, the entangler] with per-sample angles, and their adjoint.

    Inputs: theta (B, C, q) RY angles per layer and wire, phi (B, C, q) RZ angles or None,
    ``reps`` passes over the C layers, and the initial states (B, 2^q) (None: |+>).
    Layer c acts as U_c = P diag(e^{i p_c}) R_c, with R_c the Kronecker product of its RY's,
    p_c its RZ phases and P the entangler; with P folded in, U_c = diag(e^{i p'_c}) P R_c, p'_c = P p_c.
    R_c is diagonal in the fixed eigenbasis V_q of the Y's (:func:`_upload_constants`), so a layer is two
    fixed (2^q x 2^q) products and two per-sample phase multiplies, for k = 0 .. reps C - 1, c = k mod C:

        b_k = e^{i theta_c @ theta_map} * (V_q^dagger s_k),    s_{k+1} = e^{i p'_c} * (P V_q b_k).

    The products are one BLAS call for the whole batch. Built per sample as (2^q x 2^q) matrices and applied as
    batched products, one upload of a batch of 256 at q = 4 took about 80 us on a 2-core CPU, against 20-27 us
    this way. Backward runs the recursion in reverse on the conjugate gradients h_k = conj(dL/ds_k),
    h_k = conj(V_q) (e^{i theta_c @ theta_map} * (V_q^T P^T (e^{i p'_c} * h_{k+1}))) (the adjoint of each factor,
    conjugated: the phases multiply as they are), and reads the angle gradients off the stored values
    (:func:`_angle_gradients`); conj(h_0) is the initial states' gradient.
    Written in the ``setup_context`` form so that ``torch.func`` transforms accept it; what
    backward needs is returned as extra, non-differentiable outputs. When the backward is
    itself differentiated (``create_graph=True``, ``torch.func``), it rebuilds those with
    tracked ops, so higher derivatives are exact as well.
    """

    @staticmethod
    def forward(
        theta: torch.Tensor, phi: Optional[torch.Tensor], reps: int, initial: Optional[torch.Tensor]
    ) -> tuple[torch.Tensor, ...]:
        batch, chunks, q = theta.shape
        to_eigen, from_eigen, plus_eigen, _ = _upload_constants(q, theta.dtype, theta.device)
        phases = _layer_phases(theta, phi)  # (n, C, B, dim)
        if chunks == 0:  # no layers: the state as it came (|+> by default)
            plus = quantum.plus_state(q, batch=batch, dtype=phases.dtype, device=theta.device)
            state = plus if initial is None else initial.view_as(initial)
            return state, phases, phases.new_empty(len(phases), 0, batch, 2**q)
        state, rotated, states = initial, [], []
        for k in range(reps * chunks):
            c = k % chunks
            rotated.append((plus_eigen if state is None else state @ to_eigen) * phases[0, c])
            state = rotated[-1] @ from_eigen
            state = state if phi is None else state * phases[1, c]
            states.append(state)
        values = torch.stack([torch.stack(rotated), torch.stack(states)][: len(phases)])
        return state, phases, values

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        theta, phi, reps, initial = inputs
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(theta, phi, initial, *output[1:])
        ctx.set_materialize_grads(False)
        ctx.reps = reps

    @staticmethod
    def backward(ctx: Any, grad: Optional[torch.Tensor], *_: Any) -> tuple[Optional[torch.Tensor], ...]:
        if grad is None:
            return None, None, None, None
        theta, phi, initial, phases, values = ctx.saved_tensors
        if torch.is_grad_enabled():
            # create_graph=True or a torch.func transform: the backward itself gets differentiated, so
            # the phases and values it uses must carry their dependence on the inputs. Rebuild them
            # with tracked ops (one more forward pass); every op below is then differentiable too.
            _, phases, values = _Uploads.forward(theta, phi, ctx.reps, initial)
        chunks, reps = phases.shape[1], ctx.reps
        to_eigen, from_eigen, _, _ = _upload_constants(theta.shape[-1], theta.dtype, theta.device)
        if chunks == 0:  # no layers: the gradient passes through to the initial states
            return None, None, None, grad if initial is not None and ctx.needs_input_grad[3] else None
        grad = grad.conj()  # the recursion runs on the conjugate gradients h_k (docstring)
        grad_rotated, grad_states = [], []  # conj dL/db_k and conj dL/ds_{k+1}, k = K - 1 .. 0
        for k in reversed(range(reps * chunks)):
            c = k % chunks
            grad_states.append(grad)
            g = grad if phi is None else grad * phases[1, c]
            grad_rotated.append(g @ from_eigen.T)
            grad = (grad_rotated[-1] * phases[0, c]) @ to_eigen.T if k or initial is not None else None
        grads = torch.stack([torch.stack(grad_rotated[::-1]), torch.stack(grad_states[::-1])][: len(phases)])
        angle_grads = _angle_gradients(values, grads, reps).transpose(1, 2)  # (n, B, C, q)
        dtheta = angle_grads[0] if ctx.needs_input_grad[0] else None
        dphi = angle_grads[1] if phi is not None and ctx.needs_input_grad[1] else None
        return dtheta, dphi, None, grad.conj() if initial is not None and ctx.needs_input_grad[3] else None


def fidelity_kernel(states: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """k[b, j] = |<references_j | states_b>|^2 for (B, 2^q) and (M, 2^q) normalised states -> (B, M) real."""
    if quantum.num_wires(states) != quantum.num_wires(references):
        raise ValueError(f"references: expected states of width {states.shape[1]}, got {references.shape[1]}")
    overlap = states @ references.conj().T
    return overlap.real**2 + overlap.imag**2
