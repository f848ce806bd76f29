"""Learned QAOA initialisers against the zero-query baselines on held-out Erdős–Rényi graphs (p = 1).

    python benchmarks/qaoa_initialisers.py [--cells lstm gru ...] [--seeds 0 1 2] [--per-size 10] [--json FILE]

Every cell is meta-trained with the defaults of ``ornn qaoa train`` (``meta_train``'s defaults: train n = 6..9,
T = 10, 20 epochs of 8 batches) for each seed, then run through Phase I on the two held-out families of
``applications.qaoa.experiment.held_out_graphs`` (connected G(n, j / n), n = 10..14, ``--per-size`` graphs per n;
sparse: j in {2, 3, 4}; dense: j in 3..n-1), drawn from a seed the training never uses. Phase I's figure is the
best of its T + 1 = 11 energy evaluations. Baselines on the same graphs, one evaluation each:

* the degree rule ``DegreeRule.fit`` on 16 training graphs (what ``ornn qaoa compare`` fits);
* the issue's degree rule gamma = 1.19 / sqrt(mean degree) - 0.078, beta = 0.314 (maximise-the-cut convention,
  so our gamma is its negative);
* the p = 1 optimum: multi-start L-BFGS (``ansatz_optimum``, 8 random starts plus the ramp).

Goals (issue 16): mean ratio >= the best zero-query baseline and within 0.002 of the optimum, for the worst seed,
on both families; default training under 3 minutes per cell on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from applications import qaoa
from applications.qaoa.experiment import TEST_FAMILIES, held_out_graphs
from ornn import tables

CELLS = ("lstm", "gru", "sru", "arnn", "qunn", "qlstm", "qk_lstm", "qfwp")
TRAIN_SIZES = (6, 7, 8, 9)
TEST_SIZES = (10, 11, 12, 13, 14)
GOAL_GAP, GOAL_SECONDS = 0.002, 180.0


def ratios(energies, optimum) -> float:
    return float((energies / optimum).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=list(CELLS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-size", type=int, default=10)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    tests = {}
    for family in TEST_FAMILIES:
        problems = held_out_graphs(family, TEST_SIZES, args.per_size)
        ansatzes = [qaoa.make_ansatz(q, 1) for q in problems]
        optimum = torch.tensor([q.optimum for q in problems], dtype=torch.float64)
        best = torch.tensor([qaoa.ansatz_optimum(a, starts=8)[0] for a in ansatzes], dtype=torch.float64)
        with torch.no_grad():
            issue_rule = torch.stack([a.energy(qaoa.degree_rule(a)) for a in ansatzes])
        tests[family] = dict(
            ansatzes=ansatzes,
            optimum=optimum,
            best=float((best / optimum).mean()),
            issue=ratios(issue_rule, optimum),
        )
        print(
            f"{family}: {len(problems)} graphs, p = 1 optimum ratio {tests[family]['best']:.4f}, issue's degree rule {tests[family]['issue']:.4f}",
            flush=True,
        )

    distribution = qaoa.ProblemDistribution("erdos-renyi", TRAIN_SIZES)
    rows, record = [], []
    for cell in args.cells:
        for seed in args.seeds:
            torch.manual_seed(seed)
            meta = qaoa.MetaOptimizer(cell, 2).double()
            start = time.perf_counter()
            history = qaoa.meta_train(meta, distribution, p=1, seed=seed)
            seconds = time.perf_counter() - start
            rule = qaoa.DegreeRule.fit(distribution.sample(16, seed=seed + 12345), 1, steps=150)
            for family, t in tests.items():
                with torch.no_grad():
                    trajectory = meta(t["ansatzes"], 10)
                    fitted = torch.stack([a.energy(rule(a)) for a in t["ansatzes"]])
                learned = ratios(trajectory.best_energies, t["optimum"])
                start_rule = ratios(trajectory.energies[0], t["optimum"])
                baseline = max(ratios(fitted, t["optimum"]), t["issue"])
                entry = dict(
                    cell=cell,
                    seed=seed,
                    family=family,
                    learned=learned,
                    start_rule=start_rule,
                    fitted_degree_rule=ratios(fitted, t["optimum"]),
                    issue_degree_rule=t["issue"],
                    optimum=t["best"],
                    evaluations=trajectory.evaluations,
                    seconds=seconds,
                    epochs=len(history.val_loss),
                )
                record.append(entry)
                rows.append(
                    {
                        "cell": cell,
                        "seed": seed,
                        "family": family,
                        "Phase I (best of 11)": f"{learned:.4f}",
                        "start rule": f"{start_rule:.4f}",
                        "degree rule (fit)": f"{entry['fitted_degree_rule']:.4f}",
                        "optimum": f"{t['best']:.4f}",
                        "gap": f"{t['best'] - learned:.4f}",
                        "vs best baseline": f"{learned - baseline:+.4f}",
                        "train s": f"{seconds:.0f}",
                    }
                )
                print(tables.format_table(rows[-1:]), flush=True)

    print("\nper seed:\n" + tables.format_table(rows))
    verdicts = []
    for cell in args.cells:
        for family in tests:
            mine = [r for r in record if r["cell"] == cell and r["family"] == family]
            worst = min(mine, key=lambda r: r["learned"])
            baseline = max(max(r["fitted_degree_rule"], r["issue_degree_rule"]) for r in mine)
            slowest = max(r["seconds"] for r in mine)
            ok = (
                worst["learned"] >= baseline
                and worst["optimum"] - worst["learned"] <= GOAL_GAP
                and slowest <= GOAL_SECONDS
            )
            verdicts.append(
                {
                    "cell": cell,
                    "family": family,
                    "worst seed ratio": f"{worst['learned']:.4f}",
                    "best baseline": f"{baseline:.4f}",
                    "optimum": f"{worst['optimum']:.4f}",
                    "gap (goal <= 0.002)": f"{worst['optimum'] - worst['learned']:.4f}",
                    "slowest training s (goal <= 180)": f"{slowest:.0f}",
                    "verdict": "meets" if ok else "FAILS",
                }
            )
    print("\nworst seed against the goals:\n" + tables.format_table(verdicts))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"per_seed": record, "verdicts": verdicts}, handle, indent=2)


if __name__ == "__main__":
    main()
