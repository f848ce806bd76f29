"""Buffers for the hand-differentiated sequence paths, carved from one block, and reused from call to call.

QLSTM's sequence path stores every step's intermediate values for its backward: 8 MB per call at
B = 256, L = 20. Allocated afresh on every call, glibc often handed that memory back to the system
between calls (it trims its heap, unmaps large blocks), and the next call faulted it in again one
4 KiB page at a time. In a training loop that cost 592-1495 page faults a step, and the step took
12.9-20.1 ms where the same step on reused memory takes 10.5-11.9 ms (``benchmarks/cells_speed.py``
part 4, ``benchmarks/RESULTS.md``).

A :class:`Workspace` hands out the buffers of one call as views of one block. It takes the block
back when the call no longer needs it:
- when the autograd node that saved the buffers is freed (after the backward, or at once under
  ``torch.no_grad``);
- or when a backward gives its local block back.

A block is never handed out while anything that used it can still read it. So two graphs alive at
once (a retained graph, gradient accumulation) get two blocks. It keeps at most ``keep`` free
blocks; memory beyond that goes back to the allocator as before.

:func:`buffers` carves one new block and does not reuse it, which QK-LSTM's path uses. Reusing that
path's 24 MB block was slower: the block stayed away from the allocator, and the path's other
temporaries then faulted their pages in again, about 1000 faults a step.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from typing import Any, Optional

import torch

#: every buffer starts on a 64-byte boundary (a cache line; enough for any dtype's alignment)
_ALIGN = 64


class Workspace:
    """Reusable blocks of scratch memory for one cell's sequence path.

    ``take(layout, device, owner)`` returns uninitialised tensors of the given (shape, dtype) pairs,
    carved from one block, and the block itself; the block is free again once ``owner`` is garbage
    collected, or when it is handed to :meth:`give_back`. A copy (``copy.deepcopy``, pickling) starts
    empty: the blocks are scratch, not state.
    """

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._free: list[torch.Tensor] = []
        self._lock = threading.Lock()

    def take(
        self,
        layout: Sequence[tuple[tuple[int, ...], torch.dtype]],
        device: torch.device,
        owner: Optional[Any] = None,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Uninitialised buffers of the given (shape, dtype) pairs on ``device``, all views of one block.

        With ``owner`` (an object that supports weak references, such as an autograd ``ctx``), the block
        returns to the free list when ``owner`` is collected; without it the caller gives it back.
        """
        offsets, nbytes = _offsets(layout)
        block = self._reuse(nbytes, torch.device(device))
        if block is None:
            block = torch.empty(nbytes, dtype=torch.uint8, device=device)
        if owner is not None:
            weakref.finalize(owner, self.give_back, block)
        return _carve(block, offsets, layout), block

    def give_back(self, block: torch.Tensor) -> None:
        """Return ``block`` to the free list (the oldest free block is dropped beyond ``keep``)."""
        with self._lock:
            self._free.append(block)
            del self._free[: max(0, len(self._free) - self.keep)]

    def _reuse(self, nbytes: int, device: torch.device) -> Optional[torch.Tensor]:
        """The smallest free block on ``device`` of at least ``nbytes``, taken off the free list, or None."""
        with self._lock:
            fitting = [i for i, b in enumerate(self._free) if b.device == device and b.numel() >= nbytes]
            if not fitting:
                return None
            return self._free.pop(min(fitting, key=lambda i: self._free[i].numel()))

    def __len__(self) -> int:
        """The number of free blocks held."""
        return len(self._free)

    def __deepcopy__(self, memo: dict) -> Workspace:
        return Workspace(self.keep)

    def __reduce__(self) -> tuple:
        return Workspace, (self.keep,)

    def __repr__(self) -> str:
        held = sum(b.numel() for b in self._free)
        return f"Workspace({len(self._free)} free blocks, {held} bytes)"


def buffers(layout: Sequence[tuple[tuple[int, ...], torch.dtype]], device: torch.device) -> list[torch.Tensor]:
    """Uninitialised buffers of the given (shape, dtype) pairs, all views of one new block (not reused later)."""
    offsets, nbytes = _offsets(layout)
    return _carve(torch.empty(nbytes, dtype=torch.uint8, device=device), offsets, layout)


def _offsets(layout: Sequence[tuple[tuple[int, ...], torch.dtype]]) -> tuple[list[int], int]:
    """Each buffer's byte offset in a block (on ``_ALIGN`` boundaries) and the block's size."""
    offsets, end = [], 0
    for shape, dtype in layout:
        start = -(-end // _ALIGN) * _ALIGN
        offsets.append(start)
        end = start + math.prod(shape) * dtype.itemsize
    return offsets, end


def _carve(
    block: torch.Tensor, offsets: list[int], layout: Sequence[tuple[tuple[int, ...], torch.dtype]]
) -> list[torch.Tensor]:
    return [
        block[start : start + math.prod(shape) * dtype.itemsize].view(dtype).view(shape)
        for start, (shape, dtype) in zip(offsets, layout)
    ]
