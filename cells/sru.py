r"""Simple recurrent unit (Lei et al. 2018) as in Zhang et al., Eq. (A1), as an n-t-ORNN.

    f_t = sigmoid(W_f x_t + v_f * c_{t-1} + b_f)
    c_t = f_t * c_{t-1} + (1 - f_t) * (W x_t)
    r_t = sigmoid(W_r x_t + v_r * c_{t-1} + b_r)
    h_t = r_t * c_t + (1 - r_t) * x~_t          (highway; x~ = W_p x when input_size != hidden_size)

The recurrence touches c only elementwise, so the input projections of a whole sequence
are one matrix product: :meth:`SRU.forward_sequence` (used by ``ornn.Recurrent``)
computes them once and runs the elementwise loop; the generic path (the executor, one
step at a time) stays, and a test holds the two equal. State (h, c) like the LSTM:
K_1 = D[1 - f] W x, K_2 = K_1 + D[f] c, h' = (1 - r) x~ + D[r] K_2, c' = K_2, so (n, t) = (2, 1).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule, identity

from ._fast import SequenceFastPath
from .gated import _cell_component

__all__ = ["SRU"]


@ornn.register_cell("sru")
class SRU(SequenceFastPath, ornn.ORNNCell):
    """SRU cell with peephole vectors v_f, v_r and a highway output; state (h, c)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size)
        self.projects_input = input_size != hidden_size
        blocks = 4 if self.projects_input else 3  # W, W_f, W_r[, W_p]
        self.weight = nn.Parameter(torch.empty(blocks * hidden_size, input_size))
        self.weight_c = nn.Parameter(torch.empty(2, hidden_size))  # v_f, v_r
        self.bias = nn.Parameter(torch.zeros(2, hidden_size)) if bias else None  # b_f, b_r
        self.reset_parameters()
        self.rule = self._stock_rule = UpdateRule(
            stages=(
                Stage(identity, input_map="wx", kappa="one_minus_f"),
                Stage(identity, input_map=_cell_component, gamma=1.0, kappa="f"),
            ),
            output=(Output(weights={1: "r"}, input_map="highway", gamma=0.0), Output(weights={1: 1.0}, gamma=0.0)),
            gates=self._gates,
        )

    def reset_parameters(self) -> None:
        bound = math.sqrt(3.0 / self.input_size)  # unit-variance pre-activations for unit-variance inputs
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.weight_c, -0.5, 0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    _fast_path_methods = ("_split", "_biases")

    def _split(self, projected: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        parts = projected.chunk(4 if self.projects_input else 3, dim=-1)
        highway_input = parts[3] if self.projects_input else x
        return parts[0], parts[1], parts[2], highway_input

    def _biases(self) -> tuple[Any, Any]:
        return (0.0, 0.0) if self.bias is None else (self.bias[0], self.bias[1])

    def _gates(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], clock: Any) -> dict[str, torch.Tensor]:
        c = state[1]
        wx, fx, rx, x_tilde = self._split(F.linear(x, self.weight), x)
        b_f, b_r = self._biases()
        f = torch.sigmoid(fx + self.weight_c[0] * c + b_f)
        r = torch.sigmoid(rx + self.weight_c[1] * c + b_r)
        return {"wx": wx, "f": f, "one_minus_f": 1.0 - f, "r": r, "highway": (1.0 - r) * x_tilde}

    def zero_state(
        self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = super().zero_state(batch_size, dtype, device)
        return h, torch.zeros_like(h)

    def forward_sequence(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> Any:
        """Fast path over a (L, B, input_size) sequence: one matrix product, then an elementwise loop
        (``NotImplemented`` when :meth:`uses_fast_path` is false: the runner then steps the rule)."""
        if not self.uses_fast_path():
            return NotImplemented
        wx, fx, rx, x_tilde = self._split(F.linear(x, self.weight), x)
        b_f, b_r = self._biases()
        fx, rx = fx + b_f, rx + b_r
        v_f, v_r = self.weight_c[0], self.weight_c[1]
        c = state[1]
        outputs = []
        for wx_t, fx_t, rx_t, xt_t in zip(wx.unbind(0), fx.unbind(0), rx.unbind(0), x_tilde.unbind(0)):
            f = torch.sigmoid(torch.addcmul(fx_t, v_f, c))
            r = torch.sigmoid(torch.addcmul(rx_t, v_r, c))
            c = torch.lerp(wx_t, c, f)  # f c + (1 - f) W x
            outputs.append(torch.lerp(xt_t, c, r))  # r c + (1 - r) x~
        h = torch.stack(outputs)
        return h, (h[-1], c)
