"""The structured outcome of one executable proof: one verdict per claim it tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """One claim of the paper, as measured.

    Attributes:
        claim: the claim in a few words ("convergence order 2", "stable for dt ||H|| < 2").
        holds: whether the measurement supports it. A claim of the paper that our measurement
            refutes is ``holds=False``: it is a finding, never printed as "holds".
        measured: the figure behind the verdict, in one line.
    """

    claim: str
    holds: bool
    measured: str


@dataclass(frozen=True)
class ProofResult:
    """What a proof module measured and concluded.

    Attributes:
        name: the module's short name (``claim1``, ``theorem4``, ...).
        statement: the statement in our own words.
        source: where it comes from (the unification paper, section and equation).
        figures: the measured numbers, by name.
        verdicts: one :class:`Verdict` per claim the statement makes.
        instance: the parameters of the instance measured (sizes, seeds, steps).
        notes: where the measurement and the paper differ, and why.
    """

    name: str
    statement: str
    source: str
    figures: dict[str, Any]
    verdicts: tuple[Verdict, ...]
    instance: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.verdicts or not all(isinstance(v, Verdict) for v in self.verdicts):
            raise ValueError(f"verdicts: expected a non-empty tuple of Verdict, got {self.verdicts!r}")
        object.__setattr__(self, "verdicts", tuple(self.verdicts))

    @property
    def holds(self) -> bool:
        """Whether every claim of the statement holds."""
        return all(v.holds for v in self.verdicts)

    @property
    def failed(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.holds)

    def verdict(self, claim: str) -> Verdict:
        """The verdict on the named claim."""
        for v in self.verdicts:
            if v.claim == claim:
                return v
        raise KeyError(f"claim: {self.name} has no claim {claim!r}; its claims are {[v.claim for v in self.verdicts]}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdicts"] = [asdict(v) for v in self.verdicts]
        out["holds"] = self.holds
        return out
