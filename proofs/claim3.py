"""Claim 3 of the unification paper: the clockwork RNN is an n-t-ORNN, checked against Koutnik et al.'s equations written here."""

from __future__ import annotations

import torch

import cells
import ornn

from ._shared import TOLERANCE, run_generic
from .result import ProofResult, Verdict


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
    count, paper = f"{cell.num_stages}-{cell.memory_span}", f"{len(periods)}-{len(periods)}"
    verdicts = (
        Verdict(
            "the CW-RNN step is an n-t-ORNN rule",
            error <= TOLERANCE,
            f"max |ours - Koutnik et al.'s equations| = {error:.1e} over {length} steps",
        ),
        Verdict(
            f"the CW-RNN with L = {len(periods)} clocks is an L-L-ORNN ({paper})",
            count == paper,
            f"{count} from our update rule",
        ),
    )
    return ProofResult(
        name="claim3",
        statement="The clockwork RNN step (modules firing every T_i steps, block-triangular W_H) is an n-t-ORNN update "
        "rule, and with L clocks an L-L-ORNN.",
        source="the unification paper, Claim 3, Eq. (12); Koutnik et al. 2014",
        figures={"max_error_vs_direct": error, "(n,t)": count, "paper": f"{paper} (L-L)"},
        verdicts=verdicts,
        instance={
            "input_size": input_size,
            "hidden_size": hidden_size,
            "periods": list(periods),
            "length": length,
            "batch": batch,
            "seed": seed,
        },
        notes="The paper unrolls the clock schedule into L delays; our cell carries the step counter in its state and "
        "keeps inactive modules, so its step reads Y_l only: t = 1, n = 1.",
    )
