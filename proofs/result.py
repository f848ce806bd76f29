"""The structured outcome of one executable proof."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProofResult:
    """What a proof module measured and concluded.

    Attributes:
        name: the module's short name (``claim1``, ``theorem4``, ...).
        statement: the claim in our own words.
        source: where it comes from (the unification paper, section and equation).
        figures: the measured numbers, by name.
        key_figure: one line for the summary table.
        verdict: whether the measurement supports the statement as we state it.
        instance: the parameters of the instance measured (sizes, seeds, steps).
        notes: where the measurement and the paper differ, and why.
    """

    name: str
    statement: str
    source: str
    figures: dict[str, Any]
    key_figure: str
    verdict: bool
    instance: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
