r"""QFWP, the quantum fast weight programmer (the sequence-model paper §II-D; Chen, IJCNN 2024), as a 2-stage n-t-ORNN.

A *slow* network (linear maps, trained by backpropagation) reads x_t and programs the
*fast* weights of a variational circuit; the fast weights are part of the recurrent
state, so they carry across the steps of a sequence and start from zero with every new
sequence (``initial_state``). With q qubits and ``depth`` layers:

    [L_t, Q_t] = S x_t + s                         (L_t in R^depth, Q_t in R^q)
    W_t        = lambda W_{t-1} + L_t (x) Q_t      (outer product; lambda = ``decay``, 1 by default)
    a_t        = E x_t + e                         (encoding angles, R^q)
    y_t        = P <Z>_{V(W_t) phi(a_t)} + p       (post-processing to hidden_size)

V(W) is ``depth`` layers [RY(W_{l,k}) on every wire k, then the CNOT entangler] and
phi the angle encoding of ``cells.quantum_circuits``. There is no recurrent connection
through y: the memory is W.

**As an n-t-ORNN** (state Y = (y, W), step size h = 1)::

    K_1 = L_t (x) Q_t                              (stage 1: gate "program", identity)
    K_2 = sigma_2([lambda W_t-1, a_t] + alpha_21 K_1)   (stage 2: sigma_2 runs the circuit
                                                         on [W_t, a_t] and post-processes)
    y'  = K_2,    W' = lambda W + K_1              (outputs)

where alpha_21 pads K_1 with zeros to the width of [W, a]. So (n, t) = (2, 1).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule, _checks, identity, quantum

from . import quantum_circuits as qc
from ._fast import SequenceFastPath

__all__ = ["QFWP"]


@ornn.register_cell("qfwp")
class QFWP(SequenceFastPath, ornn.ORNNCell):
    """Quantum fast weight programmer cell; state (y, W) with W (B, depth * q) the fast weights.

    Args:
        input_size: features of x_t.
        hidden_size: size of the post-processed output y_t.
        num_qubits: q (default 2, the sequence-model paper's setting).
        depth: variational layers (default 2).
        decay: lambda in [0, 1], how much of the previous fast weights is kept (default 1).

    Parameters: slow network (depth + q) x (input + 1), encoder q x (input + 1),
    post-processing hidden x (q + 1).
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_qubits: int = 2, depth: int = 2, decay: float = 1.0
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.num_qubits = qc.check_qubits(num_qubits)
        self.depth = _checks.positive_int("depth", depth)
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay: expected a number in [0, 1], got {decay!r}")
        self.decay = float(decay)
        self.slow = nn.Linear(input_size, depth + num_qubits)
        self.encoder = nn.Linear(input_size, num_qubits)
        self.post = nn.Linear(num_qubits, hidden_size)
        self.rule = self._stock_rule = UpdateRule(
            stages=(
                Stage(identity, input_map="program"),
                Stage(
                    self._circuit_readout, input_map=self._decayed_weights_and_angles, couplings={0: self._pad_program}
                ),
            ),
            output=(
                Output(weights={1: 1.0}, gamma=0.0),
                Output(weights={0: 1.0}, gamma=self.decay),
            ),
            gates=self._gates,
        )

    @property
    def fast_weight_size(self) -> int:
        return self.depth * self.num_qubits

    def _gates(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], clock: Any) -> dict[str, torch.Tensor]:
        layer, qubit = self.slow(x).split([self.depth, self.num_qubits], dim=-1)
        return {"program": (layer[:, :, None] * qubit[:, None, :]).reshape(x.shape[0], self.fast_weight_size)}

    def _decayed_weights_and_angles(self, state: tuple[torch.Tensor, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.decay * state[1], self.encoder(x)], dim=-1)

    def _pad_program(self, program: torch.Tensor) -> torch.Tensor:
        return F.pad(program, (0, self.num_qubits))

    def _circuit_readout(self, z: torch.Tensor) -> torch.Tensor:
        """sigma_2: run V(W) on phi(a) for z = [W (depth * q), a (q)] and post-process <Z>."""
        weights, angles = z.split([self.fast_weight_size, self.num_qubits], dim=-1)
        state = qc.apply_variational(qc.angle_encoding(angles), weights.reshape(-1, self.depth, self.num_qubits))
        return self.post(quantum.expectation_z(state))

    _fast_path_methods = ("_decayed_weights_and_angles", "_pad_program", "_circuit_readout")

    def forward_sequence(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> Any:
        r"""Fast path over (L, B, input_size): every step's circuit in one batched pass.

        Nothing recurrent passes through y: the fast weights obey the linear recurrence
        W_t = lambda W_{t-1} + L_t (x) Q_t, so they are a (decayed) cumulative sum of the
        programs, and the circuits of all L x B (step, sequence) pairs then run as one batch.
        ``NotImplemented`` when :meth:`uses_fast_path` is false (the runner then steps the rule).
        """
        if not self.uses_fast_path():
            return NotImplemented
        steps, batch = x.shape[0], x.shape[1]
        weights = state[1]
        layer, qubit = self.slow(x).split([self.depth, self.num_qubits], dim=-1)
        programs = (layer[..., :, None] * qubit[..., None, :]).reshape(steps, batch, self.fast_weight_size)
        if self.decay == 1.0:
            fast = weights + programs.cumsum(0)
        else:
            history = []
            for program in programs.unbind(0):
                weights = torch.add(program, weights, alpha=self.decay)
                history.append(weights)
            fast = torch.stack(history)
        z = torch.cat([fast, self.encoder(x)], dim=-1).reshape(steps * batch, -1)
        outputs = self._circuit_readout(z).reshape(steps, batch, self.hidden_size)
        return outputs, (outputs[-1], fast[-1])

    def zero_state(
        self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        y = super().zero_state(batch_size, dtype, device)
        shape = (self.fast_weight_size,) if batch_size is None else (batch_size, self.fast_weight_size)
        return y, torch.zeros(shape, dtype=y.dtype, device=y.device)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_qubits={self.num_qubits}, depth={self.depth}, "
            f"decay={self.decay}"
        )
