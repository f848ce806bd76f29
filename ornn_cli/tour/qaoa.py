"""The `ornn demo` QAOA section.

1. A 10-node 3-regular graph, QAOA and DC-QAOA at p = 2, optimised with Adam from random
   starts, from the baselines and from the shipped pretrained initialiser (``qaoa.pretrained``, the best of
   its Phase I evaluations: 7, or 15 for DC-QAOA's two start rules and impulse probe): approximation ratio
   and relative error.
2. A small meta-training (LSTM and GRU on 8-node 3-regular graphs), for QAOA and for DC-QAOA,
   and the sequence-model paper's two-phase protocol on unseen 10-node graphs: learned against random and
   the baselines (linear ramp, fixed angles, and for QAOA the fitted degree rule).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from applications.qaoa.ansatz import DCQAOA, QAOA
from applications.qaoa.baselines import fixed_angles, linear_ramp, random_init
from applications.qaoa.metrics import approximation_ratio, relative_error
from applications.qaoa.optimize import optimize
from applications.qaoa.problems import random_regular_maxcut
from applications.qaoa.shipped import pretrained
from ornn import tables

from . import SectionResult


def qaoa_section(config: dict[str, Any]) -> SectionResult:
    quick = config.get("quick", False)
    seed = config.get("seed", 0)
    steps = 30 if quick else 100
    problem = random_regular_maxcut(10, seed=seed)
    rows = []
    device = config.get("device", "cpu")
    findings: list[tuple[str, bool]] = []
    for ansatz in (QAOA(problem, 2, device=device), DCQAOA(problem, 2, device=device)):
        meta = pretrained("3-regular", 2, dc=isinstance(ansatz, DCQAOA)).to(device)
        starts = {
            "random (mean of 8)": random_init(ansatz, 8, seed=seed),
            "linear ramp (TQA)": linear_ramp(ansatz)[None],
            "fixed angles (Wurtz-Lykov)": fixed_angles(ansatz)[None],
            "pretrained LSTM (Phase I)": meta.propose([ansatz]),
        }
        for name, init in starts.items():
            result = optimize(ansatz, init, optimizer="adam", lr=0.05, steps=steps)
            start_ratio = approximation_ratio(problem, result.energies[0]).mean()
            final = result.final_energies
            rows.append(
                {
                    "ansatz": "DC-QAOA (zy)" if isinstance(ansatz, DCQAOA) else "QAOA",
                    "start": name,
                    "ratio at start": float(start_ratio),
                    f"ratio after {steps} Adam steps": float(approximation_ratio(problem, final).mean()),
                    "relative error": float(relative_error(problem, final).mean()),
                }
            )
    for name in ("QAOA", "DC-QAOA (zy)"):
        mine = {r["start"]: r for r in rows if r["ansatz"] == name}
        learned, fixed = mine["pretrained LSTM (Phase I)"], mine["fixed angles (Wurtz-Lykov)"]
        findings.append(
            (
                f"{name}, fixed graph: the pretrained initialiser's start is at least the fixed angles' "
                f"({learned['ratio at start']:.4f} against {fixed['ratio at start']:.4f})",
                learned["ratio at start"] >= fixed["ratio at start"],
            )
        )
    title = f"MaxCut on a 10-node 3-regular graph (seed {seed}, max cut {problem.max_cut:g}), p = 2"
    text = title + "\n" + tables.format_table(rows)

    def start_and_end(prefix: str) -> str:  # "ratio at start / after Adam" of one start, QAOA; DC-QAOA
        done = f"ratio after {steps} Adam steps"
        return "; ".join(f"{r['ratio at start']:.3f} / {r[done]:.3f}" for r in rows if r["start"].startswith(prefix))

    summary = [
        {
            "part": "QAOA, fixed graph",
            "measure": f"ratio at start / after {steps} Adam steps from the pretrained initialiser, p = 2 (QAOA; DC-QAOA)",
            "ours": start_and_end("pretrained"),
            "against": "fixed angles " + start_and_end("fixed"),
        }
    ]
    metrics: dict[str, Any] = {"fixed_graph": rows}
    figures = []
    for dc in (False, True):
        name = "DC-QAOA" if dc else "QAOA"
        meta_rows, figure, verdicts = _meta_learning(config, dc)
        best_learned = max(
            (r for r in meta_rows if r["method"].startswith("learned")), key=lambda r: r["ratio after Phase I"]
        )["method"]
        text += (
            f"\n\n{name} meta-learned starts (LSTM, GRU trained on 8-node 3-regular graphs; Phase I: the best of its "
            f"evaluations), 5 unseen 10-node graphs, p = 2, then Phase II Adam:\n" + tables.format_table(meta_rows)
        )
        metrics[f"meta_learning_{'dc' if dc else 'qaoa'}"] = meta_rows
        figures += [figure] if figure else []
        phase_rows = {v["phase"]: v for v in verdicts if v["method"] == best_learned}
        for phase, v in phase_rows.items():
            ahead = v["verdict"].startswith(("ahead", "level"))
            findings.append(
                (f"{name}: {v['method']} is at least the best baseline after {phase} ({v['best baseline']})", ahead)
            )
        one, two = phase_rows["Phase I"], phase_rows["Phase II"]
        summary.append(
            {
                "part": f"{name} meta-learning",
                "measure": f"ratio after Phase I / Phase II on unseen n = 10, {best_learned}",
                "ours": f"{one['ratio']:.3f} / {two['ratio']:.3f}",
                "against": f"{one['best baseline']} {one['its ratio']:.3f} / {two['best baseline']} {two['its ratio']:.3f}",
                "verdict": "; ".join(f"{p}: {v['verdict']}" for p, v in phase_rows.items()),
            }
        )
    return SectionResult(text, metrics, figures, summary, findings=findings)


def _meta_learning(config: dict[str, Any], dc: bool) -> tuple[list[dict[str, Any]], Optional[str], list[dict]]:
    """LSTM and GRU meta-trained on 8-node 3-regular graphs, two-phase protocol on five unseen 10-node graphs."""
    from applications.qaoa.experiment import CompareConfig, run_compare

    quick = config.get("quick", False)
    config_meta = CompareConfig(
        kind="3-regular",
        train_sizes=(8,),
        test_sizes=(10,),
        test_per_size=5,
        p=2,
        steps=6,
        dc=dc,
        cells=("lstm", "gru"),
        hidden_size=12,
        epochs=3 if quick else 10,
        batches_per_epoch=4,  # a small sketch: the recipes' figures come from the pretrained files
        impulse_problems=0,  # no DC-QAOA impulse probe (its fit costs about 40 s per cell); the shipped file has one
        phase_two_optimizer="adam",
        phase_two_lr=0.05,
        phase_two_steps=20 if quick else 60,
        seed=config.get("seed", 0),
        device=config.get("device", "cpu"),
    )
    folder = "dc-qaoa-compare" if dc else "qaoa-compare"
    out = Path(config["out"]) / folder if "out" in config else None
    metrics = run_compare(config_meta, out, progress=True, echo=lambda *args: None)
    rows = [
        {
            "method": method,
            "Phase I evaluations": per_n[10]["phase_one_evaluations"],
            "ratio after Phase I": per_n[10]["ratio_phase_one_mean"],
            "ratio after Phase II": per_n[10]["ratio_phase_two_mean"],
            "iterations to convergence": per_n[10]["iterations_to_convergence"],
        }
        for method, per_n in metrics["results"].items()
    ]
    return rows, f"{folder}/relative_error.png" if out is not None else None, metrics["verdicts"]
