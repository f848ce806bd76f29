"""Claim 1 of the unification paper: LSTM and GRU are n-t-ORNNs, checked against torch.nn.LSTM / nn.GRU through the generic executor."""

from __future__ import annotations

import torch
from torch import nn

import cells

from ._shared import TOLERANCE, run_generic
from .result import ProofResult


def check(
    *, input_size: int = 5, hidden_size: int = 8, num_layers: int = 2, length: int = 20, batch: int = 3, seed: int = 0
) -> ProofResult:
    """Claim 1: LSTM and GRU are n-t-ORNNs (2-L in Table 1)."""
    torch.manual_seed(seed)
    x = torch.randn(length, batch, input_size, dtype=torch.float64)
    errors, counts = {}, {}
    for name, layer_cls, cell_cls in (("lstm", nn.LSTM, cells.LSTM), ("gru", nn.GRU, cells.GRU)):
        reference = layer_cls(input_size, hidden_size, num_layers=num_layers).double()
        ours = cell_cls.from_torch(reference)
        with torch.no_grad():
            out, _ = run_generic(ours, x)
            errors[name] = float((out - reference(x)[0]).abs().max())
        cell = ours.cells[0]
        counts[name] = f"{cell.num_stages}-{cell.memory_span}"
    ok = all(e <= TOLERANCE for e in errors.values())
    return ProofResult(
        name="claim1",
        statement="LSTM and GRU steps are n-t-ORNN update rules: run through the generic executor they equal torch.nn.LSTM / nn.GRU.",
        source="the unification paper, Claim 1, Eqs. (4)-(10)",
        figures={
            "max_error_lstm": errors["lstm"],
            "max_error_gru": errors["gru"],
            "(n,t)_lstm": counts["lstm"],
            "(n,t)_gru": counts["gru"],
            "paper": "2-L for both (L layers)",
        },
        key_figure=f"max |ours - torch| = {max(errors.values()):.1e}; (n,t) lstm {counts['lstm']}, gru {counts['gru']} (paper 2-1)",
        verdict=ok,
        instance={
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "length": length,
            "batch": batch,
            "seed": seed,
        },
        notes="The GRU counts n = 1 here, as the proof of Claim 1 itself does; Table 1 lists 2-L.",
    )
