r"""Learned QAOA initialisation: any registered cell as a meta-optimiser (seeds 000 and 001).

At step t the cell reads u_t = [theta_t, F~(theta_t), F~(theta_t) - F~(theta_{t-1})] and proposes

    theta_{t+1} = pi * tanh(head(output_t))

(Chandarana et al.: "g(h_t) = pi h_t = theta_{t+1}", with a linear head so any cell size works).
F~ is the energy divided by the problem's total coupling weight sum |w_ij| (the number of
edges for unweighted MaxCut), so a cut fraction in [-1, 0] is what the cell sees whatever
the graph's size: one trained optimiser transfers across sizes.

Losses over an unrolled horizon T (trajectory energies F~_1..F~_T after the start F~_0):

* ``"weighted"`` (Chandarana et al., Eq. 5): L = sum_t w_t F~(theta_t), weights default 1;
* ``"improvement"`` (Verdon et al. 2019): L = sum_t min(F~_t - min_{j<t} F~_j, 0).

:func:`meta_train` trains over a seeded problem distribution with checkpoints written
atomically after every epoch; ``resume=True`` continues from the last one and, because
each epoch's problems are drawn from (seed, epoch), reproduces an uninterrupted run.
:func:`two_phase` is the sequence-model paper's protocol: Phase I runs the trained cell T steps from a
fixed start, Phase II fine-tunes with a classical optimiser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import nn

import cells  # noqa: F401  (registers the cell zoo, so cells can be named)
import ornn
from ornn import _checks, distributed
from ornn.training import History, NonFiniteLossError, check_step, fit, make_optimizer

from .ansatz import QAOA, make_ansatz
from .optimize import OptimizationResult, batch_energy, optimize
from .problems import FAMILIES, Problem, complete_weighted_maxcut, erdos_renyi_maxcut, random_regular_maxcut, random_sk

__all__ = [
    "MetaOptimizer",
    "MetaTrajectory",
    "weighted_cost_loss",
    "observed_improvement_loss",
    "ProblemDistribution",
    "meta_train",
    "two_phase",
]


def coupling_scale(problem: Problem) -> float:
    """sum |w_ij| over the problem's terms: the energy unit the meta-optimiser sees."""
    return sum(abs(w) for _, _, w in problem.terms)


@dataclass(frozen=True)
class MetaTrajectory:
    """params: (T + 1, B, P) from the start; energies: (T + 1, B) raw; scaled: energies / coupling scale."""

    params: torch.Tensor
    energies: torch.Tensor
    scaled: torch.Tensor


class MetaOptimizer(nn.Module):
    """A registered cell (by name or instance) plus a linear head, proposing QAOA parameters.

    Args:
        cell: a registry name (``"lstm"``, ``"gru"``, ...) or a cell whose input size is
            num_params + 2 (+ 2 with ``problem_features``, - 1 without ``use_delta``).
        num_params: P, the ansatz's parameter count.
        hidden_size: the cell's hidden size when built by name.
        problem_features: also feed (n / 20, mean degree / 10), cheap graph features.
        use_delta: also feed the change of the scaled cost since the previous step.
        cell_kwargs: extra arguments for the registry factory.
    """

    def __init__(
        self,
        cell: Union[str, nn.Module] = "lstm",
        num_params: int = 2,
        *,
        hidden_size: int = 20,
        problem_features: bool = False,
        use_delta: bool = True,
        cell_kwargs: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        self.num_params = _checks.positive_int("num_params", num_params)
        self.problem_features = bool(problem_features)
        self.use_delta = bool(use_delta)
        self.input_size = num_params + 1 + (1 if use_delta else 0) + (2 if problem_features else 0)
        if isinstance(cell, str):
            self.cell = ornn.create_cell(
                cell, self.input_size, _checks.positive_int("hidden_size", hidden_size), **(cell_kwargs or {})
            )
            self.cell_name = cell
        elif isinstance(cell, nn.Module) and hasattr(cell, "initial_state"):
            if getattr(cell, "input_size", self.input_size) != self.input_size:
                raise ValueError(
                    f"cell: expected input_size {self.input_size} (parameters, cost{', change' if use_delta else ''}{', 2 features' if problem_features else ''}), got {cell.input_size}"
                )
            self.cell = cell
            self.cell_name = type(cell).__name__
        else:
            raise TypeError(f"cell: expected a registered cell name or a cell module, got {_checks.describe(cell)}")
        output_size = getattr(self.cell, "hidden_size", hidden_size)
        self.head = nn.Linear(output_size, num_params)

    def _features(self, ansatzes: Sequence[QAOA], dtype: torch.dtype) -> torch.Tensor:
        rows = [[a.n / 20.0, 2.0 * len(a.problem.terms) / a.n / 10.0] for a in ansatzes]
        return torch.tensor(rows, dtype=dtype, device=self.head.weight.device)

    def forward(self, ansatzes: Union[QAOA, Sequence[QAOA]], steps: int, start: torch.Tensor) -> MetaTrajectory:
        """Unroll ``steps`` proposals from ``start`` ((P,) shared or (B, P)) on a batch of ansatzes."""
        ansatzes = [ansatzes] if isinstance(ansatzes, QAOA) else list(ansatzes)
        steps = _checks.positive_int("steps", steps)
        for a in ansatzes:
            if a.num_params != self.num_params:
                raise ValueError(
                    f"ansatzes: expected {self.num_params} parameters per ansatz, got {a.num_params} ({a!r})"
                )
        dtype = self.head.weight.dtype
        batch = len(ansatzes)
        theta = start.to(dtype).expand(batch, self.num_params) if start.dim() == 1 else start.to(dtype)
        if theta.shape != (batch, self.num_params):
            raise ValueError(
                f"start: expected shape ({self.num_params},) or ({batch}, {self.num_params}), got {tuple(start.shape)}"
            )
        scales = torch.tensor(
            [coupling_scale(a.problem) for a in ansatzes], dtype=dtype, device=self.head.weight.device
        )
        features = self._features(ansatzes, dtype) if self.problem_features else None
        energy = batch_energy(ansatzes, theta).to(dtype)
        previous = energy / scales
        params, energies = [theta], [energy]
        state = self.cell.initial_state(batch, dtype=dtype)
        for step in range(steps):
            scaled = energy / scales
            parts = [theta, scaled[:, None]] + ([(scaled - previous)[:, None]] if self.use_delta else [])
            if features is not None:
                parts.append(features)
            output, state = self.cell(torch.cat(parts, dim=1), state)
            theta = math.pi * torch.tanh(self.head(output))
            if not bool(torch.isfinite(theta).all()):
                raise NonFiniteLossError(
                    f"meta: the cell proposed non-finite parameters at Phase I step {step + 1} of {steps} "
                    "(its weights or state are no longer finite)"
                )
            previous = scaled
            energy = batch_energy(ansatzes, theta).to(dtype)
            params.append(theta)
            energies.append(energy)
        energies_t = torch.stack(energies)
        return MetaTrajectory(torch.stack(params), energies_t, energies_t / scales)


def weighted_cost_loss(scaled: torch.Tensor, weights: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Chandarana et al. Eq. (5): sum_{t >= 1} w_t F~(theta_t), averaged over the batch; ``scaled`` is (T + 1, B)."""
    steps = scaled.shape[0] - 1
    w = torch.ones(steps, dtype=scaled.dtype) if weights is None else torch.as_tensor(weights, dtype=scaled.dtype)
    if w.shape != (steps,):
        raise ValueError(f"weights: expected {steps} weights (one per step), got shape {tuple(w.shape)}")
    return (w[:, None] * scaled[1:]).sum(0).mean()


def observed_improvement_loss(scaled: torch.Tensor) -> torch.Tensor:
    """Verdon et al.: sum_{t >= 1} min(F~_t - min_{j<t} F~_j, 0), averaged over the batch."""
    best = torch.cummin(scaled, dim=0).values
    return torch.clamp(scaled[1:] - best[:-1], max=0.0).sum(0).mean()


@dataclass(frozen=True)
class ProblemDistribution:
    """A seeded family of problems: ``kind`` one of :data:`~applications.qaoa.problems.FAMILIES`; sizes to draw n from."""

    kind: str
    sizes: tuple[int, ...]
    edge_factor: tuple[float, ...] = (2.0, 3.0, 4.0)  # erdos-renyi: p = j / n with j drawn from these

    def __post_init__(self) -> None:
        if self.kind not in FAMILIES:
            raise ValueError(f"kind: expected one of {', '.join(FAMILIES)}, got {self.kind!r}")
        if not self.sizes or any(isinstance(n, bool) or not isinstance(n, int) or n < 2 for n in self.sizes):
            raise ValueError(f"sizes: expected integers >= 2, got {self.sizes!r}")
        if self.kind == "3-regular" and any(n % 2 or n < 4 for n in self.sizes):
            raise ValueError(f"sizes: 3-regular graphs need even n >= 4, got {self.sizes}")

    def sample(self, count: int, seed: int) -> list[Problem]:
        generator = torch.Generator().manual_seed(seed)
        problems = []
        for _ in range(count):
            n = self.sizes[int(torch.randint(len(self.sizes), (1,), generator=generator))]
            s = int(torch.randint(2**31 - 1, (1,), generator=generator))
            if self.kind == "3-regular":
                problems.append(random_regular_maxcut(n, seed=s))
            elif self.kind == "complete-weighted":
                problems.append(complete_weighted_maxcut(n, seed=s))
            elif self.kind == "sk":
                problems.append(random_sk(n, seed=s))
            else:
                j = self.edge_factor[int(torch.randint(len(self.edge_factor), (1,), generator=generator))]
                problems.append(erdos_renyi_maxcut(n, min(1.0, j / n), seed=s))
        return problems


LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "weighted": weighted_cost_loss,
    "improvement": observed_improvement_loss,
}


def _ansatzes(problems: Sequence[Problem], p: int, dc: bool, device=None) -> list[QAOA]:
    return [make_ansatz(problem, p, dc=dc, device=device) for problem in problems]


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def meta_train(
    meta: MetaOptimizer,
    distribution: ProblemDistribution,
    *,
    p: int = 1,
    dc: bool = False,
    steps: int = 6,
    epochs: int = 20,
    batches_per_epoch: int = 4,
    batch_size: int = 8,
    validation_size: int = 8,
    loss: str = "weighted",
    optimizer: str = "adam",
    lr: float = 0.01,
    patience: int = 5,
    start: Optional[torch.Tensor] = None,
    seed: int = 0,
    checkpoint: Optional[Union[str, Path]] = None,
    resume: bool = False,
    progress: bool = False,
) -> History:
    """Meta-train ``meta`` on problems drawn from ``distribution`` through :func:`ornn.training.fit`; returns the history.

    Every epoch draws its batches from (seed, epoch) and a fixed validation set from
    (seed, -1); the best validation state is kept and loaded into ``meta`` at the end.
    Training stops after ``patience`` epochs without a better validation loss.

    Under ``torchrun`` (see :mod:`ornn.distributed`) every rank draws the same batch of
    ``batch_size`` problems and trains on its shard, ``DistributedDataParallel`` all-reduces
    the gradients, and rank 0 alone writes the checkpoint; the result equals the one-process
    run to round-off, and a checkpoint resumes under any number of processes.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    if optimizer == "lbfgs":
        raise ValueError(
            "optimizer: meta_train steps once per batch; expected one of sgd, adam, adagrad, rmsprop, got 'lbfgs'"
        )
    _checks.positive_int("batch_size", batch_size)
    _checks.positive_int("batches_per_epoch", batches_per_epoch)
    _checks.positive_int("validation_size", validation_size)
    device = _device(meta)
    start = torch.full((meta.num_params,), 0.1, dtype=torch.float64, device=device) if start is None else start
    opt = make_optimizer(optimizer, meta.parameters(), lr)
    validation, validation_factor = distributed.local_items(
        distribution.sample(validation_size, seed=seed * 1_000_003 + 999_983)
    )
    validation = _ansatzes(validation, p, dc, device)
    validation_weight = len(validation) if validation_factor else 0
    loss_fn = LOSSES[loss]

    def train_epoch(net: nn.Module, epoch: int) -> float:
        local_sum = 0.0  # this rank's factor-weighted batch losses; summed over the ranks once per epoch
        for b in range(batches_per_epoch):
            problems = distribution.sample(batch_size, seed=seed * 1_000_003 + epoch * batches_per_epoch + b)
            local, factor = distributed.local_items(problems)  # the same global batch on every rank, sharded
            opt.zero_grad()
            try:
                value = loss_fn(net(_ansatzes(local, p, dc, device), steps, start).scaled)
            except NonFiniteLossError as err:
                raise NonFiniteLossError(f"training: at epoch {epoch}, batch {b}: {err}") from None
            (value * factor).backward()
            check_step(value, meta.parameters(), epoch=epoch, batch=b)
            opt.step()
            local_sum += float(value.detach()) * factor
        return distributed.all_sum(local_sum) / (distributed.world_size() * batches_per_epoch)

    def validate() -> float:
        return (
            distributed.all_sum(float(loss_fn(meta(validation, steps, start).scaled)) * validation_weight)
            / validation_size
        )

    return fit(
        meta,
        train_epoch,
        validate,
        optimizer=opt,
        epochs=epochs,
        patience=patience,
        checkpoint=checkpoint,
        resume=resume,
        progress=f"meta-training {meta.cell_name}" if progress else None,
    )


def two_phase(
    ansatzes: Union[QAOA, Sequence[QAOA]],
    phase_one: Union[MetaOptimizer, torch.Tensor],
    *,
    steps: int = 10,
    start: Optional[torch.Tensor] = None,
    optimizer: str = "sgd",
    lr: float = 0.01,
    phase_two_steps: int = 100,
    tol: float = 1e-6,
) -> tuple[torch.Tensor, OptimizationResult]:
    """The sequence-model paper's protocol. Phase I: the trained cell runs ``steps`` proposals from ``start`` (or, for a
    baseline, ``phase_one`` is the (B, P) start itself and Phase I is empty). Phase II: ``optimize``.

    Returns (Phase I energies (T + 1, B), Phase II result); the Phase II start is the last Phase I proposal.
    """
    ansatz_list = [ansatzes] if isinstance(ansatzes, QAOA) else list(ansatzes)
    if isinstance(phase_one, MetaOptimizer):
        start = (
            torch.full((phase_one.num_params,), 0.1, dtype=torch.float64, device=_device(phase_one))
            if start is None
            else start
        )
        with torch.no_grad():
            trajectory = phase_one(ansatz_list, steps, start)
        init, phase_one_energies = trajectory.params[-1], trajectory.energies
    elif isinstance(phase_one, torch.Tensor):  # a baseline start: Phase I is empty
        init = phase_one if phase_one.dim() == 2 else phase_one.expand(len(ansatz_list), -1)
        if init.shape != (len(ansatz_list), ansatz_list[0].num_params):
            raise ValueError(
                f"phase_one: expected shape ({len(ansatz_list)}, {ansatz_list[0].num_params}), got {tuple(phase_one.shape)}"
            )
        with torch.no_grad():
            phase_one_energies = batch_energy(ansatz_list, init)[None]
    else:
        raise TypeError(
            f"phase_one: expected a MetaOptimizer or a (batch, num_params) start tensor, got {_checks.describe(phase_one)}"
        )
    result = optimize(ansatz_list, init.detach().double(), optimizer=optimizer, lr=lr, steps=phase_two_steps, tol=tol)
    return phase_one_energies, result
