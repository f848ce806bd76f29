"""Theorem 2 of the unification paper: 1-ARNN and 2-ARNN are reversible; a generic tanh RNN, for contrast, is not numerically."""

from __future__ import annotations

import math

import torch

import cells
from ornn import stability

from .result import ProofResult


def check(
    *, input_size: int = 3, hidden_size: int = 8, steps: int = 1000, step_size: float = 0.1, seed: int = 0
) -> ProofResult:
    """Theorem 2: 1-ARNN and 2-ARNN are reversible; a generic tanh RNN is not, numerically."""
    torch.manual_seed(seed)
    x = torch.randn(steps, 2, input_size, dtype=torch.float64)
    errors = {}
    for n, scheme in ((1, "symplectic_euler"), (2, "leapfrog")):
        cell = cells.ARNN(input_size, hidden_size, scheme=scheme, step_size=step_size).double()
        start = tuple(torch.randn_like(s) for s in cell.initial_state(2))
        errors[f"{n}-ARNN"] = stability.round_trip_error(cell, x, start)
    contrast = _tanh_rnn_reconstruction(input_size, hidden_size, x, seed)
    ok = all(e <= 1e-9 for e in errors.values())
    return ProofResult(
        name="theorem2",
        statement="1-ARNN (symplectic Euler) and 2-ARNN (leapfrog) have exact inverse steps: a forward/backward round trip returns to the start up to round-off.",
        source="the unification paper, Theorem 2",
        figures={**{f"round_trip_{k}": v for k, v in errors.items()}, "tanh_rnn_reconstruction_error": contrast},
        key_figure=f"round trip after {steps} steps: 1-ARNN {errors['1-ARNN']:.1e}, 2-ARNN {errors['2-ARNN']:.1e}; tanh RNN {contrast:.1e}",
        verdict=ok,
        instance={
            "input_size": input_size,
            "hidden_size": hidden_size,
            "steps": steps,
            "step_size": step_size,
            "seed": seed,
            "activation": "tanh",
        },
        notes="The tanh RNN h' = tanh(W h + U x + b) is inverted as h = W^-1 (atanh(h') - U x - b); its error is "
        "the largest deviation from the start (|h| < 1), and inf means the inversion left the domain of atanh: "
        "W^-1 and atanh amplify round-off at every step.",
    )


def _tanh_rnn_reconstruction(input_size: int, hidden_size: int, x: torch.Tensor, seed: int) -> float:
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(hidden_size, hidden_size, generator=generator, dtype=torch.float64) / math.sqrt(hidden_size)
    u = torch.randn(hidden_size, input_size, generator=generator, dtype=torch.float64) / math.sqrt(input_size)
    b = torch.zeros(hidden_size, dtype=torch.float64)
    h0 = 0.5 * torch.tanh(torch.randn(x.shape[1], hidden_size, generator=generator, dtype=torch.float64))
    h = h0
    for x_t in x:
        h = torch.tanh(h @ w.T + x_t @ u.T + b)
    w_inv = torch.linalg.inv(w)
    for x_t in reversed(x):
        h = (torch.atanh(h) - x_t @ u.T - b) @ w_inv.T
        if not torch.isfinite(h).all():
            return math.inf
    return float((h - h0).abs().max())
