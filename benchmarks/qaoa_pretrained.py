"""Learned 3-regular QAOA initialisers on graphs they never saw: the shipped files, or every cell over seeds.

    cd benchmarks && python qaoa_pretrained.py                       # the shipped LSTM files
    cd benchmarks && python qaoa_pretrained.py --cells lstm gru ... --seeds 0 1 2 [--p 2 3 4 5] [--dc-p 2]

Without ``--cells`` it measures the files of ``applications.qaoa.pretrained`` (3-regular QAOA p = 1..5,
DC-QAOA p = 2). With ``--cells`` it trains each cell with each seed from the shipped recipe
(``shipped.build(kind, p, dc=dc, cell=cell, seed=seed)``: train n = 8, 10, T = 6, 20 epochs, 16 batches per
epoch, 32 at p = 5; every other setting at ``meta_train``'s defaults; DC-QAOA trains under both proposal rules
and keeps the one of least Phase I error on 128 training problems, shown in the "rule" column) and measures
what it trained, with its training time.

Two test sets, both of 3-regular graphs with n = 10 and disjoint from the training draws:
``--graphs`` (16) graphs with seeds from 10,000, and the 8 test graphs of ``ornn qaoa compare --kind
3-regular --per-size 8 --seed 0`` (a second set: 8 graphs move a mean gap by several tenths of a point).
On each, the mean relative error (F - E_0) / |E_0| after Phase I (the best of its evaluations: T + 1 = 7, and
15 for DC-QAOA's two start rules and impulse probe),
of the linear ramp, of Wurtz & Lykov's fixed angles (QAOA p <= 5; one evaluation each) and of the ansatz
optimum: the best known optimum that ``best_known_optima.py`` stored in ``best_known_optima.json`` (a search
that includes ``ansatz_optimum``'s own), or ``ansatz_optimum``'s multi-start L-BFGS for a graph the file lacks
(the run prints how many references came from the file).
Phase II (``two_phase``'s defaults, the sequence-model paper's protocol: SGD, lr 0.01, 100 steps) starts
from the best Phase I point; "reached" counts the graphs it brings within 0.1 points of the ansatz optimum,
and the verdicts use it. "reached (Adam)" counts the same after Phase II as ``qaoa.solve`` runs it by
default (Adam, lr 0.01, 200 steps). Then the p = 2 QAOA initialisers against the fixed angles on larger
graphs (transfer, ``--transfer-sizes``).

Differences are in points (0.01 of relative error), as the meta-learning issue states its goals, for
the worst seed and both sets: Phase I within 0.2 points of the ansatz optimum at p = 2, 0.5 at p = 3..5,
0.3 for DC-QAOA p = 2; Phase II reaching the ansatz optimum on every graph at p = 2 (QAOA and DC-QAOA);
transfer at least as good as the fixed angles minus 0.3 points; DC-QAOA p = 2 training under 8 minutes.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import time
from typing import Iterator

import torch
from _qaoa_test_graphs import OPTIMA_FILE, graph_sets, load_optima, reference_errors

from applications.qaoa import (
    FIXED_ANGLES_3_REGULAR,
    MetaOptimizer,
    fixed_angles,
    linear_ramp,
    make_ansatz,
    pretrained,
    random_regular_maxcut,
    relative_error,
    shipped,
    solve,
    two_phase,
)
from applications.qaoa.solve import DEFAULT_LR
from ornn import tables

PHASE_ONE_GOALS = {(1, False): None, (2, False): 0.2, (3, False): 0.5, (4, False): 0.5, (5, False): 0.5, (2, True): 0.3}
PHASE_TWO_GOAL = {(2, False), (2, True)}  # "Phase II reaches the ansatz optimum on every test graph"
DC_SECONDS_GOAL = 480.0
REACHED = 0.001  # within 0.1 points of the ansatz optimum
SOLVE_STEPS = inspect.signature(solve).parameters["steps"].default  # `solve`'s Phase II: Adam, 200 steps
TRANSFER_SLACK = 0.003


def _errors(problems, energies) -> torch.Tensor:
    return torch.stack([relative_error(pr, e) for pr, e in zip(problems, energies)])


def _initialisers(args, p: int, dc: bool) -> Iterator[tuple[str, int, float, MetaOptimizer]]:
    """(cell, seed, training seconds, meta) for each initialiser measured at (p, dc)."""
    if not args.cells:
        meta = pretrained("3-regular", p, dc=dc)
        yield "lstm (shipped)", meta.notes["seed"], float("nan"), meta
        return
    for cell in args.cells:
        for seed in args.seeds:
            start = time.perf_counter()
            meta = shipped.build("3-regular", p, dc=dc, cell=cell, seed=seed)
            yield cell, seed, time.perf_counter() - start, meta


def _baselines(label: str, problems: list, p: int, dc: bool, optima: dict) -> dict:
    ansatzes = [make_ansatz(problem, p, dc=dc) for problem in problems]
    with torch.no_grad():
        ramp = _errors(problems, [a.energy(linear_ramp(a)) for a in ansatzes]).mean()
        fixed = float("nan")
        if not dc and p in FIXED_ANGLES_3_REGULAR:
            fixed = float(_errors(problems, [a.energy(fixed_angles(a)) for a in ansatzes]).mean())
    optimum, from_file = reference_errors(label, problems, ansatzes, p, dc, optima)
    return dict(ansatzes=ansatzes, ramp=float(ramp), fixed=fixed, optimum=optimum, from_file=from_file)


def _measure(meta: MetaOptimizer, problems: list, base: dict) -> dict:
    ansatzes = base["ansatzes"]
    result = two_phase(ansatzes, meta, steps=meta.steps)  # Phase II: SGD, lr 0.01, 100 steps
    phase_one = _errors(problems, result.phase_one_energies.detach())
    phase_two = _errors(problems, result.final_energies.detach())
    # the same Phase I, then Phase II as `solve` runs it by default
    adam = two_phase(
        ansatzes, meta, steps=meta.steps, optimizer="adam", lr=DEFAULT_LR["adam"], phase_two_steps=SOLVE_STEPS
    )
    phase_two_adam = _errors(problems, adam.final_energies.detach())
    return dict(
        phase_one=float(phase_one.mean()),
        phase_two=float(phase_two.mean()),
        reached=int((phase_two - base["optimum"] <= REACHED).sum()),
        reached_adam=int((phase_two_adam - base["optimum"] <= REACHED).sum()),
        evaluations=result.phase_one.evaluations,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", nargs="*", default=[], help="train these cells (default: the shipped files)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (with --cells)")
    parser.add_argument("--p", type=int, nargs="*", default=[1, 2, 3, 4, 5], help="QAOA depths (none: DC-QAOA only)")
    parser.add_argument("--dc-p", type=int, nargs="*", default=[2], help="DC-QAOA depths")
    parser.add_argument("--graphs", type=int, default=16)
    parser.add_argument("--transfer-sizes", type=int, nargs="*", default=[12, 14, 16, 18, 20])
    parser.add_argument("--json", default=None, help="also write every figure here")
    args = parser.parse_args()

    sets = graph_sets(args.graphs)
    optima = load_optima()
    transfer = {
        n: [random_regular_maxcut(n, seed=20_000 + 100 * n + i) for i in range(max(1, args.graphs // 2))]
        for n in args.transfer_sizes
    }
    print(f"test sets: {args.graphs} unseen graphs and the 8 of compare --seed 0 (n = 10)", flush=True)
    rows, record, transfer_rows = [], [], []
    for p, dc in [(p, False) for p in args.p] + [(p, True) for p in args.dc_p]:
        name = f"{'DC-QAOA' if dc else 'QAOA'} p={p}"
        base = {label: _baselines(label, problems, p, dc, optima) for label, problems in sets.items()}
        for label, b in base.items():
            print(f"{name}, {label}: {b['from_file']} of {len(sets[label])} references from {OPTIMA_FILE.name}")
        for cell, seed, seconds, meta in _initialisers(args, p, dc):
            for label, problems in sets.items():
                m = _measure(meta, problems, base[label])
                optimum = float(base[label]["optimum"].mean())
                entry = dict(
                    ansatz=name, p=p, dc=dc, cell=cell, seed=seed, set=label, graphs=len(problems), seconds=seconds, **m
                )
                entry.update(rule=meta.proposal, selection=meta.notes.get("selection"))
                entry.update(ramp=base[label]["ramp"], fixed=base[label]["fixed"], optimum=optimum)
                entry["references_from_file"] = base[label]["from_file"]
                entry["gap_points"] = 100 * (m["phase_one"] - optimum)
                record.append(entry)
                rows.append(
                    {
                        "ansatz": name,
                        "cell": cell,
                        "seed": seed,
                        "rule": meta.proposal,
                        "set": f"{label} ({len(problems)})",
                        "Phase I": f"{m['phase_one']:.4f}",
                        "ramp": f"{entry['ramp']:.4f}",
                        "fixed": f"{entry['fixed']:.4f}",
                        "optimum": f"{optimum:.4f}",
                        "gap pts": f"{entry['gap_points']:.2f}",
                        "Phase II": f"{m['phase_two']:.4f}",
                        "reached": f"{m['reached']}/{len(problems)}",
                        "reached (Adam)": f"{m['reached_adam']}/{len(problems)}",
                        "train s": f"{seconds:.0f}",
                    }
                )
                print(tables.format_table(rows[-1:]), flush=True)
            if (p, dc) == (2, False):
                transfer_rows += _transfer(meta, cell, seed, transfer)

    print("\nper initialiser and test set (mean relative error; lower is better):\n" + tables.format_table(rows))
    verdicts = _verdicts(record, transfer_rows)
    if transfer_rows:
        print("\ntransfer, QAOA p = 2 (trained on n = 8, 10):\n" + tables.format_table(transfer_rows))
    print("\nworst seed and set against the goals:\n" + tables.format_table(verdicts))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"per_run": record, "transfer": transfer_rows, "verdicts": verdicts}, handle, indent=2)


def _transfer(meta: MetaOptimizer, cell: str, seed: int, transfer: dict) -> list[dict]:
    rows = []
    for n, graphs in transfer.items():
        ansatzes = [make_ansatz(problem, 2) for problem in graphs]
        with torch.no_grad():
            learned = float(_errors(graphs, meta(ansatzes, steps=meta.steps).best_energies).mean())
            fixed = float(_errors(graphs, [a.energy(fixed_angles(a)) for a in ansatzes]).mean())
        rows.append(
            {
                "cell": cell,
                "seed": seed,
                "n": n,
                "graphs": len(graphs),
                "Phase I": f"{learned:.4f}",
                "fixed": f"{fixed:.4f}",
                "allowed (fixed + 0.3 pts)": f"{fixed + TRANSFER_SLACK:.4f}",
                "verdict": "met" if learned <= fixed + TRANSFER_SLACK else "NOT met",
            }
        )
        print(tables.format_table(rows[-1:]), flush=True)
    return rows


def _verdicts(record: list[dict], transfer_rows: list[dict]) -> list[dict]:
    verdicts = []
    for key in dict.fromkeys((r["ansatz"], r["p"], r["dc"], r["cell"]) for r in record):
        mine = [r for r in record if (r["ansatz"], r["p"], r["dc"], r["cell"]) == key]
        name, p, dc, cell = key
        worst = max(mine, key=lambda r: r["gap_points"])
        goal = PHASE_ONE_GOALS.get((p, dc))
        checks = [] if goal is None else [worst["gap_points"] <= goal]
        unreached = sum(r["graphs"] - r["reached"] for r in mine)
        unreached_adam = sum(r["graphs"] - r["reached_adam"] for r in mine)
        if (p, dc) in PHASE_TWO_GOAL:
            checks.append(unreached == 0)
        slowest = max(r["seconds"] for r in mine)
        if dc and not math.isnan(slowest):  # NaN for the shipped files: no training was timed
            checks.append(slowest <= DC_SECONDS_GOAL)
        if (p, dc) == (2, False):
            checks += [t["verdict"] == "met" for t in transfer_rows if t["cell"] == cell]
        verdicts.append(
            {
                "ansatz": name,
                "cell": cell,
                "seeds": len({r["seed"] for r in mine}),
                "worst gap pts": f"{worst['gap_points']:.2f}",
                "goal pts": "-" if goal is None else goal,
                "Phase II misses": unreached,
                "misses (Adam)": unreached_adam,
                "slowest train s": f"{slowest:.0f}",
                "verdict": "-" if not checks else ("met" if all(checks) else "NOT met"),
            }
        )
    return verdicts


if __name__ == "__main__":
    main()
