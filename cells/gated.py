r"""LSTM and GRU as n-t-ORNN update rules (the unification paper, Claim 1; Chandarana et al., Appendix B).

Parameters carry ``torch.nn.LSTMCell`` / ``nn.GRUCell`` names and layout
(``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``; gate order i, f, g, o for the
LSTM and r, z, n for the GRU), so ``load_state_dict`` works both ways.

LSTM, state (h, c), gates i, f, o = sigmoid(.) and g from W_ih x + b_ih + W_hh h + b_hh::

    K_1 = i * tanh(g)                       (stage 1: kappa_1 = D[i])
    K_2 = K_1 + f * c                       (stage 2: gamma_2 = 1, kappa_2 = D[f], W_2 = [c-selector])
    h'  = o * tanh(K_2),   c' = K_2         (outputs: kappa_o = D[o], sigma_o = tanh; identity)

so (n, t) = (2, 1) for one layer, the paper's 2-L-ORNN with L = 1.

GRU, state h, gates r, z and the candidate pre-activation a = W_in x + b_in + r * (W_hn h + b_hn)::

    K_1 = tanh(a)
    h'  = z * h + (1 - z) * K_1             (gamma_o = D[z], kappa_o = D[1 - z])

one Euler step h' = h + (1 - z)(K_1 - h) in torch's convention; (n, t) = (1, 1), as the
proof of Claim 1 counts it (Table 1 lists 2-L; see the family table).

Sequence fast path: over a whole sequence (``ornn.Recurrent`` with every sequence at full
length) a stock LSTM or GRU runs torch's own fused RNN kernel (``torch.lstm`` / ``torch.gru``,
the kernel behind ``nn.LSTM`` / ``nn.GRU``; oneDNN's on CPU in float32, cuDNN's on CUDA).
It applies when the cell's step is the stock one: a subclass that overrides how the gates,
the rule or the output are computed (a user's variant) runs the generic executor instead, and
so does a cell with ``cell.fused = False``. The executor stays the reference; the tests hold
the two equal to 1e-10 in float64.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule, identity

from ._fast import SequenceFastPath

__all__ = ["LSTM", "GRU"]


class _TorchLayout(SequenceFastPath, ornn.ORNNCell):
    """Shared parameter layout of torch's gated cells: ``gates`` blocks of ``hidden_size`` rows."""

    gates_per_cell: int
    torch_cell: type
    torch_layer: type

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size)
        if not isinstance(bias, bool):
            raise TypeError(f"bias: expected a bool, got {bias!r}")
        rows = self.gates_per_cell * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.bias = bias
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every parameter, as torch initialises its RNN cells."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _projections(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)

    #: torch's fused sequence kernel for this cell (``torch.lstm`` or ``torch.gru``)
    _fused_kernel: Callable[..., Any]

    def _flat_weights(self) -> list[torch.Tensor]:
        weights = [self.weight_ih, self.weight_hh]
        return weights + [self.bias_ih, self.bias_hh] if self.bias else weights

    def _run_fused(self, x: torch.Tensor, hx: Any) -> tuple:
        """One layer of torch's fused kernel over (L, B, F); ``train`` keeps what backward needs
        whenever autograd is recording (dropout is 0 here: ``ornn.Recurrent`` applies it between layers)."""
        args = (hx, self._flat_weights(), self.bias, 1, 0.0, torch.is_grad_enabled(), False, False)
        if x.device.type != "cuda":
            return self._fused_kernel(x, *args)
        with warnings.catch_warnings():  # cuDNN copies weights that are not one flat buffer; correct, just a copy
            warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")
            return self._fused_kernel(x, *args)

    @classmethod
    def from_torch(cls, module: nn.Module) -> Union["_TorchLayout", ornn.Recurrent]:
        """A cell from a torch cell, or an ``ornn.Recurrent`` from a torch layer, with copied weights."""
        if isinstance(module, cls.torch_cell):
            cell = cls(module.input_size, module.hidden_size, bias=module.bias)
            cell.load_state_dict(module.state_dict())
            return cell.to(device=module.weight_ih.device, dtype=module.weight_ih.dtype)
        if isinstance(module, cls.torch_layer):
            if getattr(module, "proj_size", 0):
                raise ValueError(f"module: LSTM projections are not supported, got proj_size={module.proj_size}")
            width = (2 if module.bidirectional else 1) * module.hidden_size

            def build() -> list:
                return [
                    cls(module.input_size if layer == 0 else width, module.hidden_size, bias=module.bias)
                    for layer in range(module.num_layers)
                ]

            stack = ornn.Recurrent(
                build(),
                batch_first=module.batch_first,
                dropout=float(module.dropout),
                bidirectional=module.bidirectional,
                reverse_cells=build() if module.bidirectional else None,
            )
            stack.load_state_dict(module.state_dict())  # torch's weight_ih_l{k}[_reverse] keys are understood
            return stack.to(device=module.weight_ih_l0.device, dtype=module.weight_ih_l0.dtype)
        raise TypeError(
            f"module: expected torch.nn.{cls.torch_cell.__name__} or torch.nn.{cls.torch_layer.__name__}, "
            f"got {type(module).__name__}"
        )

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


@ornn.register_cell("lstm")
class LSTM(_TorchLayout):
    """Long short-term memory cell (Hochreiter & Schmidhuber) as a 2-stage n-t-ORNN; state (h, c)."""

    gates_per_cell = 4
    torch_cell = nn.LSTMCell
    torch_layer = nn.LSTM

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        self.rule = self._stock_rule = lstm_rule(self._gates)

    _fused_kernel = staticmethod(torch.lstm)

    def forward_sequence(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> Any:
        """(L, B, input_size) from (h, c) -> (outputs (L, B, H), (h_L, c_L)) through ``torch.lstm``;
        ``NotImplemented`` when :meth:`uses_fast_path` is false (the runner then steps the rule)."""
        if not self.uses_fast_path():
            return NotImplemented  # the runner steps the rule
        h, c = state
        outputs, h_n, c_n = self._run_fused(x, (h.unsqueeze(0), c.unsqueeze(0)))
        return outputs, (h_n.squeeze(0), c_n.squeeze(0))

    def _gates(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], clock: Any) -> dict[str, torch.Tensor]:
        from_input, from_hidden = self._projections(x, state[0])
        return lstm_gates(*(from_input + from_hidden).chunk(4, dim=-1))

    def zero_state(
        self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return lstm_zero_state(self, batch_size, dtype, device)


def lstm_rule(gates: Callable[..., dict[str, torch.Tensor]]) -> UpdateRule:
    """The LSTM's two-stage rule around a gate function returning i, f, o (after the sigmoid) and g (before tanh).

    Shared by every LSTM variant whose gates differ only in how they are computed
    (classical affine maps here, variational circuits or quantum kernels in ``cells.quantum_lstm``).
    """
    return UpdateRule(
        stages=(
            Stage(torch.tanh, input_map="g", kappa="i"),
            Stage(identity, input_map=_cell_component, gamma=1.0, kappa="f"),
        ),
        output=(
            Output(weights={1: 1.0}, activation=torch.tanh, gamma=0.0, kappa="o"),
            Output(weights={1: 1.0}, gamma=0.0),
        ),
        gates=gates,
    )


def lstm_gates(i: torch.Tensor, f: torch.Tensor, g: torch.Tensor, o: torch.Tensor) -> dict[str, torch.Tensor]:
    """The gate tensors ``lstm_rule`` reads, from the four pre-activations: sigmoids on i, f, o; g as it is."""
    return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": g, "o": torch.sigmoid(o)}


def lstm_zero_state(
    cell: ornn.ORNNCell, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """(h, c) = (0, 0), each shaped like the cell's hidden state."""
    h = ornn.ORNNCell.zero_state(cell, batch_size, dtype, device)
    return h, torch.zeros_like(h)


def _cell_component(state: tuple[torch.Tensor, torch.Tensor], x: Any) -> torch.Tensor:
    """W_2 [Y, x] = c: stage 2 reads the cell component of the (h, c) state."""
    return state[1]


@ornn.register_cell("gru")
class GRU(_TorchLayout):
    """Gated recurrent unit (Cho et al.) in torch's convention as a 1-stage n-t-ORNN; state h."""

    gates_per_cell = 3
    torch_cell = nn.GRUCell
    torch_layer = nn.GRU

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        self.rule = self._stock_rule = UpdateRule(
            stages=(Stage(torch.tanh, input_map="candidate"),),
            output=Output(weights={0: 1.0}, gamma="z", kappa="one_minus_z"),
            gates=self._gates,
        )

    def _gates(self, x: torch.Tensor, h: torch.Tensor, clock: Any) -> dict[str, torch.Tensor]:
        from_input, from_hidden = self._projections(x, h)
        r_in, z_in, n_in = from_input.chunk(3, dim=-1)
        r_h, z_h, n_h = from_hidden.chunk(3, dim=-1)
        r = torch.sigmoid(r_in + r_h)
        z = torch.sigmoid(z_in + z_h)
        return {"z": z, "one_minus_z": 1.0 - z, "candidate": n_in + r * n_h}

    _fused_kernel = staticmethod(torch.gru)

    def forward_sequence(self, x: torch.Tensor, h: torch.Tensor) -> Any:
        """(L, B, input_size) from h -> (outputs (L, B, H), h_L) through ``torch.gru``;
        ``NotImplemented`` when :meth:`uses_fast_path` is false (the runner then steps the rule)."""
        if not self.uses_fast_path():
            return NotImplemented  # the runner steps the rule
        outputs, h_n = self._run_fused(x, h.unsqueeze(0))
        return outputs, h_n.squeeze(0)
