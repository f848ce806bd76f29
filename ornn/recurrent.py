"""Run one cell, or a stack of cells, over sequences with ``torch.nn.LSTM``'s calling convention.

``output, state = rnn(x, state0)``:

* x is (L, B, F), (B, L, F) with ``batch_first=True``, or unbatched (L, F);
* output holds the last layer's output at every step, in the layout of x;
* state holds every layer's final state. When all layers share one state
  structure and shape (the usual stack of equal cells) each leaf is stacked
  along a leading layer dimension, as torch does for (h_n, c_n): an LSTM stack
  gives ``(h_n, c_n)`` with ``h_n`` of shape (num_layers, B, H). Otherwise the
  state is a tuple with one entry per layer. ``state0`` is accepted in the same
  form. Memory spans t > 1 and clocks are part of each cell's state, so a
  sequence can be continued by passing the returned state back in.

A cell may offer ``forward_sequence(x, state) -> (outputs, state)``, a fast path over a
whole (L, B, F) sequence (SRU precomputes its input projections in one product); the
runner then uses it for that layer. The cell's one-step path stays the reference.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import torch
from torch import nn

from . import _checks
from ._tree import is_dynamic, leaves, structure, tree_map
from .cell import RecurrentCell

__all__ = ["Recurrent"]


def _stackable(states: Sequence[Any]) -> bool:
    first = states[0]
    shape = structure(first)
    for other in states[1:]:
        if structure(other) != shape:
            return False
        if any(a.shape != b.shape or a.dtype != b.dtype for a, b in zip(leaves(first), leaves(other))):
            return False
    return True


class Recurrent(nn.Module):
    """A sequence runner over one cell or a list of cells (one per layer).

    Args:
        cells: a cell, or a sequence of cells; layer i + 1 reads layer i's outputs.
        batch_first: inputs and outputs are (B, L, F) instead of (L, B, F).
        dropout: dropout probability on the outputs of every layer but the last
            (as in ``torch.nn.LSTM``), active in training mode only.
    """

    def __init__(
        self,
        cells: Union[nn.Module, Sequence[nn.Module]],
        batch_first: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers = (
            [cells]
            if isinstance(cells, nn.Module)
            else list(cells)
            if isinstance(cells, (list, tuple, nn.ModuleList))
            else None
        )
        if not layers:
            raise TypeError(f"cells: expected a cell or a non-empty sequence of cells, got {_checks.describe(cells)}")
        for i, cell in enumerate(layers):
            if not isinstance(cell, nn.Module) or not hasattr(cell, "initial_state"):
                raise TypeError(
                    f"cells[{i}]: expected a cell module with initial_state() "
                    f"(an ornn cell or one following its convention), got {_checks.describe(cell)}"
                )
        for i in range(1, len(layers)):
            below, above = layers[i - 1], layers[i]
            out_size, in_size = getattr(below, "hidden_size", None), getattr(above, "input_size", None)
            if out_size is not None and in_size is not None and out_size != in_size:
                raise ValueError(
                    f"cells[{i}]: expected input_size {out_size} (hidden_size of layer {i - 1}), got {in_size}"
                )
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first: expected a bool, got {batch_first!r}")
        self.cells = nn.ModuleList(layers)
        self.batch_first = batch_first
        self.dropout = _checks.probability("dropout", dropout)

    @property
    def num_layers(self) -> int:
        return len(self.cells)

    @property
    def input_size(self) -> Optional[int]:
        return getattr(self.cells[0], "input_size", None)

    @property
    def hidden_size(self) -> Optional[int]:
        return getattr(self.cells[-1], "hidden_size", None)

    # ---------------------------------------------------------------- state
    def initial_state(
        self, batch_size: Optional[int] = None, *, dtype: Optional[torch.dtype] = None, device: Any = None
    ) -> Any:
        """Zero states of every layer, stacked or per layer as :meth:`forward` returns them."""
        return self._join([cell.initial_state(batch_size, dtype=dtype, device=device) for cell in self.cells])

    def _join(self, states: list[Any]) -> Any:
        if self.num_layers > 1 and _stackable(states):
            return tree_map(lambda *parts: torch.stack(parts), *states)
        if self.num_layers == 1 and _stackable(states):
            return tree_map(lambda leaf: leaf.unsqueeze(0), states[0])
        return tuple(states)

    def _split(self, state: Any, templates: list[Any]) -> list[Any]:
        """Per-layer states from the stacked or per-layer form, checked against ``templates``."""
        stacked = _stackable(templates)
        if stacked:
            if structure(state) != structure(templates[0]):
                raise ValueError(
                    f"state: expected the structure of initial_state() with leaves stacked over "
                    f"{self.num_layers} layer(s), got a different nesting"
                )
            for i, (got, want) in enumerate(zip(leaves(state), leaves(templates[0]))):
                _checks.tensor("state", got)
                expected = (self.num_layers, *want.shape)
                if tuple(got.shape) != expected:
                    raise ValueError(f"state: expected leaf {i} of shape {expected}, got {tuple(got.shape)}")
                if got.dtype != want.dtype:
                    raise TypeError(f"state: expected leaf {i} of dtype {want.dtype}, got {got.dtype}")
            return [tree_map(lambda leaf, j=j: leaf[j], state) for j in range(self.num_layers)]
        if not (isinstance(state, tuple) and len(state) == self.num_layers):
            raise ValueError(
                f"state: expected a tuple with one state per layer ({self.num_layers}), got {_checks.describe(state)}"
            )
        return list(state)

    # -------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor, hx: Any = None) -> tuple[torch.Tensor, Any]:
        """Run the stack over x from the state ``hx`` (default zeros); returns (output, final state)."""
        state = hx
        _checks.tensor("x", x)
        if x.dim() not in (2, 3):
            layout = "(batch, length, features)" if self.batch_first else "(length, batch, features)"
            raise ValueError(
                f"x: expected a 3-d tensor {layout} or an unbatched (length, features), got shape {tuple(x.shape)}"
            )
        if x.shape[0 if x.dim() == 2 or not self.batch_first else 1] == 0:
            raise ValueError(f"x: expected at least one time step, got shape {tuple(x.shape)}")
        batched = x.dim() == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        batch_size = x.shape[1]

        templates = [cell.initial_state(batch_size, device=x.device) for cell in self.cells]
        # Where the batch dimension sits in the returned state: after the layer dimension when stacked.
        batch_dim = 1 if _stackable(templates) else 0
        if state is None:
            layer_states = templates
        else:
            if not batched:
                state = tree_map(lambda leaf: leaf.unsqueeze(batch_dim) if is_dynamic(leaf) else leaf, state)
            layer_states = self._split(state, templates)
            for i, (cell, s) in enumerate(zip(self.cells, layer_states)):
                if hasattr(cell, "check_state"):
                    try:
                        cell.check_state(s, batch_size, x.device)
                    except (ValueError, TypeError) as err:
                        raise type(err)(f"state of layer {i}: {err}") from None

        final_states = []
        layer_input = x
        for i, (cell, s) in enumerate(zip(self.cells, layer_states)):
            if hasattr(cell, "check_input"):
                cell.check_input(layer_input[0])
            fast_path = getattr(cell, "forward_sequence", None)
            if fast_path is not None:  # a cell's own sequence kernel (e.g. SRU's one-GEMM precompute)
                layer_input, s = fast_path(layer_input, s)
            else:
                step = cell.forward_unchecked if isinstance(cell, RecurrentCell) else cell
                outputs = []
                for x_t in layer_input.unbind(0):
                    out, s = step(x_t, s)
                    outputs.append(out)
                layer_input = torch.stack(outputs)
            if self.dropout > 0.0 and self.training and i < self.num_layers - 1:
                layer_input = nn.functional.dropout(layer_input, p=self.dropout, training=True)
            final_states.append(s)

        output = layer_input
        state_out = self._join(final_states)
        if not batched:
            output = output.squeeze(1)
            state_out = tree_map(lambda leaf: leaf.squeeze(batch_dim) if is_dynamic(leaf) else leaf, state_out)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, state_out

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}, batch_first={self.batch_first}, dropout={self.dropout}"
