r"""QLSTM and QK-LSTM (the sequence-model paper §II-B, §II-C): LSTMs whose gates come from quantum circuits.

Both keep the LSTM's two-stage n-t-ORNN rule (``cells.gated.lstm_rule``; (n, t) = (2, 1))
and its state (h, c); only the gate function differs. With v_t = [x_t, h_{t-1}]:

**QLSTM** (Chen et al. 2020, the sequence-model paper Eq. 2). A shared linear map takes v_t to the q
qubits (a_t = E v_t + e), a_t is angle-encoded (``quantum_circuits.angle_encoding``), and
each gate G in (i, f, g, o) has its own variational circuit U_G of ``depth`` layers
[CNOT ring, RX RY RZ per wire]. Its Z expectations, mapped back to the hidden size by
a shared linear map D where hidden_size != q, give the gate::

    i = sigma(D <Z>_{U_i phi(a_t)}),  f = sigma(D <Z>_{U_f phi(a_t)}),
    g = D <Z>_{U_g phi(a_t)} (tanh applied by the rule),  o = sigma(D <Z>_{U_o phi(a_t)}).

The four unitaries are built once per step from the weights (2^q basis states through
the layers), so the whole batch costs one (B, 2^q) x (2^q, 2^q) product per gate.

**QK-LSTM** (Hsu et al. 2025, the sequence-model paper Eq. 3). Each gate is a quantum-kernel expansion
over M reference vectors x_{G,j} (trainable by default, or fixed buffers)::

    G = sigma( sum_j alpha_{G,:,j} k(v_t, x_{G,j}) + b_G ),   k(v, w) = |<phi(w)|phi(v)>|^2,

with phi the re-uploading feature map of ``quantum_circuits.feature_map``. The kernel
compares the *current* v_t with each reference: k(v, v) = 1 and k(v, w) < 1 otherwise.
(The released code of the sequence-model paper evaluates U(v) U(v)^dagger, the identity, so every gate
is a constant and its "learned" initialiser emits one fixed schedule for every graph;
the tests here check that gates move with the input.) v_t and all 4M references go
through the feature map in one batched pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

import ornn
from ornn import _checks, quantum

from . import quantum_circuits as qc
from ._fast import SequenceFastPath
from ._workspace import Workspace, buffers
from .gated import lstm_gates, lstm_rule, lstm_zero_state

__all__ = ["QLSTM", "QKLSTM"]


class _QuantumGatedLSTM(ornn.ORNNCell):
    """Shared shell: the LSTM rule and (h, c) state around a subclass's ``_gate_preactivations``."""

    def __init__(self, input_size: int, hidden_size: int, num_qubits: int) -> None:
        super().__init__(input_size, hidden_size)
        self.num_qubits = qc.check_qubits(num_qubits)
        self.rule = self._stock_rule = lstm_rule(self._gates)

    def _gate_preactivations(self, v: torch.Tensor) -> torch.Tensor:
        """(B, input + hidden) -> (4, B, hidden) pre-activations in gate order i, f, g, o."""
        raise NotImplementedError

    def _gates(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], clock: Any) -> dict[str, torch.Tensor]:
        return lstm_gates(*self._gate_preactivations(torch.cat([x, state[0]], dim=-1)).unbind(0))

    def gate_values(self, x: torch.Tensor, h: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """The gates i, f, g (pre-tanh), o for input x (B, input_size) and hidden h (zeros by default)."""
        if h is None:
            h = torch.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        return self._gates(x, (h, torch.zeros_like(h)), None)

    def zero_state(
        self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return lstm_zero_state(self, batch_size, dtype, device)


@ornn.register_cell("qlstm")
class QLSTM(SequenceFastPath, _QuantumGatedLSTM):
    """LSTM whose four gate transforms are variational quantum circuits (the sequence-model paper §II-B).

    Args:
        input_size, hidden_size: as for ``cells.LSTM``.
        num_qubits: q, wires per gate circuit (default 4, the sequence-model paper's setting).
        depth: variational layers per circuit (default 1).

    Parameters: encoder (q x (input + hidden) + q), circuit weights 4 x depth x q x 3, and
    a decoder (hidden x q + hidden) only where hidden_size != q.
    """

    def __init__(self, input_size: int, hidden_size: int, num_qubits: int = 4, depth: int = 1) -> None:
        super().__init__(input_size, hidden_size, num_qubits)
        self.depth = _checks.positive_int("depth", depth)
        self.encoder = nn.Linear(input_size + hidden_size, num_qubits)
        self.circuit_weights = nn.Parameter(torch.empty(4, depth, num_qubits, 3))
        self.decoder = nn.Linear(num_qubits, hidden_size) if hidden_size != num_qubits else None
        # the sequence path's stored values, reused from call to call (``_workspace.Workspace``)
        self._workspace = Workspace()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Linear maps as torch initialises them; circuit angles uniform in [-pi, pi)."""
        self.encoder.reset_parameters()
        if self.decoder is not None:
            self.decoder.reset_parameters()
        nn.init.uniform_(self.circuit_weights, -math.pi, math.pi)

    def _gate_preactivations(self, v: torch.Tensor) -> torch.Tensor:
        encoded = qc.angle_encoding(self.encoder(v))  # (B, 2^q)
        unitaries = qc.variational_unitary(self.circuit_weights)  # (4, 2^q, 2^q)
        out = torch.einsum("gij,bj->gbi", unitaries, encoded)
        z = quantum.expectation_z(out.reshape(-1, out.shape[-1])).reshape(4, v.shape[0], self.num_qubits)
        return z if self.decoder is None else self.decoder(z)

    _fast_path_methods = ("_gate_preactivations",)

    def forward_sequence(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> Any:
        r"""Fast path over (L, B, input_size): the circuits and the readout are built once per sequence.

        The encoder's input part E_x x_t + e of every step is one product; the four unitaries
        U_G are fixed for the sequence, so they and the map from probabilities to gate
        pre-activations, K = Z^T D^T (Z the (2^q x q) table of Z eigenvalues, D the decoder),
        are built once. Per step, in real arithmetic: the closed-form angle encoding
        (Re phi, Im phi interleaved), one product taking it to [Re U_G phi, Im U_G phi] for all four gates,
        the squares, one product with [K; K] (summing |Re|^2 + |Im|^2) and the LSTM update. The
        recurrence runs as one autograd node (:class:`_QLSTMSequence`) with backpropagation through
        time written out, and the weight gradients summed over the steps in one product each.
        ``NotImplemented`` when :meth:`uses_fast_path` is false (the runner then steps the rule).
        """
        if not self.uses_fast_path():
            return NotImplemented
        h, c = state
        dim, q = 2**self.num_qubits, self.num_qubits
        from_input = F.linear(x, self.encoder.weight[:, : self.input_size], self.encoder.bias)  # (L, B, q)
        from_hidden = self.encoder.weight[:, self.input_size :]
        unitaries = qc.variational_unitary(self.circuit_weights)  # (4, dim, dim)
        re, im = unitaries.real.transpose(1, 2), unitaries.imag.transpose(1, 2)  # (gate, j, i): phi_j -> out_i
        # rows (j, Re / Im of phi_j), interleaved as the encoding's parts -> per gate [Re U phi, Im U phi]:
        # Re U phi = re Re phi - im Im phi, Im U phi = im Re phi + re Im phi; columns ordered (gate, part, i)
        circuits = torch.stack(
            [torch.stack([re, -im], dim=2), torch.stack([im, re], dim=2)], dim=3
        )  # (4, j, c, part, i)
        circuits = circuits.permute(1, 2, 0, 3, 4).reshape(2 * dim, 8 * dim)
        signs = qc.z_sign_table(q, x.dtype, x.device).T  # (dim, q)
        readout = signs if self.decoder is None else signs @ self.decoder.weight.T  # (dim, H)
        readout = torch.cat([readout, readout])  # |Re|^2 + |Im|^2 folded into the product
        offset = None if self.decoder is None else self.decoder.bias
        outputs, h, c = _QLSTMSequence.apply(from_input, h, c, from_hidden, circuits, readout, offset, self._workspace)
        return outputs, (h, c)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, num_qubits={self.num_qubits}, depth={self.depth}"


@ornn.register_cell("qk_lstm")
class QKLSTM(SequenceFastPath, _QuantumGatedLSTM):
    """LSTM whose gates are quantum-kernel expansions over reference vectors (the sequence-model paper §II-C).

    Args:
        input_size, hidden_size: as for ``cells.LSTM``.
        num_qubits: q, wires of the feature map (default 4, the sequence-model paper's setting).
        num_references: M, reference vectors per gate (default 4).
        reps: uploads of the features in the feature map (default 2).
        trainable_references: train the references (default) or keep them as fixed,
            seeded buffers (``set_references`` fills them from data).

    Parameters: references 4 x M x (input + hidden) when trainable, coefficients
    4 x hidden x M and biases 4 x hidden; the feature map has none.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_qubits: int = 4,
        num_references: int = 4,
        reps: int = 2,
        trainable_references: bool = True,
    ) -> None:
        super().__init__(input_size, hidden_size, num_qubits)
        self.num_references = _checks.positive_int("num_references", num_references)
        self.reps = _checks.positive_int("reps", reps)
        if not isinstance(trainable_references, bool):
            raise TypeError(f"trainable_references: expected a bool, got {trainable_references!r}")
        references = torch.empty(4, num_references, input_size + hidden_size)
        if trainable_references:
            self.references = nn.Parameter(references)
        else:
            self.register_buffer("references", references)
        self.trainable_references = trainable_references
        self.coefficients = nn.Parameter(torch.empty(4, hidden_size, num_references))
        self.bias = nn.Parameter(torch.empty(4, hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """References N(0, 1); coefficients and biases U(-1/sqrt(M), 1/sqrt(M))."""
        with torch.no_grad():
            self.references.normal_()
        bound = 1.0 / math.sqrt(self.num_references)
        nn.init.uniform_(self.coefficients, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def set_references(self, vectors: torch.Tensor) -> None:
        """Use data points as references: ``vectors`` (4, M, input + hidden) or (M, input + hidden) shared by the gates."""
        _checks.tensor("vectors", vectors)
        expected = self.references.shape
        if vectors.shape == expected[1:]:
            vectors = vectors.expand(expected)
        if vectors.shape != expected:
            raise ValueError(
                f"vectors: expected shape {tuple(expected)} or {tuple(expected[1:])}, got {tuple(vectors.shape)}"
            )
        with torch.no_grad():
            self.references.copy_(vectors)

    def feature_states(self, v: torch.Tensor) -> torch.Tensor:
        """phi(v) for (B, input + hidden) -> (B, 2^q)."""
        return qc.feature_map(v, self.num_qubits, self.reps)

    def kernel(self, v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """k(v_b, w_j) = |<phi(w_j)|phi(v_b)>|^2 for (B, d) and (M, d) -> (B, M)."""
        return qc.fidelity_kernel(self.feature_states(v), self.feature_states(w))

    def _gate_preactivations(self, v: torch.Tensor) -> torch.Tensor:
        batch, m = v.shape[0], self.num_references
        states = self.feature_states(torch.cat([v, self.references.reshape(4 * m, -1)], dim=0))
        k = qc.fidelity_kernel(states[:batch], states[batch:]).reshape(batch, 4, m)
        return torch.einsum("bgm,ghm->gbh", k, self.coefficients) + self.bias[:, None, :]

    _fast_path_methods = ("_gate_preactivations", "feature_states")

    def forward_sequence(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> Any:
        r"""Fast path over (L, B, input_size): the references' feature states are built once per sequence.

        The 4M references do not change within a sequence, so phi(x_{G,j}) is one feature-map
        pass, and with it the real map O from a feature state, as interleaved (Re, Im), to [Re, Im] of
        every overlap <phi(x_{G,j})|phi(v_t)>; the squares of those times the block-diagonal
        coefficients [A; A] (A = diag_G alpha_G^T, so |Re|^2 + |Im|^2 is summed inside the product)
        plus the biases are the pre-activations. The recurrence runs as one autograd node
        (:class:`_QKLSTMSequence`) with backpropagation through time written out.
        ``NotImplemented`` when :meth:`uses_fast_path` is false or q > ``KRON_MAX_QUBITS`` (the runner
        then steps the rule).
        """
        if not self.uses_fast_path() or self.num_qubits > qc.KRON_MAX_QUBITS:
            return NotImplemented
        h, c = state
        m = self.num_references
        ref = torch.view_as_real(self.feature_states(self.references.reshape(4 * m, -1)))  # (4M, dim, 2)
        re, im = ref[..., 0].T, ref[..., 1].T  # (dim, 4M)
        # interleaved (Re s_z, Im s_z) rows -> [Re <r|s> | Im <r|s>] columns:
        # Re = sum Re r Re s + Im r Im s, Im = sum Re r Im s - Im r Re s
        overlaps = torch.stack([torch.cat([re, -im], 1), torch.cat([im, re], 1)], 1).reshape(-1, 8 * m)
        blocks = torch.block_diag(*self.coefficients.transpose(1, 2))  # (4M, 4H)
        readout = torch.cat([blocks, blocks])  # rows: Re overlaps, then Im overlaps
        outputs, h, c = _QKLSTMSequence.apply(
            x, h, c, overlaps, readout, self.bias.reshape(-1), self.num_qubits, self.reps
        )
        return outputs, (h, c)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_qubits={self.num_qubits}, "
            f"num_references={self.num_references}, reps={self.reps}, trainable_references={self.trainable_references}"
        )


class _LSTMTape:
    """The LSTM update of a hand-differentiated sequence: its forward step and what it stores for the backward
    (whose local derivatives :func:`_lstm_local_derivatives` computes from these buffers).

    Buffers for L steps of batch B and hidden H (:meth:`layout`): ``gates`` (L, B, 4, H) holds
    sigmoid(pre) (its g slot unused), ``tanh_g`` and ``tanh_c`` (L, B, H), ``cells`` and ``hiddens``
    (L + 1, B, H) from the entry state.
    """

    @staticmethod
    def layout(steps: int, batch: int, hidden: int, dtype: torch.dtype) -> list[tuple[tuple[int, ...], torch.dtype]]:
        """The (shape, dtype) of the buffers the constructor takes, in its order."""
        shapes = [(steps, batch, 4, hidden), (steps, batch, hidden), (steps + 1, batch, hidden)]
        return [(shape, dtype) for shape in shapes + shapes[1:]]

    def __init__(self, h: torch.Tensor, c: torch.Tensor, buffers: Sequence[torch.Tensor]) -> None:
        self.gates, self.tanh_g, self.cells, self.tanh_c, self.hiddens = buffers
        self.hiddens[0], self.cells[0] = h, c
        # every step's views, made once: at small batches indexing the buffers per op costs as much as the ops
        self.hidden_rows, cell_rows = self.hiddens.unbind(0), self.cells.unbind(0)
        self._rows = list(
            zip(self.gates.unbind(0), self.tanh_g.unbind(0), cell_rows, cell_rows[1:], self.tanh_c.unbind(0))
        )

    def step(self, t: int, pre: torch.Tensor) -> None:
        """c' = f c + i tanh(g), h' = o tanh(c') from the (B, 4, H) pre-activations of step t."""
        gates, tanh_g, cell, new_cell, tanh_c = self._rows[t]
        i, f, _, o = torch.sigmoid(pre, out=gates).unbind(1)
        torch.addcmul(f * cell, i, torch.tanh(pre[:, 2], out=tanh_g), out=new_cell)
        torch.mul(o, torch.tanh(new_cell, out=tanh_c), out=self.hidden_rows[t + 1])

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return self.gates, self.tanh_g, self.cells, self.tanh_c, self.hiddens


def _lstm_local_derivatives(
    gates: torch.Tensor,
    tanh_g: torch.Tensor,
    cells_: torch.Tensor,
    tanh_c: torch.Tensor,
    out: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The LSTM update's local derivatives for every step at once, from :class:`_LSTMTape`'s buffers.

    Writes, into ``out`` = (factors, into_cell, scratch), the (L, B, 4, H) factors with
    d pre = factors * [dc', dc', dc', dh'] (dc' the full cell gradient), that is
    [tanh(g) i', c f', i tanh'(g), tanh(c') o'], and o tanh'(c') (L, B, H), with which dh' feeds dc';
    ``scratch`` (L, B, 4, H) holds the gates' slopes on the way. Returns the first two.
    """
    jacobian, into_cell, slope = out
    one = tanh_g.new_ones(())
    torch.addcmul(gates, gates, gates, value=-1.0, out=slope)  # sigmoid' = s - s^2
    torch.addcmul(one, tanh_g, tanh_g, value=-1.0, out=slope[:, :, 2])
    torch.stack([tanh_g, cells_[:-1], gates[:, :, 0], tanh_c], dim=2, out=jacobian).mul_(slope)
    return jacobian, torch.addcmul(one, tanh_c, tanh_c, value=-1.0, out=into_cell).mul_(gates[:, :, 3])


def _lstm_derivatives_layout(gates: torch.Tensor) -> list[tuple[tuple[int, ...], torch.dtype]]:
    """The (shape, dtype) of d pre and of the two outputs of :func:`_lstm_local_derivatives`, from the tape's gates."""
    return [(gates.shape, gates.dtype), (gates.shape, gates.dtype), (gates.shape[:2] + gates.shape[3:], gates.dtype)]


def _lstm_step_back(
    dh: torch.Tensor,
    dc: torch.Tensor,
    into: torch.Tensor,
    jacobian: torch.Tensor,
    forget: torch.Tensor,
    out: torch.Tensor,
) -> torch.Tensor:
    """One reverse LSTM step: writes d pre (B, 4, H) into ``out`` and returns dc for the step before."""
    dc = torch.addcmul(dc, dh, into)
    torch.mul(jacobian, torch.stack([dc, dc, dc, dh], dim=1), out=out)
    return dc * forget


class _QLSTMSequence(torch.autograd.Function):
    r"""QLSTM's recurrence over a whole sequence, with backpropagation through time by hand.

    Inputs: the encoder's input part a_t = E_x x_t + e for every step (L, B, q), the entry state h_0, c_0
    (B, H), the encoder's hidden part E_h (q, H), the circuits' real map C (2 dim, 8 dim), the readout
    R = [K; K] (2 dim, H) and the decoder's bias b (H,) or None. Per step::

        v = a_t + E_h h,  phi = angle_encoding_parts(v),  s = (phi C)^2,  pre = s R + b  (as (B, 4, H)),
        i, f, o = sigmoid(pre_i, pre_f, pre_o),  c' = f c + i tanh(pre_g),  h' = o tanh(c').

    Backward walks the steps in reverse. Everything in it that does not depend on the incoming
    gradient is computed for all steps at once before the walk: the gates' local derivatives
    (d pre / d c' and d pre / d h'), the encoding's Jacobian factors (its parts' conjugates as complex amplitudes,
    -tan / 2 of its half angles, the derivatives of arctan v and arctan v^2). A step of the walk is
    then about a dozen kernels: the cell gradient, the gates, two products back through the readout
    and the circuits, one product back through the encoding and one to h. The gradients of E_h, C, R
    and b are summed over the steps by one product each. The stored values live in the cell's
    :class:`~cells._workspace.Workspace`, reused by the next call once this node is freed.
    ``once_differentiable``: a second derivative through the sequence is refused by torch with its
    usual error.
    """

    @staticmethod
    def forward(ctx, from_input, h, c, from_hidden, circuits, readout, offset, workspace):  # type: ignore[override]
        steps, batch, q = from_input.shape
        hidden, dtype = h.shape[-1], from_input.dtype
        layout = [
            ((steps, batch, q), dtype),
            ((steps, batch, circuits.shape[0]), dtype),
            ((steps, batch, q, 2), dtype),
            ((steps, batch, circuits.shape[1]), dtype),
            ((steps, batch * 4, readout.shape[0]), dtype),
        ] + _LSTMTape.layout(steps, batch, hidden, dtype)
        stored, _ = workspace.take(layout, from_input.device, owner=ctx)  # free again with this node
        features, parts, shifted, amplitudes, squares = stored[:5]
        tape = _LSTMTape(h, c, stored[5:])
        hiddens = tape.hiddens
        per_step = zip(*(t.unbind(0) for t in (from_input, features, parts, shifted, amplitudes, squares)))
        for t, (a_t, v, parts_t, shifted_t, out, square) in enumerate(per_step):
            torch.addmm(a_t, tape.hidden_rows[t], from_hidden.T, out=v)
            qc.angle_encoding_untracked(v, out=(parts_t, shifted_t))
            torch.mm(parts_t, circuits, out=out)
            torch.mul(out.view_as(square), out.view_as(square), out=square)
            pre = square @ readout if offset is None else torch.addmm(offset, square, readout)
            tape.step(t, pre.view(batch, 4, hidden))
        ctx.save_for_backward(
            features, parts, shifted, amplitudes, squares, *tape.tensors(), from_hidden, circuits, readout
        )
        ctx.has_offset, ctx.workspace = offset is not None, workspace
        return hiddens[1:].clone(), hiddens[steps].clone(), tape.cells[steps].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_outputs, grad_h, grad_c):  # type: ignore[override]
        (
            features, parts, shifted, amplitudes, squares, gates, tanh_g, cells_, tanh_c, hiddens, from_hidden, circuits,
            readout,
        ) = ctx.saved_tensors  # fmt: skip
        steps, batch, q = features.shape
        hidden = hiddens.shape[-1]
        (d_amplitudes, d_pre, jacobian, into_cell), block = ctx.workspace.take(
            [(amplitudes.shape, amplitudes.dtype)] + _lstm_derivatives_layout(gates), gates.device
        )
        _lstm_local_derivatives(gates, tanh_g, cells_, tanh_c, (jacobian, into_cell, d_pre))  # d_pre: scratch here
        # the encoding's vector-Jacobian product as one product per step: with g = d parts = d_out C^T and the parts
        # p read as complex amplitudes, w = conj(p) g holds Re w_z = the pair sum of g * parts, so
        # d log h = Re w @ bits^T, and Im w_z = p_re g_im - p_im g_re, so d phi = -(g * (Im, -Re) of parts) @ phases^T
        # = Im w @ phases^T (phases agree within a pair). The map's columns are laid out (wire, [log h_0, log h_1, phi]),
        # so the chain through theta = arctan v, phi = arctan v^2 is a weighting and a sum of each wire's three columns.
        dim2 = parts.shape[-1]
        _, bits, phases, _ = qc.encoding_maps(q, parts.dtype, parts.device)
        circuits_back = circuits.T.contiguous()  # (8 dim, 2 dim)
        encoding_map = parts.new_zeros(dim2 // 2, 2, q, 3)  # rows (z, Re / Im of w_z)
        encoding_map[:, 0, :, :2] = bits.T[0::2].reshape(dim2 // 2, q, 2)
        encoding_map[:, 1, :, 2] = phases.T[0::2]
        encoding_map = encoding_map.view(dim2, 3 * q)
        conj_parts = torch.view_as_complex(parts.view(steps, batch, dim2 // 2, 2)).conj_physical()
        v2 = features * features
        weights = torch.cat(  # d log h / d theta = -tan(half angle) / 2, d theta / dv, d phi / dv
            [-0.5 * torch.tan(shifted) / (1 + v2).unsqueeze(-1), (2 * features / (1 + v2 * v2)).unsqueeze(-1)], dim=-1
        ).view(steps, batch, 3 * q)
        wire_sum = torch.eye(q, dtype=parts.dtype, device=parts.device).repeat_interleave(3, dim=0)  # (3q, q)
        readout_back = 2.0 * readout.T  # the squares' 2 (phi C) folded in

        dh = torch.zeros_like(hiddens[0]) if grad_h is None else grad_h.clone()
        dc = torch.zeros_like(cells_[0]) if grad_c is None else grad_c.clone()
        d_features = torch.empty_like(features)  # returned: not from the workspace
        per_step = zip(
            [None] * steps if grad_outputs is None else grad_outputs.unbind(0),
            *(t.unbind(0) for t in (into_cell, jacobian, gates[:, :, 1], amplitudes, conj_parts, weights)),
            *(t.unbind(0) for t in (d_pre, d_amplitudes, d_features)),
        )
        for grad_out, into, jac, forget, amplitude, conj_p, weight, pre_t, amplitude_t, feature_t in reversed(
            list(per_step)
        ):
            if grad_out is not None:
                dh = dh + grad_out
            dc = _lstm_step_back(dh, dc, into, jac, forget, pre_t)
            d_out = torch.mul(amplitude, (pre_t.view(-1, hidden) @ readout_back).view(batch, -1), out=amplitude_t)
            g = torch.view_as_complex((d_out @ circuits_back).view(batch, -1, 2))
            back = torch.view_as_real(conj_p * g).view(batch, dim2) @ encoding_map  # (B, 3q)
            dh = torch.mm(back.mul_(weight), wire_sum, out=feature_t) @ from_hidden
        flat = steps * batch
        grad_from_hidden = d_features.view(flat, q).T @ hiddens[:steps].reshape(flat, hidden)
        grad_circuits = parts.view(flat, -1).T @ d_amplitudes.view(flat, -1)
        grad_readout = squares.view(flat * 4, -1).T @ d_pre.view(flat * 4, hidden)
        grad_offset = d_pre.view(flat * 4, hidden).sum(0) if ctx.has_offset else None
        ctx.workspace.give_back(block)
        return d_features, dh, dc, grad_from_hidden, grad_circuits, grad_readout, grad_offset, None


class _QKLSTMSequence(torch.autograd.Function):
    r"""QK-LSTM's recurrence over a whole sequence, with backpropagation through time by hand.

    Inputs: the inputs x (L, B, I), the entry state h_0, c_0 (B, H), the references' overlap map
    O (2 dim, 8M) (rows: the interleaved (Re, Im) of a feature state, columns: [Re, Im] of its overlaps with
    the 4M references), the readout R = [A; A] (8M, 4H) and the biases b (4H,); q wires and ``reps``
    uploads. Per step, with v = [x_t, h] zero-padded to C chunks of q::

        s = phi(v) (the feature map: reps C layers from |+>, as in :class:`quantum_circuits._Uploads`),
        o = s O,  pre = o^2 R + b (as (B, 4, H)),  c' = f c + i tanh(g),  h' = o_gate tanh(c').

    A layer is two fixed (2^q x 2^q) products and two phase multiplies (``_Uploads``' eigenbasis form;
    the first layer's first product is a constant). The first I // q chunks hold inputs only, so their
    phases for every step, and the first pass's layers over them, run for the whole sequence at once
    before the recurrence; each step runs the other layers. Every layer's values are stored. Backward
    walks the steps in reverse: the LSTM update (:func:`_lstm_local_derivatives`, all steps at once
    beforehand), two products back through the readout and the overlaps, the adjoint recursion through
    the layers (down to the first that sees h when x needs no gradient), the angle gradients
    (:func:`quantum_circuits._angle_gradients`) and the chain through theta = arctan v, phi = arctan v^2
    to x_t and h. The gradients of O, R and b are summed over the steps by one product each.

    The stored values are views of one block per call, and the backward's buffers of another. They are not
    reused from call to call as QLSTM's are (:class:`~cells._workspace.Workspace`): in a training loop, reuse kept
    that 24 MB block away from the allocator, whose other temporaries here (0.1-1.3 MB each) then faulted
    their pages in again, about 1000 faults a step. Training steps measured 25-34 ms with a new block each call
    and 26-41 ms with reuse (B = 256, L = 20; ``benchmarks/RESULTS.md``).
    ``once_differentiable``: a second derivative through the sequence is refused by torch with its usual
    error.
    """

    @staticmethod
    def forward(ctx, x, h, c, overlaps, readout, bias, num_qubits, reps):  # type: ignore[override]
        steps, batch, inputs = x.shape
        hidden, q, dim = h.shape[-1], num_qubits, 2**num_qubits
        width = inputs + hidden
        chunks = -(-width // q)
        layers, first = reps * chunks, inputs // q  # chunks < first hold inputs only
        to_eigen, from_eigen, plus_eigen, _ = qc._upload_constants(q, x.dtype, x.device)
        cdt = x.dtype.to_complex()
        layout = [
            ((steps, batch, chunks * q), x.dtype),
            ((2, layers, steps, batch, dim), cdt),  # values[:, k, t] = [b_k; s_{k+1}] of step t (s_0 = |+>)
            ((2, chunks, steps, batch, dim), cdt),  # every chunk's [eigenphases; phases] of every step
            ((steps, batch, overlaps.shape[1]), x.dtype),
            ((steps, batch, overlaps.shape[1]), x.dtype),
        ] + _LSTMTape.layout(steps, batch, hidden, x.dtype)
        layout.append(((2, (chunks - first) * batch, dim), x.dtype))  # a step's angles
        stored = buffers(layout, x.device)
        features, values, phases, amplitudes, squares = stored[:5]
        angles = stored[-1]
        features[:, :, :inputs] = x
        features[:, :, inputs:].zero_()
        rows = [[layer.unbind(0) for layer in kind.unbind(0)] for kind in values.unbind(0)]  # [kind][k][t], made once
        phase_rows = [[p.unbind(0) for p in kind.unbind(0)] for kind in phases.unbind(0)]  # [kind][c][t]
        if first:  # the inputs-only chunks: phases and the first pass's layers for the whole sequence at once
            v = features[:, :, : first * q].view(steps * batch, first, q)
            qc._layer_phases(torch.atan(v), torch.atan(v * v), out=phases[:, :first].view(2, first, steps * batch, dim))
            flat = values.view(2, layers, steps * batch, dim)
            sources = [None] + list(flat[1, : first - 1].unbind(0))
            for k, source in enumerate(sources):
                phase_pair = phases[:, k].view(2, steps * batch, dim)
                _upload(source, flat[0, k], flat[1, k], *phase_pair, to_eigen, from_eigen, plus_eigen)
        tape = _LSTMTape(h, c, stored[5:-1])
        scratch = x.new_empty(batch, dim, dtype=cdt)
        for t in range(steps):
            v = features[t, :, first * q :]
            v[:, inputs - first * q : width - first * q] = tape.hidden_rows[t]
            v = v.view(batch, chunks - first, q)
            qc._layer_phases(torch.atan(v), torch.atan(v * v), out=phases[:, first:, t], scratch=angles)
            for k in range(first, layers):  # b_k = e^{i theta} * (V^dagger s_k), s_{k+1} = e^{i p'} * (P V b_k)
                c_, source = k % chunks, rows[1][k - 1][t] if k else None
                _upload(source, rows[0][k][t], rows[1][k][t], phase_rows[0][c_][t], phase_rows[1][c_][t], to_eigen,
                        from_eigen, plus_eigen, scratch)  # fmt: skip
            o = torch.mm(torch.view_as_real(rows[1][layers - 1][t]).view(batch, 2 * dim), overlaps, out=amplitudes[t])
            torch.mul(o, o, out=squares[t])
            tape.step(t, torch.addmm(bias, squares[t], readout).view(batch, 4, hidden))
        ctx.save_for_backward(features, values, phases, amplitudes, squares, *tape.tensors(), overlaps, readout)
        ctx.sizes = inputs, q, reps
        return tape.hiddens[1:].clone(), tape.hiddens[steps].clone(), tape.cells[steps].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_outputs, grad_h, grad_c):  # type: ignore[override]
        (
            features, values, phases, amplitudes, squares, gates, tanh_g, cells_, tanh_c, hiddens, overlaps, readout,
        ) = ctx.saved_tensors  # fmt: skip
        inputs, q, reps = ctx.sizes
        _, layers, steps, batch, dim = values.shape
        hidden, chunks = hiddens.shape[-1], layers // reps
        width = inputs + hidden
        to_eigen, from_eigen, _, _ = qc._upload_constants(q, features.dtype, features.device)
        # the adjoint recursion runs on conjugate gradients (quantum_circuits._angle_gradients): the transposed
        # maps and the phases as they are; the final state's comes from the overlaps with their Im rows negated
        to_back, from_back = to_eigen.T.contiguous(), from_eigen.T.contiguous()
        overlaps_back = (overlaps * overlaps.new_tensor([1.0, -1.0]).repeat(dim)[:, None]).T
        # without an input gradient the inputs-only chunks need no angle gradients, nor their first-pass
        # layers an adjoint (those reach x's columns only)
        lowest = 0 if ctx.needs_input_grad[0] else inputs // q
        d_features = torch.empty_like(features)  # x's gradient is a view of it: not in the block below
        d_amplitudes, d_pre, jacobian, into_cell, products = buffers(
            [(amplitudes.shape, amplitudes.dtype)]
            + _lstm_derivatives_layout(gates)
            + [((2, reps, chunks - lowest, batch, dim), values.dtype)],  # a step's angle-gradient products
            gates.device,
        )
        _lstm_local_derivatives(gates, tanh_g, cells_, tanh_c, (jacobian, into_cell, d_pre))  # d_pre: scratch here
        v2 = features * features
        # d arctan v / dv and d arctan v^2 / dv, laid out as the angle gradients (C, B, q)
        slopes = (1 / (1 + v2), 2 * features / (1 + v2 * v2))
        slopes = [s.view(steps, batch, chunks, q).transpose(1, 2) for s in slopes]
        readout_back = 2.0 * readout.T  # the squares' 2 o folded in
        dh = torch.zeros_like(hiddens[0]) if grad_h is None else grad_h.clone()
        dc = torch.zeros_like(cells_[0]) if grad_c is None else grad_c.clone()
        grads = torch.zeros_like(values[:, :, 0])  # one step's conj [dL/db_k; dL/ds_{k+1}]
        grad_rows = [kind.unbind(0) for kind in grads.unbind(0)]
        phase_rows = [[p.unbind(0) for p in kind.unbind(0)] for kind in phases.unbind(0)]  # [kind][c][t]
        scratch = torch.empty_like(grads[0, 0])
        final_parts = torch.view_as_real(grads[1, layers - 1]).view(batch, 2 * dim)
        d_angle_rows = d_features.view(steps, batch, chunks, q)[:, :, lowest:].transpose(1, 2)  # (L, C - lowest, B, q)
        per_step = zip(
            [None] * steps if grad_outputs is None else grad_outputs.unbind(0),
            *(t.unbind(0) for t in (into_cell, jacobian, gates[:, :, 1], d_pre, amplitudes, d_amplitudes)),
            *(t[:, lowest:].unbind(0) for t in slopes),
            values.unbind(2),
            d_angle_rows.unbind(0),
            d_features[:, :, inputs:width].unbind(0),
        )
        for t, (grad_out, into, jac, forget, pre_t, amplitude, d_o, slope_theta, slope_phi, value, d_v, from_h) in zip(
            reversed(range(steps)), reversed(list(per_step))
        ):
            if grad_out is not None:
                dh = dh + grad_out
            dc = _lstm_step_back(dh, dc, into, jac, forget, pre_t)
            torch.mul(amplitude, pre_t.view(batch, -1) @ readout_back, out=d_o)
            torch.mm(d_o, overlaps_back, out=final_parts)
            for k in reversed(range(lowest, layers)):  # the adjoint of _upload, none into s_lowest (s_0 or inputs-only)
                c_, target = k % chunks, grad_rows[1][k - 1] if k > lowest else None
                _upload(grad_rows[1][k], grad_rows[0][k], target, phase_rows[1][c_][t], phase_rows[0][c_][t], from_back,
                        to_back, None, scratch, adjoint=True)  # fmt: skip
            d_angles = qc._angle_gradients(value, grads, reps, lowest, products)  # (2, C - lowest, B, q)
            torch.addcmul(d_angles[0] * slope_theta, d_angles[1], slope_phi, out=d_v)
            dh = from_h
        flat = steps * batch
        grad_x = d_features[:, :, :inputs] if ctx.needs_input_grad[0] else None
        finals = torch.view_as_real(values[1, layers - 1]).reshape(flat, 2 * dim)
        grad_overlaps = finals.T @ d_amplitudes.view(flat, -1)
        grad_readout = squares.view(flat, -1).T @ d_pre.view(flat, 4 * hidden)
        grad_bias = d_pre.view(flat, 4 * hidden).sum(0)
        return grad_x, dh.clone(), dc, grad_overlaps, grad_readout, grad_bias, None, None


def _upload(
    source: Optional[torch.Tensor],
    middle: torch.Tensor,
    target: Optional[torch.Tensor],
    first_phases: torch.Tensor,
    second_phases: torch.Tensor,
    first_map: torch.Tensor,
    second_map: torch.Tensor,
    constant: Optional[torch.Tensor] = None,
    scratch: Optional[torch.Tensor] = None,
    adjoint: bool = False,
) -> None:
    """One layer of :class:`_QKLSTMSequence` into preallocated buffers.

    Forward: middle = (source @ first_map) * first_phases, target = (middle @ second_map) * second_phases, with
    ``constant`` standing for source @ first_map when ``source`` is None (the start |+>). ``adjoint``: the reverse
    recursion on conjugate gradients, the phases before each product, middle = (source * first_phases) @ first_map
    and target = (middle * second_phases) @ second_map, the second skipped when ``target`` is None.
    """
    if adjoint:
        torch.mm(torch.mul(source, first_phases, out=scratch), first_map, out=middle)
        if target is not None:
            torch.mm(torch.mul(middle, second_phases, out=scratch), second_map, out=target)
        return
    turned = constant if source is None else torch.mm(source, first_map, out=scratch)
    torch.mul(turned, first_phases, out=middle)
    torch.mm(middle, second_map, out=target).mul_(second_phases)
