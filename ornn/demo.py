"""``ornn demo``: a short, CPU-only tour of every headline result, written to a run folder.

The core contributes three parts:

1. the preset tableaus and their stability intervals (with the |R| = 1 boundaries plotted);
2. ``ODECell`` integrating dy/dt = tanh(W y + b) on a fixed grid next to
   ``torchdiffeq.odeint`` with the matching method, and the largest relative gap;
3. one :class:`~ornn.stability.StabilityReport` of an RK4 recurrent cell.

Later parts of the toolkit add their own sections with :func:`register_section`: the
proofs table, the cell family table, QAOA/DC-QAOA meta-learning and the Ising predictors.
The core does not import them: the demo loads the sibling packages named in
``EXTENSIONS`` when they are installed, and each registers its sections on import.
A section returns a :class:`SectionResult`: its text, its metrics, the plots it wrote and
its rows of the final summary table.

The run folder (``runs/<timestamp>-demo`` unless ``out`` is given) receives report.md with
the plots embedded, metrics.json, config.json and the PNGs. An existing report there is
never overwritten unless ``overwrite=True``.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import torch

from . import _io, stability
from .ode import ODECell, RKCell
from .tableau import tableau, tableau_names

#: sibling packages that register demo sections on import (loaded when installed)
EXTENSIONS = ("cells", "applications", "proofs")

#: the final summary table's columns
SUMMARY_COLUMNS = ("part", "measure", "ours", "against")


@dataclass
class SectionResult:
    """What a demo section hands back.

    Attributes:
        text: printed under the section's title and copied into report.md.
        metrics: JSON-able figures, stored in metrics.json under the title.
        figures: PNG paths relative to the run folder that the section wrote; embedded in report.md.
        summary: rows of the final summary table, dicts with the keys of ``SUMMARY_COLUMNS``.
        passed: False when the section's verdict failed (the demo then exits 1).
    """

    text: str
    metrics: Any = None
    figures: list[str] = field(default_factory=list)
    summary: list[dict[str, str]] = field(default_factory=list)
    passed: bool = True


SectionFn = Callable[[dict[str, Any]], Union[SectionResult, tuple[str, Any]]]

#: (order, title, fn); filled by register_section, run in ascending order
_SECTIONS: list[tuple[int, str, SectionFn]] = []


def register_section(title: str, fn: SectionFn, *, order: int = 100) -> None:
    """Add a demo section; sections run in ascending ``order`` (the core's own three use 1 to 3).

    ``fn(config)`` returns a :class:`SectionResult` (or a plain ``(text, metrics)`` pair).
    ``config`` holds ``seed``, ``quick``, ``device`` and ``out`` (the run folder, a str).
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {fn!r}")
    if isinstance(order, bool) or not isinstance(order, int):
        raise TypeError(f"order: expected an integer, got {order!r}")
    if all(existing != title for _, existing, _ in _SECTIONS):
        _SECTIONS.append((order, title, fn))
        _SECTIONS.sort(key=lambda entry: entry[0])


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


def _section_result(value: Union[SectionResult, tuple[str, Any]]) -> SectionResult:
    if isinstance(value, SectionResult):
        return value
    text, metrics = value
    return SectionResult(text, metrics)


def run_demo(out: Optional[Path] = None, *, seed: int = 0, quick: bool = False, device: Any = "cpu",
             overwrite: bool = False, echo: Any = print) -> dict[str, Any]:
    """Run the tour, print it and a final summary table, write the run folder; return the metrics.

    Args:
        out: run folder (default ``runs/<timestamp>-demo``).
        seed: seeds every random draw; the same seed reproduces the run on the same machine.
        quick: smaller sizes (under a minute on two cores) for a first look.
        device: where the trained models run (``"cpu"``, ``"cuda"``); the reference computations stay in float64 on the CPU.
        overwrite: replace a report already in ``out`` instead of refusing.
    """
    from . import _checks

    started = time.perf_counter()
    _checks.positive_int("seed", seed, minimum=0)
    device = _checks.device("device", device)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out is not None else Path("runs") / f"{stamp}-demo"
    _io.check_run_folder(out, "report.md", overwrite=overwrite, resumable=False)
    config = {"seed": seed, "quick": quick, "device": str(device), "out": str(out), "ode_dim": 32 if quick else 64,
              "ode_steps": 50 if quick else 200, "report_steps": 20 if quick else 60, "torch": torch.__version__}
    _load_extensions()
    sections = []
    for _, title, fn in _SECTIONS:
        result = _section_result(fn(config))
        sections.append((title, result))
        echo(("\n" if len(sections) > 1 else "") + f"== {title} ==")  # a blank line between sections
        echo(result.text)

    seconds = time.perf_counter() - started
    summary = [row for _, result in sections for row in result.summary]
    summary_text = format_table([{k: row.get(k, "") for k in SUMMARY_COLUMNS} for row in summary])
    passed = all(result.passed for _, result in sections)
    verdict = "every verdict holds" if passed else "FAILED: " + ", ".join(t for t, r in sections if not r.passed)
    echo(f"\n== Summary ({'quick, ' if quick else ''}seed {seed}, {device}, {seconds:.0f} s) ==")
    echo(summary_text)
    echo(verdict)

    metrics = {"sections": {title: result.metrics for title, result in sections}, "summary": summary,
               "passed": passed, "seconds": seconds}
    _io.write_json(out / "metrics.json", metrics)
    _io.write_json(out / "config.json", config)
    lines = ["# ornn demo", "", f"Run {stamp}, seed {seed}, device {device}{', quick' if quick else ''}, {seconds:.0f} s "
             f"(torch {torch.__version__}). {verdict.capitalize()}.", "", "## Summary", "", _markdown(summary), ""]
    for title, result in sections:
        lines += [f"## {title}", "", "```", result.text, "```", ""]
        lines += [f"![{Path(name).stem}]({name})\n" for name in result.figures]
    _io.write_text(out / "report.md", "\n".join(lines))
    echo(f"\nreport written to {out}/report.md")
    metrics["out"] = str(out)
    return metrics


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _tableau_section(config: dict[str, Any]) -> SectionResult:
    plt = _plt()
    table = tableau_table()
    figure, ax = plt.subplots(figsize=(6, 5))
    stability.plot_stability_regions(tableau_names(), ax=ax)
    _io.save_figure(Path(config["out"]) / "stability_regions.png", figure, dpi=120, bbox_inches="tight")
    plt.close(figure)
    widest = max(table, key=lambda row: row["real_interval"])
    return SectionResult(format_table(table), table, ["stability_regions.png"],
                         [{"part": "tableaus", "measure": f"widest real stability interval of {len(table)} presets",
                           "ours": f"{widest['tableau']}: [-{widest['real_interval']:.3f}, 0]", "against": "|R(h lambda)| <= 1"}])


def _odecell_section(config: dict[str, Any]) -> SectionResult:
    comparisons = compare_with_torchdiffeq(dim=config["ode_dim"], steps=config["ode_steps"], seed=config["seed"])
    matched = all(row["max_relative_gap"] <= MATCH_TOLERANCE for row in comparisons)
    gap = max(row["max_relative_gap"] for row in comparisons)
    text = format_table(comparisons) + f"\nverdict: {'match' if matched else 'MISMATCH'} (tolerance {MATCH_TOLERANCE:g} relative)"
    return SectionResult(text, {"rows": comparisons, "matches": matched}, passed=matched,
                         summary=[{"part": "ODECell", "measure": "max relative gap to torchdiffeq.odeint (3 methods, float64)",
                                   "ours": f"{gap:.1e}", "against": f"tolerance {MATCH_TOLERANCE:g}"}])


def _report_section(config: dict[str, Any]) -> SectionResult:
    report = example_report(steps=config["report_steps"], seed=config["seed"])
    return SectionResult(str(report), report.to_dict())


register_section("Tableaus: stability intervals on the real and imaginary axes", _tableau_section, order=1)
register_section("ODECell vs torchdiffeq.odeint on dy/dt = tanh(W y + b), float64, fixed grid", _odecell_section, order=2)
register_section("Stability report: RKCell(4, 16, tableau='rk4', step_size=0.25) on 2 random sequences", _report_section, order=3)


def _markdown(rows: list[dict[str, str]]) -> str:
    lines = ["| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    lines += ["| " + " | ".join(str(row.get(k, "")).replace("|", "\\|") for k in SUMMARY_COLUMNS) + " |" for row in rows]
    return "\n".join(lines)
