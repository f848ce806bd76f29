"""Tables and plots of a predictor's rollout against exact evolution (Zhang et al. Figs. 3, 5, 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ornn import _io

__all__ = ["summary_rows", "behind_persistence", "plot_metric", "plot_amplitudes", "plot_magnetisation"]


def summary_rows(evaluation: dict[int, dict[str, dict[str, list[float]]]], step: int) -> list[dict[str, Any]]:
    """One row per N at ``step``: MRE, fidelity and magnetisation error of the predictor and of persistence."""
    rows = []
    for n, per in sorted(evaluation.items()):
        p, q = per["predictor"], per["persistence"]
        rows.append(
            {
                "N": n,
                "MRE": p["mre"][step],
                "MRE persistence": q["mre"][step],
                "fidelity": p["fidelity"][step],
                "fidelity persistence": q["fidelity"][step],
                "|dm|": p["magnetisation_error"][step],
                "|dm| persistence": q["magnetisation_error"][step],
                "norm drift": p["norm_drift"][step],
                "beats persistence": "yes" if p["mre"][step] < q["mre"][step] else "no",
            }
        )
    return rows


def behind_persistence(rows: list[dict[str, Any]], mre: str = "MRE", reference: str = "MRE persistence") -> str:
    """One plain sentence: for which N the predictor's MRE is not below persistence's (rows of :func:`summary_rows`,
    or any rows with a "beats persistence" entry and the two MRE columns named ``mre`` and ``reference``)."""
    behind = [r for r in rows if r["beats persistence"] == "no"]
    if not behind:
        return "The predictor beats persistence (a lower MRE) for every N."
    listed = ", ".join(f"N = {r['N']} (MRE {r[mre]:.3g} against {r[reference]:.3g})" for r in behind)
    return f"**The predictor is behind persistence** for {listed}: repeating the initial state predicts better there."


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metric(evaluation: dict, metric: str, path: Path, *, ylabel: str, log: bool = False) -> Path:
    """``metric`` against the step for every N, predictor solid and persistence dashed (Fig. 5 for the MRE)."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 4.2))
    first = 1 if log else 0  # both curves start at exactly 0 on a log axis: drawn from step 1, with no kink
    for n, per in sorted(evaluation.items()):
        steps = range(first, len(per["predictor"][metric]))
        (line,) = ax.plot(steps, per["predictor"][metric][first:], label=f"N = {n} predictor")
        ax.plot(
            steps,
            per["persistence"][metric][first:],
            linestyle="--",
            color=line.get_color(),
            alpha=0.6,
            label=f"N = {n} persistence",
        )
    if log:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    ax.set_xlabel("step (dt = 0.002)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{ylabel}: predictor (solid) and persistence (dashed)")
    ax.legend(fontsize="small")
    _io.save_figure(path, figure, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_amplitudes(predicted: dict[int, torch.Tensor], exact: dict[int, torch.Tensor], path: Path) -> Path:
    """|amplitude| of every basis state against time, one panel per N (Fig. 3): exact solid, predicted dashed."""
    plt = _pyplot()
    sizes = sorted(predicted)
    figure, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.4), squeeze=False)
    for ax, n in zip(axes[0], sizes):
        for x in range(min(2**n, 8)):
            (line,) = ax.plot(exact[n][:, x].abs().cpu(), linewidth=1)
            ax.plot(predicted[n][:, x].detach().abs().cpu(), linestyle="--", color=line.get_color(), linewidth=1)
        ax.set_title(f"N = {n} (first {min(2**n, 8)} amplitudes)")
        ax.set_xlabel("step")
    axes[0][0].set_ylabel("|amplitude|")
    _io.save_figure(path, figure, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_magnetisation(predicted: dict[int, torch.Tensor], exact: dict[int, torch.Tensor], path: Path) -> Path:
    """m(t) = (1/N) sum <Z_i> of one state per N (Fig. 6): exact solid, predicted dashed."""
    from .metrics import magnetisation

    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 4.2))
    for n in sorted(predicted):
        (line,) = ax.plot(magnetisation(exact[n][None])[0].cpu(), label=f"N = {n}")
        ax.plot(magnetisation(predicted[n][None].detach())[0].cpu(), linestyle="--", color=line.get_color())
    ax.set_xlabel("step (dt = 0.002)")
    ax.set_ylabel("magnetisation m(t)")
    ax.set_title("m(t): exact (solid) and predicted (dashed), one held-out state per N")
    ax.legend(fontsize="small")
    _io.save_figure(path, figure, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
