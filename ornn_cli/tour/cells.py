"""The tour's cell table: every registered cell's (n, t), the paper's count, parameters and stability verdict."""

from __future__ import annotations

from typing import Any

from cells.family import family_table, summary

from . import SectionResult


def family_section(config: dict[str, Any]) -> SectionResult:
    quick = config.get("quick", False)
    rows = family_table(hidden_size=8 if quick else 16, steps=20 if quick else 50, seed=config.get("seed", 0))
    stable = sum(row["verdict"] == "stable" for row in rows)
    listed = [row for row in rows if not row["paper"].startswith("not in")]
    agree = sum(row["(n, t)"] == row["paper"].split(" ")[0] for row in listed)
    return SectionResult(
        summary(rows),
        rows,
        summary=[
            {
                "part": "cells",
                "measure": "stability verdict on random inputs (float64)",
                "ours": f"{stable}/{len(rows)} stable",
                "against": "",
            },
            {
                "part": "cells",
                "measure": "computed (n, t) equal to the unification paper's Table 1",
                "ours": f"{agree}/{len(listed)}",
                "against": "differences explained in docs/family_table.md",
            },
        ],
    )
