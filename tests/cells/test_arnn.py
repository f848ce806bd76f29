"""n-ARNN: anti-Hermitian by construction, Eq. (14) as the linear special case, exact inverses."""

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cells
from ornn import stability
from ornn.testing import assert_matches, assert_reversible


@pytest.mark.parametrize(
    "scheme, complex_state", [("symplectic_euler", False), ("leapfrog", False), ("leapfrog", True)]
)
def test_generator_is_anti_hermitian(scheme, complex_state):
    cell = cells.ARNN(3, 5, scheme=scheme, complex_state=complex_state).double()
    g = cell.generator()
    assert torch.equal(g.mH, -g)
    assert stability.skewness(g) == 0.0


def test_symplectic_euler_linear_case_is_equation_14():
    """sigma = identity, no input, symmetric A = H: [P'; C'] = [[I, dt H], [-dt H, I - dt^2 H^2]] [P; C]."""
    torch.manual_seed(0)
    dt, n = 0.05, 4
    cell = cells.ARNN(1, n, scheme="symplectic_euler", step_size=dt, activation=lambda z: z, bias=False).double()
    with torch.no_grad():
        s = torch.randn(n, n, dtype=torch.float64)
        cell.weight_a.copy_(s + s.T)
        cell.weight_v.zero_()
    hmat = cell.weight_a.detach()
    eye = torch.eye(n, dtype=torch.float64)
    block = torch.cat([torch.cat([eye, dt * hmat], 1), torch.cat([-dt * hmat, eye - dt**2 * hmat @ hmat], 1)], 0)
    p, c = torch.randn(2, n, dtype=torch.float64), torch.randn(2, n, dtype=torch.float64)
    _, (p1, c1) = cell(torch.zeros(2, 1, dtype=torch.float64), (p, c))
    expected = torch.cat([p, c], 1) @ block.T
    assert_matches(torch.cat([p1, c1], 1), expected)


def test_leapfrog_scheme_is_the_leapfrog():
    torch.manual_seed(1)
    cell = cells.ARNN(2, 3, scheme="leapfrog", step_size=0.1).double()
    assert (cell.num_stages, cell.memory_span) == (1, 2)
    y, y_prev = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    x = torch.randn(4, 2, dtype=torch.float64)
    out, (y_next, y_kept) = cell(x, (y, y_prev))
    w = cell.weight_a - cell.weight_a.T
    expected = y_prev + 0.2 * torch.tanh(y @ w.T + x @ cell.weight_v.T + cell.bias_v)
    assert_matches(y_next, expected)
    assert torch.equal(y_kept, y) and torch.equal(out, y_next)


@settings(max_examples=6)
@given(scheme=st.sampled_from(["symplectic_euler", "leapfrog"]), complex_state=st.booleans(), seed=st.integers(0, 1000))
def test_round_trip_over_1000_steps_in_float64(scheme, complex_state, seed):
    assume(not (scheme == "symplectic_euler" and complex_state))  # complex states are the leapfrog's
    torch.manual_seed(seed)
    cell = cells.ARNN(3, 6, scheme=scheme, step_size=0.1, complex_state=complex_state).double()
    x = torch.randn(1000, 2, 3, dtype=torch.float64)
    state = cell.initial_state(2)
    state = tuple(torch.randn_like(s) for s in state) if isinstance(state, tuple) else torch.randn_like(state)
    error = assert_reversible(cell, x, state, tol=1e-9)
    assert error <= 1e-9


def test_stability_report_uses_skewness_and_round_trip():
    torch.manual_seed(2)
    report = stability.check(
        cells.ARNN(2, 4, scheme="leapfrog").double(), torch.randn(100, 2, 2, dtype=torch.float64), lyapunov_tol=0.05
    )
    assert report.skewness == 0.0 and report.round_trip_error < 1e-12


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"scheme: expected one of 'symplectic_euler', 'leapfrog', got 'midpoint'"):
        cells.ARNN(2, 3, scheme="midpoint")
    with pytest.raises(TypeError, match="unexpected keyword argument 'order'"):
        cells.ARNN(2, 3, order=2)
    with pytest.raises(ValueError, match="complex_state: symplectic Euler already evolves"):
        cells.ARNN(2, 3, scheme="symplectic_euler", complex_state=True)
    with pytest.raises(ValueError, match="step_size: expected a positive finite number"):
        cells.ARNN(2, 3, step_size=0)
