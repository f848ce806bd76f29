"""The tour's proof table: the unification paper's claims and theorems as numerical checks."""

from __future__ import annotations

from typing import Any

import proofs

from . import SectionResult


def proofs_section(config: dict[str, Any]) -> SectionResult:
    results = proofs.run(quick=config.get("quick", False), progress=True)
    verdicts = [v for r in results for v in r.verdicts]
    held = sum(v.holds for v in verdicts)
    summary = [
        {
            "part": "proofs",
            "measure": "the unification paper's claims, one verdict each",
            "ours": f"{held}/{len(verdicts)} hold",
            "against": ("failing: " + ", ".join(_counted(r.name for r in results for _ in r.failed)))
            if held < len(verdicts)
            else "",
            "verdict": "holds" if held == len(verdicts) else f"{len(verdicts) - held} fail",
        }
    ]
    text = proofs.format_table(results) + "\n" + proofs.summary_line(results)
    # a refuted claim of the paper is a finding, not a failed run: the section passes when the proofs ran
    findings = [(f"{r.name}: {v.claim}", v.holds) for r in results for v in r.verdicts]
    return SectionResult(text, [r.to_dict() for r in results], summary=summary, findings=findings)


def _counted(names) -> list[str]:
    """['claim1', 'claim1', 'theorem4'] -> ['claim1 (x2)', 'theorem4'], in order of first appearance."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [name if n == 1 else f"{name} (x{n})" for name, n in counts.items()]
