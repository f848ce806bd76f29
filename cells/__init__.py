"""The cell zoo: recurrent cells expressed as n-t-ORNN update rules.

Every cell is one step (``output, state = cell(x_t, state)``), runs through
``ornn``'s executor, exposes ``spec``, ``order`` (n) and ``memory_span`` (t), and is
registered by name, with ``@ornn.register_cell(name)`` next to its class::

    import cells
    cells.available()                                   # ('gru', 'lstm', ...)
    cell = cells.create("lstm", input_size=8, hidden_size=32)
    rnn = cells.recurrent("gru", 8, 32, num_layers=2, batch_first=True)
"""

from __future__ import annotations

from typing import Any

import ornn

from .arnn import ARNN
from .clockwork import CWRNN
from .gated import GRU, LSTM
from .qfwp import QFWP
from .quantum_lstm import QKLSTM, QLSTM
from .qunn import QUNN
from .sru import SRU
from .urnn import URNN

__all__ = [
    "LSTM",
    "GRU",
    "URNN",
    "CWRNN",
    "SRU",
    "ARNN",
    "QUNN",
    "QLSTM",
    "QKLSTM",
    "QFWP",
    "available",
    "create",
    "recurrent",
]


def available() -> tuple[str, ...]:
    """Registered cell names (the zoo plus any cell registered with ``ornn.register_cell``)."""
    return ornn.available_cells()


def create(name: str, *args: Any, **kwargs: Any) -> ornn.RecurrentCell:
    """Build a registered cell: ``create("lstm", input_size=8, hidden_size=32)``.

    An unknown name raises ``ValueError`` listing the valid names.
    """
    return ornn.create_cell(name, *args, **kwargs)


def recurrent(
    name: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    batch_first: bool = False,
    dropout: float = 0.0,
    bidirectional: bool = False,
    check_finite: bool = False,
    **kwargs: Any,
) -> ornn.Recurrent:
    """An ``ornn.Recurrent`` of ``num_layers`` cells ``name``, as ``torch.nn.LSTM(input_size, hidden_size, ...)``.

    Layer i > 0 reads hidden_size features (2 * hidden_size when ``bidirectional``, whose backward
    cells are built the same way, drawn independently). ``kwargs`` go to every cell (``dtype=``,
    ``device=`` included). ``check_finite`` is :class:`ornn.Recurrent`'s.
    """
    from ornn import _checks

    _checks.positive_int("num_layers", num_layers)
    if not isinstance(bidirectional, bool):
        raise TypeError(f"bidirectional: expected a bool, got {bidirectional!r}")
    width = 2 * hidden_size if bidirectional else hidden_size

    def build() -> list:
        return [
            ornn.create_cell(name, input_size if i == 0 else width, hidden_size, **kwargs) for i in range(num_layers)
        ]

    layers = build()
    reverse = build() if bidirectional else None
    return ornn.Recurrent(
        layers,
        batch_first=batch_first,
        dropout=dropout,
        bidirectional=bidirectional,
        reverse_cells=reverse,
        check_finite=check_finite,
    )
