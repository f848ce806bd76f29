"""``ornn demo``: a short, CPU-only tour of every headline result, written to a run folder.

The tour is the table :data:`SECTIONS`: each entry is a title and the function
(``module:name`` under this package) that runs it. A section takes the run's config
(``seed``, ``quick``, ``device``, ``out``) and returns a :class:`SectionResult`: its text,
its metrics, the plots it wrote, its rows of the final summary table and its findings (each a
claim of a paper, or of ours such as "the learned start beats the best zero-query baseline",
with whether the measurement supports it). The last line counts the findings that hold and
names those that fail; a failed finding is a result, not a failed run. Adding a section
is one entry here; no library package knows about the tour.

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
from typing import Any, Callable, Optional

import torch

from ornn import _checks, _io, tables

__all__ = ["SectionResult", "SECTIONS", "SUMMARY_COLUMNS", "findings_line", "run_demo", "section_function"]

#: the final summary table's columns
SUMMARY_COLUMNS = ("part", "measure", "ours", "against", "verdict")

#: the tour, in order: (title, "module:function" under ornn_cli.tour)
SECTIONS: tuple[tuple[str, str], ...] = (
    ("Tableaus: stability intervals on the real and imaginary axes", "core:tableau_section"),
    ("ODECell vs torchdiffeq.odeint on dy/dt = tanh(W y + b), float64, fixed grid", "core:odecell_section"),
    ("Stability report: RKCell(4, 16, tableau='rk4', step_size=0.25) on 2 random sequences", "core:report_section"),
    ("Proofs: the unification paper's claims and theorems, measured", "proofs:proofs_section"),
    ("Cells: computed (n, t), the paper's count, parameters, stability verdict", "cells:family_section"),
    ("QAOA and DC-QAOA: random starts, baselines and meta-learned starts", "qaoa:qaoa_section"),
    ("Ising-chain dynamics: a small predictor against exact evolution and persistence", "dynamics:dynamics_section"),
)


@dataclass
class SectionResult:
    """What a demo section hands back.

    Attributes:
        text: printed under the section's title and copied into report.md.
        metrics: JSON-able figures, stored in metrics.json under the title.
        figures: PNG paths relative to the run folder that the section wrote; embedded in report.md.
        summary: rows of the final summary table, dicts with the keys of ``SUMMARY_COLUMNS``.
        findings: (claim, holds) pairs: what the section measured against a claim or a baseline.
        passed: False when our own computation failed its check (the demo then exits 1), e.g. a
            mismatch with torchdiffeq; a finding that does not hold leaves it True.
    """

    text: str
    metrics: Any = None
    figures: list[str] = field(default_factory=list)
    summary: list[dict[str, str]] = field(default_factory=list)
    findings: list[tuple[str, bool]] = field(default_factory=list)
    passed: bool = True


def findings_line(findings: list[tuple[str, bool]]) -> str:
    """'k of m findings hold; failing: ...' (the demo's last line)."""
    held = sum(holds for _, holds in findings)
    failing = [claim for claim, holds in findings if not holds]
    return f"{held} of {len(findings)} findings hold" + ("; failing: " + "; ".join(failing) if failing else "")


def section_function(target: str) -> Callable[[dict[str, Any]], SectionResult]:
    """The function a :data:`SECTIONS` entry names (``"module:function"``)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def run_demo(
    out: Optional[Path] = None,
    *,
    seed: int = 0,
    quick: bool = False,
    device: Any = "cpu",
    overwrite: bool = False,
    echo: Any = print,
) -> dict[str, Any]:
    """Run the tour, print it and a final summary table, write the run folder; return the metrics.

    Args:
        out: run folder (default ``runs/<timestamp>-demo``).
        seed: seeds every random draw; the same seed reproduces the run on the same machine.
        quick: smaller sizes (under a minute on two cores) for a first look.
        device: where the trained models run (``"cpu"``, ``"cuda"``); the reference computations stay in float64 on the CPU.
        overwrite: replace a report already in ``out`` instead of refusing.
    """
    started = time.perf_counter()
    _checks.positive_int("seed", seed, minimum=0)
    device = _checks.device("device", device)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out is not None else Path("runs") / f"{stamp}-demo"
    _io.check_run_folder(out, "report.md", overwrite=overwrite, resumable=False)
    config = {
        "seed": seed,
        "quick": quick,
        "device": str(device),
        "out": str(out),
        "ode_dim": 32 if quick else 64,
        "ode_steps": 50 if quick else 200,
        "report_steps": 20 if quick else 60,
        "torch": torch.__version__,
    }
    sections = []
    for title, target in SECTIONS:
        result = section_function(target)(config)
        sections.append((title, result))
        echo(("\n" if len(sections) > 1 else "") + f"== {title} ==")  # a blank line between sections
        echo(result.text)

    seconds = time.perf_counter() - started
    summary = [{k: row.get(k, "") for k in SUMMARY_COLUMNS} for _, result in sections for row in result.summary]
    passed = all(result.passed for _, result in sections)
    findings = [finding for _, result in sections for finding in result.findings]
    verdict = findings_line(findings)
    if not passed:
        verdict = "FAILED: " + ", ".join(t for t, r in sections if not r.passed) + "; " + verdict
    echo(f"\n== Summary ({'quick, ' if quick else ''}seed {seed}, {device}, {seconds:.0f} s) ==")
    echo(tables.format_table(summary, columns=SUMMARY_COLUMNS))
    echo(verdict)

    metrics = {
        "sections": {title: result.metrics for title, result in sections},
        "summary": summary,
        "findings": [{"claim": claim, "holds": holds} for claim, holds in findings],
        "passed": passed,
        "seconds": seconds,
    }
    _io.write_json(out / "metrics.json", metrics)
    _io.write_json(out / "config.json", config)
    lines = [
        "# ornn demo",
        "",
        f"Run {stamp}, seed {seed}, device {device}{', quick' if quick else ''}, {seconds:.0f} s "
        f"(torch {torch.__version__}). {verdict[0].upper() + verdict[1:]}.",
        "",
        "## Summary",
        "",
        tables.format_table(summary, style="markdown", columns=SUMMARY_COLUMNS),
        "",
    ]
    for title, result in sections:
        lines += [f"## {title}", "", "```", result.text, "```", ""]
        lines += [f"![{Path(name).stem}]({name})\n" for name in result.figures]
    _io.write_text(out / "report.md", "\n".join(lines))
    echo(f"\nreport written to {out}/report.md")
    metrics["out"] = str(out)
    return metrics
