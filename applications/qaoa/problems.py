r"""Combinatorial problems as diagonal cost Hamiltonians.

* MaxCut on a weighted graph: H_c = -1/2 sum_{(i,j) in E} w_ij (1 - Z_i Z_j) (Chandarana et al., Eq. 6).
  On a basis state it equals minus the cut weight, so minimising H_c maximises the cut and
  cut value = -H_c.
* Sherrington–Kirkpatrick: H_c = -sum_{i<j} J_ij Z_i Z_j.

Wire i is the i-th node of ``list(graph.nodes)``, and wire 0 is the most significant bit of
a basis index; bit z_i = 1 means spin s_i = 1 - 2 z_i = -1. Every problem holds
its 2^n cost diagonal (float64), its exact optimum and optimal bitstrings, found by a
vectorised brute force over all 2^n basis states (n <= 24: 128 MB for the diagonal).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Optional, Sequence, Union

import networkx as nx
import numpy as np
import torch

from ornn import _checks

__all__ = [
    "FAMILIES",
    "Problem",
    "MaxCut",
    "SK",
    "MAX_BRUTE_FORCE_QUBITS",
    "random_regular_maxcut",
    "complete_weighted_maxcut",
    "erdos_renyi_maxcut",
    "random_sk",
]

#: the largest n for which the 2^n cost diagonal and its brute-force optimum are built
MAX_BRUTE_FORCE_QUBITS = 24


#: the problem families a distribution can draw from (``ProblemDistribution(kind=...)``, ``ornn qaoa --kind``)
FAMILIES = ("erdos-renyi", "3-regular", "complete-weighted", "sk")


def _pair_disagreement(index: torch.Tensor, n: int, i: int, j: int) -> torch.Tensor:
    """[z_i != z_j] over all basis indices, as 0/1 (wire 0 = most significant bit)."""
    return ((index >> (n - 1 - i)) ^ (index >> (n - 1 - j))) & 1


class Problem:
    """A diagonal cost Hamiltonian on n qubits, with two-body ``terms`` (i, j, weight)."""

    def __init__(
        self,
        n: int,
        terms: Sequence[tuple[int, int, float]],
        constant_per_term: float,
        sign: float,
        *,
        argument: str = "terms",
    ) -> None:
        if n > MAX_BRUTE_FORCE_QUBITS:
            raise ValueError(
                f"n: expected at most {MAX_BRUTE_FORCE_QUBITS} qubits (the brute-force optimum enumerates 2**n states), got {n}"
            )
        self.n = n
        self.terms = tuple((int(i), int(j), float(w)) for i, j, w in terms)
        index = torch.arange(2**n, dtype=torch.int32)
        cost = torch.zeros(2**n, dtype=torch.float64)
        # each term contributes w * (constant + sign * s_i s_j) with s_i s_j = 1 - 2 [z_i != z_j]
        offset = 0.0
        for i, j, w in self.terms:
            offset += w * (constant_per_term + sign)
            cost -= (2.0 * sign * w) * _pair_disagreement(index, n, i, j).to(torch.float64)
        self.cost = cost + offset
        if not bool(torch.isfinite(self.cost).all()):  # finite weights whose sums overflow float64
            largest = max(abs(w) for _, _, w in self.terms)
            raise ValueError(
                f"{argument}: the cost overflows float64 (largest |weight| {largest:g}, {len(self.terms)} terms); "
                "rescale the weights, which leaves the optimal cuts unchanged"
            )
        self.optimum = float(self.cost.min())
        self._optimal_indices = torch.nonzero(self.cost <= self.optimum + 1e-9 * max(1.0, abs(self.optimum))).flatten()

    @property
    def optimal_bitstrings(self) -> torch.Tensor:
        """All minimisers of H_c as bits, (k, n) int64, wire 0 first."""
        return self.bits_of(self._optimal_indices)

    def bits_of(self, indices: torch.Tensor) -> torch.Tensor:
        """Basis-state indices (...,) as bits (..., n), wire 0 first (the most significant bit)."""
        shifts = torch.arange(self.n - 1, -1, -1, device=indices.device)
        return (indices[..., None] >> shifts) & 1

    @property
    def optimal_indices(self) -> torch.Tensor:
        return self._optimal_indices

    def energy_of(self, bits: Union[Sequence[int], torch.Tensor]) -> torch.Tensor:
        """H_c on bitstrings (..., n) of 0/1."""
        bits = torch.as_tensor(bits)
        if bits.shape[-1] != self.n:
            raise ValueError(f"bits: expected a last dimension of {self.n}, got shape {tuple(bits.shape)}")
        if not bool(((bits == 0) | (bits == 1)).all()):
            raise ValueError("bits: expected entries 0 or 1")
        weights = 2 ** torch.arange(self.n - 1, -1, -1)
        return self.cost[(bits.long() * weights).sum(-1)]


def _check_graph(graph: Any, allow_negative: bool) -> tuple[list, list[tuple[int, int, float]]]:
    if not isinstance(graph, nx.Graph) or graph.is_directed() or graph.is_multigraph():
        raise TypeError(f"graph: expected an undirected networkx.Graph, got {type(graph).__name__}")
    nodes = list(graph.nodes)
    if graph.number_of_edges() == 0:
        raise ValueError(f"graph: expected at least one edge, got {graph.number_of_nodes()} nodes and no edges")
    position = {node: k for k, node in enumerate(nodes)}
    terms = []
    for u, v, data in graph.edges(data=True):
        if u == v:
            raise ValueError(f"graph: self-loops have no cut; got an edge ({u!r}, {v!r})")
        w = data.get("weight", 1.0)
        if isinstance(w, bool) or not isinstance(w, Real) or not math.isfinite(float(w)):
            raise ValueError(f"graph: expected finite numeric edge weights, got {w!r} on edge ({u!r}, {v!r})")
        if float(w) < 0 and not allow_negative:
            raise ValueError(f"graph: expected non-negative MaxCut weights, got {w!r} on edge ({u!r}, {v!r})")
        terms.append((position[u], position[v], float(w)))
    return nodes, terms


class MaxCut(Problem):
    """MaxCut on an undirected networkx graph (edge attribute ``weight``, default 1).

    ``cost`` is H_c = -1/2 sum w_ij (1 - Z_i Z_j) on every basis state, ``optimum`` its minimum
    (minus the maximum cut), ``max_cut`` the maximum cut weight.
    """

    def __init__(self, graph: nx.Graph) -> None:
        nodes, terms = _check_graph(graph, allow_negative=False)
        self.graph = graph
        self.nodes = nodes
        # -1/2 w (1 - s_i s_j) = -1/2 w + 1/2 w s_i s_j: constant -1/2, sign +1/2
        super().__init__(len(nodes), terms, constant_per_term=-0.5, sign=0.5, argument="graph")

    @property
    def max_cut(self) -> float:
        return -self.optimum

    def cut_value(self, bits: Union[Sequence[int], torch.Tensor]) -> torch.Tensor:
        """The weight of the edges cut by the partition ``bits`` (..., n)."""
        return -self.energy_of(bits)

    def __repr__(self) -> str:
        return f"MaxCut(n={self.n}, edges={len(self.terms)}, max_cut={self.max_cut:g})"


class SK(Problem):
    """Sherrington–Kirkpatrick: H_c = -sum_{i<j} J_ij Z_i Z_j for a symmetric J with zero diagonal."""

    def __init__(self, couplings: Union[torch.Tensor, np.ndarray]) -> None:
        if not isinstance(couplings, (torch.Tensor, np.ndarray)):
            raise TypeError(f"couplings: expected a square tensor or array, got {_checks.describe(couplings)}")
        dtype = couplings.dtype
        if (
            (dtype.is_complex or dtype == torch.bool)
            if isinstance(couplings, torch.Tensor)
            else dtype.kind not in "iuf"
        ):
            raise TypeError(f"couplings: expected real couplings, got dtype {dtype}; SK couplings are real, not cast")
        j = torch.as_tensor(couplings, dtype=torch.float64)
        if j.dim() != 2 or j.shape[0] != j.shape[1] or j.shape[0] < 2:
            raise ValueError(f"couplings: expected a square n x n matrix with n >= 2, got shape {tuple(j.shape)}")
        if not torch.isfinite(j).all():
            raise ValueError("couplings: expected finite entries")
        if not torch.equal(j, j.T):
            raise ValueError("couplings: expected a symmetric matrix (J_ij = J_ji)")
        if bool((torch.diagonal(j) != 0).any()):
            raise ValueError("couplings: expected a zero diagonal (no self-couplings)")
        self.couplings = j
        n = j.shape[0]
        terms = [(a, b, float(j[a, b])) for a in range(n) for b in range(a + 1, n) if j[a, b] != 0]
        if not terms:
            raise ValueError("couplings: expected at least one non-zero coupling")
        # -J s_i s_j: constant 0, sign -1
        super().__init__(n, terms, constant_per_term=0.0, sign=-1.0, argument="couplings")

    def __repr__(self) -> str:
        return f"SK(n={self.n}, optimum={self.optimum:g})"


# ----------------------------------------------------------------------------- generators


def _rng(seed: Optional[int]) -> np.random.Generator:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed: expected a non-negative integer or None, got {seed!r}")
    return np.random.default_rng(seed)


def random_regular_maxcut(n: int, degree: int = 3, *, seed: Optional[int] = None) -> MaxCut:
    """Unweighted MaxCut on a random ``degree``-regular graph (Chandarana et al.'s 3-regular instances)."""
    _checks.positive_int("n", n)
    _checks.positive_int("degree", degree)
    if degree >= n or (n * degree) % 2:
        raise ValueError(f"degree: a {degree}-regular graph on {n} nodes needs degree < n and n * degree even")
    return MaxCut(nx.random_regular_graph(degree, n, seed=int(_rng(seed).integers(2**31))))


def complete_weighted_maxcut(n: int, *, seed: Optional[int] = None, low: float = 0.0, high: float = 1.0) -> MaxCut:
    """MaxCut on the complete graph K_n with weights uniform in [low, high) (Chandarana et al.'s weighted instances)."""
    _checks.positive_int("n", n)
    if n < 2 or not 0 <= low < high:
        raise ValueError(f"n, low, high: expected n >= 2 and 0 <= low < high, got {n}, {low}, {high}")
    rng = _rng(seed)
    graph = nx.complete_graph(n)
    for u, v in graph.edges:
        graph[u][v]["weight"] = float(rng.uniform(low, high))
    return MaxCut(graph)


def erdos_renyi_maxcut(n: int, p: float, *, seed: Optional[int] = None, max_tries: int = 100) -> MaxCut:
    """Unweighted MaxCut on G(n, p), redrawn (up to ``max_tries``) until it has an edge (the sequence-model paper uses p = j/n)."""
    _checks.positive_int("n", n)
    if not 0 < p <= 1:
        raise ValueError(f"p: expected an edge probability in (0, 1], got {p!r}")
    rng = _rng(seed)
    for _ in range(max_tries):
        graph = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
        if graph.number_of_edges():
            return MaxCut(graph)
    raise ValueError(f"p: G({n}, {p}) drew no edges in {max_tries} tries")


def random_sk(n: int, *, seed: Optional[int] = None) -> SK:
    """SK with J_ij = +-1 uniformly (Chandarana et al.)."""
    _checks.positive_int("n", n)
    if n < 2:
        raise ValueError(f"n: expected at least 2 spins, got {n}")
    upper = np.triu(_rng(seed).choice([-1.0, 1.0], size=(n, n)), k=1)
    return SK(torch.from_numpy(upper + upper.T))
