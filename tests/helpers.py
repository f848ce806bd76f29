"""Shared by the test modules: whole refusal messages, spies that record calls and pass them on, captured figures,
and a stub recurrent cell that records what it is fed."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
from torch import nn


def assert_refusals(cases, error=None, *, regex=False):
    """Each ``(call[, error], message)`` raises ``error`` with exactly ``message`` (a regex matched whole if ``regex``)."""
    for call, *expected in cases:
        kind, message = expected if len(expected) == 2 else (error, expected[0])
        with pytest.raises(kind) as caught:
            call()
        text = str(caught.value)
        assert (re.fullmatch(message, text) is not None) if regex else text == message, text


def spy(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, call_through: bool = True, keep_result: bool = False
) -> list[tuple]:
    """Replace ``owner.name`` by a wrapper that records each call's ``(args, kwargs)`` and then makes the call.

    ``call_through=False`` records without calling (the stand-in returns None); ``keep_result=True`` records
    ``(args, kwargs, result)``.
    """
    calls: list[tuple] = []
    original = getattr(owner, name)

    def recording(*args, **kwargs):
        if not call_through:
            calls.append((args, kwargs))
            return None
        if not keep_result:
            calls.append((args, kwargs))
            return original(*args, **kwargs)
        result = original(*args, **kwargs)
        calls.append((args, kwargs, result))
        return result

    monkeypatch.setattr(owner, name, recording)
    return calls


def capture_figures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any, dict]]:
    """Stop ``ornn._io.save_figure`` from writing: each call's ``(path, figure, options)`` is recorded instead."""
    from ornn import _io

    captured: list[tuple[Any, Any, dict]] = []
    monkeypatch.setattr(_io, "save_figure", lambda path, figure, **options: captured.append((path, figure, options)))
    return captured


def saved_figure(captured: list[tuple[Any, Any, dict]], path: Any) -> Any:
    """The last figure :func:`capture_figures` recorded: saved at ``path`` with the reports' resolution and tight
    bounding box, and closed afterwards (a long run draws many)."""
    from pathlib import Path

    import matplotlib.pyplot as plt

    saved, figure, options = captured[-1]
    assert Path(saved) == Path(path) and options == {"dpi": 110, "bbox_inches": "tight"}
    assert not plt.fignum_exists(figure.number)
    return figure


class RecordingCell(nn.Module):
    """A stub cell: records every input row it is fed and outputs fixed rows (so the proposals vary)."""

    def __init__(self, input_size, hidden_size, outputs):
        super().__init__()
        self.input_size, self.hidden_size, self.outputs, self.seen = input_size, hidden_size, outputs, []

    def initial_state(self, batch_size=None, *, dtype=None, device=None):
        return torch.zeros(batch_size, 1, dtype=dtype)

    def forward(self, x, state):
        self.seen.append(x.detach().clone())
        k = int(state[0, 0])
        return self.outputs[k].expand(x.shape[0], -1), state + 1
