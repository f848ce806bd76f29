r"""Unitary evolution RNN (Arjovsky, Shah & Bengio 2016) as an n-t-ORNN (the unification paper, Claim 2).

The hidden state h is complex, and the recurrent matrix is the product of cheap unitary factors

    W = D_3 R_2 F^{-1} D_2 Pi R_1 F D_1

with D_k = diag(exp(i theta_k)), R_k = I - 2 v_k v_k^H / ||v_k||^2 complex reflections, F the
unitary DFT (``torch.fft`` with ``norm="ortho"``) and Pi a fixed random permutation, so W is
unitary to round-off and costs O(N log N) to apply. One step is

    K_1 = modReLU(W h + V x),     h' = K_1,      modReLU(z) = (z / |z|) ReLU(|z| + b)

and the cell emits the real readout o = U [Re h'; Im h'] + c of size hidden_size, so URNN
layers stack. In n-t-ORNN terms the step is one stage with no delay, (n, t) = (1, 1);
Claim 2 counts the readout as a second stage (2-L-ORNN), see the family table.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule

__all__ = ["URNN", "ModReLU"]


class ModReLU(nn.Module):
    """modReLU(z) = (z / |z|) ReLU(|z| + b) with a learned real bias b per unit; 0 at z = 0."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.empty(features).uniform_(-0.01, 0.01))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        magnitude = z.abs()
        scale = torch.relu(magnitude + self.bias) / torch.where(magnitude > 0, magnitude, torch.ones_like(magnitude))
        return z * scale


@ornn.register_cell("urnn")
class URNN(ornn.ORNNCell):
    """Unitary RNN cell with hidden_size complex units.

    Args:
        input_size, hidden_size: real input features; complex hidden units.
        activation: ``"modrelu"`` (default), ``"identity"`` (a purely unitary step,
            norm-preserving with zero input), or any callable on complex tensors.
        permutation_seed: seeds the fixed permutation Pi (a buffer, saved with the model).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        activation: Union[str, Callable[[torch.Tensor], torch.Tensor]] = "modrelu",
        permutation_seed: int = 0,
    ) -> None:
        super().__init__(input_size, hidden_size)
        n = hidden_size
        self.theta = nn.Parameter(torch.empty(3, n).uniform_(-math.pi, math.pi))
        self.reflections = nn.Parameter(torch.randn(2, 2, n))  # [k, (real, imag), n]
        self.weight_ih = nn.Parameter(torch.randn(2, n, input_size) / math.sqrt(2 * input_size))  # Re, Im of V
        self.readout = nn.Linear(2 * n, n)
        generator = torch.Generator().manual_seed(permutation_seed)
        self.register_buffer("permutation", torch.randperm(n, generator=generator))
        if activation == "modrelu":
            self.activation = ModReLU(n)
        elif activation == "identity":
            self.activation = ornn.identity
        elif callable(activation):
            self.activation = activation
        else:
            raise ValueError(f"activation: expected 'modrelu', 'identity' or a callable, got {activation!r}")
        self.rule = UpdateRule(
            stages=(Stage(self.activation, input_map=self._drive),),
            output=Output(weights={0: 1.0}, gamma=0.0),
        )

    def _reflect(self, h: torch.Tensor, k: int) -> torch.Tensor:
        v = torch.complex(self.reflections[k, 0], self.reflections[k, 1]).to(h.dtype)
        return h - (2.0 / (v.abs() ** 2).sum()) * (h @ v.conj()).unsqueeze(-1) * v

    def apply_recurrent(self, h: torch.Tensor) -> torch.Tensor:
        """W h for a batch of complex row vectors h, applied factor by factor (right to left)."""
        phases = torch.polar(torch.ones_like(self.theta), self.theta).to(h.dtype)
        h = h * phases[0]
        h = torch.fft.fft(h, norm="ortho")
        h = self._reflect(h, 0)
        h = h[..., self.permutation]
        h = h * phases[1]
        h = torch.fft.ifft(h, norm="ortho")
        h = self._reflect(h, 1)
        return h * phases[2]

    def recurrent_matrix(self) -> torch.Tensor:
        """W as a dense (N, N) matrix (for tests and analysis; the step never forms it)."""
        dtype = torch.complex128 if self.theta.dtype == torch.float64 else torch.complex64
        eye = torch.eye(self.hidden_size, dtype=dtype, device=self.theta.device)
        return self.apply_recurrent(eye).T  # row j of the result is (W e_j)^T

    def _drive(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        v = torch.complex(F.linear(x, self.weight_ih[0]), F.linear(x, self.weight_ih[1]))
        return self.apply_recurrent(h) + v

    def zero_state(self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any) -> torch.Tensor:
        real = super().zero_state(batch_size, dtype, device)
        return torch.complex(real, torch.zeros_like(real))

    def output_of(self, h: torch.Tensor) -> torch.Tensor:
        """The real readout U [Re h; Im h] + c."""
        return self.readout(torch.cat([h.real, h.imag], dim=-1))
