"""Executable checks of seed 002's claims and theorems.

Each proof is a function ``check(**options) -> ProofResult`` that states the claim in
our words, measures it on concrete instances, and gives an honest verdict; where the
measurement disagrees with the paper, ``notes`` says so. ``python -m proofs`` (or
``ornn prove``) prints the table and exits non-zero on a failed verdict.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from . import claim1, claim2, claim3, theorem1, theorem2, theorem3, theorem4
from .result import ProofResult

__all__ = ["ProofResult", "PROOFS", "run", "format_table", "claim1", "claim2", "claim3", "theorem1", "theorem2", "theorem3", "theorem4"]

#: one module per statement, each exposing check(**options) -> ProofResult
PROOFS: dict[str, Callable[..., ProofResult]] = {
    module.__name__.rsplit(".", 1)[-1]: module.check
    for module in (claim1, claim2, claim3, theorem1, theorem2, theorem3, theorem4)
}

#: smaller instances for `--quick` and the quick demo
QUICK_OPTIONS: dict[str, dict[str, Any]] = {
    "claim1": {"length": 8},
    "claim2": {"length": 10},
    "claim3": {"length": 20},
    "theorem1": {"steps": 2000},
    "theorem2": {"steps": 300},
    "theorem3": {"samples": 61},
    "theorem4": {"dts": (0.04, 0.02, 0.01), "stability_steps": 500},
}


def run(names: Optional[Sequence[str]] = None, *, quick: bool = False, progress: bool = False, **options: Any) -> list[ProofResult]:
    """Run the named proofs (all by default); ``options`` are passed to every selected proof."""
    selected = list(PROOFS) if not names else list(names)
    for name in selected:
        if name not in PROOFS:
            raise ValueError(f"name: unknown proof {name!r}; valid names are {', '.join(PROOFS)}")
    iterator = selected
    if progress:
        from tqdm import tqdm

        iterator = tqdm(selected, desc="proofs", unit="proof", leave=False)
    results = []
    for name in iterator:
        kwargs = {**(QUICK_OPTIONS[name] if quick else {}), **options}
        results.append(PROOFS[name](**kwargs))
    return results


def format_table(results: Sequence[ProofResult], *, markdown: bool = False) -> str:
    """One row per proof: name, statement source, key figure, verdict."""
    rows = [(r.name, r.source.split(",")[1].strip() if "," in r.source else r.source, r.key_figure, "holds" if r.verdict else "FAILS") for r in results]
    headers = ("proof", "source", "key figure", "verdict")
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def _demo_section(config: dict[str, Any]) -> Any:
    from ornn.demo import SectionResult

    results = run(quick=config.get("quick", False), progress=True)
    held = sum(r.verdict for r in results)
    failed = [r.name for r in results if not r.verdict]
    summary = [{"part": "proofs", "measure": "seed 002's claims and theorems as numerical checks", "ours": f"{held}/{len(results)} hold",
                "against": "failed: " + ", ".join(failed) if failed else "every verdict holds"}]
    return SectionResult(format_table(results), [r.to_dict() for r in results], summary=summary, passed=not failed)


from ornn.demo import register_section  # noqa: E402  (after the definitions it registers)

register_section("Proofs: seed 002's claims and theorems, measured", _demo_section, order=10)
