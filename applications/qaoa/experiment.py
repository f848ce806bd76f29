"""Meta-learning experiments: train cells, run the two-phase protocol against the baselines, report.

:func:`run_compare` is what ``ornn qaoa compare`` runs. It trains one meta-optimiser per
cell on the training distribution, fits the degree rule on training graphs, and runs every
method through the sequence-model paper's two-phase protocol on the same unseen test graphs. It then writes
a run folder: config.json, metrics.json, report.md and PNG plots of the relative error
against iterations with standard-error bands (Chandarana et al. Figs. 4 and 6).

The tables hold:
- iterations to convergence (the sequence-model paper Table II);
- the approximation ratio after Phase I and after Phase II, as mean +- std per n (the sequence-model paper Table III);
- a comparison of the cells with their trainable-parameter counts.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import torch

from ornn import _checks, _io, tables
from ornn.training import load_weights

from .ansatz import QAOA, make_ansatz, parameter_count
from .baselines import DegreeRule, ansatz_optimum, fixed_angles, linear_ramp, random_init
from .meta import IMPULSE_FIT_PROBLEMS, MetaOptimizer, ProblemDistribution, meta_train, two_phase
from .metrics import iterations_to_convergence

__all__ = [
    "CompareConfig",
    "build_meta",
    "run_compare",
    "verdicts",
    "load_meta_run",
    "evaluate_meta",
    "held_out_graphs",
    "TEST_FAMILIES",
]

#: held-out Erdős–Rényi families (connected G(n, j / n)): "sparse" draws j from {2, 3, 4}, "dense" from 3..n-1
TEST_FAMILIES = ("sparse", "dense")


def held_out_graphs(family: str, sizes: Sequence[int], per_size: int, *, seed: int = 12_345) -> list:
    """Connected Erdős–Rényi MaxCut test graphs, ``per_size`` for each n in ``sizes``, drawn from ``seed``.

    The families are those the QAOA issue measured on: edge probability j / n with j uniform in {2, 3, 4}
    ("sparse") or in 3..n-1 ("dense"); a disconnected or edgeless draw is redrawn.
    """
    import networkx as nx
    import numpy as np

    from .problems import MaxCut

    if family not in TEST_FAMILIES:
        raise ValueError(f"family: expected one of {', '.join(TEST_FAMILIES)}, got {family!r}")
    _checks.positive_int("per_size", per_size)
    rng = np.random.default_rng(seed)
    graphs = []
    for n in sizes:
        if _checks.positive_int("sizes", n) < 4:
            raise ValueError(f"sizes: expected n >= 4 (the dense family draws j from 3..n-1), got {n}")
        for _ in range(per_size):
            while True:
                j = int(rng.choice([2, 3, 4])) if family == "sparse" else int(rng.integers(3, n))
                graph = nx.gnp_random_graph(n, min(1.0, j / n), seed=int(rng.integers(2**31)))
                if graph.number_of_edges() and nx.is_connected(graph):
                    break
            graphs.append(MaxCut(graph))
    return graphs


@dataclass
class CompareConfig:
    """Everything a comparison run depends on (saved as config.json)."""

    kind: str = "erdos-renyi"
    train_sizes: tuple[int, ...] = (6, 7, 8, 9)
    test_sizes: tuple[int, ...] = (10, 11, 12, 13, 14)
    test_per_size: int = 5
    p: int = 1
    dc: bool = False
    cells: tuple[str, ...] = ("lstm", "gru")
    hidden_size: int = 20
    proposal: str = "residual"  # "incumbent": anchored at the best point so far; "absolute": the paper's rule
    step_scale: float = 0.5
    use_delta: bool = (
        True  # feed the change of the cost too (the sequence-model paper's input is parameters and cost only)
    )
    steps: int = 10
    epochs: int = 20
    batches_per_epoch: int = 8
    batch_size: int = 8
    loss: str = "best"
    meta_optimizer: str = "adam"  # the sequence-model paper used RMSprop
    meta_lr: float = 0.01
    patience: int = 10
    phase_two_optimizer: str = "sgd"
    phase_two_lr: float = 0.01
    phase_two_steps: int = 100
    convergence_tol: float = 1e-4
    reference_optimum: bool = False  # also run multi-start L-BFGS for the ansatz optimum of every test graph
    transfer_sizes: tuple[int, ...] = ()  # 3-regular only: Phase I ratios on larger graphs (Chandarana et al. Fig. 5)
    seed: int = 0
    impulse_problems: int = IMPULSE_FIT_PROBLEMS  # DC-QAOA: problems the impulse probe is fitted on (0: none)
    device: str = "cpu"  # where the cells train and the test circuits run; the degree rule is fitted on the CPU
    extra: dict[str, Any] = field(default_factory=dict)


def build_meta(
    cell: str,
    *,
    p: int,
    dc: bool = False,
    hidden_size: int = 20,
    proposal: str = "residual",
    step_scale: float = 0.5,
    use_delta: bool = True,
    device: Any = "cpu",
) -> MetaOptimizer:
    """A float64 :class:`MetaOptimizer` on ``device`` for a QAOA (``dc``: DC-QAOA) of depth ``p``: what
    ``ornn qaoa train``, ``compare`` and :func:`load_meta_run` build from their settings."""
    return (
        MetaOptimizer(
            cell,
            parameter_count(p, dc=dc),
            hidden_size=hidden_size,
            proposal=proposal,
            step_scale=step_scale,
            use_delta=use_delta,
        )
        .double()
        .to(device)
    )


def _ansatz(problem, config: CompareConfig) -> QAOA:
    return make_ansatz(problem, config.p, dc=config.dc, device=config.device)


def _starts(config: CompareConfig, tests: list[QAOA], rule: Optional[DegreeRule], metas) -> dict[str, Any]:
    """Phase-I methods: trained cells and baseline starts, all on the same test graphs."""
    methods: dict[str, Any] = {f"learned ({name})": meta for name, meta in metas.items()}
    methods["random"] = torch.cat([random_init(a, 1, seed=config.seed + i) for i, a in enumerate(tests)])
    methods["linear ramp (TQA)"] = torch.stack([linear_ramp(a) for a in tests])
    if config.kind == "3-regular" and config.p in (1, 2):
        methods["fixed angles"] = torch.stack([fixed_angles(a) for a in tests])
    if rule is not None:
        methods["degree rule"] = torch.stack([rule(a) for a in tests])
    return methods


def run_compare(
    config: CompareConfig, out: Optional[Path] = None, *, progress: bool = True, echo=print
) -> dict[str, Any]:
    """Train, evaluate and report; returns the metrics written to metrics.json."""
    _checks.device("config.device", config.device)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out is not None else Path("runs") / f"{stamp}-qaoa-compare"
    _io.write_json(out / "config.json", asdict(config))
    train_dist = ProblemDistribution(config.kind, tuple(config.train_sizes))
    metas, training = {}, {}
    for name in config.cells:
        torch.manual_seed(config.seed)
        meta = build_meta(
            name,
            p=config.p,
            dc=config.dc,
            hidden_size=config.hidden_size,
            proposal=config.proposal,
            step_scale=config.step_scale,
            use_delta=config.use_delta,
            device=config.device,
        )
        start = time.perf_counter()
        history = meta_train(
            meta,
            train_dist,
            p=config.p,
            dc=config.dc,
            steps=config.steps,
            epochs=config.epochs,
            batches_per_epoch=config.batches_per_epoch,
            batch_size=config.batch_size,
            loss=config.loss,
            optimizer=config.meta_optimizer,
            lr=config.meta_lr,
            patience=config.patience,
            seed=config.seed,
            checkpoint=out / f"checkpoint-{name}.pt",
            progress=progress,
            impulse_problems=config.impulse_problems,
        )
        seconds = time.perf_counter() - start
        metas[name] = meta
        training[name] = {
            "parameters": sum(p.numel() for p in meta.parameters()),
            "seconds": seconds,
            "seconds_per_epoch": seconds / max(1, len(history.val_loss)),
            "best_val_loss": min(history.val_loss),
            "epochs_run": len(history.val_loss),
        }

    rule = None  # fitted once on training graphs, then applied to every test and transfer size
    if config.kind in ("erdos-renyi", "3-regular") and not config.dc:
        rule = DegreeRule.fit(train_dist.sample(16, seed=config.seed + 12345), config.p, steps=150)
    results: dict[str, dict[str, Any]] = {}
    curves: dict[str, list[torch.Tensor]] = {}
    for n in config.test_sizes:
        problems = ProblemDistribution(config.kind, (n,)).sample(config.test_per_size, seed=config.seed * 7919 + n)
        tests = [_ansatz(problem, config) for problem in problems]
        optimum = torch.tensor([problem.optimum for problem in problems], dtype=torch.float64, device=config.device)
        if config.reference_optimum:
            best = torch.tensor(
                [ansatz_optimum(a, starts=8, seed=config.seed)[0] for a in tests],
                dtype=torch.float64,
                device=config.device,
            )
            results.setdefault("ansatz optimum (multi-start L-BFGS)", {})[n] = {
                "ratio_phase_one_mean": float((best / optimum).mean()),
                "ratio_phase_one_std": float((best / optimum).std()),
                "ratio_phase_two_mean": float((best / optimum).mean()),
                "ratio_phase_two_std": float((best / optimum).std()),
                "iterations_to_convergence": 0,
                "phase_one_length": 0,
                "phase_one_evaluations": 0,
                "phase_two_steps_mean": 0.0,
                "relative_error_mean": float(((best - optimum) / optimum.abs()).mean()),
            }
        for method, phase_one in _starts(config, tests, rule, metas).items():
            run = two_phase(
                tests,
                phase_one,
                steps=config.steps,
                optimizer=config.phase_two_optimizer,
                lr=config.phase_two_lr,
                phase_two_steps=config.phase_two_steps,
                tol=1e-12,
            )
            path = run.path  # best-so-far Phase I energies, then Phase II: (iterations + 1, B)
            errors = (path - optimum) / optimum.abs()
            ratio_one = run.phase_one_energies / optimum
            ratio_two = run.final_energies / optimum
            entry = results.setdefault(method, {})
            entry[n] = {
                "relative_error_phase_one_mean": float(errors[run.phase_one.evaluations - 1].mean()),
                "ratio_phase_one_mean": float(ratio_one.mean()),
                "ratio_phase_one_std": float(ratio_one.std()),
                "ratio_phase_two_mean": float(ratio_two.mean()),
                "ratio_phase_two_std": float(ratio_two.std()),
                "iterations_to_convergence": iterations_to_convergence(errors.mean(1), tol=config.convergence_tol),
                "phase_one_length": run.phase_one.evaluations - 1,
                "phase_one_evaluations": run.phase_one.evaluations,
                "phase_two_steps_mean": float(run.phase_two_steps.double().mean()),
            }
            curves.setdefault(method, []).append(errors)
        if progress:
            echo(f"n = {n}: evaluated {len(results)} methods on {len(tests)} graphs")

    transfer = _transfer(config, rule, metas) if config.transfer_sizes else {}
    metrics = {
        "config": asdict(config),
        "training": training,
        "results": results,
        "verdicts": verdicts(results),
        "transfer": transfer,
    }
    _io.write_json(out / "metrics.json", metrics)
    _plot_curves(curves, out / "relative_error.png", config)
    report = _report(config, training, results, transfer)
    _io.write_text(out / "report.md", report)
    echo(report)
    echo(f"\nrun folder: {out}")
    metrics["out"] = str(out)
    return metrics


def _plot_curves(curves: dict[str, list[torch.Tensor]], path: Path, config: CompareConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7, 4.5))
    for method, per_size in curves.items():
        length = min(c.shape[0] for c in per_size)
        errors = torch.cat([c[:length] for c in per_size], dim=1).cpu()  # (iterations, all test graphs)
        mean = errors.mean(1)
        se = errors.std(1) / errors.shape[1] ** 0.5
        steps = torch.arange(length)
        ax.plot(steps, mean, label=method)
        ax.fill_between(steps, mean - se, mean + se, alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("iteration (Phase I proposals, then Phase II steps)")
    ax.set_ylabel("relative error (F - E0) / |E0|")
    ax.set_title(f"{config.kind}, p = {config.p}{', DC-QAOA' if config.dc else ''}: mean +- standard error")
    ax.legend(fontsize="small")
    _io.save_figure(path, figure, dpi=120, bbox_inches="tight")
    plt.close(figure)


def _transfer(config: CompareConfig, rule: Optional[DegreeRule], metas) -> dict[str, dict[int, float]]:
    """Phase I approximation ratio on larger 3-regular graphs for the learned and baseline starts."""
    if config.kind != "3-regular":
        raise ValueError(f"transfer_sizes: the transfer study uses 3-regular graphs, got kind {config.kind!r}")
    table: dict[str, dict[int, float]] = {}
    for n in config.transfer_sizes:
        problems = ProblemDistribution("3-regular", (n,)).sample(config.test_per_size, seed=config.seed * 104729 + n)
        tests = [_ansatz(problem, config) for problem in problems]
        optimum = torch.tensor([problem.optimum for problem in problems], dtype=torch.float64, device=config.device)
        for method, phase_one in _starts(config, tests, rule, metas).items():
            if isinstance(phase_one, MetaOptimizer):
                with torch.no_grad():
                    final = phase_one(tests, config.steps).best_energies
            else:
                with torch.no_grad():
                    final = torch.stack([a.energy(row) for a, row in zip(tests, phase_one)])
            table.setdefault(method, {})[n] = float((final / optimum).mean())
    return table


#: ratios closer than this are "level": below the four digits the reports print
LEVEL = 1e-4


def _verdict(ours: float, theirs: float) -> str:
    if abs(ours - theirs) < LEVEL:
        return f"level (within {LEVEL:g})"
    return f"ahead by {ours - theirs:.4f}" if ours > theirs else f"BEHIND by {theirs - ours:.4f}"


def verdicts(results: dict[str, dict[Any, dict[str, float]]]) -> list[dict[str, Any]]:
    """Each learned method against the best baseline of each phase, by the mean ratio over every test size.

    The baselines are the methods whose names do not start with "learned" or "ansatz optimum"; after Phase I
    they are zero-query starts (one evaluation each), after Phase II the same starts optimised. A learned method
    is "ahead" when its mean ratio exceeds the best baseline's by :data:`LEVEL` or more, "level" within it,
    "BEHIND" otherwise.
    """

    def mean(per_n: dict, key: str) -> float:
        return sum(r[key] for r in per_n.values()) / len(per_n)

    baselines = {m: r for m, r in results.items() if not m.startswith(("learned", "ansatz optimum"))}
    rows = []
    for method, per_n in results.items() if baselines else ():
        if not method.startswith("learned"):
            continue
        for phase, key in (("Phase I", "ratio_phase_one_mean"), ("Phase II", "ratio_phase_two_mean")):
            ours = mean(per_n, key)
            rival = max(baselines, key=lambda m: mean(baselines[m], key))
            theirs = mean(baselines[rival], key)
            rows.append(
                {
                    "method": method,
                    "phase": phase,
                    "ratio": ours,
                    "best baseline": rival,
                    "its ratio": theirs,
                    "verdict": _verdict(ours, theirs),
                }
            )
    return rows


def _report(config: CompareConfig, training: dict, results: dict, transfer: Optional[dict] = None) -> str:
    sizes = list(config.test_sizes)

    def per_size(rows: dict, cell, sizes: list) -> str:
        return tables.format_table(
            [{"method": m, **{f"n = {n}": cell(per_n[n]) for n in sizes}} for m, per_n in rows.items()],
            style="markdown",
        )

    cells = [
        {
            "cell": name,
            "trainable parameters": t["parameters"],
            "epochs": t["epochs_run"],
            "s / epoch": f"{t['seconds_per_epoch']:.2f}",
            "best validation loss": f"{t['best_val_loss']:.4f}",
        }
        for name, t in training.items()
    ]
    sections = [
        f"# QAOA meta-learning comparison ({config.kind}, p = {config.p}{', DC-QAOA' if config.dc else ''})",
        f"Train n in {list(config.train_sizes)}, test n in {sizes} ({config.test_per_size} graphs each), "
        f"T = {config.steps} Phase I steps, Phase II: {config.phase_two_optimizer} lr {config.phase_two_lr} "
        f"for {config.phase_two_steps} steps, seed {config.seed}.",
        "## Verdict: each learned start against the best baseline (mean ratio over every test size)",
        "Phase I of a learned start is the best of its T + 1 energy evaluations; a baseline start costs one.",
        tables.format_table(
            [{**r, "ratio": f"{r['ratio']:.4f}", "its ratio": f"{r['its ratio']:.4f}"} for r in verdicts(results)],
            style="markdown",
        ),
        "![relative error](relative_error.png)",
        "## Cells",
        f"Hidden size {config.hidden_size}; every cell is followed by the meta-optimiser's linear head (counted).",
        tables.format_table(cells, style="markdown"),
    ]
    for title, key in (
        ("Approximation ratio after Phase I", "phase_one"),
        ("Approximation ratio after Phase II", "phase_two"),
    ):
        sections += [
            f"## {title} (mean +- std)",
            per_size(results, lambda r, key=key: f"{r[f'ratio_{key}_mean']:.4f} +- {r[f'ratio_{key}_std']:.4f}", sizes),
        ]
    sections += [
        f"## Iterations to convergence (|change of the mean relative error| < {config.convergence_tol:g}; "
        "Phase I steps included)",
        per_size(results, lambda r: r["iterations_to_convergence"], sizes),
        "## Evaluations per problem (Phase I energy evaluations + mean Phase II gradient steps)",
        per_size(results, lambda r: f"{r['phase_one_evaluations']} + {r['phase_two_steps_mean']:.1f}", sizes),
    ]
    if transfer:
        sections += [
            f"## Transfer: Phase I approximation ratio on larger 3-regular graphs (trained on n in "
            f"{list(config.train_sizes)})",
            per_size(transfer, lambda r: f"{r:.4f}", list(config.transfer_sizes)),
        ]
    return "\n\n".join(sections) + "\n"


def load_meta_run(folder: Union[str, Path], device: Any = "cpu") -> tuple[MetaOptimizer, dict[str, Any]]:
    """The trained meta-optimiser of a run folder written by ``ornn qaoa train`` (config.json and best.pt), and its config."""
    folder = Path(folder)
    path = folder / "config.json"
    config = _io.read_json(path, "config.json of the run", keys=("cell", "p", "dc", "hidden", "kind", "steps"))
    try:
        meta = build_meta(
            config["cell"],
            p=config["p"],
            dc=config["dc"],
            hidden_size=config["hidden"],
            proposal=config.get("proposal", "absolute"),  # runs written before the residual rule used the paper's
            step_scale=config.get("step_scale", 0.5),
            device=device,
        )
        ProblemDistribution(config["kind"], (4,) if config["kind"] == "3-regular" else (2,))  # a known family
        _checks.positive_int("steps", config["steps"])
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: the settings do not describe a meta-optimiser ({err})") from None
    load_weights(meta, folder / "best.pt", what="best.pt of the run")
    meta.steps = config["steps"]
    return meta, config


def evaluate_meta(
    meta: MetaOptimizer,
    *,
    kind: str,
    p: int,
    dc: bool = False,
    steps: int = 10,
    test_sizes: Sequence[int] = (10,),
    per_size: int = 5,
    seed: int = 10_007,
    phase_two_steps: int = 100,
    optimizer: str = "sgd",
    lr: float = 0.01,
    device: Any = "cpu",
) -> list[dict[str, Any]]:
    """Seed-drawn unseen problems of each size through the two-phase protocol (Phase II: ``optimizer`` at ``lr`` for
    at most ``phase_two_steps``): mean approximation ratio per phase and n."""
    rows = []
    for n in test_sizes:
        problems = ProblemDistribution(kind, (n,)).sample(_checks.positive_int("per_size", per_size), seed=seed + n)
        tests = [make_ansatz(q, p, dc=dc, device=device) for q in problems]
        optimum = torch.tensor([q.optimum for q in problems], dtype=torch.float64, device=device)
        run = two_phase(tests, meta, steps=steps, optimizer=optimizer, lr=lr, phase_two_steps=phase_two_steps)
        rows.append(
            {
                "n": n,
                "ratio_phase_one": float((run.phase_one_energies / optimum).mean()),
                "ratio_phase_two": float((run.final_energies / optimum).mean()),
                "phase_one_evaluations": run.phase_one.evaluations,
                "phase_two_steps_mean": float(run.phase_two_steps.double().mean()),
            }
        )
    return rows


def read_graphs(path: Union[str, Path]) -> list:
    """MaxCut problems from a JSON file: a list of graphs, each a list of edges ``[u, v]`` or ``[u, v, weight]``
    (or ``{"edges": [...]}``). Node labels may be any JSON scalars; weights default to 1.
    """
    import networkx as nx

    from .problems import MaxCut

    path = Path(path)
    data = _io.read_json_value(path, "graphs file")
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path}: expected a non-empty JSON list of graphs (each a list of [u, v] or [u, v, w] edges)")
    problems = []
    for k, item in enumerate(data):
        edges = item.get("edges") if isinstance(item, dict) else item
        if not isinstance(edges, list) or not all(isinstance(e, list) and len(e) in (2, 3) for e in edges):
            raise ValueError(f"{path}: graph {k}: expected a list of [u, v] or [u, v, weight] edges, got {item!r:.80}")
        graph = nx.Graph()
        for edge in edges:
            u, v = edge[0], edge[1]
            if isinstance(u, (list, dict)) or isinstance(v, (list, dict)):
                raise ValueError(f"{path}: graph {k}: node labels must be numbers or strings, got {edge!r}")
            graph.add_edge(u, v, weight=edge[2] if len(edge) == 3 else 1.0)
        try:
            problems.append(MaxCut(graph))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: graph {k}: {err}") from None
    return problems


def evaluate_graphs(
    meta: MetaOptimizer,
    problems: Sequence,
    *,
    p: int,
    dc: bool = False,
    steps: int = 10,
    phase_two_steps: int = 100,
    optimizer: str = "sgd",
    lr: float = 0.01,
) -> list[dict[str, Any]]:
    """The two-phase protocol on the user's own MaxCut problems (Phase II as in :func:`evaluate_meta`): per graph,
    the ratios after each phase, the evaluation counts, and the most probable bitstring of the final state with its
    cut (nodes in file order)."""
    from .problems import MaxCut

    if not isinstance(meta, MetaOptimizer):
        raise TypeError(f"meta: expected a MetaOptimizer, got {_checks.describe(meta)}")
    problems = list(problems)
    if not problems or not all(isinstance(q, MaxCut) for q in problems):
        raise TypeError(
            f"problems: expected a non-empty sequence of MaxCut problems (the cut needs a graph), got "
            f"{[_checks.describe(q) for q in problems][:3] or 'none'}"
        )
    rows = []
    for k, problem in enumerate(problems):
        ansatz = make_ansatz(problem, p, dc=dc, device=meta.device)
        run = two_phase([ansatz], meta, steps=steps, optimizer=optimizer, lr=lr, phase_two_steps=phase_two_steps)
        with torch.no_grad():
            probabilities = ansatz.state(run.final_params[0]).abs() ** 2
        index = torch.argmax(probabilities)
        bits = problem.bits_of(index.cpu())
        rows.append(
            {
                "graph": k,
                "n": problem.n,
                "ratio_phase_one": float(run.phase_one_energies[0] / problem.optimum),
                "ratio_phase_two": float(run.final_energies[0] / problem.optimum),
                "phase_one_evaluations": run.phase_one.evaluations,
                "phase_two_steps": int(run.phase_two_steps[0]),
                "bitstring": "".join(str(int(b)) for b in bits),
                "probability": float(probabilities[index]),
                "cut": float(problem.cut_value(bits)),
                "max_cut": float(problem.max_cut),
            }
        )
    return rows
