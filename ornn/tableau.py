"""Butcher tableaus: the coefficients (a, b, c) of an explicit Runge–Kutta step.

A tableau with s stages advances y' = f(t, y) by one step of size h::

    K_q     = f(t + c_q h, y + h * sum_{k<q} a_qk K_k)        q = 1..s
    y_next  = y + h * sum_q b_q K_q

In the n-t-ORNN language the tableau fills the couplings:
alpha_qk = a_qk (times the weight of f), beta_k = b_k, and n = s.
:class:`Tableau` is the one value used everywhere (ODE cells, RK networks,
stability analysis); it checks itself on construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

__all__ = ["Tableau", "tableau", "tableau_names"]

_ROUND_OFF = 1e-12  # consistency conditions hold to float64 round-off for exact rationals


def _as_float_tuple(name: str, values: Sequence[float]) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a sequence of real numbers, got {values!r}") from None
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{name}: expected finite numbers, got {out}")
    return out


@dataclass(frozen=True)
class Tableau:
    """An explicit or implicit Runge–Kutta tableau, validated on construction.

    Args:
        a: the s x s stage-coupling matrix (rows are stages).
        b: the s output weights; they must sum to 1 (consistency).
        c: the s stage times; c_q must equal the row sum of ``a`` (the usual
            simplifying condition, which every method here satisfies).
        name: a label used in tables and plots.
        order: the classical order of accuracy, if known (for reports only).

    Raises:
        ValueError: a naming the defect (shape, row sum, weight sum, finiteness).
    """

    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: tuple[float, ...]
    name: str = "custom"
    order: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.a, (str, bytes)) or not hasattr(self.a, "__len__"):
            raise TypeError(f"a: expected a square matrix given as a sequence of rows, got {self.a!r}")
        rows = tuple(_as_float_tuple(f"a[{i}]", row) for i, row in enumerate(self.a))
        b = _as_float_tuple("b", self.b)
        c = _as_float_tuple("c", self.c)
        s = len(rows)
        if s == 0:
            raise ValueError("a: expected at least one stage, got an empty matrix")
        for i, row in enumerate(rows):
            if len(row) != s:
                raise ValueError(f"a: expected a square {s}x{s} matrix, got row {i} of length {len(row)}")
        if len(b) != s:
            raise ValueError(f"b: expected {s} weights (one per stage of a), got {len(b)}")
        if len(c) != s:
            raise ValueError(f"c: expected {s} stage times (one per stage of a), got {len(c)}")
        for i, row in enumerate(rows):
            if abs(sum(row) - c[i]) > _ROUND_OFF * max(1.0, abs(c[i])):
                raise ValueError(f"c: expected c[{i}] to equal the row sum of a[{i}] ({sum(row)!r}), got {c[i]!r}")
        if abs(sum(b) - 1.0) > _ROUND_OFF:
            raise ValueError(f"b: expected weights summing to 1 (consistency), got sum {sum(b)!r}")
        if self.order is not None and (
            isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1
        ):
            raise ValueError(f"order: expected a positive integer or None, got {self.order!r}")
        object.__setattr__(self, "a", rows)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "c", c)

    @property
    def stages(self) -> int:
        """Number of stages s (the n of the n-t-ORNN it defines)."""
        return len(self.b)

    @property
    def explicit(self) -> bool:
        """True when ``a`` is strictly lower-triangular (each stage uses earlier ones only)."""
        return all(self.a[i][j] == 0.0 for i in range(self.stages) for j in range(i, self.stages))

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A, b, c) as float64 numpy arrays."""
        return np.array(self.a, dtype=np.float64), np.array(self.b), np.array(self.c)

    def __repr__(self) -> str:
        return f"Tableau(name={self.name!r}, stages={self.stages}, order={self.order})"


_PRESETS: dict[str, Tableau] = {
    t.name: t
    for t in (
        Tableau(a=((0.0,),), b=(1.0,), c=(0.0,), name="euler", order=1),
        Tableau(a=((0.0, 0.0), (0.5, 0.0)), b=(0.0, 1.0), c=(0.0, 0.5), name="midpoint", order=2),
        Tableau(a=((0.0, 0.0), (1.0, 0.0)), b=(0.5, 0.5), c=(0.0, 1.0), name="heun", order=2),
        Tableau(a=((0.0, 0.0), (2.0 / 3.0, 0.0)), b=(0.25, 0.75), c=(0.0, 2.0 / 3.0), name="ralston", order=2),
        Tableau(
            a=((0.0, 0.0, 0.0, 0.0), (0.5, 0.0, 0.0, 0.0), (0.0, 0.5, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0)),
            b=(1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0),
            c=(0.0, 0.5, 0.5, 1.0),
            name="rk4",
            order=4,
        ),
        # Kutta's 3/8 rule; torchdiffeq's fixed-grid method "rk4" is this one.
        Tableau(
            a=(
                (0.0, 0.0, 0.0, 0.0),
                (1.0 / 3.0, 0.0, 0.0, 0.0),
                (-1.0 / 3.0, 1.0, 0.0, 0.0),
                (1.0, -1.0, 1.0, 0.0),
            ),
            b=(0.125, 0.375, 0.375, 0.125),
            c=(0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0),
            name="rk4_38",
            order=4,
        ),
    )
}


def tableau_names() -> tuple[str, ...]:
    """Names of the preset tableaus, in order of stage count."""
    return tuple(_PRESETS)


def tableau(name: str | Tableau) -> Tableau:
    """Look up a preset tableau by name (``euler``, ``midpoint``, ``heun``, ``ralston``, ``rk4``, ``rk4_38``).

    A :class:`Tableau` passes through unchanged, so functions can accept either.
    """
    if isinstance(name, Tableau):
        return name
    if not isinstance(name, str):
        raise TypeError(f"tableau: expected a preset name or a Tableau, got {name!r}")
    try:
        return _PRESETS[name]
    except KeyError:
        raise ValueError(f"tableau: unknown name {name!r}; valid names are {', '.join(_PRESETS)}") from None
