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

With ``bidirectional=True`` every layer also runs a second set of cells over the reversed
sequence; its outputs are concatenated after the forward ones (2H features) and the
states are ordered as torch orders ``h_n``: layer 0 forward, layer 0 backward, layer 1
forward, ... Variable lengths come as a ``torch.nn.utils.rnn.PackedSequence`` (the output is
then packed too) or as ``lengths=`` with a padded x: a sequence's state stops changing after
its last step, its outputs beyond it are zeros, and the backward direction starts at its
own last step, as in ``torch.nn.LSTM``.

``load_state_dict`` also takes the state dict of a ``torch.nn.LSTM``/``nn.GRU`` with the same
shapes: its ``weight_ih_l{k}[_reverse]`` keys are read as layer k's (reverse) cell's
``weight_ih``, and so on.

A cell may offer ``forward_sequence(x, state) -> (outputs, state)``, a fast path over a
whole (L, B, F) sequence (SRU precomputes its input projections in one product; a stock
LSTM or GRU runs torch's fused RNN kernel); the runner then uses it for that layer when
every sequence has the full length. It may return ``NotImplemented`` to decline (a
subclass whose step differs), and the runner steps the cell. The cell's one-step path
stays the reference.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional, Sequence, Union

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import _checks
from ._tree import is_dynamic, leaves, structure, tree_map
from .cell import RecurrentCell

__all__ = ["Recurrent"]


def _layers(name: str, cells: Any) -> list[nn.Module]:
    layers = (
        [cells]
        if isinstance(cells, nn.Module) and not isinstance(cells, nn.ModuleList)
        else list(cells)
        if isinstance(cells, (list, tuple, nn.ModuleList))
        else None
    )
    if not layers:
        raise TypeError(f"{name}: expected a cell or a non-empty sequence of cells, got {_checks.describe(cells)}")
    for i, cell in enumerate(layers):
        if not isinstance(cell, nn.Module) or not hasattr(cell, "initial_state"):
            raise TypeError(
                f"{name}[{i}]: expected a cell module with initial_state() "
                f"(an ornn cell or one following its convention), got {_checks.describe(cell)}"
            )
    return layers


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
        cells: a cell, or a sequence of cells; layer i + 1 reads layer i's outputs
            (2 * hidden_size features when bidirectional).
        batch_first: inputs and outputs are (B, L, F) instead of (L, B, F).
        dropout: dropout probability on the outputs of every layer but the last
            (as in ``torch.nn.LSTM``), active in training mode only.
        bidirectional: also run every layer backwards in time, with the cells of ``reverse_cells``.
        reverse_cells: the backward cells, one per layer; by default a copy of each cell
            re-initialised with its ``reset_parameters()`` (torch draws both directions independently).
        check_finite: raise ``ValueError`` at the first NaN or infinite input or layer output, naming
            the layer, the direction and the step (off by default: like torch, no per-step cost).
    """

    def __init__(
        self,
        cells: Union[nn.Module, Sequence[nn.Module]],
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        reverse_cells: Optional[Sequence[nn.Module]] = None,
        check_finite: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(check_finite, bool):
            raise TypeError(f"check_finite: expected a bool, got {check_finite!r}")
        self.check_finite = check_finite
        layers = _layers("cells", cells)
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first: expected a bool, got {batch_first!r}")
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional: expected a bool, got {bidirectional!r}")
        directions = 2 if bidirectional else 1
        if reverse_cells is not None and not bidirectional:
            raise ValueError("reverse_cells: given, so expected bidirectional=True")
        if bidirectional:
            if reverse_cells is None:
                reverse = []
                for i, cell in enumerate(layers):
                    if not callable(getattr(cell, "reset_parameters", None)):
                        raise TypeError(
                            f"reverse_cells: cells[{i}] ({type(cell).__name__}) has no reset_parameters() to draw "
                            "independent backward weights; expected reverse_cells=..."
                        )
                    twin = copy.deepcopy(cell)
                    twin.reset_parameters()
                    reverse.append(twin)
            else:
                reverse = _layers("reverse_cells", reverse_cells)
                if len(reverse) != len(layers):
                    raise ValueError(f"reverse_cells: expected one cell per layer ({len(layers)}), got {len(reverse)}")
        for i in range(1, len(layers)):
            out_size = getattr(layers[i - 1], "hidden_size", None)
            for name, above in (("cells", layers[i]),) + ((("reverse_cells", reverse[i]),) if bidirectional else ()):
                in_size = getattr(above, "input_size", None)
                if out_size is not None and in_size is not None and directions * out_size != in_size:
                    times = "2 x " if bidirectional else ""
                    raise ValueError(
                        f"{name}[{i}]: expected input_size {directions * out_size} "
                        f"({times}hidden_size of layer {i - 1}), got {in_size}"
                    )
        self.cells = nn.ModuleList(layers)
        self.reverse_cells = nn.ModuleList(reverse) if bidirectional else None
        self.batch_first = batch_first
        self.bidirectional = bidirectional
        self.dropout = _checks.probability("dropout", dropout)
        self._register_load_state_dict_pre_hook(self._read_torch_keys)

    def _read_torch_keys(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors) -> None:
        """Rename torch.nn.LSTM/GRU keys (weight_ih_l0, bias_hh_l1_reverse, ...) to this module's."""
        pattern = re.compile(rf"^{re.escape(prefix)}(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")
        for key in [k for k in state_dict if pattern.match(k)]:
            name, layer, reverse = pattern.match(key).groups()
            if reverse and not self.bidirectional:
                continue  # left unexpected: strict loading names it
            group = "reverse_cells" if reverse else "cells"
            state_dict[f"{prefix}{group}.{layer}.{name}"] = state_dict.pop(key)

    @property
    def num_layers(self) -> int:
        return len(self.cells)

    @property
    def input_size(self) -> Optional[int]:
        return getattr(self.cells[0], "input_size", None)

    @property
    def hidden_size(self) -> Optional[int]:
        return getattr(self.cells[-1], "hidden_size", None)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _ordered_cells(self) -> list[nn.Module]:
        """Every cell in torch's state order: layer 0 forward, layer 0 backward, layer 1 forward, ..."""
        if not self.bidirectional:
            return list(self.cells)
        return [cell for pair in zip(self.cells, self.reverse_cells) for cell in pair]

    # ---------------------------------------------------------------- state
    def initial_state(
        self, batch_size: Optional[int] = None, *, dtype: Optional[torch.dtype] = None, device: Any = None
    ) -> Any:
        """Zero states of every layer (and direction), stacked or per layer as :meth:`forward` returns them."""
        return self._join(
            [cell.initial_state(batch_size, dtype=dtype, device=device) for cell in self._ordered_cells()]
        )

    def _join(self, states: list[Any]) -> Any:
        if _stackable(states):
            return tree_map(lambda *parts: torch.stack(parts), *states)
        return tuple(states)

    def _split(self, state: Any, templates: list[Any]) -> list[Any]:
        """Per-layer states from the stacked or per-layer form, checked against ``templates``."""
        count = len(templates)
        if _stackable(templates):
            if structure(state) != structure(templates[0]):
                raise ValueError(
                    f"state: expected the structure of initial_state() with leaves stacked over "
                    f"{count} layer(s) x direction(s), got a different nesting"
                )
            for i, (got, want) in enumerate(zip(leaves(state), leaves(templates[0]))):
                _checks.tensor("state", got)
                expected = (count, *want.shape)
                if tuple(got.shape) != expected:
                    raise ValueError(f"state: expected leaf {i} of shape {expected}, got {tuple(got.shape)}")
                if got.dtype != want.dtype:
                    raise TypeError(f"state: expected leaf {i} of dtype {want.dtype}, got {got.dtype}")
            return [tree_map(lambda leaf, j=j: leaf[j], state) for j in range(count)]
        if not (isinstance(state, tuple) and len(state) == count):
            raise ValueError(
                f"state: expected a tuple with one state per layer and direction ({count}), "
                f"got {_checks.describe(state)}"
            )
        return list(state)

    # -------------------------------------------------------------- forward
    def forward(self, x: Any, hx: Any = None, lengths: Any = None) -> tuple[Any, Any]:
        """Run the stack over x from the state ``hx`` (default zeros); returns (output, final state).

        ``x`` is a tensor, or a ``PackedSequence`` (then the output is one too); ``lengths``
        (one per sequence, each in 1..L) marks where each sequence of a padded, batched x ends.
        """
        state = hx
        packed = isinstance(x, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError("lengths: a PackedSequence carries its own lengths, so expected lengths=None")
            x, lengths = pad_packed_sequence(x, batch_first=False)
        _checks.tensor("x", x)
        if x.dim() not in (2, 3):
            layout = "(batch, length, features)" if self.batch_first else "(length, batch, features)"
            raise ValueError(
                f"x: expected a 3-d tensor {layout} or an unbatched (length, features), got shape {tuple(x.shape)}"
            )
        if x.shape[0 if x.dim() == 2 or not self.batch_first or packed else 1] == 0:
            raise ValueError(f"x: expected at least one time step, got shape {tuple(x.shape)}")
        batched = x.dim() == 3
        if batched and x.shape[1 if not self.batch_first or packed else 0] == 0:
            raise ValueError(f"x: expected at least one sequence (batch size >= 1), got shape {tuple(x.shape)}")
        if not batched:
            if lengths is not None:
                raise ValueError("lengths: expected a batched x (lengths are per sequence), got an unbatched one")
            x = x.unsqueeze(1)
        elif self.batch_first and not packed:
            x = x.transpose(0, 1)
        steps, batch_size = x.shape[0], x.shape[1]
        mask = None if lengths is None else self._mask(lengths, steps, batch_size, x.device)

        ordered = self._ordered_cells()
        templates = [cell.initial_state(batch_size, device=x.device) for cell in ordered]
        # Where the batch dimension sits in the returned state: after the layer dimension when stacked.
        batch_dim = 1 if _stackable(templates) else 0
        if state is None:
            layer_states = templates
        else:
            if not batched:
                state = tree_map(lambda leaf: leaf.unsqueeze(batch_dim) if is_dynamic(leaf) else leaf, state)
            layer_states = self._split(state, templates)
            for i, (cell, s) in enumerate(zip(ordered, layer_states)):
                if hasattr(cell, "check_state"):
                    try:
                        cell.check_state(s, batch_size, x.device)
                    except (ValueError, TypeError) as err:
                        raise type(err)(f"state of layer {i // self.num_directions}: {err}") from None
        if mask is not None and any(getattr(c, "rule", None) is not None and c.rule.clocked for c in ordered):
            raise ValueError(
                "lengths: clocked cells share one step counter across the batch, so expected every sequence "
                "to have the full length"
            )

        if self.check_finite:
            _first_non_finite(x, mask, "x: expected finite input, got {value} at step {step}, sequence {sequence}")
        final_states = []
        layer_input = x
        for i in range(self.num_layers):
            outputs = []
            for d in range(self.num_directions):
                cell = ordered[i * self.num_directions + d]
                sequence = layer_input if d == 0 else _reverse(layer_input, lengths, mask)
                out, s = _run(cell, sequence, layer_states[i * self.num_directions + d], mask)
                outputs.append(out if d == 0 else _reverse(out, lengths, mask))
                final_states.append(s)
                if self.check_finite:
                    direction = ("forward", "backward")[d] if self.bidirectional else ""
                    _first_non_finite(
                        outputs[-1],
                        mask,
                        f"check_finite: layer {i} {direction + ' ' if direction else ''}produced {{value}} at step "
                        "{step}, sequence {sequence}, from finite input",
                    )
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
            if self.dropout > 0.0 and self.training and i < self.num_layers - 1:
                layer_input = nn.functional.dropout(layer_input, p=self.dropout, training=True)

        output = layer_input
        if mask is not None:
            output = torch.where(mask.unsqueeze(-1), output, torch.zeros((), dtype=output.dtype, device=output.device))
        state_out = self._join(final_states)
        if packed:
            return pack_padded_sequence(output, lengths, enforce_sorted=False), state_out
        if not batched:
            output = output.squeeze(1)
            state_out = tree_map(lambda leaf: leaf.squeeze(batch_dim) if is_dynamic(leaf) else leaf, state_out)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, state_out

    @staticmethod
    def _mask(lengths: Any, steps: int, batch_size: int, device: Any) -> Optional[torch.Tensor]:
        """(L, B) bool, True where step l is inside sequence b; None when every sequence is full."""
        if isinstance(lengths, torch.Tensor):
            if lengths.dim() != 1 or lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
                raise TypeError(f"lengths: expected a 1-d integer tensor or a list of ints, got {lengths!r}")
            values = lengths.tolist()
        elif isinstance(lengths, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in lengths
        ):
            values = list(lengths)
        else:
            raise TypeError(
                f"lengths: expected a 1-d integer tensor or a list of ints, got {_checks.describe(lengths)}"
            )
        if len(values) != batch_size:
            raise ValueError(f"lengths: expected one length per sequence ({batch_size}), got {len(values)}")
        if any(not 1 <= v <= steps for v in values):
            raise ValueError(f"lengths: expected every length in 1..{steps} (the padded length), got {values}")
        if all(v == steps for v in values):
            return None
        counts = torch.tensor(values, device=device)
        return torch.arange(steps, device=device).unsqueeze(1) < counts.unsqueeze(0)

    def extra_repr(self) -> str:
        return (
            f"num_layers={self.num_layers}, batch_first={self.batch_first}, dropout={self.dropout}, "
            f"bidirectional={self.bidirectional}" + (", check_finite=True" if self.check_finite else "")
        )


def _run(cell: nn.Module, x: torch.Tensor, state: Any, mask: Optional[torch.Tensor]) -> tuple[torch.Tensor, Any]:
    """One layer, one direction, over (L, B, F); with a mask, a sequence's state is frozen after its end."""
    if hasattr(cell, "check_input"):
        cell.check_input(x[0])
    fast_path = getattr(cell, "forward_sequence", None)
    if fast_path is not None and mask is None:  # a cell's own sequence kernel (e.g. SRU's one-GEMM precompute)
        result = fast_path(x, state)
        if result is not NotImplemented:
            return result
    step = cell.forward_unchecked if isinstance(cell, RecurrentCell) else cell
    outputs = []
    for t, x_t in enumerate(x.unbind(0)):
        out, new = step(x_t, state)
        if mask is not None:
            keep = mask[t]
            new = tree_map(lambda a, b: _where(keep, a, b) if is_dynamic(a) else a, new, state)
        state = new
        outputs.append(out)
    return torch.stack(outputs), state


def _first_non_finite(values: torch.Tensor, mask: Optional[torch.Tensor], message: str) -> None:
    """Raise ``ValueError(message)`` at the first (step, sequence) of (L, B, F) ``values`` that is not finite."""
    bad = ~torch.isfinite(values).all(-1)  # (L, B)
    if mask is not None:
        bad = bad & mask
    if bool(bad.any()):
        step, sequence = (int(i) for i in bad.nonzero()[0])
        row = values[step, sequence]
        value = row[~torch.isfinite(row)][0].item()
        raise ValueError(message.format(value=value, step=step, sequence=sequence))


def _where(keep: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    return torch.where(keep.view(-1, *([1] * (new.dim() - 1))), new, old)


def _reverse(x: torch.Tensor, lengths: Any, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Each sequence reversed within its own length (the padding stays where it is); an involution."""
    if mask is None:
        return x.flip(0)
    steps = x.shape[0]
    counts = mask.sum(0)  # (B,)
    t = torch.arange(steps, device=x.device).unsqueeze(1)
    index = torch.where(t < counts, counts - 1 - t, t)  # (L, B)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))
