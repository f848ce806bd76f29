"""Claim 1 of the unification paper: LSTM and GRU are n-t-ORNNs, "2-L-ORNN" for L hidden layers.

Two claims: that the steps are n-t-ORNN update rules (checked against torch.nn.LSTM / nn.GRU
through the generic executor, every layer), and the classification (n, t) = (2, L) of Table 1,
against the count of the whole L-layer stack read off our update rules.
"""

from __future__ import annotations

import torch
from torch import nn

import cells

from ._shared import TOLERANCE, run_generic, stack_count
from .result import ProofResult, Verdict


def check(
    *, input_size: int = 5, hidden_size: int = 8, num_layers: int = 2, length: int = 20, batch: int = 3, seed: int = 0
) -> ProofResult:
    """Claim 1: LSTM and GRU with L layers are n-t-ORNNs (2-L in Table 1)."""
    torch.manual_seed(seed)
    x = torch.randn(length, batch, input_size, dtype=torch.float64)
    errors, counts, layers = {}, {}, {}
    for name, layer_cls, cell_cls in (("lstm", nn.LSTM, cells.LSTM), ("gru", nn.GRU, cells.GRU)):
        reference = layer_cls(input_size, hidden_size, num_layers=num_layers).double()
        ours = cell_cls.from_torch(reference)
        with torch.no_grad():
            out, finals = run_generic(ours, x)
            ref_out, reference_state = reference(x)
            errors[name] = float((out - ref_out).abs().max())
            # the final state of every layer, not only the last layer's output
            hidden = torch.stack([f[0] if isinstance(f, tuple) else f for f in finals])
            ref_hidden = reference_state[0] if isinstance(reference_state, tuple) else reference_state
            errors[name] = max(errors[name], float((hidden - ref_hidden).abs().max()))
        n, t, per_layer = stack_count(ours)
        counts[name] = f"{n}-{t}"
        layers[name] = per_layer
    paper = f"2-{num_layers}"
    verdicts = [
        Verdict(
            "LSTM and GRU are n-t-ORNN update rules",
            all(e <= TOLERANCE for e in errors.values()),
            f"every layer through the generic executor equals torch.nn.LSTM / nn.GRU to {max(errors.values()):.1e} "
            f"(limit {TOLERANCE:g}, float64)",
        )
    ]
    for name in ("lstm", "gru"):
        verdicts.append(
            Verdict(
                f"the {num_layers}-layer {name.upper()} is a 2-L-ORNN ({paper})",
                counts[name] == paper,
                f"{counts[name]} for the stack (layers {', '.join(layers[name])})",
            )
        )
    return ProofResult(
        name="claim1",
        statement="LSTM and GRU steps are n-t-ORNN update rules, and an L-layer LSTM or GRU is a 2-L-ORNN.",
        source="the unification paper, Claim 1, Eqs. (4)-(10), Table 1",
        figures={
            "max_error_lstm": errors["lstm"],
            "max_error_gru": errors["gru"],
            "(n,t)_lstm": counts["lstm"],
            "(n,t)_gru": counts["gru"],
            "layers_lstm": layers["lstm"],
            "layers_gru": layers["gru"],
            "paper": paper,
        },
        verdicts=tuple(verdicts),
        instance={
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "length": length,
            "batch": batch,
            "seed": seed,
        },
        notes="We read a stack as one step whose stages are every layer's stages (layer l reads layer l - 1's new "
        "output within the step), so n adds up over layers and t is the longest memory: an L-layer LSTM is "
        "(2L)-1, a GRU L-1. The paper's own proof of Claim 1 gives n = 1 for the GRU and, for L layers, 'L-2-ORNN' "
        "(nonlinearity growing with L), not the 2-L of the claim and Table 1; only the one-layer LSTM agrees with "
        "Table 1 under any of these readings.",
    )
