"""``ornn demo``: a short, CPU-only tour of the core, written to a run folder.

1. the preset tableaus and their stability intervals (with the |R| = 1 boundaries plotted);
2. ``ODECell`` integrating dy/dt = tanh(W y + b) on a fixed grid next to
   ``torchdiffeq.odeint`` with the matching method, and the largest relative gap;
3. one :class:`~ornn.stability.StabilityReport` of an RK4 recurrent cell.

Later parts of the toolkit add their own sections with :func:`register_section`
(the cell zoo adds its family table). The core does not import them: the demo loads
the sibling packages named in ``EXTENSIONS`` when they are installed, and each
registers its sections on import.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import time
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from . import _io, stability
from .ode import ODECell, RKCell
from .tableau import tableau, tableau_names

#: sibling packages that register demo sections on import (loaded when installed)
EXTENSIONS = ("cells", "applications", "proofs")

#: (title, fn(config) -> (text, metrics)); filled by register_section
_SECTIONS: list[tuple[str, Callable[[dict[str, Any]], tuple[str, Any]]]] = []


def register_section(title: str, fn: Callable[[dict[str, Any]], tuple[str, Any]]) -> None:
    """Add a demo section: ``fn(config)`` returns the text to print and its metrics (JSON-able)."""
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {fn!r}")
    if all(existing != title for existing, _ in _SECTIONS):
        _SECTIONS.append((title, fn))


def _load_extensions() -> None:
    for name in EXTENSIONS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # the package exists but something it needs is missing
                raise


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


def compare_with_torchdiffeq(*, dim: int = 64, steps: int = 200, step_size: float = 0.05, seed: int = 0) -> list[dict[str, Any]]:
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
        rows.append({"ornn": ours, "torchdiffeq": theirs, "max_relative_gap": gap, "ornn_s": ours_s, "torchdiffeq_s": theirs_s})
    return rows


def example_report(*, hidden: int = 16, steps: int = 60, seed: int = 0) -> stability.StabilityReport:
    """The stability report of an RK4 cell (h = 0.25) on random inputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cell = RKCell(4, hidden, tableau="rk4", step_size=0.25).double()
    inputs = torch.randn(steps, 2, 4, generator=generator, dtype=torch.float64)
    return stability.check(cell, inputs, generator=generator)


def format_table(rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    cells = [[_fmt(row[h]) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def run_demo(out: Optional[Path] = None, *, seed: int = 0, quick: bool = False, echo: Any = print) -> dict[str, Any]:
    """Run the tour, print it, write report.md / metrics.json / config.json / a PNG; return the metrics."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out is not None else Path("runs") / f"{stamp}-demo"
    config = {"seed": seed, "quick": quick, "out": str(out), "ode_dim": 32 if quick else 64, "ode_steps": 50 if quick else 200,
              "report_steps": 20 if quick else 60, "torch": torch.__version__}

    table = tableau_table()
    echo("== Tableaus: stability intervals on the real and imaginary axes ==")
    echo(format_table(table))

    comparisons = compare_with_torchdiffeq(dim=config["ode_dim"], steps=config["ode_steps"], seed=seed)
    echo("\n== ODECell vs torchdiffeq.odeint on dy/dt = tanh(W y + b), float64, fixed grid ==")
    echo(format_table(comparisons))
    matched = all(row["max_relative_gap"] <= MATCH_TOLERANCE for row in comparisons)
    echo(f"verdict: {'match' if matched else 'MISMATCH'} (tolerance {MATCH_TOLERANCE:g} relative)")

    report = example_report(steps=config["report_steps"], seed=seed)
    echo("\n== Stability report: RKCell(4, 16, tableau='rk4', step_size=0.25) on 2 random sequences ==")
    echo(str(report))

    _load_extensions()
    sections = []
    for title, fn in _SECTIONS:
        text, section_metrics = fn(config)
        echo(f"\n== {title} ==")
        echo(text)
        sections.append((title, text, section_metrics))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 5))
    stability.plot_stability_regions(tableau_names(), ax=ax)
    _io.save_figure(out / "stability_regions.png", figure, dpi=120, bbox_inches="tight")
    plt.close(figure)

    metrics = {"tableaus": table, "odecell_vs_torchdiffeq": comparisons, "odecell_matches": matched,
               "stability_report": report.to_dict(), "sections": {title: m for title, _, m in sections}}
    _io.write_json(out / "metrics.json", metrics)
    _io.write_json(out / "config.json", config)
    report_md = "\n".join(
        [
            "# ornn demo",
            "",
            f"Run {stamp}, seed {seed}{', quick' if quick else ''}.",
            "",
            "## Tableaus",
            "```",
            format_table(table),
            "```",
            "![stability regions](stability_regions.png)",
            "",
            "## ODECell vs torchdiffeq",
            "```",
            format_table(comparisons),
            "```",
            f"Verdict: {'match' if matched else 'MISMATCH'} (tolerance {MATCH_TOLERANCE:g}).",
            "",
            "## Stability report",
            "```",
            str(report),
            "```",
            "",
            *[line for title, text, _ in sections for line in (f"## {title}", "```", text, "```", "")],
        ]
    )
    _io.write_text(out / "report.md", report_md)
    echo(f"\nreport written to {out}/report.md")
    metrics["out"] = str(out)
    return metrics
