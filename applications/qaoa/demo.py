"""The `ornn demo` QAOA section: a 10-node 3-regular graph, QAOA and DC-QAOA at p = 2,
optimised with Adam from random starts and from the baselines; relative error and
approximation ratio after optimisation (the learned initialiser joins with the meta-optimiser)."""

from __future__ import annotations

from typing import Any


from .ansatz import DCQAOA, QAOA
from .baselines import fixed_angles, linear_ramp, random_init
from .metrics import approximation_ratio, relative_error
from .optimize import optimize
from .problems import random_regular_maxcut


def qaoa_section(config: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    from ornn.demo import format_table

    quick = config.get("quick", False)
    seed = config.get("seed", 0)
    steps = 30 if quick else 100
    problem = random_regular_maxcut(10, seed=seed)
    rows = []
    for ansatz in (QAOA(problem, 2), DCQAOA(problem, 2)):
        starts = {
            "random (mean of 8)": random_init(ansatz, 8, seed=seed),
            "linear ramp (TQA)": linear_ramp(ansatz)[None],
            "fixed angles (Wurtz-Lykov)": fixed_angles(ansatz)[None],
        }
        for name, init in starts.items():
            result = optimize(ansatz, init, optimizer="adam", lr=0.05, steps=steps)
            start_ratio = approximation_ratio(problem, result.energies[0]).mean()
            final = result.final_energies
            rows.append({
                "ansatz": "DC-QAOA (zy)" if isinstance(ansatz, DCQAOA) else "QAOA",
                "start": name,
                "ratio at start": float(start_ratio),
                f"ratio after {steps} Adam steps": float(approximation_ratio(problem, final).mean()),
                "relative error": float(relative_error(problem, final).mean()),
            })
    title = f"MaxCut on a 10-node 3-regular graph (seed {seed}, max cut {problem.max_cut:g}), p = 2"
    return title + "\n" + format_table(rows), rows
