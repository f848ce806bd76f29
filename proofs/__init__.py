"""Executable checks of the claims and theorems of the unification paper.

"Unification of Recurrent Neural Network Architectures and Quantum Inspired Stable
Design", anonymous ICLR 2019 submission (OpenReview).

Each proof is a function ``check(**options) -> ProofResult`` that states the statement in
our words, measures it on concrete instances, and gives one :class:`Verdict` per claim the
statement makes (Theorem 4: the stability bound and the convergence order, separately); where
the measurement disagrees with the paper, the verdict says so and ``notes`` says why.
A claim of the paper that the measurement refutes is a finding, printed as failing, never as
holding; ``ornn prove`` exits 0 when the proofs ran (``--strict``: 1 when a claim fails).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ornn import tables

from . import claim1, claim2, claim3, theorem1, theorem2, theorem3, theorem4
from .result import ProofResult, Verdict

__all__ = [
    "ProofResult",
    "Verdict",
    "PROOFS",
    "run",
    "format_table",
    "summary_line",
    "claim1",
    "claim2",
    "claim3",
    "theorem1",
    "theorem2",
    "theorem3",
    "theorem4",
]

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


def run(
    names: Optional[Sequence[str]] = None, *, quick: bool = False, progress: bool = False, **options: Any
) -> list[ProofResult]:
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
    """One row per claim: proof, source, claim, what was measured, verdict ("holds" or "FAILS")."""
    rows = [
        {
            "proof": r.name,
            "source": _short_source(r.source),
            "claim": v.claim,
            "measured": v.measured,
            "verdict": "holds" if v.holds else "FAILS",
        }
        for r in results
        for v in r.verdicts
    ]
    return tables.format_table(rows, style="markdown" if markdown else "text")


def _short_source(source: str) -> str:
    """'the unification paper, Theorem 3 and supplementary A (...)' -> 'Theorem 3'."""
    part = source.split(",")[1].strip() if "," in source else source
    return part.split(" and ")[0].split(" (")[0]


def summary_line(results: Sequence[ProofResult]) -> str:
    """'k of m claims hold; failing: name (claim), ...' over every verdict of ``results``."""
    verdicts = [(r.name, v) for r in results for v in r.verdicts]
    held = sum(v.holds for _, v in verdicts)
    failing = [f"{name} ({v.claim})" for name, v in verdicts if not v.holds]
    line = f"{held} of {len(verdicts)} claims hold"
    return line + ("; failing: " + ", ".join(failing) if failing else "")
