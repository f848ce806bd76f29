r"""A physics-informed predictor: the wavefunction itself is the state of a norm-preserving n-ARNN.

Zhang et al.'s predictor passes psi through learned, non-unitary encoders and decoders, so
nothing bounds the norm of its rollouts and their error grows linearly (its Figs. 5, A3).
Here the recurrent state *is* psi = P + iC, one 1-ARNN per chain length N with
2^N hidden units, identity activation and no input: each step is the unification paper Eq. (14),

    P' = P + dt A C,      C' = C - dt A^T P',

symplectic Euler for i d(psi)/dt = A psi with a learned real A (the Ising H of Zhang et al.
Eq. 1 is real and symmetric, so A = H is representable). The generator
[[0, A], [-A^T, 0]] is antisymmetric by construction: the step is symplectic and
conserves the modified norm ||P||^2 + ||C||^2 - dt <P, A C>, so the norm stays within
O(dt ||A||) of 1 for all time instead of drifting (the unification paper Theorem 1 for dt ||A|| < 2).

It trains with the same teacher-forced MSE and Adam as :class:`DynamicsPredictor` and
exposes the same ``forward`` / ``rollout`` interface, so ``train_predictor`` and
``evaluate_predictor`` take either.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

import cells
from ornn import _checks, identity

from .model import StatePredictor

__all__ = ["NormPreservingPredictor"]


class NormPreservingPredictor(StatePredictor):
    """One linear 1-ARNN per chain length in ``spins``, stepping psi itself with step size ``dt``."""

    #: a step runs the core of one chain length only (ornn.distributed.wrap reads this)
    uses_all_parameters = False

    def __init__(self, spins: Sequence[int] = (2, 3, 4), dt: float = 0.002) -> None:
        super().__init__()
        spins = tuple(spins)
        if not spins or any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 12 for n in spins):
            raise ValueError(f"spins: expected integers in [1, 12], got {spins!r}")
        self.spins = spins
        self.max_spins = max(spins)
        self.dt = _checks.positive_float("dt", dt)
        self.cores = nn.ModuleDict(
            {
                str(n): cells.ARNN(1, 2**n, scheme="symplectic_euler", step_size=dt, activation=identity, bias=False)
                for n in spins
            }
        )
        self.cell_name = "arnn (norm-preserving)"
        self.config = {"spins": list(spins), "dt": dt}

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def _core(self, states: torch.Tensor) -> Any:
        n = states.shape[-1].bit_length() - 1
        if not states.is_complex() or 1 << n != states.shape[-1] or str(n) not in self.cores:
            raise ValueError(
                f"states: expected complex amplitudes of one of the trained chain lengths {self.spins} "
                f"(2^N entries), got last dimension {states.shape[-1]} ({states.dtype})"
            )
        return self.cores[str(n)]

    def step(self, psi: torch.Tensor) -> torch.Tensor:
        """One Eq. (14) step of (B, 2^N) states."""
        _checks.tensor("psi", psi)
        if psi.dim() != 2:
            raise ValueError(f"psi: expected shape (batch, 2**N), got {tuple(psi.shape)}")
        core = self._core(psi)
        real = self.dtype
        zero = torch.zeros(psi.shape[0], 1, dtype=real, device=psi.device)
        _, (p, c) = core(zero, (psi.real.to(real), psi.imag.to(real)))
        return torch.complex(p, c).to(psi.dtype)

    def forward(self, states: torch.Tensor, memory: Any = None) -> tuple[torch.Tensor, None]:
        """(B, T, 2^N) -> next states, every step from the given one (teacher forcing); no hidden memory."""
        _checks.tensor("states", states)
        if states.dim() != 3:
            raise ValueError(f"states: expected shape (batch, steps, 2**N), got {tuple(states.shape)}")
        batch, steps, dim = states.shape
        return self.step(states.reshape(batch * steps, dim)).reshape(batch, steps, dim), None
