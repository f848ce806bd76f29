"""Tableau presets and validation.

The presets are checked against the classical order conditions (Butcher), which
nobody here derived for these particular numbers, rather than against a copy of
themselves.
"""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given

import ornn
from ornn.testing import tableaus

ORDER = {"euler": 1, "midpoint": 2, "heun": 2, "ralston": 2, "rk4": 4, "rk4_38": 4}


def order_conditions(tab):
    """Residuals of the order conditions up to order 4 (all must vanish up to tab.order)."""
    a, b, c = tab.matrices()
    return {
        1: [b.sum() - 1],
        2: [b @ c - 1 / 2],
        3: [b @ c**2 - 1 / 3, b @ a @ c - 1 / 6],
        4: [b @ c**3 - 1 / 4, (b * c) @ a @ c - 1 / 8, b @ a @ c**2 - 1 / 12, b @ a @ a @ c - 1 / 24],
    }


def test_preset_names():
    assert ornn.tableau_names() == ("euler", "midpoint", "heun", "ralston", "rk4", "rk4_38")


@pytest.mark.parametrize("name", list(ORDER))
def test_presets_satisfy_their_order_conditions(name):
    tab = ornn.tableau(name)
    assert tab.name == name and tab.order == ORDER[name] and tab.explicit
    residuals = order_conditions(tab)
    for p in range(1, ORDER[name] + 1):
        assert np.allclose(residuals[p], 0.0, atol=1e-15), (name, p, residuals[p])
    if ORDER[name] < 4:  # and not the next order: the stated order is the true one
        assert not np.allclose(residuals[ORDER[name] + 1], 0.0, atol=1e-12)


def test_rk4_38_is_kuttas_three_eighths_rule():
    tab = ornn.tableau("rk4_38")
    assert tab.b == (1 / 8, 3 / 8, 3 / 8, 1 / 8)
    assert tab.a[2][:2] == (-1 / 3, 1.0) and tab.a[3][:3] == (1.0, -1.0, 1.0)


def test_tableau_is_frozen_and_passes_through_lookup():
    tab = ornn.tableau("heun")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tab.b = (1.0, 0.0)
    assert ornn.tableau(tab) is tab


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown name 'rk5'.*euler, midpoint, heun, ralston, rk4, rk4_38"):
        ornn.tableau("rk5")
    with pytest.raises(TypeError, match="tableau: expected a preset name or a Tableau"):
        ornn.tableau(4)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            dict(a=[[0, 0], [1]], b=[0.5, 0.5], c=[0, 1]),
            ValueError,
            r"a: expected a square 2x2 matrix, got row 1 of length 1",
        ),
        (dict(a=[[0]], b=[0.5, 0.5], c=[0]), ValueError, r"b: expected 1 weights"),
        (dict(a=[[0]], b=[1.0], c=[0, 1]), ValueError, r"c: expected 1 stage times"),
        (
            dict(a=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 0.5]),
            ValueError,
            r"c: expected c\[1\] to equal the row sum of a\[1\] \(1.0\), got 0.5",
        ),
        (
            dict(a=[[0, 0], [1, 0]], b=[0.5, 0.6], c=[0, 1]),
            ValueError,
            r"b: expected weights summing to 1 \(consistency\), got sum 1.1",
        ),
        (dict(a=[], b=[], c=[]), ValueError, r"a: expected at least one stage"),
        (dict(a=[[math.nan]], b=[1.0], c=[0.0]), ValueError, r"a\[0\]: expected finite numbers"),
        (dict(a=[["x"]], b=[1.0], c=[0.0]), TypeError, r"a\[0\]: expected a sequence of real numbers"),
        (dict(a="abc", b=[1.0], c=[0.0]), TypeError, r"a: expected a square matrix"),
        (dict(a=[[0]], b=[1.0], c=[0.0], order=0), ValueError, r"order: expected a positive integer"),
    ],
)
def test_validation_names_the_defect(kwargs, error, message):
    with pytest.raises(error, match=message):
        ornn.Tableau(**kwargs)


def test_implicit_tableau_is_valid_but_not_explicit():
    trapezoid = ornn.Tableau(a=[[0, 0], [0.5, 0.5]], b=[0.5, 0.5], c=[0, 1], name="trapezoid")
    assert not trapezoid.explicit


@given(tableaus())
def test_drawn_tableaus_are_consistent(tab):
    a, b, c = tab.matrices()
    assert abs(b.sum() - 1) <= 1e-12
    assert np.allclose(a.sum(axis=1), c, atol=1e-12)
    assert tab.explicit
