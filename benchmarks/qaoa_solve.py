"""`qaoa.solve` with its defaults on graphs it never saw, against the zero-query starts under the same Phase II.

    cd benchmarks && python qaoa_solve.py [--graphs 8] [--p 1 2 3]

For each family (3-regular n = 12 and 14; Erdős–Rényi n = 12, sparse j in {2, 3, 4} and dense j = 3..11, from
``held_out_graphs``' seed, which no training uses) and depth, every start runs through ``solve`` with the
default Phase II (Adam, lr 0.01, at most 200 steps, stopping when the energy moves by < 1e-6): ``pretrained``
(the default) against ``ramp``, and ``fixed-angles`` (3-regular) or ``degree-rule`` (p = 1). The table gives the
mean approximation ratio at the start (after Phase I) and at the end, the worst graph's final ratio, and the
mean evaluations (Phase I energy evaluations + Phase II steps). A verdict per row: whether the default's final
mean ratio is at least every other start's (to 1e-4), and whether it needed the fewest evaluations or more than
which start.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx

from applications.qaoa import solve
from applications.qaoa.experiment import held_out_graphs
from applications.qaoa.problems import random_regular_maxcut
from ornn import tables


def families(count: int) -> dict[str, list[nx.Graph]]:
    regular = {f"3-regular n={n}": [random_regular_maxcut(n, seed=20_000 + n * 100 + i).graph for i in range(count)]
               for n in (12, 14)}  # fmt: skip
    sparse = [q.graph for q in held_out_graphs("sparse", (12,), count)]
    dense = [q.graph for q in held_out_graphs("dense", (12,), count)]
    return {**regular, "erdos-renyi n=12 sparse": sparse, "erdos-renyi n=12 dense": dense}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", type=int, default=8, help="graphs per family (default 8)")
    parser.add_argument("--p", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    rows = []
    for family, graphs in families(args.graphs).items():
        regular = family.startswith("3-regular")
        for p in args.p:
            starts = (
                ["pretrained", "ramp"] + (["fixed-angles"] if regular else []) + (["degree-rule"] if p == 1 else [])
            )
            measured = {}
            for start in starts:
                began = time.perf_counter()
                results = [solve(graph, p, start=start) for graph in graphs]
                seconds = time.perf_counter() - began
                start_ratios = [r.start_approximation_ratio for r in results]
                finals = [r.approximation_ratio for r in results]
                measured[start] = {
                    "family": family,
                    "p": p,
                    "start": start,
                    "ratio at start": sum(start_ratios) / len(results),
                    "final ratio": sum(finals) / len(results),
                    "worst final": min(finals),
                    "evaluations": sum(r.evaluations for r in results) / len(results),
                    "how": results[0].start_method.split(",")[0],
                    "s": seconds,
                }
            default = measured["pretrained"]
            others = [m for s, m in measured.items() if s != "pretrained"]
            fewest = min(others, key=lambda m: m["evaluations"])
            level = all(default["final ratio"] >= m["final ratio"] - 1e-4 for m in others)
            if default["evaluations"] < fewest["evaluations"]:
                cost = ", fewest evaluations"
            elif default["evaluations"] == fewest["evaluations"]:
                cost = f", as few evaluations as {fewest['start']}"
            else:
                cost = f", MORE evaluations than {fewest['start']}"
            default["verdict"] = ("final ratio level or ahead" if level else "final ratio BEHIND") + cost
            rows += list(measured.values())
            print(tables.format_table(list(measured.values())), flush=True)
    print("\n" + tables.format_table(rows, style="markdown"))


if __name__ == "__main__":
    main()
