r"""QAOA on a user's own graph, start to bitstrings: :func:`solve` and what it returns, :class:`SolveResult`.

    >>> import networkx as nx
    >>> from applications.qaoa import solve
    >>> result = solve(nx.petersen_graph(), p=2)         # the shipped 3-regular p = 2 initialiser, then Adam
    >>> result.approximation_ratio, result.top[0]       # expected cut / max cut; the likeliest bitstring

The protocol is the sequence-model paper's two phases. Phase I picks a start: a learned initialiser
(``"pretrained"``, a :class:`~applications.qaoa.meta.MetaOptimizer`, or a run folder of ``ornn qaoa train``)
runs its T proposals and keeps the best of its T + 1 energy evaluations; a zero-query rule
(``"fixed-angles"``, ``"degree-rule"``, ``"ramp"``, ``"random"``) or a tensor costs one evaluation.
Phase II runs a classical optimiser (:func:`~applications.qaoa.optimize.optimize`) from there.

Weights. Every learned and zero-query start was made for unit weights: scaling every weight by c is the
same circuit with every gamma divided by c. So starts are computed on the graph with its weights divided
by their mean magnitude w and then mapped back (gamma / w); a tensor start is taken as it is, in the
graph's own units, and so are all returned parameters.

``"pretrained"`` takes the shipped initialiser of the graph's family: 3-regular (every degree 3, equal
weights) for p = 1..5 and DC-QAOA p = 2; Erdős–Rényi p = 1 for any other graph at p = 1. Any other graph at
p > 1 has no initialiser of its own: the 3-regular one of that depth proposes from the energies it measures
on the user's graph, and the linear ramp's one evaluation competes with its points (on dense Erdős–Rényi
graphs at p = 2 the ramp is the better start; ``benchmarks/qaoa_solve.py``). ``start_method`` says which.
Other depths have no shipped initialiser and are refused with the starts that apply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union
from xml.etree.ElementTree import ParseError

import networkx as nx
import torch

from ornn import _checks

from .ansatz import QAOA, make_ansatz
from .baselines import degree_rule, fixed_angles, linear_ramp, random_init
from .experiment import load_meta_run
from .meta import MetaOptimizer, TwoPhaseResult, two_phase
from .problems import MAX_BRUTE_FORCE_QUBITS, MaxCut
from .shipped import RECIPES, pretrained

__all__ = ["solve", "SolveResult", "STARTS", "pretrained_for", "read_graph", "GRAPH_FORMATS"]

#: the named starts of :func:`solve` (besides a MetaOptimizer, a run folder or a tensor)
STARTS = ("pretrained", "fixed-angles", "degree-rule", "ramp", "random")
#: Phase II's learning rate per optimiser when ``lr`` is not given. Adam at 0.01, not ``optimize``'s 0.05: Adam's
#: steps do not shrink with the gradient, and at 0.05 it wanders from a good start for about 100 steps before its
#: stopping rule holds (measured on 3-regular and Erdős–Rényi n = 12, p = 1, 2; the final ratios were the same).
DEFAULT_LR = {"adam": 0.01, "sgd": 0.01, "adagrad": 0.1, "rmsprop": 0.01, "lbfgs": 1.0}


@dataclass(frozen=True)
class SolveResult:
    """What :func:`solve` found on one graph. Parameters are layer-major (gamma, beta[, alpha]) per layer,
    in the graph's weight units; bitstrings list one bit per node in ``nodes`` order (1: the node's side)."""

    nodes: list
    p: int
    dc: bool
    start_method: str
    start_params: torch.Tensor
    params: torch.Tensor
    energy: float
    max_cut: float
    top: list[dict[str, Any]]
    phase_one_evaluations: int
    phase_two_steps: int
    start_energy: float
    samples: list[str] = field(default_factory=list)
    sample_cuts: list[float] = field(default_factory=list)

    @property
    def expected_cut(self) -> float:
        """-<H_c> of the final state: the cut weight expected from one measurement."""
        return -self.energy

    @property
    def approximation_ratio(self) -> float:
        """The expected cut over the maximum cut."""
        return self.expected_cut / self.max_cut

    @property
    def start_approximation_ratio(self) -> float:
        """The approximation ratio of the start (Phase I's best point)."""
        return -self.start_energy / self.max_cut

    @property
    def evaluations(self) -> int:
        """Energy evaluations in all: Phase I's plus one per Phase II step."""
        return self.phase_one_evaluations + self.phase_two_steps

    @property
    def best_sample(self) -> Optional[dict[str, Any]]:
        """The sample with the largest cut (first drawn on ties), or None without shots."""
        if not self.samples:
            return None
        best = max(range(len(self.samples)), key=lambda k: (self.sample_cuts[k], -k))
        return {"bitstring": self.samples[best], "cut": self.sample_cuts[best]}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: every field, tensors as lists, nodes as strings."""
        return {
            "nodes": [str(v) for v in self.nodes],
            "p": self.p,
            "dc": self.dc,
            "start_method": self.start_method,
            "start_params": self.start_params.tolist(),
            "start_energy": self.start_energy,
            "params": self.params.tolist(),
            "energy": self.energy,
            "expected_cut": self.expected_cut,
            "max_cut": self.max_cut,
            "approximation_ratio": self.approximation_ratio,
            "phase_one_evaluations": self.phase_one_evaluations,
            "phase_two_steps": self.phase_two_steps,
            "evaluations": self.evaluations,
            "top": self.top,
            "samples": self.samples,
            "sample_cuts": self.sample_cuts,
            "best_sample": self.best_sample,
        }


def _problem(graph: Any, weight: str) -> tuple[MaxCut, float]:
    """The MaxCut problem of ``graph`` with weights read from attribute ``weight`` (default 1), and their mean |w|."""
    if not isinstance(graph, nx.Graph) or graph.is_directed() or graph.is_multigraph():
        raise TypeError(f"graph: expected an undirected networkx.Graph, got {_checks.describe(graph)}")
    if not isinstance(weight, str):
        raise TypeError(f"weight: expected an edge attribute name (a str), got {_checks.describe(weight)}")
    if graph.number_of_nodes() > MAX_BRUTE_FORCE_QUBITS:
        raise ValueError(
            f"graph: expected at most {MAX_BRUTE_FORCE_QUBITS} nodes (the state vector holds 2^n amplitudes), "
            f"got {graph.number_of_nodes()}"
        )
    simple = nx.Graph()
    simple.add_nodes_from(graph.nodes)
    for u, v, data in graph.edges(data=True):
        simple.add_edge(u, v, weight=data.get(weight, 1.0))
    problem = MaxCut(simple)  # checks the weights: finite, non-negative numbers
    scale = sum(abs(w) for _, _, w in problem.terms) / len(problem.terms)
    if scale == 0.0:
        raise ValueError(f"graph: every edge weight ({weight!r}) is zero; there is no cut to maximise")
    return problem, scale


def _normalised(problem: MaxCut, scale: float) -> MaxCut:
    """The same graph with every weight divided by ``scale`` (the problem itself when the scale is 1)."""
    if scale == 1.0:
        return problem
    graph = nx.Graph()
    graph.add_nodes_from(problem.nodes)
    graph.add_edges_from((problem.nodes[i], problem.nodes[j], {"weight": w / scale}) for i, j, w in problem.terms)
    return MaxCut(graph)


def _to_graph_units(params: torch.Tensor, layer_size: int, scale: float) -> torch.Tensor:
    """Unit-weight parameters -> the graph's: every gamma (the first of each layer) divided by the weight scale."""
    out = params.detach().clone()
    out[..., ::layer_size] /= scale
    return out


def _is_three_regular(problem: MaxCut) -> bool:
    return all(d == 3 for _, d in problem.graph.degree) and all(w == 1.0 for _, _, w in problem.terms)


def pretrained_for(problem: MaxCut, p: int, *, dc: bool = False) -> tuple[MetaOptimizer, str]:
    """The shipped initialiser :func:`solve` uses for ``problem`` at depth ``p`` (module docstring), and its name."""
    meta, name, _ = _pretrained(problem, p, dc)
    return meta, name


def _pretrained(problem: MaxCut, p: int, dc: bool) -> tuple[MetaOptimizer, str, bool]:
    """:func:`pretrained_for`, and whether the initialiser is borrowed from another family (3-regular's)."""
    if _is_three_regular(problem) and ("3-regular", p, dc) in RECIPES:
        kind, borrowed = "3-regular", False
    elif ("erdos-renyi", p, dc) in RECIPES:
        kind, borrowed = "erdos-renyi", False
    elif ("3-regular", p, dc) in RECIPES:
        kind, borrowed = "3-regular", True
    else:
        shipped = sorted({(q, d) for _, q, d in RECIPES})
        raise ValueError(
            f"start: no pretrained initialiser for p = {p}{' with dc' if dc else ''} (shipped (p, dc): {shipped}); "
            f"pass start='ramp', 'random', a MetaOptimizer, a run folder or a tensor"
        )
    name = f"pretrained {kind} p={p}{' dc' if dc else ''} (lstm)" + (", used on a graph of another family" * borrowed)
    return pretrained(kind, p, dc=dc), name, borrowed


def _start(start: Any, unit: QAOA, scale: float, seed: int) -> tuple[Any, str, bool]:
    """Phase I's starter, the method's name, and whether the linear ramp competes with a borrowed initialiser.
    The starter is a MetaOptimizer, or a (P,) start in unit-weight units (a tensor start is in the graph's units
    and is converted: every gamma times the weight scale)."""
    if isinstance(start, torch.Tensor):
        _checks.tensor("start", start)
        theta = start.detach().to(torch.float64).cpu().clone()
        if theta.dim() == 1:
            theta[:: unit.layer_size] *= scale
        return theta, "given tensor", False
    if isinstance(start, MetaOptimizer):
        return start, f"MetaOptimizer ({start.cell_name})", False
    if isinstance(start, Path) or (isinstance(start, str) and start not in STARTS):
        folder = Path(start)
        if not folder.is_dir():
            raise ValueError(
                f"start: expected one of {', '.join(STARTS)}, a MetaOptimizer, a run folder of `ornn qaoa train` or "
                f"a tensor, got {str(start)!r} (no such folder)"
            )
        meta, _ = load_meta_run(folder)
        return meta, f"run folder {folder}", False
    if not isinstance(start, str):
        raise TypeError(
            f"start: expected one of {', '.join(STARTS)}, a MetaOptimizer, a run folder or a tensor, "
            f"got {_checks.describe(start)}"
        )
    if start == "pretrained":
        meta, name, borrowed = _pretrained(unit.problem, unit.p, unit.layer_size == 3)
        # a borrowed initialiser has no family of its own here: the linear ramp's one evaluation competes with it
        return meta, name + ("; or the linear ramp where lower" if borrowed else ""), borrowed
    try:
        if start == "fixed-angles":
            theta = fixed_angles(unit)
        elif start == "degree-rule":
            theta = degree_rule(unit)
        elif start == "ramp":
            theta = linear_ramp(unit)
        else:
            theta = random_init(unit, 1, seed=seed)[0]
    except ValueError as err:
        raise ValueError(f"start: {start!r} does not apply to this graph ({err})") from None
    return theta, start, False


def solve(
    graph: nx.Graph,
    p: int,
    *,
    dc: bool = False,
    start: Union[str, Path, MetaOptimizer, torch.Tensor] = "pretrained",
    optimizer: str = "adam",
    steps: int = 200,
    lr: Optional[float] = None,
    top: int = 5,
    shots: int = 0,
    seed: int = 0,
    weight: str = "weight",
) -> SolveResult:
    """Run QAOA (``dc``: DC-QAOA with the ZY term) of depth ``p`` on ``graph``'s MaxCut, from ``start``.

    Args:
        graph: an undirected networkx graph of at most 24 nodes, weights in edge attribute ``weight`` (default 1).
        p: the depth.
        start: ``"pretrained"`` (default), ``"fixed-angles"`` (3-regular graphs, p <= 5), ``"degree-rule"``
            (p = 1), ``"ramp"``, ``"random"`` (seeded by ``seed``), a MetaOptimizer (its ``steps`` horizon),
            a run folder of ``ornn qaoa train``, or a (P,) tensor in the graph's units.
        optimizer, steps, lr: Phase II (:func:`~applications.qaoa.optimize.optimize`; ``steps`` = 0 skips it;
            ``lr`` defaults per optimiser: :data:`DEFAULT_LR`). It stops when the energy changes by < 1e-6.
        top: how many of the likeliest bitstrings to list.
        shots, seed: draw ``shots`` bitstrings from the final state, reproducibly from ``seed``.

    The expected cut is -<H_c>; the approximation ratio divides it by the exact maximum cut (brute force over
    the 2^n states the simulation holds anyway).
    """
    problem, scale = _problem(graph, weight)
    p = _checks.positive_int("p", p)
    if not isinstance(dc, bool):
        raise TypeError(f"dc: expected a bool, got {_checks.describe(dc)}")
    steps = _checks.positive_int("steps", steps, minimum=0)
    top = _checks.positive_int("top", top)
    shots = _checks.positive_int("shots", shots, minimum=0)
    seed = _checks.positive_int("seed", seed, minimum=0)
    if optimizer not in DEFAULT_LR:
        raise ValueError(f"optimizer: expected one of {', '.join(DEFAULT_LR)}, got {optimizer!r}")
    lr = DEFAULT_LR[optimizer] if lr is None else _checks.positive_float("lr", lr)
    unit = make_ansatz(_normalised(problem, scale), p, dc=dc)  # every phase runs at unit weight scale
    starter, method, ramp_competes = _start(start, unit, scale, seed)
    layer = unit.layer_size
    evaluations = None  # Phase I's count, where it is not the run's own
    if isinstance(starter, MetaOptimizer):
        if starter.num_params != unit.num_params:
            raise ValueError(
                f"start: the MetaOptimizer proposes {starter.num_params} parameters, the depth-{p} "
                f"{'DC-' if dc else ''}QAOA has {unit.num_params}"
            )
        if starter.steps is None:
            raise ValueError("start: the MetaOptimizer has no trained horizon (its .steps is None); set meta.steps")
        if ramp_competes:  # Phase I is the borrowed unroll plus the ramp's evaluation; Phase II from the lower
            with torch.no_grad():
                trajectory = starter([unit.to(starter.device)], starter.steps)
                ramp = linear_ramp(unit).cpu()
                lower = float(unit.energy(ramp)) < float(trajectory.best_energies[0])
            starter = ramp if lower else trajectory.best_params[0].detach().double().cpu()
            evaluations = trajectory.evaluations + 1
    else:
        if starter.shape != (unit.num_params,):
            raise ValueError(
                f"start: expected a tensor of shape ({unit.num_params},) for depth {p}"
                f"{' DC-QAOA' if dc else ''}, got {tuple(starter.shape)}"
            )
    if isinstance(starter, torch.Tensor):
        starter = starter.detach().to(torch.float64).cpu()[None]
    # a MetaOptimizer runs its own Phase I here (from every basin it has a start rule or probe in), on its device
    learned = isinstance(starter, MetaOptimizer)
    run: TwoPhaseResult = two_phase(
        [unit.to(starter.device) if learned else unit],
        starter,
        steps=starter.steps if learned else 1,
        optimizer=optimizer,
        lr=lr,
        phase_two_steps=steps,
    )
    # Phase II's best point, not its last: an optimiser may end above where it started, or above a point it passed
    unit_params = run.phase_two.best_params[0].detach().double().cpu()
    with torch.no_grad():
        probabilities = (unit.state(unit_params).abs() ** 2).cpu()
    energy = scale * float(run.phase_two.best_energies[0])
    params = _to_graph_units(unit_params, layer, scale)
    theta = _to_graph_units(run.phase_one.best_params[0].detach().double().cpu(), layer, scale)
    k = min(top, probabilities.numel())
    likeliest = torch.topk(probabilities, k)
    rows = []
    for probability, index in zip(likeliest.values.tolist(), likeliest.indices):
        bits = problem.bits_of(index)
        rows.append(
            {
                "bitstring": "".join(map(str, bits.tolist())),
                "probability": probability,
                "cut": float(problem.cut_value(bits)),
            }
        )
    samples, sample_cuts = [], []
    if shots:
        generator = torch.Generator().manual_seed(seed)
        drawn = torch.multinomial(probabilities, shots, replacement=True, generator=generator)
        bits = problem.bits_of(drawn)
        samples = ["".join(map(str, row)) for row in bits.tolist()]
        sample_cuts = problem.cut_value(bits).tolist()
    return SolveResult(
        nodes=list(problem.nodes),
        p=p,
        dc=dc,
        start_method=method,
        start_params=theta,
        params=params,
        energy=energy,
        max_cut=problem.max_cut,
        top=rows,
        phase_one_evaluations=run.phase_one.evaluations if evaluations is None else evaluations,
        phase_two_steps=int(run.phase_two_steps[0]),
        start_energy=scale * float(run.phase_one_energies[0]),
        samples=samples,
        sample_cuts=sample_cuts,
    )


#: file suffix -> format :func:`read_graph` reads it as (any other suffix: an edge list)
GRAPH_FORMATS = {".graphml": "GraphML", ".gml": "GML", ".json": "node-link JSON"}


def _read_edge_list(path: Path) -> nx.Graph:
    """Lines ``u v`` or ``u v weight``; ``#`` starts a comment. Labels are integers when every one is, else strings."""
    edges = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        if len(tokens) not in (2, 3):
            raise ValueError(f"line {number}: expected 'u v' or 'u v weight', got {line.strip()!r}")
        try:
            weight = float(tokens[2]) if len(tokens) == 3 else 1.0
        except ValueError:
            raise ValueError(f"line {number}: the weight {tokens[2]!r} is not a number") from None
        edges.append((tokens[0], tokens[1], weight))
    if not edges:
        raise ValueError("no edges")
    labels = [t for u, v, _ in edges for t in (u, v)]
    as_int = all(t.lstrip("-").isdigit() for t in labels)
    graph = nx.Graph()
    for u, v, w in edges:
        graph.add_edge(int(u) if as_int else u, int(v) if as_int else v, weight=w)
    return graph


def read_graph(path: Union[str, Path]) -> nx.Graph:
    """An undirected graph from ``path``: GraphML (.graphml), GML (.gml), node-link JSON (.json), else an edge list.

    Edge attributes are kept (pick the weight with ``solve(..., weight=ATTR)``). A file that cannot be read, or
    that holds a directed graph or parallel edges, raises ValueError naming the file and what was wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"graph: expected a graph file, got {str(path)!r}, which does not exist or is not a file")
    kind = GRAPH_FORMATS.get(path.suffix.lower(), "edge list")
    try:
        if kind == "GraphML":
            graph = nx.read_graphml(path)
        elif kind == "GML":
            graph = nx.read_gml(path)
        elif kind == "node-link JSON":
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or "nodes" not in data:
                raise ValueError(
                    "expected an object with 'nodes' and 'links' (or 'edges'), as nx.node_link_data writes"
                )
            graph = nx.node_link_graph(data, edges="links" if "links" in data else "edges")
        else:
            graph = _read_edge_list(path)
    except (nx.NetworkXError, ValueError, KeyError, TypeError, UnicodeDecodeError, ParseError) as err:
        raise ValueError(f"graph: {path} is not a readable {kind} file ({err})") from None
    if graph.is_directed():
        raise ValueError(f"graph: {path} holds a directed graph; MaxCut needs an undirected one")
    if graph.is_multigraph():
        if any(graph.number_of_edges(u, v) > 1 for u, v in graph.edges()):
            raise ValueError(f"graph: {path} holds parallel edges; merge them into one weighted edge")
        graph = nx.Graph(graph)
    return graph
