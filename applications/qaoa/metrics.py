r"""Quality figures of QAOA energies and states.

* relative error E = (F - E_0) / |E_0| (Chandarana et al., Eq. 7), F the energy, E_0 the optimum;
* approximation ratio r = F / E_0 (the sequence-model paper, Eq. 12): for MaxCut, F = -(expected cut) and
  E_0 = -(maximum cut), so r = expected cut / maximum cut;
* the probability of sampling an optimal bitstring;
* iterations to convergence: the first step at which the step-to-step change of the
  (average) relative error falls below a tolerance (the sequence-model paper §IV; the extracted text lost
  the tolerance's value, so it is an argument, 1e-4 by default).
"""

from __future__ import annotations

from typing import Union

import torch

from ornn import _checks, quantum

from .problems import Problem

__all__ = ["relative_error", "approximation_ratio", "optimal_probability", "iterations_to_convergence"]


def _energy(energy: Union[float, torch.Tensor]) -> torch.Tensor:
    return torch.as_tensor(energy, dtype=torch.float64) if not isinstance(energy, torch.Tensor) else energy


def _check_problem(problem: object) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a MaxCut or SK problem, got {_checks.describe(problem)}")
    if problem.optimum == 0:
        raise ValueError("problem: the optimum is 0, so relative figures are undefined")


def relative_error(problem: Problem, energy: Union[float, torch.Tensor]) -> torch.Tensor:
    """(F - E_0) / |E_0|, elementwise over a tensor of energies (0 at the optimum)."""
    _check_problem(problem)
    return (_energy(energy) - problem.optimum) / abs(problem.optimum)


def approximation_ratio(problem: Problem, energy: Union[float, torch.Tensor]) -> torch.Tensor:
    """F / E_0, elementwise (1 at the optimum; expected cut / max cut for MaxCut)."""
    _check_problem(problem)
    return _energy(energy) / problem.optimum


def optimal_probability(problem: Problem, state: torch.Tensor) -> torch.Tensor:
    """Probability of measuring an optimal bitstring in ``state`` ((2^n,) or (B, 2^n))."""
    single = state.dim() == 1
    probs = quantum.probabilities(state[None] if single else state)
    if probs.shape[1] != 2**problem.n:
        raise ValueError(f"state: expected {2**problem.n} amplitudes for n = {problem.n}, got {probs.shape[1]}")
    total = probs[:, problem.optimal_indices].sum(1)
    return total[0] if single else total


def iterations_to_convergence(errors: Union[torch.Tensor, list], tol: float = 1e-4) -> int:
    """First t >= 1 with |e_t - e_{t-1}| < tol in a trajectory of (average) relative errors; its length if none."""
    _checks.positive_float("tol", tol)
    errors = torch.as_tensor(errors, dtype=torch.float64)
    if errors.dim() != 1 or errors.numel() < 1:
        raise ValueError(f"errors: expected a non-empty 1-d trajectory, got shape {tuple(errors.shape)}")
    changes = (errors[1:] - errors[:-1]).abs()
    hits = torch.nonzero(changes < tol).flatten()
    return int(hits[0]) + 1 if hits.numel() else int(errors.numel())
