"""Cells: ``nn.Module`` wrappers that run an :class:`~ornn.spec.UpdateRule` one step at a time.

The calling convention is close to ``torch.nn.LSTMCell``'s: ``output, new_state = cell(x_t, hx)``
(the state positionally or as ``hx``; default zeros), plus
``cell.initial_state(batch_size, dtype=None, device=None)``. Where it differs from torch:
every cell returns the pair ``(output, new_state)``, for an LSTM ``(h', (h', c'))`` where
``nn.LSTMCell`` returns ``(h', c')`` and ``nn.GRUCell`` returns ``h'`` alone; the pair is the
same for every cell, whatever its state holds.

Every cell class, the zoo's and your own subclasses alike, takes torch's factory keywords
``device=`` and ``dtype=``: ``cells.LSTM(4, 8, dtype=torch.float64, device="cuda")``. The cell
is built, then its floating-point parameters and buffers are moved to ``device`` and cast to
``dtype`` (complex ones to the matching complex dtype), so the values equal those of
``cells.LSTM(4, 8).to(device).double()`` under the same seed.

What the state holds follows from the rule, so a cell never needs a second API
for memory or clocks:

* memory span t = 1, no clock: the state is Y_l (a tensor, or a tuple such as (h, c));
* memory span t > 1: the state is the history ``(Y_l, Y_{l-1}, ..., Y_{l-t+1})``;
* clocked rules (time-dependent stages, clockwork schedules): ``(<the above>, clock)``
  where ``clock`` is the step counter l as a 0-d int64 tensor shared by the batch.

:class:`~ornn.Recurrent` threads that state through a sequence, so keeping the
history a memory span needs costs it nothing special.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Optional

import torch
from torch import nn

from . import _checks
from ._tree import is_dynamic, leaves, structure, tree_map
from .executor import execute
from .spec import UpdateRule

__all__ = ["RecurrentCell", "ORNNCell"]


class RecurrentCell(nn.Module):
    """Base class of every cell: owns an :class:`UpdateRule` and runs it through the executor.

    Subclasses set ``self.rule`` in ``__init__`` and implement :meth:`zero_state`;
    they may override :meth:`output_of` (default: Y itself, or its first component)
    and :meth:`check_input`.
    """

    rule: UpdateRule

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give every subclass's constructor the factory keywords ``device`` and ``dtype``."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "_takes_factory_keywords", False):
            return

        @functools.wraps(init)
        def __init__(self, *args: Any, device: Any = None, dtype: Optional[torch.dtype] = None, **kw: Any) -> None:
            init(self, *args, **kw)
            if device is not None or dtype is not None:
                self._apply_factory_keywords(device, dtype)

        signature = inspect.signature(init)
        params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        extra = [p for p in signature.parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
        factory = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None)
            for name in ("device", "dtype")
            if name not in signature.parameters
        ]
        __init__.__signature__ = signature.replace(parameters=params + factory + extra)  # type: ignore[attr-defined]
        __init__._takes_factory_keywords = True  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[method-assign]

    def _apply_factory_keywords(self, device: Any, dtype: Optional[torch.dtype]) -> None:
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(
                f"dtype: expected a real floating-point torch.dtype (complex parameters follow it), got {dtype!r}"
            )
        device = None if device is None else _checks.device("device", device)
        complex_dtype = None if dtype is None else (torch.complex64 if dtype != torch.float64 else torch.complex128)

        def cast(t: torch.Tensor) -> torch.Tensor:
            if t.is_floating_point():
                return t.to(device=device, dtype=dtype)
            if t.is_complex():
                return t.to(device=device, dtype=complex_dtype)
            return t.to(device=device)

        self._apply(cast)

    # ----------------------------------------------------------------- rule
    @property
    def num_stages(self) -> int:
        """n, the number of stages of the rule (computed, not declared)."""
        return self.rule.num_stages

    @property
    def memory_span(self) -> int:
        """t, one more than the largest delay of the rule (computed, not declared)."""
        return self.rule.memory_span

    # ---------------------------------------------------------------- state
    def zero_state(self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any) -> Any:
        """Y_0 for one step (not the packed history); ``batch_size=None`` means unbatched."""
        raise NotImplementedError

    def default_dtype(self) -> torch.dtype:
        """The real dtype of the cell's parameters (the default dtype when it has none)."""
        for p in self.parameters():
            if p.is_floating_point():
                return p.dtype
            if p.is_complex():
                return p.real.dtype
        return torch.get_default_dtype()

    def default_device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def initial_state(
        self, batch_size: Optional[int] = None, *, dtype: Optional[torch.dtype] = None, device: Any = None
    ) -> Any:
        """The packed zero state (history and clock included) for ``batch_size`` sequences."""
        if batch_size is not None:
            _checks.positive_int("batch_size", batch_size)
        device = self.default_device() if device is None else device
        y0 = self.zero_state(batch_size, dtype, device)
        history = tuple(y0 for _ in range(self.memory_span))
        clock = torch.zeros((), dtype=torch.long, device=device) if self.rule.clocked else None
        return self.pack_state(history, clock)

    def pack_state(self, history: tuple, clock: Optional[torch.Tensor]) -> Any:
        core = history[0] if self.memory_span == 1 else tuple(history)
        return (core, clock) if self.rule.clocked else core

    def unpack_state(self, state: Any) -> tuple[tuple, Optional[torch.Tensor]]:
        core, clock = state if self.rule.clocked else (state, None)
        history = (core,) if self.memory_span == 1 else tuple(core)
        return history, clock

    def output_of(self, y: Any) -> torch.Tensor:
        """The output emitted for the new state Y_{l+1} (h for LSTM-like states)."""
        return y if isinstance(y, torch.Tensor) else y[0]

    # ----------------------------------------------------------------- step
    def forward_unchecked(self, x: Optional[torch.Tensor], state: Any) -> tuple[torch.Tensor, Any]:
        """One step with no argument checks: the hot path used by sequence runners."""
        history, clock = self.unpack_state(state)
        y_next = execute(self.rule, x, history, clock)
        new_history = (y_next,) + history[:-1]
        new_clock = None if clock is None else clock + 1
        return self.output_of(y_next), self.pack_state(new_history, new_clock)

    def check_input(self, x: Optional[torch.Tensor]) -> Optional[bool]:
        """Validate x_t and return whether it is batched."""
        raise NotImplementedError

    def check_state(self, state: Any, batch_size: Optional[int], device: Any) -> None:
        """Compare ``state`` with :meth:`initial_state` leaf by leaf (structure, shape, dtype)."""
        template = self.initial_state(batch_size, device=device)
        if structure(state) != structure(template):
            raise ValueError(
                f"state: expected the structure of initial_state() ({_layout(template)}), got {_layout(state)}"
            )
        for i, (got, want) in enumerate(zip(leaves(state), leaves(template))):
            if not isinstance(got, torch.Tensor):
                raise TypeError(f"state: expected tensors, got {_checks.describe(got)} at leaf {i}")
            if got.shape != want.shape:
                raise ValueError(f"state: expected leaf {i} of shape {tuple(want.shape)}, got {tuple(got.shape)}")
            if got.dtype != want.dtype:
                raise TypeError(f"state: expected leaf {i} of dtype {want.dtype}, got {got.dtype}")

    def forward(self, x_t: Optional[torch.Tensor], hx: Any = None) -> tuple[torch.Tensor, Any]:
        """``output_t, new_state = cell(x_t, hx)``; x_t is (B, F) or unbatched (F,); ``hx`` defaults to zeros."""
        state = hx
        batched = self.check_input(x_t)
        batch_size = x_t.shape[0] if batched else None
        if state is None:
            state = self.initial_state(batch_size, device=x_t.device)
        else:
            self.check_state(state, batch_size, x_t.device)
        if not batched:
            output, new_state = self.forward_unchecked(x_t.unsqueeze(0), tree_map(_add_batch, state))
            return output.squeeze(0), tree_map(_drop_batch, new_state)
        return self.forward_unchecked(x_t, state)


def _check_device(name: str, x: torch.Tensor, device: torch.device) -> None:
    """Refuse input on another device than the cell's parameters (torch's own message names neither)."""
    if x.device.type != device.type or (device.index is not None and x.device.index not in (None, device.index)):
        raise ValueError(
            f"{name}: expected a tensor on the cell's device {device}, got one on {x.device}; "
            "move the input or the cell with .to(device)"
        )


def _add_batch(leaf: torch.Tensor) -> torch.Tensor:
    return leaf.unsqueeze(0) if is_dynamic(leaf) else leaf


def _drop_batch(leaf: torch.Tensor) -> torch.Tensor:
    return leaf.squeeze(0) if is_dynamic(leaf) else leaf


def _layout(tree: Any) -> str:
    if isinstance(tree, tuple):
        return "(" + ", ".join(_layout(part) for part in tree) + ("," if len(tree) == 1 else "") + ")"
    if isinstance(tree, torch.Tensor):
        return f"{tuple(tree.shape)} {str(tree.dtype).replace('torch.', '')}"
    return type(tree).__name__


class ORNNCell(RecurrentCell):
    """A cell with ``input_size`` features in and a hidden state of ``hidden_size`` (the cell-zoo base).

    The default state is one real tensor (B, hidden_size); subclasses with other
    states ((h, c), complex) override :meth:`zero_state`.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = _checks.positive_int("input_size", input_size)
        self.hidden_size = _checks.positive_int("hidden_size", hidden_size)

    def zero_state(self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any) -> Any:
        shape = (self.hidden_size,) if batch_size is None else (batch_size, self.hidden_size)
        return torch.zeros(shape, dtype=dtype or self.default_dtype(), device=device)

    def check_input(self, x: Optional[torch.Tensor]) -> bool:
        _checks.tensor("x_t", x)
        if x.dim() not in (1, 2):
            raise ValueError(
                f"x_t: expected shape (batch, {self.input_size}) or ({self.input_size},), got {tuple(x.shape)}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(f"x_t: expected last dimension {self.input_size} (input_size), got {x.shape[-1]}")
        if x.dim() == 2 and x.shape[0] == 0:
            raise ValueError(f"x_t: expected a batch of at least one row, got shape {tuple(x.shape)}")
        expected = self.default_dtype()
        if x.dtype != expected:
            raise TypeError(f"x_t: expected dtype {expected} (the cell's parameters), got {x.dtype}")
        _check_device("x_t", x, self.default_device())
        return x.dim() == 2

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"
