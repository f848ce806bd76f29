"""The `ornn demo` QAOA section.

1. A 10-node 3-regular graph, QAOA and DC-QAOA at p = 2, optimised with Adam from random
   starts and from the baselines: approximation ratio and relative error.
2. A small meta-training (LSTM and GRU on 8-node 3-regular graphs) and seed 001's two-phase
   protocol on unseen 10-node graphs, learned against random and the baselines.
"""

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
    text = title + "\n" + format_table(rows)

    # a small meta-training: LSTM and GRU on 3-regular graphs of 8 nodes, tested on unseen 10-node graphs
    from pathlib import Path

    from .experiment import CompareConfig, run_compare

    config_meta = CompareConfig(kind="3-regular", train_sizes=(8,), test_sizes=(10,), test_per_size=5, p=2, steps=6,
                                cells=("lstm", "gru"), hidden_size=12, epochs=3 if quick else 10, batches_per_epoch=4,
                                meta_optimizer="rmsprop", meta_lr=0.01,  # fast for this short, small training
                                batch_size=8, phase_two_optimizer="adam", phase_two_lr=0.05,
                                phase_two_steps=20 if quick else 60, seed=seed)
    out = Path(config["out"]) / "qaoa-compare" if "out" in config else None
    metrics = run_compare(config_meta, out, progress=False, echo=lambda *args: None)
    meta_rows = [{"method": method, "ratio after Phase I": per_n[10]["ratio_phase_one_mean"],
                  "ratio after Phase II": per_n[10]["ratio_phase_two_mean"],
                  "iterations to convergence": per_n[10]["iterations_to_convergence"]}
                 for method, per_n in metrics["results"].items()]
    text += ("\n\nMeta-learned starts (LSTM, GRU trained on 8-node 3-regular graphs; T = 6 proposals), "
             f"5 unseen 10-node graphs, p = 2, Phase II Adam {config_meta.phase_two_steps} steps:\n" + format_table(meta_rows))
    return text, {"fixed_graph": rows, "meta_learning": meta_rows}
