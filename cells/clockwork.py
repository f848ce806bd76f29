r"""Clockwork RNN (Koutník, Greff, Gomez & Schmidhuber 2014) as an n-t-ORNN (the unification paper, Claim 3).

The hidden units are split into g modules with periods T_1 < T_2 < ... (default 2^i).
At step l (the clock **starts at 0**, so every module fires on the first step) module i
updates when l mod T_i == 0 and otherwise keeps its state bit for bit::

    h'_i = tanh(W_H[i, :] h + W_I[i, :] x + b_i)     if l mod T_i == 0
    h'_i = h_i                                        otherwise

W_H is block upper-triangular with modules ordered fast to slow: module i reads module j
only when T_j >= T_i, so slow modules feed fast ones and never the reverse. As a rule:
one stage K_1 = tanh(W_H h + W_I x + b), output h' = D[inactive] h + D[active] K_1 with the
masks computed from the clock, which the cell carries in its state: (h, clock).
(n, t) = (1, 1); Claim 3 reads the schedule as L stages with L delays (L-L-ORNN), see the
family table.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule, _checks

__all__ = ["CWRNN"]


def _module_sizes(hidden_size: int, modules: int) -> list[int]:
    base, extra = divmod(hidden_size, modules)
    return [base + (1 if i < extra else 0) for i in range(modules)]


@ornn.register_cell("cw_rnn")
class CWRNN(ornn.ORNNCell):
    """Clockwork RNN cell.

    Args:
        input_size, hidden_size: feature sizes; hidden units are split as evenly as possible.
        periods: strictly increasing positive periods, one per module (default 2^i).
        num_modules: number of modules when ``periods`` is not given (default min(4, hidden_size)).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        periods: Optional[Sequence[int]] = None,
        num_modules: Optional[int] = None,
    ) -> None:
        super().__init__(input_size, hidden_size)
        if periods is None:
            count = min(4, hidden_size) if num_modules is None else _checks.positive_int("num_modules", num_modules)
            periods = [2**i for i in range(count)]
        periods = list(periods)
        if not periods or any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in periods):
            raise ValueError(f"periods: expected a non-empty sequence of positive integers, got {periods!r}")
        if any(b <= a for a, b in zip(periods, periods[1:])):
            raise ValueError(f"periods: expected strictly increasing periods (fast to slow), got {periods}")
        if len(periods) > hidden_size:
            raise ValueError(f"periods: expected at most hidden_size ({hidden_size}) modules, got {len(periods)}")
        if num_modules is not None and num_modules != len(periods):
            raise ValueError(f"num_modules: expected {len(periods)} (the number of periods), got {num_modules}")
        self.periods = tuple(periods)
        sizes = _module_sizes(hidden_size, len(periods))
        module_of_unit = torch.repeat_interleave(torch.arange(len(periods)), torch.tensor(sizes))
        self.register_buffer("unit_periods", torch.tensor(periods)[module_of_unit], persistent=False)
        # row unit reads column unit iff the column's module is at least as slow
        self.register_buffer(
            "connectivity", (module_of_unit[None, :] >= module_of_unit[:, None]).float(), persistent=False
        )
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-bound, bound))
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.rule = UpdateRule(
            stages=(Stage(torch.tanh, input_map=self._drive),),
            output=Output(weights={0: 1.0}, gamma="inactive", kappa="active"),
            gates=self._schedule,
            clocked=True,
        )

    def hidden_matrix(self) -> torch.Tensor:
        """The block upper-triangular W_H actually used (masked)."""
        return self.weight_hh * self.connectivity.to(self.weight_hh.dtype)

    def active_modules(self, step: int) -> list[bool]:
        """Which modules update at step ``step`` (clock starting at 0)."""
        return [step % p == 0 for p in self.periods]

    def _schedule(self, x: torch.Tensor, h: torch.Tensor, clock: torch.Tensor) -> dict[str, torch.Tensor]:
        active = (torch.remainder(clock, self.unit_periods) == 0).to(h.dtype)
        return {"active": active, "inactive": 1.0 - active}

    def _drive(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self.hidden_matrix()) + F.linear(x, self.weight_ih, self.bias)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, periods={self.periods}"
