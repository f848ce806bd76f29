"""The classical optimisation loop (the seeds' Phase II), over a batch of problems at once.

Each row of the parameter matrix belongs to one instance (one ansatz, or one start of the
same ansatz). The loss is the sum of the instances' energies, so each row receives exactly
its own gradient and the per-coordinate optimisers (SGD, Adam, Adagrad, RMSprop) behave as
independent runs. An instance stops when its energy changes by less than ``tol`` between
steps; its row is then frozen (restored after every later step, so momentum cannot move it).
L-BFGS, whose line search couples the rows, runs one instance at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import torch

from ornn import _checks
from ornn.training import OPTIMIZERS, make_optimizer

from .ansatz import QAOA, stacked_energy

__all__ = ["OptimizationResult", "optimize", "batch_energy"]


@dataclass(frozen=True)
class OptimizationResult:
    """Trajectories of a batched optimisation.

    Attributes:
        params: (steps + 1, B, P) parameters after each step (row 0 is the start).
        energies: (steps + 1, B) energies of those parameters.
        converged_at: (B,) the step at which each instance met the stopping rule, -1 if never.
    """

    params: torch.Tensor
    energies: torch.Tensor
    converged_at: torch.Tensor

    @property
    def final_params(self) -> torch.Tensor:
        return self.params[-1]

    @property
    def final_energies(self) -> torch.Tensor:
        return self.energies[-1]

    @property
    def steps_taken(self) -> torch.Tensor:
        """(B,) steps each instance took before its stopping rule (all of them if it never stopped)."""
        done, total = self.converged_at, self.energies.shape[0] - 1
        return torch.where(done >= 0, done, torch.full_like(done, total))

    @property
    def best_params(self) -> torch.Tensor:
        """(B, P) the parameters of each instance's lowest energy along its trajectory (not always the last)."""
        best = torch.argmin(self.energies, dim=0)
        return self.params[best, torch.arange(self.params.shape[1], device=self.params.device)]

    @property
    def best_energies(self) -> torch.Tensor:
        """(B,) each instance's lowest energy along its trajectory."""
        return self.energies.min(dim=0).values


def batch_energy(ansatzes: Union[QAOA, Sequence[QAOA]], params: torch.Tensor) -> torch.Tensor:
    """Energies (B,) of row b of ``params`` under ansatz b (or under one shared ansatz)."""
    if isinstance(ansatzes, QAOA):
        return ansatzes.energy(params)
    if params.dim() != 2 or len(ansatzes) != params.shape[0]:
        raise ValueError(
            f"params: expected one row per ansatz, shape ({len(ansatzes)}, num_params), got {tuple(params.shape)}"
        )
    # ansatzes that stack (DC-QAOA) run one circuit per group of equal shape; the others one per problem
    groups: dict = {}
    for b, a in enumerate(ansatzes):
        key = a.stack_key()
        groups.setdefault(b if key is None else key, []).append(b)
    energies: list = [None] * len(ansatzes)
    for rows in groups.values():
        if len(rows) == 1:
            energies[rows[0]] = ansatzes[rows[0]].energy(params[rows[0]])
            continue
        for b, energy in zip(rows, stacked_energy([ansatzes[b] for b in rows], params[rows])):
            energies[b] = energy
    return torch.stack(energies)


def optimize(
    ansatzes: Union[QAOA, Sequence[QAOA]],
    init: torch.Tensor,
    *,
    optimizer: str = "adam",
    lr: float = 0.05,
    steps: int = 100,
    tol: float = 1e-6,
) -> OptimizationResult:
    """Minimise each instance's energy from its row of ``init`` (B, P); returns full trajectories."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    _checks.positive_float("lr", lr)
    steps = _checks.positive_int("steps", steps, minimum=0)
    _checks.positive_float("tol", tol)
    _checks.tensor("init", init)
    if init.dim() != 2:
        raise ValueError(f"init: expected a (batch, num_params) tensor, got shape {tuple(init.shape)}")
    first = ansatzes if isinstance(ansatzes, QAOA) else ansatzes[0]
    if init.shape[1] != first.num_params:
        raise ValueError(f"init: expected {first.num_params} parameters per row, got {init.shape[1]}")
    if optimizer == "lbfgs":
        return _lbfgs(ansatzes, init, lr, steps, tol)

    params = init.detach().clone().to(first.real_dtype).requires_grad_(True)
    opt = make_optimizer(optimizer, [params], lr)
    history_p, history_e = [params.detach().clone()], []
    converged_at = torch.full((init.shape[0],), -1, dtype=torch.long, device=params.device)
    frozen = torch.zeros(init.shape[0], dtype=torch.bool, device=params.device)
    for step in range(steps + 1):
        opt.zero_grad()
        energies = batch_energy(ansatzes, params)  # of history_p[-1]: one evaluation per step
        history_e.append(energies.detach().clone())
        if step > 0:
            newly = (~frozen) & ((history_e[-1] - history_e[-2]).abs() < tol)
            converged_at[newly] = step
            frozen |= newly
        if step == steps or bool(frozen.all()):
            break
        energies.sum().backward()
        kept = params.detach().clone()
        opt.step()
        with torch.no_grad():
            params[frozen] = kept[frozen]
        history_p.append(params.detach().clone())
    return OptimizationResult(torch.stack(history_p), torch.stack(history_e), converged_at)


def _lbfgs(ansatzes, init, lr, steps, tol) -> OptimizationResult:
    rows = []
    for b in range(init.shape[0]):
        ansatz = ansatzes if isinstance(ansatzes, QAOA) else ansatzes[b]
        params = init[b].detach().clone().to(ansatz.real_dtype).requires_grad_(True)
        opt = torch.optim.LBFGS(
            [params], lr=lr, max_iter=10, line_search_fn="strong_wolfe"
        )  # one step = up to 10 inner iterations

        def closure():
            opt.zero_grad()
            energy = ansatz.energy(params)
            energy.backward()
            return energy

        with torch.no_grad():
            trajectory_p, trajectory_e = [params.detach().clone()], [ansatz.energy(params).detach()]
        converged = -1
        for step in range(steps):
            opt.step(closure)
            with torch.no_grad():
                energy = ansatz.energy(params).detach()
            trajectory_p.append(params.detach().clone())
            trajectory_e.append(energy)
            if abs(float(energy - trajectory_e[-2])) < tol:
                converged = step + 1
                break
        rows.append((trajectory_p, trajectory_e, converged))
    length = max(len(p) for p, _, _ in rows)
    # pad finished instances with their last value so trajectories stack
    params = torch.stack([torch.stack(p + [p[-1]] * (length - len(p))) for p, _, _ in rows], 1)
    energies = torch.stack([torch.stack(e + [e[-1]] * (length - len(e))) for _, e, _ in rows], 1)
    return OptimizationResult(params, energies, torch.tensor([c for _, _, c in rows]))
