"""The quantum sequence cells written with PennyLane's ``default.qubit`` and its torch interface.

The peer of ``cells_speed.py --part 3``: each class wraps one of our cells, borrows its
weights (so the outputs can be compared) and evaluates every circuit as a PennyLane QNode
with parameter broadcasting over the batch and ``diff_method="backprop"``, one QNode call
per gate and step, the way the sequence-model paper's authors wrote their cells. Needs the
``bench`` extra; never imported by the package.
"""

from __future__ import annotations

import math

import pennylane as qml
import torch
from torch import nn


def _ring(q: int) -> None:
    """The entangler of ``cells.quantum_circuits.entangle``: a CNOT chain, closed for q >= 3."""
    for wire in range(q - 1):
        qml.CNOT(wires=[wire, wire + 1])
    if q >= 3:
        qml.CNOT(wires=[q - 1, 0])


def _encode(a: torch.Tensor, q: int) -> None:
    """RZ(arctan a^2) RY(arctan a) H|0> on every wire (``cells.quantum_circuits.angle_encoding``)."""
    for wire in range(q):
        qml.Hadamard(wires=wire)
        qml.RY(torch.atan(a[:, wire]), wires=wire)
        qml.RZ(torch.atan(a[:, wire] ** 2), wires=wire)


class _PennyLaneLSTMShell(nn.Module):
    """An LSTM update around ``_preactivations(v) -> (4, B, H)``, over (L, B, input)."""

    def __init__(self, ours: nn.Module) -> None:
        super().__init__()
        self.ours = ours

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        batch, hidden = x.shape[1], self.ours.hidden_size
        h = x.new_zeros(batch, hidden)
        c = x.new_zeros(batch, hidden)
        outputs = []
        for x_t in x:
            i, f, g, o = self._preactivations(torch.cat([x_t, h], dim=-1))
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs), None


class PennyLaneQLSTM(_PennyLaneLSTMShell):
    """QLSTM: four variational circuits per step, <Z> per wire, the shared decoder."""

    def __init__(self, ours: nn.Module) -> None:
        super().__init__(ours)
        q, depth = ours.num_qubits, ours.depth

        @qml.qnode(qml.device("default.qubit", wires=q), interface="torch", diff_method="backprop")
        def circuit(a: torch.Tensor, weights: torch.Tensor) -> list:
            _encode(a, q)
            for layer in range(depth):
                _ring(q)
                for wire in range(q):
                    qml.RX(weights[layer, wire, 0], wires=wire)
                    qml.RY(weights[layer, wire, 1], wires=wire)
                    qml.RZ(weights[layer, wire, 2], wires=wire)
            return [qml.expval(qml.PauliZ(wire)) for wire in range(q)]

        self.circuit = circuit

    def _preactivations(self, v: torch.Tensor) -> list[torch.Tensor]:
        a = self.ours.encoder(v)
        gates = []
        for weights in self.ours.circuit_weights:
            z = torch.stack(self.circuit(a, weights), dim=-1).to(v.dtype)
            gates.append(z if self.ours.decoder is None else self.ours.decoder(z))
        return gates


class PennyLaneQKLSTM(_PennyLaneLSTMShell):
    """QK-LSTM: the re-uploading feature map as a QNode returning the state; fidelity kernels in torch."""

    def __init__(self, ours: nn.Module) -> None:
        super().__init__(ours)
        q, reps = ours.num_qubits, ours.reps
        features = ours.input_size + ours.hidden_size
        chunks = math.ceil(features / q)

        @qml.qnode(qml.device("default.qubit", wires=q), interface="torch", diff_method="backprop")
        def feature_map(v: torch.Tensor) -> torch.Tensor:
            padded = torch.nn.functional.pad(v, (0, chunks * q - features))
            for wire in range(q):
                qml.Hadamard(wires=wire)
            for _ in range(reps):
                for chunk in range(chunks):
                    for wire in range(q):
                        a = padded[:, chunk * q + wire]
                        qml.RY(torch.atan(a), wires=wire)
                        qml.RZ(torch.atan(a * a), wires=wire)
                    _ring(q)
            return qml.state()

        self.feature_map = feature_map

    def _preactivations(self, v: torch.Tensor) -> torch.Tensor:
        m = self.ours.num_references
        states = self.feature_map(v)
        references = self.feature_map(self.ours.references.reshape(4 * m, -1))
        overlap = states @ references.conj().T
        k = (overlap.real**2 + overlap.imag**2).to(v.dtype).reshape(v.shape[0], 4, m)
        return torch.einsum("bgm,ghm->gbh", k, self.ours.coefficients) + self.ours.bias[:, None, :]


class PennyLaneQFWP(nn.Module):
    """QFWP: the slow network programs per-sequence RY angles; one QNode call per step."""

    def __init__(self, ours: nn.Module) -> None:
        super().__init__()
        self.ours = ours
        q, depth = ours.num_qubits, ours.depth

        @qml.qnode(qml.device("default.qubit", wires=q), interface="torch", diff_method="backprop")
        def circuit(a: torch.Tensor, weights: torch.Tensor) -> list:
            _encode(a, q)
            for layer in range(depth):
                for wire in range(q):
                    qml.RY(weights[:, layer, wire], wires=wire)
                _ring(q)
            return [qml.expval(qml.PauliZ(wire)) for wire in range(q)]

        self.circuit = circuit

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        cell = self.ours
        weights = x.new_zeros(x.shape[1], cell.depth * cell.num_qubits)
        outputs = []
        for x_t in x:
            layer, qubit = cell.slow(x_t).split([cell.depth, cell.num_qubits], dim=-1)
            weights = cell.decay * weights + (layer[:, :, None] * qubit[:, None, :]).reshape(weights.shape)
            z = self.circuit(cell.encoder(x_t), weights.reshape(-1, cell.depth, cell.num_qubits))
            outputs.append(cell.post(torch.stack(z, dim=-1).to(x.dtype)))
        return torch.stack(outputs), None


PEERS = {"qlstm": PennyLaneQLSTM, "qk_lstm": PennyLaneQKLSTM, "qfwp": PennyLaneQFWP}
