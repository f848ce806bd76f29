"""Claim 2 of the unification paper: the unitary RNN is an n-t-ORNN with a unitary recurrent matrix."""

from __future__ import annotations

import torch

import cells

from ._shared import TOLERANCE
from .result import ProofResult, Verdict


def check(
    *, input_size: int = 4, hidden_size: int = 16, length: int = 30, batch: int = 3, seed: int = 0
) -> ProofResult:
    """Claim 2: the unitary RNN is an n-t-ORNN whose recurrent matrix is unitary."""
    torch.manual_seed(seed)
    cell = cells.URNN(input_size, hidden_size).double()
    w = cell.recurrent_matrix().detach()
    unitarity = float(torch.linalg.matrix_norm(w.mH @ w - torch.eye(hidden_size, dtype=w.dtype)))
    x = torch.randn(length, batch, input_size, dtype=torch.float64)
    v = torch.complex(cell.weight_ih[0], cell.weight_ih[1]).detach()
    h_ours = cell.initial_state(batch)
    h_direct = h_ours.clone()
    error = 0.0
    with torch.no_grad():
        for x_t in x:
            _, h_ours = cell.forward_unchecked(x_t, h_ours)
            h_direct = cell.activation(h_direct @ w.T + x_t.to(v.dtype) @ v.T)  # h' = modReLU(W h + V x), dense W
            error = max(error, float((h_ours - h_direct).abs().max()))
    count = f"{cell.num_stages}-{cell.memory_span}"
    verdicts = (
        Verdict(
            "the URNN step is an n-t-ORNN rule with a unitary W",
            unitarity <= 1e-12 and error <= TOLERANCE,
            f"||W^H W - I|| = {unitarity:.1e}; step vs the dense-W step {error:.1e} over {length} steps",
        ),
        Verdict("the one-layer URNN is a 2-L-ORNN (2-1)", count == "2-1", f"{count} from our update rule"),
    )
    return ProofResult(
        name="claim2",
        statement="The URNN step is an n-t-ORNN update rule with a unitary recurrent matrix W = D3 R2 F^-1 D2 Pi R1 F D1, "
        "and a URNN with L hidden layers is a 2-L-ORNN.",
        source="the unification paper, Claim 2, Eq. (11), Table 1; Arjovsky et al. 2016",
        figures={
            "||W^H W - I||_F": unitarity,
            "max_error_vs_dense_W": error,
            "(n,t)": count,
            "paper": "2-L",
        },
        verdicts=verdicts,
        instance={"input_size": input_size, "hidden_size": hidden_size, "length": length, "batch": batch, "seed": seed},
        notes="We count the linear readout Y = W K + b of Eq. (11) as the cell's output, not as a second stage, and "
        "the state update reads Y_l only, so n = t = 1 where the paper has 2-L.",
    )
