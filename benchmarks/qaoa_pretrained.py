"""The shipped initialisers (``applications.qaoa.pretrained``) on 3-regular graphs they never saw.

    cd benchmarks && python qaoa_pretrained.py [--graphs 8] [--transfer-sizes 12 14 16]

For each shipped 3-regular recipe (p = 1, 2, 3 QAOA and p = 2 DC-QAOA), on ``--graphs`` (16) random
3-regular graphs with n = 10 (seeds from 10,000, disjoint from the training draws): the mean
relative error (F - E_0) / |E_0| after Phase I (the best of its T + 1 = 7 evaluations), of the
linear ramp, of Wurtz & Lykov's fixed angles where they are tabulated, and of the ansatz optimum
(``ansatz_optimum``: multi-start L-BFGS). Then the p = 2 QAOA initialiser against the fixed angles
on larger graphs (transfer), and every recipe on the 8 test graphs of ``ornn qaoa compare --kind
3-regular --per-size 8 --seed 0`` (a second, independent set: 8 graphs move the mean gap by
several tenths of a point). Phase II (the sequence-model paper's protocol, ``two_phase``'s
defaults: SGD, lr 0.01, 100 steps) then starts from the best Phase I point; "reached" counts the
graphs it brings within 0.1 points of the ansatz optimum. Differences are in points (0.01 of relative error), as the goals
of the meta-learning issue state them: within 0.2 points of the ansatz optimum at p = 2, 0.5 at
p = 3, 0.3 for DC-QAOA; transfer at least as good as the fixed angles minus 0.3 points.
"""

from __future__ import annotations

import argparse

import torch

from applications.qaoa import (
    FIXED_ANGLES_3_REGULAR,
    ProblemDistribution,
    ansatz_optimum,
    fixed_angles,
    linear_ramp,
    make_ansatz,
    pretrained,
    random_regular_maxcut,
    relative_error,
    two_phase,
)


def _mean_errors(problems, energies) -> float:
    return float(torch.stack([relative_error(pr, e) for pr, e in zip(problems, energies)]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graphs", type=int, default=16)
    parser.add_argument("--transfer-sizes", type=int, nargs="+", default=[12, 14, 16])
    args = parser.parse_args()
    unseen = [random_regular_maxcut(10, seed=10_000 + i) for i in range(args.graphs)]
    compare_set = ProblemDistribution("3-regular", (10,)).sample(8, seed=10)  # run_compare's draw at seed 0
    for label, problems in (
        (f"{args.graphs} unseen graphs", unseen),
        ("the 8 test graphs of compare --seed 0", compare_set),
    ):
        _table(label, problems)
    _transfer(args)


def _table(label: str, problems: list) -> None:
    goals = {(1, False): None, (2, False): 0.2, (3, False): 0.5, (2, True): 0.3}
    print(f"\n3-regular n = 10, {label}: mean relative error (lower is better)")
    print(
        f"{'ansatz':<12} {'Phase I':>9} {'ramp':>9} {'fixed':>9} {'optimum':>9} {'gap pts':>8} {'goal':>6}  "
        f"{'verdict':<8} {'Phase II':>9} {'reached':>8}"
    )
    for (p, dc), goal in goals.items():
        meta = pretrained("3-regular", p, dc=dc)
        ansatzes = [make_ansatz(problem, p, dc=dc) for problem in problems]
        with torch.no_grad():
            learned = _mean_errors(problems, meta(ansatzes, steps=meta.steps).best_energies)
            ramp = _mean_errors(problems, [a.energy(linear_ramp(a)) for a in ansatzes])
            fixed = float("nan")
            if not dc and p in FIXED_ANGLES_3_REGULAR:
                fixed = _mean_errors(problems, [a.energy(fixed_angles(a)) for a in ansatzes])
        optimum_energies = [ansatz_optimum(a)[0] for a in ansatzes]
        optimum = _mean_errors(problems, optimum_energies)
        final = two_phase(ansatzes, meta, steps=meta.steps).final_energies.detach()  # Phase II: SGD, lr 0.01, 100 steps
        phase_two = _mean_errors(problems, final)
        reached = sum(
            float(relative_error(pr, f) - relative_error(pr, o)) <= 0.001
            for pr, f, o in zip(problems, final, optimum_energies)
        )
        gap = 100 * (learned - optimum)
        verdict = "-" if goal is None else ("met" if gap <= goal else "NOT met")
        name = f"{'DC-QAOA' if dc else 'QAOA'} p={p}"
        print(
            f"{name:<12} {learned:>9.4f} {ramp:>9.4f} {fixed:>9.4f} {optimum:>9.4f} {gap:>8.2f} "
            f"{'-' if goal is None else goal:>6}  {verdict:<8} {phase_two:>9.4f} {reached:>5}/{len(problems)}",
            flush=True,
        )


def _transfer(args: argparse.Namespace) -> None:
    meta = pretrained("3-regular", 2)
    print(f"\nTransfer, QAOA p = 2 (trained on n in 8, 10), {args.graphs // 2} graphs per size")
    print(f"{'n':>4} {'Phase I':>9} {'fixed':>9} {'allowed (fixed + 0.3 pts)':>26}  verdict")
    for n in args.transfer_sizes:
        graphs = [random_regular_maxcut(n, seed=20_000 + 100 * n + i) for i in range(max(1, args.graphs // 2))]
        ansatzes = [make_ansatz(problem, 2) for problem in graphs]
        with torch.no_grad():
            learned = _mean_errors(graphs, meta(ansatzes, steps=meta.steps).best_energies)
            fixed = _mean_errors(graphs, [a.energy(fixed_angles(a)) for a in ansatzes])
        verdict = "met" if learned <= fixed + 0.003 else "NOT met"
        print(f"{n:>4} {learned:>9.4f} {fixed:>9.4f} {fixed + 0.003:>26.4f}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
