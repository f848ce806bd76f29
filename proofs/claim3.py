"""Claim 3 of the unification paper: the clockwork RNN is an n-t-ORNN, checked against Koutnik et al.'s equations written here."""

from __future__ import annotations

import torch

import cells
import ornn

from ._shared import TOLERANCE, run_generic
from .result import ProofResult


def koutnik_reference(cell: "cells.CWRNN", x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Koutník et al.'s CW-RNN equations, module by module (clock from 0), with a dense W_H."""
    w_h = cell.hidden_matrix().detach()
    periods = cell.unit_periods
    outputs = []
    for step, x_t in enumerate(x):
        fires = (step % periods) == 0
        candidate = torch.tanh(h @ w_h.T + x_t @ cell.weight_ih.detach().T + cell.bias.detach())
        h = torch.where(fires, candidate, h)
        outputs.append(h)
    return torch.stack(outputs)


def check(
    *,
    input_size: int = 3,
    hidden_size: int = 12,
    periods: tuple[int, ...] = (1, 2, 4, 8),
    length: int = 40,
    batch: int = 2,
    seed: int = 0,
) -> ProofResult:
    """Claim 3: the clockwork RNN is an n-t-ORNN."""
    torch.manual_seed(seed)
    cell = cells.CWRNN(input_size, hidden_size, periods=list(periods)).double()
    x = torch.randn(length, batch, input_size, dtype=torch.float64)
    with torch.no_grad():
        out, _ = run_generic(ornn.Recurrent(cell), x)
        reference = koutnik_reference(cell, x, torch.zeros(batch, hidden_size, dtype=torch.float64))
    error = float((out - reference).abs().max())
    return ProofResult(
        name="claim3",
        statement="The clockwork RNN step (modules firing every T_i steps, block-triangular W_H) is an n-t-ORNN update rule.",
        source="the unification paper, Claim 3, Eq. (12); Koutnik et al. 2014",
        figures={
            "max_error_vs_direct": error,
            "(n,t)": f"{cell.num_stages}-{cell.memory_span}",
            "paper": f"{len(periods)}-{len(periods)} (L-L)",
        },
        key_figure=f"max |ours - direct| = {error:.1e}; (n,t) {cell.num_stages}-{cell.memory_span} (paper {len(periods)}-{len(periods)})",
        verdict=error <= TOLERANCE,
        instance={
            "input_size": input_size,
            "hidden_size": hidden_size,
            "periods": list(periods),
            "length": length,
            "batch": batch,
            "seed": seed,
        },
        notes="The paper unrolls the schedule into L delays; our cell carries the clock in its state, so t = 1.",
    )
