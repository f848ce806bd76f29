"""Claims 1–3 of seed 002: LSTM, GRU, URNN and CW-RNN are n-t-ORNNs.

Each check runs the cells one step at a time through the generic executor (never a
sequence fast path) and compares with an implementation nobody here wrote (torch's
RNNs) or a direct one written in this module from the original papers' equations.
"""

from __future__ import annotations

import torch
from torch import nn

import cells
import ornn

from .result import ProofResult

TOLERANCE = 1e-10  # float64: a few hundred ulps after the sequence's GEMMs


def _run_generic(recurrent, x):
    """Layer by layer, step by step, through each cell's generic executor path."""
    layer_input, finals = x, []
    for cell in recurrent.cells:
        state = cell.initial_state(x.shape[1], dtype=x.dtype)
        outputs = []
        for x_t in layer_input.unbind(0):
            out, state = cell.forward_unchecked(x_t, state)
            outputs.append(out)
        layer_input = torch.stack(outputs)
        finals.append(state)
    return layer_input, finals


def claim1(*, input_size: int = 5, hidden_size: int = 8, num_layers: int = 2, length: int = 20, batch: int = 3, seed: int = 0) -> ProofResult:
    """Claim 1: LSTM and GRU are n-t-ORNNs (2-L in Table 1)."""
    torch.manual_seed(seed)
    x = torch.randn(length, batch, input_size, dtype=torch.float64)
    errors, counts = {}, {}
    for name, layer_cls, cell_cls in (("lstm", nn.LSTM, cells.LSTM), ("gru", nn.GRU, cells.GRU)):
        reference = layer_cls(input_size, hidden_size, num_layers=num_layers).double()
        ours = cell_cls.from_torch(reference)
        with torch.no_grad():
            out, _ = _run_generic(ours, x)
            errors[name] = float((out - reference(x)[0]).abs().max())
        cell = ours.cells[0]
        counts[name] = f"{cell.order}-{cell.memory_span}"
    ok = all(e <= TOLERANCE for e in errors.values())
    return ProofResult(
        name="claim1",
        statement="LSTM and GRU steps are n-t-ORNN update rules: run through the generic executor they equal torch.nn.LSTM / nn.GRU.",
        source="seed 002, Claim 1, Eqs. (4)-(10)",
        figures={"max_error_lstm": errors["lstm"], "max_error_gru": errors["gru"], "(n,t)_lstm": counts["lstm"],
                 "(n,t)_gru": counts["gru"], "paper": "2-L for both (L layers)"},
        key_figure=f"max |ours - torch| = {max(errors.values()):.1e}; (n,t) lstm {counts['lstm']}, gru {counts['gru']} (paper 2-1)",
        verdict=ok,
        instance={"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers, "length": length, "batch": batch, "seed": seed},
        notes="The GRU counts n = 1 here, as the proof of Claim 1 itself does; Table 1 lists 2-L.",
    )


def claim2(*, input_size: int = 4, hidden_size: int = 16, length: int = 30, batch: int = 3, seed: int = 0) -> ProofResult:
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
    ok = unitarity <= 1e-12 and error <= TOLERANCE
    return ProofResult(
        name="claim2",
        statement="The URNN step is an n-t-ORNN update rule with a unitary recurrent matrix W = D3 R2 F^-1 D2 Pi R1 F D1.",
        source="seed 002, Claim 2, Eq. (11); Arjovsky et al. 2016",
        figures={"||W^H W - I||_F": unitarity, "max_error_vs_dense_W": error, "(n,t)": f"{cell.order}-{cell.memory_span}", "paper": "2-L"},
        key_figure=f"||W^H W - I|| = {unitarity:.1e}; step vs dense W {error:.1e}; (n,t) {cell.order}-{cell.memory_span} (paper 2-1)",
        verdict=ok,
        instance={"input_size": input_size, "hidden_size": hidden_size, "length": length, "batch": batch, "seed": seed},
        notes="We count the linear readout as the cell's output, not as a second stage, so n = 1 where the paper has 2.",
    )


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


def claim3(*, input_size: int = 3, hidden_size: int = 12, periods: tuple[int, ...] = (1, 2, 4, 8), length: int = 40, batch: int = 2, seed: int = 0) -> ProofResult:
    """Claim 3: the clockwork RNN is an n-t-ORNN."""
    torch.manual_seed(seed)
    cell = cells.CWRNN(input_size, hidden_size, periods=list(periods)).double()
    x = torch.randn(length, batch, input_size, dtype=torch.float64)
    with torch.no_grad():
        out, _ = _run_generic(ornn.Recurrent(cell), x)
        reference = koutnik_reference(cell, x, torch.zeros(batch, hidden_size, dtype=torch.float64))
    error = float((out - reference).abs().max())
    return ProofResult(
        name="claim3",
        statement="The clockwork RNN step (modules firing every T_i steps, block-triangular W_H) is an n-t-ORNN update rule.",
        source="seed 002, Claim 3, Eq. (12); Koutnik et al. 2014",
        figures={"max_error_vs_direct": error, "(n,t)": f"{cell.order}-{cell.memory_span}", "paper": f"{len(periods)}-{len(periods)} (L-L)"},
        key_figure=f"max |ours - direct| = {error:.1e}; (n,t) {cell.order}-{cell.memory_span} (paper {len(periods)}-{len(periods)})",
        verdict=error <= TOLERANCE,
        instance={"input_size": input_size, "hidden_size": hidden_size, "periods": list(periods), "length": length, "batch": batch, "seed": seed},
        notes="The paper unrolls the schedule into L delays; our cell carries the clock in its state, so t = 1.",
    )

