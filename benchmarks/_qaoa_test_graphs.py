"""The 3-regular n = 10 test graphs of the QAOA benchmarks, and the reference optimum every gap is read against.

``graph_sets`` draws the two test sets (disjoint from every training draw). ``reference_errors`` is the
ansatz optimum of each graph, in relative error: the best known optimum stored in ``best_known_optima.json``
(made by ``best_known_optima.py``, a much longer search that includes ``ansatz_optimum``'s own, so a stored
value is never above it), and ``ansatz_optimum``'s search only for a graph the file lacks. Each stored entry
carries a hash of its graph's edge list and is used only for that graph.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from applications.qaoa import ProblemDistribution, ansatz_optimum, random_regular_maxcut, relative_error
from ornn import _io

OPTIMA_FILE = Path(__file__).with_name("best_known_optima.json")


def graph_sets(graphs: int) -> dict[str, list]:
    """The two n = 10 test sets: ``graphs`` unseen graphs (seeds from 10,000) and compare's 8 (seed 0)."""
    return {
        "unseen": [random_regular_maxcut(10, seed=10_000 + i) for i in range(graphs)],
        "compare": ProblemDistribution("3-regular", (10,)).sample(8, seed=10),  # run_compare's draw at seed 0
    }


def ansatz_key(p: int, dc: bool) -> str:
    return f"{'DC-QAOA' if dc else 'QAOA'} p={p}"


def fingerprint(problem) -> str:
    """A hash of the graph's weighted edge list: a stored optimum is used only for the graph it was found on."""
    edges = sorted((min(u, v), max(u, v), float(w)) for u, v, w in problem.graph.edges(data="weight", default=1.0))
    return hashlib.sha256(repr(edges).encode()).hexdigest()[:16]


def load_optima(path: Path = OPTIMA_FILE) -> dict:
    """The stored entries, ``{ansatz key: {"set/index": entry}}``; an absent file is an empty dict."""
    return _io.read_json(path, "best known optima") if Path(path).is_file() else {}


def stored_entry(optima: dict, p: int, dc: bool, label: str, index: int, problem) -> dict | None:
    """The stored entry for graph ``index`` of set ``label``, or None when none is stored for this very graph."""
    entry = optima.get(ansatz_key(p, dc), {}).get(f"{label}/{index}")
    return entry if entry is not None and entry["fingerprint"] == fingerprint(problem) else None


def reference_errors(
    label: str, problems: list, ansatzes: list, p: int, dc: bool, optima: dict
) -> tuple[torch.Tensor, int]:
    """(relative errors (G,), number of graphs whose reference was read from ``optima``; the rest are searched)."""
    energies, from_file = [], 0
    for index, (problem, ansatz) in enumerate(zip(problems, ansatzes)):
        entry = stored_entry(optima, p, dc, label, index, problem)
        if entry is None:
            energy = ansatz_optimum(ansatz)[0]
        else:
            energy, from_file = entry["energy"], from_file + 1
        energies.append(relative_error(problem, energy))
    return torch.stack(energies), from_file
