"""The tour's first three sections, from the core alone.

1. the preset tableaus and their stability intervals (with the |R| = 1 boundaries plotted);
2. ``ODECell`` integrating dy/dt = tanh(W y + b) on a fixed grid next to
   ``torchdiffeq.odeint`` with the matching method, and the largest relative gap;
3. one :class:`~ornn.stability.StabilityReport` of an RK4 recurrent cell.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ornn import _io, stability, tables
from ornn.ode import ODECell, RKCell
from ornn.tableau import tableau, tableau_names

from . import SectionResult, pyplot

#: ours -> torchdiffeq's fixed-grid method of the same tableau (its "rk4" is the 3/8 rule)
TORCHDIFFEQ_METHODS = {"euler": "euler", "midpoint": "midpoint", "rk4_38": "rk4"}
MATCH_TOLERANCE = 1e-12  # float64 relative gap allowed between the two integrators


def tableau_table() -> list[dict[str, Any]]:
    """One row per preset: stages, order, real and imaginary stability intervals, R(-1)."""
    rows = []
    for name in tableau_names():
        tab = tableau(name)
        rows.append(
            {
                "tableau": name,
                "stages": tab.stages,
                "order": tab.order,
                "real_interval": stability.real_stability_interval(tab),
                "imaginary_interval": stability.imaginary_stability_interval(tab),
                "R(-1)": float(stability.stability_function(tab, -1.0).real),
            }
        )
    return rows


def compare_with_torchdiffeq(
    *, dim: int = 64, steps: int = 200, step_size: float = 0.05, seed: int = 0
) -> list[dict[str, Any]]:
    """Max relative gap between ``ODECell.solve`` and ``torchdiffeq.odeint`` (float64) per method."""
    from torchdiffeq import odeint

    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(dim, dim, generator=generator, dtype=torch.float64) / dim**0.5
    bias = torch.randn(dim, generator=generator, dtype=torch.float64)
    y0 = torch.randn(4, dim, generator=generator, dtype=torch.float64)

    def f(y: torch.Tensor) -> torch.Tensor:
        return torch.tanh(y @ weight.T + bias)

    rows = []
    for ours, theirs in TORCHDIFFEQ_METHODS.items():
        cell = ODECell(f, tableau=ours, step_size=step_size)
        start = time.perf_counter()
        path = cell.solve(y0, steps)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        reference = odeint(lambda t, y: f(y), y0, cell.times(steps), method=theirs)
        theirs_s = time.perf_counter() - start
        gap = float(((path - reference).abs().max() / reference.abs().max()).item())
        rows.append(
            {"ornn": ours, "torchdiffeq": theirs, "max_relative_gap": gap, "ornn_s": ours_s, "torchdiffeq_s": theirs_s}
        )
    return rows


def example_report(*, hidden: int = 16, steps: int = 60, seed: int = 0) -> stability.StabilityReport:
    """The stability report of an RK4 cell (h = 0.25) on random inputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cell = RKCell(4, hidden, tableau="rk4", step_size=0.25).double()
    inputs = torch.randn(steps, 2, 4, generator=generator, dtype=torch.float64)
    return stability.check(cell, inputs, generator=generator)


def tableau_section(config: dict[str, Any]) -> SectionResult:
    plt = pyplot()
    table = tableau_table()
    figure, ax = plt.subplots(figsize=(6, 5))
    stability.plot_stability_regions(tableau_names(), ax=ax)
    _io.save_figure(Path(config["out"]) / "stability_regions.png", figure, dpi=120, bbox_inches="tight")
    plt.close(figure)
    widest = max(table, key=lambda row: row["real_interval"])
    return SectionResult(
        tables.format_table(table),
        table,
        ["stability_regions.png"],
        [
            {
                "part": "tableaus",
                "measure": f"widest real stability interval of {len(table)} presets",
                "ours": f"{widest['tableau']}: [-{widest['real_interval']:.3f}, 0]",
                "against": "|R(h lambda)| <= 1",
            }
        ],
    )


def odecell_section(config: dict[str, Any]) -> SectionResult:
    comparisons = compare_with_torchdiffeq(dim=config["ode_dim"], steps=config["ode_steps"], seed=config["seed"])
    matched = all(row["max_relative_gap"] <= MATCH_TOLERANCE for row in comparisons)
    gap = max(row["max_relative_gap"] for row in comparisons)
    text = (
        tables.format_table(comparisons)
        + f"\nverdict: {'match' if matched else 'MISMATCH'} (tolerance {MATCH_TOLERANCE:g} relative)"
    )
    return SectionResult(
        text,
        {"rows": comparisons, "matches": matched},
        passed=matched,
        summary=[
            {
                "part": "ODECell",
                "measure": "max relative gap to torchdiffeq.odeint (3 methods, float64)",
                "ours": f"{gap:.1e}",
                "against": f"tolerance {MATCH_TOLERANCE:g}",
            }
        ],
    )


def report_section(config: dict[str, Any]) -> SectionResult:
    report = example_report(steps=config["report_steps"], seed=config["seed"])
    return SectionResult(str(report), report.to_dict())
