"""Property-based testing helpers for recurrent cells: hypothesis strategies and assertions.

Strategies draw the objects cell authors need to quantify over: Butcher
tableaus, anti-Hermitian and orthogonal matrices, input sequences, and cells
from the registry (import ``cells`` first to register the zoo). Assertions turn
the stability analysis into test verdicts::

    from hypothesis import given
    from ornn.testing import assert_stable, input_sequences

    @given(input_sequences(length=20, batch=3, features=4))
    def test_my_cell_is_stable(x):
        assert_stable(MyCell(4, 8), x)

Every strategy takes plain values or strategies for its sizes.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import _checks, stability
from ._tree import leaves, structure
from .registry import available_cells, create_cell
from .tableau import Tableau, tableau_names
from .tableau import tableau as lookup_tableau

__all__ = [
    "tableaus",
    "anti_hermitian_matrices",
    "orthogonal_matrices",
    "input_sequences",
    "input_sequence",
    "cells",
    "seeded_cell",
    "describe_cell",
    "assert_stable",
    "assert_reversible",
    "assert_matches",
    "default_tolerances",
]

SizeLike = Union[int, st.SearchStrategy]


def _size(value: SizeLike) -> st.SearchStrategy:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


@st.composite
def tableaus(draw: Any, *, max_stages: int = 4, presets: bool = True) -> Tableau:
    """Explicit tableaus: the named presets and random consistent ones (c = row sums of a, sum b = 1)."""
    if presets and draw(st.booleans()):
        return lookup_tableau(draw(st.sampled_from(tableau_names())))
    s = draw(st.integers(1, max_stages))
    coefficient = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
    a = [[draw(coefficient) if j < i else 0.0 for j in range(s)] for i in range(s)]
    b_head = [draw(coefficient) for _ in range(s - 1)]
    b = [*b_head, 1.0 - sum(b_head)]
    return Tableau(a=a, b=b, c=[sum(row) for row in a], name="drawn")


def _square(draw: Any, n: int, bound: float) -> np.ndarray:
    return draw(hnp.arrays(np.float64, (n, n), elements=st.floats(-bound, bound, allow_nan=False)))


@st.composite
def anti_hermitian_matrices(
    draw: Any, n: SizeLike = st.integers(1, 8), *, dtype: torch.dtype = torch.complex128, bound: float = 1.0
) -> torch.Tensor:
    """A with A^H = -A exactly: M - M^H for a drawn M (real antisymmetric for a real dtype)."""
    size = draw(_size(n))
    real = torch.from_numpy(_square(draw, size, bound))
    if dtype.is_complex:
        m = torch.complex(real, torch.from_numpy(_square(draw, size, bound)))
    else:
        m = real
    return (m - m.mH).to(dtype)


@st.composite
def orthogonal_matrices(
    draw: Any, n: SizeLike = st.integers(1, 8), *, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Q with Q^H Q = I: exp(A) for a drawn anti-Hermitian A, times a drawn diagonal of +-1 signs.

    The exponential covers SO(n) (U(n) for complex dtypes); the signs add the reflections.
    It never degenerates, unlike a QR factor of a drawn (possibly zero) matrix.
    """
    size = draw(_size(n))
    generator = draw(
        anti_hermitian_matrices(
            st.just(size), dtype=torch.complex128 if dtype.is_complex else torch.float64, bound=math.pi
        )
    )
    signs = torch.tensor(
        draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=size, max_size=size)), dtype=torch.float64
    )
    return (torch.linalg.matrix_exp(generator) * signs.to(generator.dtype)).to(dtype)


def input_sequence(
    length: int,
    batch: int,
    features: int,
    *,
    seed: int,
    bound: float = 2.0,
    fill: Optional[float] = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A (length, batch, features) tensor uniform in [-bound, bound] from ``seed`` (all ``fill`` if given).

    :func:`input_sequences` draws through this function, so a failing example prints as the call
    that rebuilds it, ``input_sequence(30, 2, 4, seed=..., ...)``, not as a wall of numbers.
    """
    generator = torch.Generator().manual_seed(seed)
    shape = (length, batch, features)
    if fill is not None:
        return torch.full(shape, float(fill), dtype=torch.float64).to(dtype)
    return (bound * (2 * torch.rand(shape, generator=generator, dtype=torch.float64) - 1)).to(dtype)


def input_sequences(
    length: SizeLike = st.integers(1, 12),
    batch: SizeLike = st.integers(1, 4),
    features: SizeLike = st.integers(1, 6),
    *,
    dtype: torch.dtype = torch.float32,
    bound: float = 2.0,
) -> st.SearchStrategy[torch.Tensor]:
    """(length, batch, features) tensors with entries in [-bound, bound]: seeded uniform draws, and the
    constant sequences -bound, 0 and bound (the saturating extremes). Failing examples print as
    :func:`input_sequence` calls."""
    _checks.positive_float("bound", bound)
    return st.builds(
        input_sequence,
        _size(length),
        _size(batch),
        _size(features),
        seed=st.integers(0, 2**32 - 1),
        bound=st.just(bound),
        fill=st.one_of(st.none(), st.sampled_from([-bound, 0.0, bound])),
        dtype=st.just(dtype),
    )


def seeded_cell(
    name: str, input_size: int, hidden_size: int, *, seed: int, dtype: torch.dtype = torch.float32
) -> torch.nn.Module:
    """``cells.create(name, input_size, hidden_size)`` under ``torch.manual_seed(seed)``, cast to ``dtype``
    (the global random state is left as it was). The :func:`cells` strategy draws through it, so a failing
    example prints as the call that rebuilds the cell."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cell = create_cell(name, input_size, hidden_size)
    cell = cell.to(dtype) if any(p.is_floating_point() for p in cell.parameters()) else cell
    reproducer = f"ornn.testing.seeded_cell({name!r}, {input_size}, {hidden_size}, seed={seed}, dtype={dtype})"
    cell._repr_pretty_ = _PrettyAs(reproducer)  # how hypothesis prints it; describe_cell reads it too
    return cell


class _PrettyAs:
    """A picklable ``_repr_pretty_`` that prints a fixed text (hypothesis's pretty-printer protocol)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)


def cells(
    names: Optional[Sequence[str]] = None,
    input_size: SizeLike = st.integers(1, 6),
    hidden_size: SizeLike = st.integers(1, 8),
    *,
    dtype: torch.dtype = torch.float32,
) -> st.SearchStrategy[torch.nn.Module]:
    """A registered cell with drawn sizes and a drawn parameter seed (reproducible under shrinking);
    failing examples print as :func:`seeded_cell` calls."""
    pool = tuple(names) if names is not None else available_cells()
    if not pool:
        raise ValueError("names: no cells are registered; import cells (or register your own) first")
    return st.builds(
        seeded_cell,
        st.sampled_from(pool),
        _size(input_size),
        _size(hidden_size),
        seed=st.integers(0, 2**31 - 1),
        dtype=st.just(dtype),
    )


def describe_cell(cell: Any) -> str:
    """How to rebuild ``cell``: the seeded_cell call for drawn cells, else its one-line repr."""
    pretty = cell.__dict__.get("_repr_pretty_") if hasattr(cell, "__dict__") else None
    if isinstance(pretty, _PrettyAs):
        return pretty.text
    text = repr(cell)
    return (
        text
        if "\n" not in text
        else f"{type(cell).__name__}(...)  # {sum(p.numel() for p in cell.parameters())} parameters"
    )


def _describe_inputs(inputs: Any) -> str:
    if isinstance(inputs, torch.Tensor):
        kind = str(inputs.dtype).replace("torch.", "")
        if not inputs.numel():
            return f"inputs of shape {tuple(inputs.shape)}, {kind}"
        low, high = float(inputs.min()), float(inputs.max())
        return f"inputs of shape {tuple(inputs.shape)}, {kind}, in [{low:.3g}, {high:.3g}]"
    return f"{inputs} steps without input"


# --------------------------------------------------------------------------- assertions


def default_tolerances(dtype: torch.dtype) -> tuple[float, float]:
    """(rtol, atol) for comparing two computations of the same quantity in ``dtype``.

    float64/complex128: (1e-10, 1e-12), a few hundred ulps of accumulated round-off;
    float32/complex64: (1e-5, 1e-6), about 100 ulps; half precisions: (1e-2, 1e-3).
    """
    if dtype in (torch.float64, torch.complex128):
        return 1e-10, 1e-12
    if dtype in (torch.float32, torch.complex64):
        return 1e-5, 1e-6
    return 1e-2, 1e-3


def assert_matches(
    actual: Any, expected: Any, *, rtol: Optional[float] = None, atol: Optional[float] = None, name: str = "value"
) -> None:
    """Assert two tensors (or equal-structured tuples of tensors) agree: |a - e| <= atol + rtol |e|.

    Tolerances default to :func:`default_tolerances` of the expected dtype. The
    message gives the worst element, its absolute and relative error, and the leaf.
    """
    if structure(actual) != structure(expected):
        raise AssertionError(f"{name}: structures differ: {structure(actual)} vs {structure(expected)}")
    for i, (a, e) in enumerate(zip(leaves(actual), leaves(expected))):
        where = name if not isinstance(expected, tuple) else f"{name} leaf {i}"
        _checks.tensor(where, a)
        _checks.tensor(where, e)
        if a.shape != e.shape:
            raise AssertionError(f"{where}: shape {tuple(a.shape)} differs from expected {tuple(e.shape)}")
        r_default, a_default = default_tolerances(e.dtype)
        r, t = (r_default if rtol is None else rtol), (a_default if atol is None else atol)
        a64, e64 = a.detach().to(torch.complex128 if a.is_complex() or e.is_complex() else torch.float64), e.detach()
        e64 = e64.to(a64.dtype)
        err = (a64 - e64).abs()
        bound = t + r * e64.abs()
        if not torch.isfinite(a64).all() and not torch.equal(torch.isfinite(a64), torch.isfinite(e64)):
            raise AssertionError(f"{where}: non-finite values where the expected ones are finite")
        excess = torch.nan_to_num(err - bound, nan=0.0)
        if (excess > 0).any():
            flat = int(excess.reshape(-1).argmax())
            index = tuple(int(j) for j in np.unravel_index(flat, tuple(e.shape))) if e.dim() else ()
            worst_rel = float((err / e64.abs().clamp_min(1e-300)).reshape(-1)[flat])
            raise AssertionError(
                f"{where}: mismatch at index {index}: got {a64.reshape(-1)[flat].item()}, "
                f"expected {e64.reshape(-1)[flat].item()} (abs error {err.reshape(-1)[flat].item():.3e}, "
                f"rel error {worst_rel:.3e}; max abs error {err.max().item():.3e}; rtol={r:g}, atol={t:g})"
            )


def assert_stable(
    cell: Any, inputs: Union[torch.Tensor, int], state: Any = None, **check_options: Any
) -> stability.StabilityReport:
    """Run :func:`ornn.stability.check` and fail with the full report unless the verdict is stable.

    ``check_options`` go to :func:`~ornn.stability.check`; ``require="bounded"`` asks only that
    nothing explodes, the default ``"gradient-preserving"`` also that gradients neither vanish
    nor explode over the T steps of ``inputs``.
    """
    report = stability.check(cell, inputs, state, **check_options)
    if not report.stable:
        raise AssertionError(
            f"{report.cell} is not stable ({report.require}): {report.rule}\n"
            f"  cell: {describe_cell(cell)}\n  {_describe_inputs(inputs)}\n{report}"
        )
    return report


def assert_reversible(cell: Any, inputs: Union[torch.Tensor, int], state: Any = None, *, tol: float = 1e-8) -> float:
    """Fail unless T steps forward then T inverse steps return to the start within ``tol`` (relative)."""
    _checks.positive_float("tol", tol)
    error = stability.round_trip_error(cell, inputs, state)
    if not error <= tol:
        raise AssertionError(
            f"{type(cell).__name__} round-trip error {error:.3e} exceeds tol {tol:g}\n"
            f"  cell: {describe_cell(cell)}\n  {_describe_inputs(inputs)}"
        )
    return error
