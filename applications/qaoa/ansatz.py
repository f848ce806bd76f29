r"""QAOA and DC-QAOA circuits on the statevector engine (Chandarana et al. §II).

    |psi(theta)> = prod_{k=1..p} U_m(beta_k) [U_D(alpha_k)] U_c(gamma_k) |+>^n

with U_c(gamma) = exp(-i gamma H_c) (one diagonal phase), U_m(beta) = exp(-i beta sum_i X_i)
(one rotation per wire), and the counterdiabatic layer

    U_D(alpha) = prod_t exp(-i (alpha / 2) c_t P_t)

applied term by term: for the two-body pool entries (``zy``, ``yz``, ``xy``, ``yx``) the
terms are the problem's edges (i, j) in ``problem.terms`` order with c_t = w_ij and
P_t = P_i Q_j (``zy``: Z_i Y_j, the default, Chandarana et al. Appendix A); for ``y`` the terms
are Y_i on every wire with c_t = 1. The two-body terms do not commute, so that order is
part of the ansatz.

Parameters are a flat layer-major vector: (gamma_1, beta_1, gamma_2, beta_2, ...) for QAOA
and (gamma_1, beta_1, alpha_1, gamma_2, ...) for DC-QAOA; ``energy`` and ``state`` take
one vector (num_params,) or a batch (B, num_params) and are differentiable.

Sign convention against PennyLane's ``qml.qaoa.maxcut``: its cost Hamiltonian is
H_P = sum_{(i,j)} (Z_i Z_j - 1) / 2 on *unweighted* edges, equal to our H_c for unit
weights, and its layers are exp(-i gamma H_P) then exp(-i alpha sum X), so the energies
agree with the same (gamma, beta). PennyLane ignores edge weights there; compare weighted
graphs against a dense reference instead.
"""

from __future__ import annotations

from typing import Optional, Union

import torch

from ornn import _checks, quantum

from .circuit import (
    Rotation,
    circuit_expectation,
    circuit_state,
    diagonal_rotation,
    pauli_rotation,
    stack_circuits,
)
from .problems import Problem

__all__ = ["QAOA", "DCQAOA", "BatchedQAOA", "CD_POOL", "make_ansatz", "parameter_count", "stacked_energy"]

#: counterdiabatic pool of Chandarana et al.: name -> Pauli letters on (i, j) (or on i alone for "y")
CD_POOL = {"y": "Y", "zy": "ZY", "yz": "YZ", "xy": "XY", "yx": "YX"}


class QAOA:
    """The p-layer QAOA ansatz for a :class:`Problem`; ``dtype`` is the state's complex dtype.

    ``device`` is where states are simulated (default CPU); parameters must live there too,
    and :meth:`to` moves the ansatz, as ``nn.Module.to`` does.
    """

    layer_size = 2

    def __init__(self, problem: Problem, p: int, *, dtype: torch.dtype = torch.complex128, device=None) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"problem: expected a MaxCut or SK problem, got {_checks.describe(problem)}")
        self.problem = problem
        self.p = _checks.positive_int("p", p)
        if dtype not in (torch.complex64, torch.complex128):
            raise TypeError(f"dtype: expected complex64 or complex128, got {dtype}")
        self.dtype = dtype
        self.real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
        self.device = torch.device("cpu") if device is None else _checks.device("device", device)
        self._cost = problem.cost.to(dtype=self.real_dtype, device=self.device)
        self._cost_rotation_cache: dict[int, Rotation] = {}
        self._extra_rotation_cache: dict[int, list[Rotation]] = {}

    def to(self, device) -> "QAOA":
        """Move the ansatz (its cost diagonal and cached rotations) to ``device``, in place; returns self."""
        self.device = _checks.device("device", device)
        self._cost = self._cost.to(self.device)
        self._cost_rotation_cache = {}
        self._extra_rotation_cache = {}
        return self

    @property
    def n(self) -> int:
        return self.problem.n

    @property
    def num_params(self) -> int:
        return self.layer_size * self.p

    def _batch(self, params: Union[torch.Tensor, list]) -> tuple[torch.Tensor, bool]:
        expected = f"shape ({self.num_params},) or (batch, {self.num_params})"
        if not isinstance(params, torch.Tensor):
            raise TypeError(f"params: expected a tensor of {expected}, got {_checks.describe(params)}")
        if params.dim() not in (1, 2) or params.shape[-1] != self.num_params:
            raise ValueError(f"params: expected {expected}, got {tuple(params.shape)}")
        if params.dim() == 2 and params.shape[0] == 0:
            raise ValueError(
                f"params: expected at least one row of {self.num_params} angles, got shape (0, {self.num_params})"
            )
        _checks.real_tensor("params", params)  # complex angles are refused, not cast to their real parts
        if params.device != self.device:
            raise ValueError(
                f"params: expected a tensor on the ansatz's device {self.device}, got one on {params.device}; "
                "move one of them with .to(device)"
            )
        _checks.finite("params", params)
        single = params.dim() == 1
        return (params[None] if single else params).to(self.real_dtype), single

    def state(self, params: torch.Tensor) -> torch.Tensor:
        """|psi(theta)>: (2^n,) for one parameter vector, (B, 2^n) for a batch (plain autograd path)."""
        batch, single = self._batch(params)
        initial = quantum.plus_state(self.n, batch=1, dtype=self.dtype, device=batch.device)
        state = circuit_state(initial, self.rotations(), batch)
        return state[0] if single else state

    def rotations(self) -> list[Rotation]:
        """The circuit as rotations exp(-i theta_p c G), in order: the one definition `state` and `energy` run."""
        out = []
        for k in range(self.p):
            base = self.layer_size * k
            out.append(self._cost_rotation(base))
            if base not in self._extra_rotation_cache:  # built once per ansatz (DC-QAOA's tables)
                self._extra_rotation_cache[base] = self._extra_rotations(base)
            out.extend(self._extra_rotation_cache[base])
            out.append(Rotation("x_all", base + 1))
        return out

    def _extra_rotations(self, base: int) -> list[Rotation]:
        return []

    def stack_key(self) -> Optional[tuple]:
        """What ansatzes must share to run as one stacked circuit in
        :func:`~applications.qaoa.optimize.batch_energy` (:func:`stacked_energy`); None: this one runs alone.

        Plain QAOA always runs alone: its circuit costs a tenth of DC-QAOA's, and the stacked mixer rounds
        differently, which would move the shipped initialisers' bits.
        """
        return None

    def _cost_rotation(self, param: int) -> Rotation:
        if param not in self._cost_rotation_cache:  # the level compression is computed once per ansatz
            self._cost_rotation_cache[param] = diagonal_rotation(param, self._cost)
        return self._cost_rotation_cache[param]

    def energy(self, params: torch.Tensor) -> torch.Tensor:
        """<psi(theta)| H_c |psi(theta)>: a scalar, or (B,) for a batch; gradients by the adjoint method."""
        batch, single = self._batch(params)
        initial = quantum.plus_state(self.n, batch=1, dtype=self.dtype, device=batch.device)
        energy = circuit_expectation(initial, self.rotations(), batch, self._cost)
        return energy[0] if single else energy

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.problem!r}, p={self.p})"


class DCQAOA(QAOA):
    """QAOA with a counterdiabatic layer U_D(alpha_k) after each cost layer; ``cd`` picks the pool term."""

    layer_size = 3

    def __init__(
        self, problem: Problem, p: int, cd: str = "zy", *, dtype: torch.dtype = torch.complex128, device=None
    ) -> None:
        super().__init__(problem, p, dtype=dtype, device=device)
        if cd not in CD_POOL:
            raise ValueError(f"cd: expected one of {', '.join(CD_POOL)}, got {cd!r}")
        self.cd = cd

    def _extra_rotations(self, base: int) -> list[Rotation]:
        letters, n = CD_POOL[self.cd], self.n
        terms = (
            [((w,), 1.0) for w in range(n)] if len(letters) == 1 else [((i, j), w) for i, j, w in self.problem.terms]
        )
        return [
            pauli_rotation(base + 2, letters, wires, n, c / 2, dtype=self.dtype, device=self.device)
            for wires, c in terms
        ]

    def stack_key(self) -> Optional[tuple]:
        """2 p |E| Pauli rotations per problem: problems of one size, depth, dtype, device and term coefficients
        stack, B of them costing one pass instead of B. None where the register is too large for the Pauli
        tables that stacking goes through."""
        rotations = self.rotations()
        if any(rot.kind == "pauli" and rot.pauli_index is None for rot in rotations):
            return None
        coefficients = tuple(rot.coefficient for rot in rotations)
        return (type(self), self.n, self.p, self.dtype, self.device, coefficients)

    def __repr__(self) -> str:
        return f"DCQAOA({self.problem!r}, p={self.p}, cd={self.cd!r})"


def stacked_energy(ansatzes: "list[QAOA]", params: torch.Tensor) -> torch.Tensor:
    """Energies (B,) of row b of ``params`` under ``ansatzes[b]``, as one circuit over a (B, 2^n) state.

    The ansatzes must share class, size, depth, dtype and device, and their circuits must stack
    (:func:`~applications.qaoa.circuit.stack_circuits`: the same rotations up to the problem's data);
    equal to the per-problem energies to round-off (the stacked mixer runs row-wise kernels).
    """
    ansatzes = list(ansatzes)
    if not ansatzes or not all(isinstance(a, QAOA) for a in ansatzes):
        raise TypeError(f"ansatzes: expected a non-empty list of QAOA ansatzes, got {_checks.describe(ansatzes)}")
    _checks.tensor("params", params)
    first = ansatzes[0]
    key = (type(first), first.n, first.p, first.dtype, first.device)
    if any((type(a), a.n, a.p, a.dtype, a.device) != key for a in ansatzes):
        raise ValueError("ansatzes: expected one class, size, depth, dtype and device to stack, got a mix")
    if params.dim() != 2 or params.shape[0] != len(ansatzes):
        raise ValueError(
            f"params: expected one row per ansatz, ({len(ansatzes)}, num_params), got {tuple(params.shape)}"
        )
    rows = torch.cat([a._batch(row)[0] for a, row in zip(ansatzes, params)])
    rotations = stack_circuits([a.rotations() for a in ansatzes])
    if rotations is None:
        raise ValueError("ansatzes: expected circuits that stack (the same rotations up to the problems' data)")
    initial = quantum.plus_state(first.n, batch=1, dtype=first.dtype, device=rows.device)
    return circuit_expectation(initial, rotations, rows, torch.stack([a._cost for a in ansatzes]))


def make_ansatz(problem: Problem, p: int, *, dc: bool = False, cd: str = "zy", device=None) -> QAOA:
    """The one place that picks the ansatz: :class:`DCQAOA` (pool term ``cd``) when ``dc``, else :class:`QAOA`."""
    if not isinstance(dc, bool):
        raise TypeError(f"dc: expected a bool, got {_checks.describe(dc)}")
    return DCQAOA(problem, p, cd, device=device) if dc else QAOA(problem, p, device=device)


def parameter_count(p: int, *, dc: bool = False) -> int:
    """Parameters of a depth-``p`` ansatz: (gamma, beta) per layer, plus alpha for DC-QAOA."""
    return (DCQAOA if dc else QAOA).layer_size * _checks.positive_int("p", p)


class BatchedQAOA(QAOA):
    """QAOA on several problems of the same size at once: row b of the parameters runs problem b.

    The mixer does not depend on the problem and the cost layer is a diagonal, so B problems
    cost one pass over a (B, 2^n) state instead of B passes. A single parameter vector
    (num_params,) is shared by every problem.
    """

    def __init__(
        self, problems: "list[Problem]", p: int, *, dtype: torch.dtype = torch.complex128, device=None
    ) -> None:
        problems = list(problems)
        if not problems:
            raise ValueError("problems: expected at least one problem, got none")
        super().__init__(problems[0], p, dtype=dtype, device=device)
        sizes = {problem.n for problem in problems}
        if len(sizes) != 1:
            raise ValueError(f"problems: expected problems of one size, got sizes {sorted(sizes)}")
        self.problems = problems
        self._cost = torch.stack([problem.cost for problem in problems]).to(dtype=self.real_dtype, device=self.device)

    def _batch(self, params: torch.Tensor) -> tuple[torch.Tensor, bool]:
        batch, _ = super()._batch(params)
        if batch.shape[0] == 1:
            batch = batch.expand(len(self.problems), -1)
        if batch.shape[0] != len(self.problems):
            raise ValueError(f"params: expected one row per problem ({len(self.problems)}), got {batch.shape[0]}")
        return batch, False

    def __repr__(self) -> str:
        return f"BatchedQAOA({len(self.problems)} problems, n={self.n}, p={self.p})"
