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

from ._fast import SequenceFastPath

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
class URNN(SequenceFastPath, ornn.ORNNCell):
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
        self.rule = self._stock_rule = UpdateRule(
            stages=(Stage(self.activation, input_map=self._drive),),
            output=Output(weights={0: 1.0}, gamma=0.0),
        )

    def _factors(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The pieces of W for the current parameters: the phase diagonals (3, N), the reflection
        vectors v_k (2, N) and conj(v_k) 2 / ||v_k||^2 (2, N), all of the state's complex dtype."""
        phases = torch.polar(torch.ones_like(self.theta), self.theta).to(dtype)
        vectors = torch.complex(self.reflections[:, 0], self.reflections[:, 1]).to(dtype)
        scaled = vectors.conj() * (2.0 / (vectors.abs() ** 2).sum(-1, keepdim=True))
        return phases, vectors, scaled

    def _apply_factors(self, h: torch.Tensor, factors: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """W h = D_3 R_2 F^{-1} D_2 Pi R_1 F D_1 h, right to left, from :meth:`_factors`."""
        phases, vectors, scaled = factors
        h = torch.fft.fft(h * phases[0], norm="ortho")
        h = _reflect(h, vectors[0], scaled[0])
        h = torch.fft.ifft(h[..., self.permutation] * phases[1], norm="ortho")
        return _reflect(h, vectors[1], scaled[1]) * phases[2]

    def apply_recurrent(self, h: torch.Tensor) -> torch.Tensor:
        """W h for a batch of complex row vectors h, applied factor by factor (right to left)."""
        return self._apply_factors(h, self._factors(h.dtype))

    def recurrent_matrix(self) -> torch.Tensor:
        """W as a dense (N, N) matrix (for tests and analysis; the step never forms it)."""
        dtype = torch.complex128 if self.theta.dtype == torch.float64 else torch.complex64
        eye = torch.eye(self.hidden_size, dtype=dtype, device=self.theta.device)
        return self.apply_recurrent(eye).T  # row j of the result is (W e_j)^T

    def _input_drive(self, x: torch.Tensor) -> torch.Tensor:
        """V x as a complex tensor, from real x of any leading shape: one real matrix product."""
        real, imag = F.linear(x, self.weight_ih.reshape(-1, self.input_size)).chunk(2, dim=-1)
        return torch.complex(real, imag)

    def _drive(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.apply_recurrent(h) + self._input_drive(x)

    _fast_path_methods = ("_drive", "_input_drive", "apply_recurrent", "_factors", "_apply_factors")

    def forward_sequence(self, x: torch.Tensor, h: torch.Tensor) -> Any:
        r"""Fast path over (L, B, input_size): W is built once per sequence as a dense real matrix.

        W is fixed within a sequence, so its factors are applied once to the identity (the same
        products as :meth:`recurrent_matrix`, differentiable) and W acts on h through its real
        form: with h stored interleaved, h = (Re h_1, Im h_1, Re h_2, ...), the step's
        pre-activation W h + V x_t is one (B, 2N) x (2N, 2N) product added to the drive, and
        the drive V x_t of every step is one product. Then the activation on the complex view,
        and the readout of all steps in one product.
        ``NotImplemented`` when :meth:`uses_fast_path` is false (the runner then steps the rule)."""
        if not self.uses_fast_path():
            return NotImplemented
        n = self.hidden_size
        eye = torch.eye(n, dtype=h.dtype, device=h.device)
        transposed = self._apply_factors(eye, self._factors(h.dtype))  # row j = (W e_j)^T, i.e. W^T
        re, im = transposed.real, transposed.imag
        # (Re x_j, Im x_j) -> (Re y_i, Im y_i) with y = W x: Re y = Re W Re x - Im W Im x, Im y = Im W Re x + Re W Im x
        recurrent = torch.stack([torch.stack([re, im], -1), torch.stack([-im, re], -1)], 1).reshape(2 * n, 2 * n)
        drive = F.linear(x, self.weight_ih.transpose(0, 1).reshape(2 * n, self.input_size))  # rows (Re V_i, Im V_i)
        activation = self.rule.stages[0].activation
        flat = torch.view_as_real(h.resolve_conj()).reshape(h.shape[0], 2 * n)
        states = []
        for drive_t in drive.unbind(0):
            out = activation(torch.view_as_complex(torch.addmm(drive_t, flat, recurrent).view(-1, n, 2)))
            flat = torch.view_as_real(out.resolve_conj()).reshape(out.shape[0], 2 * n)
            states.append(flat)
        interleaved = self.readout.weight.view(-1, 2, n).transpose(1, 2).reshape(-1, 2 * n)
        outputs = F.linear(torch.stack(states), interleaved, self.readout.bias)  # as output_of, on the pairs
        return outputs, torch.view_as_complex(flat.view(-1, n, 2))

    def zero_state(self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any) -> torch.Tensor:
        real = super().zero_state(batch_size, dtype, device)
        return torch.complex(real, torch.zeros_like(real))

    def output_of(self, h: torch.Tensor) -> torch.Tensor:
        """The real readout U [Re h; Im h] + c, computed on the interleaved view (Re h_1, Im h_1, ...)
        with U's columns interleaved to match, so no concatenated copy of h is made."""
        n = self.hidden_size
        interleaved = self.readout.weight.view(-1, 2, n).transpose(1, 2).reshape(-1, 2 * n)
        flat = torch.view_as_real(h.resolve_conj()).reshape(*h.shape[:-1], 2 * n)
        return F.linear(flat, interleaved, self.readout.bias)


def _reflect(h: torch.Tensor, v: torch.Tensor, scaled: torch.Tensor) -> torch.Tensor:
    """R h = h - (2 / ||v||^2) v (v^H h) for row vectors h (B, N) as one rank-1 update;
    ``scaled`` = conj(v) 2 / ||v||^2."""
    rows = h.reshape(-1, h.shape[-1])
    return torch.addmm(rows, (rows @ scaled).unsqueeze(-1), v.unsqueeze(0), alpha=-1).reshape(h.shape)
