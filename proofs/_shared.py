"""Helpers shared by several proofs: generic-path runs and the linear symplectic-Euler cell."""

from __future__ import annotations

import math

import torch

import cells
import ornn

TOLERANCE = 1e-10  # float64 agreement: a few hundred ulps after a sequence of GEMMs


def run_generic(recurrent, x):
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


def stack_count(recurrent) -> tuple[int, int, list[str]]:
    """(n, t) of a stack of cells read as one n-t-ORNN step, and each layer's own "n-t".

    Within one time step layer l's stages read the new output of layer l - 1, so the stack's step
    is one update rule whose stages are all the layers' stages in order: n = sum of the n_l; the
    memory span is the longest of any layer, t = max t_l.
    """
    layers = [(cell.num_stages, cell.memory_span) for cell in recurrent.cells]
    return sum(n for n, _ in layers), max(t for _, t in layers), [f"{n}-{t}" for n, t in layers]


def leaky_relu(z: torch.Tensor) -> torch.Tensor:
    """A monotonic activation that is neither odd nor bounded: slope 1 above zero, 0.1 below."""
    return torch.nn.functional.leaky_relu(z, 0.1)


#: the monotonic activations Theorem 1 is checked with (the theorem covers any monotonic sigma)
ACTIVATIONS = {"identity": ornn.identity, "tanh": torch.tanh, "leaky_relu": leaky_relu}


def symplectic_cell(hamiltonian: torch.Tensor, step: float, activation=ornn.identity) -> cells.ARNN:
    """The 1-ARNN of Eq. (14): no input, A = H (real symmetric); linear with the default identity activation."""
    n = hamiltonian.shape[0]
    cell = cells.ARNN(1, n, scheme="symplectic_euler", step_size=step, activation=activation, bias=False).double()
    with torch.no_grad():
        cell.weight_a.copy_(hamiltonian)
        cell.weight_v.zero_()
    return cell


#: steps whose state norms :func:`max_growth` takes together
GROWTH_CHUNK = 100


def max_growth(cell: cells.ARNN, steps: int, batch: int, generator: torch.Generator) -> float:
    """max_l ||Y_l|| / ||Y_0|| along ``steps`` steps from random starts (inf if it overflows).

    The run stops once the growth passes 1e6. The norms are taken :data:`GROWTH_CHUNK` steps at a time (one stacked
    reduction instead of a norm and a host sync per step) and then scanned in step order, so the figure is
    the one a per-step loop gives.
    """
    n = cell.hidden_size
    state = (
        torch.randn(batch, n, generator=generator, dtype=torch.float64),
        torch.randn(batch, n, generator=generator, dtype=torch.float64),
    )
    norm0 = torch.cat(state, 1).norm(dim=1)
    x = torch.zeros(batch, 1, dtype=torch.float64)
    worst, done = 1.0, 0
    with torch.no_grad():
        while done < steps:
            states = []
            for _ in range(min(GROWTH_CHUNK, steps - done)):
                _, state = cell.forward_unchecked(x, state)
                states.append(torch.cat(state, 1))
            done += len(states)
            for growth in (torch.stack(states).norm(dim=2) / norm0).amax(dim=1).tolist():
                if not math.isfinite(growth):
                    return math.inf
                worst = max(worst, growth)
                if worst > 1e6:
                    return worst
    return worst
