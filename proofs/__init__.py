"""Executable checks of the claims and theorems of the unification paper.

"Unification of Recurrent Neural Network Architectures and Quantum Inspired Stable
Design", anonymous ICLR 2019 submission (OpenReview).

Each proof is a function ``check(**options) -> ProofResult`` that states the claim in
our words, measures it on concrete instances, and gives an honest verdict; where the
measurement disagrees with the paper, ``notes`` says so. ``ornn prove`` prints the table and exits non-zero on a failed verdict.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ornn import tables

from . import claim1, claim2, claim3, theorem1, theorem2, theorem3, theorem4
from .result import ProofResult

__all__ = [
    "ProofResult",
    "PROOFS",
    "run",
    "format_table",
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
    """One row per proof: name, statement source, key figure, verdict."""
    rows = [
        {
            "proof": r.name,
            "source": r.source.split(",")[1].strip() if "," in r.source else r.source,
            "key figure": r.key_figure,
            "verdict": "holds" if r.verdict else "FAILS",
        }
        for r in results
    ]
    return tables.format_table(
        rows, style="markdown" if markdown else "text", columns=("proof", "source", "key figure", "verdict")
    )
