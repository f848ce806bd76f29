"""The tour's proof table: the unification paper's claims and theorems as numerical checks."""

from __future__ import annotations

from typing import Any

import proofs

from . import SectionResult


def proofs_section(config: dict[str, Any]) -> SectionResult:
    results = proofs.run(quick=config.get("quick", False), progress=True)
    held = sum(r.verdict for r in results)
    failed = [r.name for r in results if not r.verdict]
    summary = [
        {
            "part": "proofs",
            "measure": "the unification paper's claims and theorems as numerical checks",
            "ours": f"{held}/{len(results)} hold",
            "against": "failed: " + ", ".join(failed) if failed else "every verdict holds",
        }
    ]
    return SectionResult(
        proofs.format_table(results), [r.to_dict() for r in results], summary=summary, passed=not failed
    )
