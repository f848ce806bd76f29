"""Stability analysis: tableau stability functions and the cell-level figures.

Closed forms are the references: R(z) = sum_{k<=s} z^k/k! for the explicit methods
of order s = stages, R(z) = (1 + z/2)/(1 - z/2) for the (implicit) trapezoidal
rule; for linear cells the Jacobian is the matrix itself and the largest Lyapunov
exponent is log of its spectral radius.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ornn
from ornn import Output, Stage, UpdateRule, stability
from ornn.testing import anti_hermitian_matrices, assert_matches, orthogonal_matrices

from .test_executor import Leapfrog

complex_points = st.builds(complex, st.floats(-3, 3), st.floats(-3, 3))


@given(z=complex_points)
def test_stability_function_closed_forms(z):
    closed = {
        1: 1 + z,
        2: 1 + z + z**2 / 2,
        4: 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24,
    }
    for name in ornn.tableau_names():
        tab = ornn.tableau(name)
        value = complex(stability.stability_function(tab, z))
        assert abs(value - closed[tab.stages]) <= 1e-12 * max(1.0, abs(closed[tab.stages])), name
        poly = np.polynomial.Polynomial(stability.stability_polynomial(tab))
        assert abs(poly(z) - closed[tab.stages]) <= 1e-12 * max(1.0, abs(closed[tab.stages]))


@given(z=complex_points)
def test_stability_function_of_an_implicit_tableau(z):
    trapezoid = ornn.Tableau(a=[[0, 0], [0.5, 0.5]], b=[0.5, 0.5], c=[0, 1])
    assume(abs(1 - z / 2) > 1e-3)  # away from the pole at z = 2
    expected = (1 + z / 2) / (1 - z / 2)
    assert abs(complex(stability.stability_function(trapezoid, z)) - expected) <= 1e-10 * max(1, abs(expected))


def test_stability_function_keeps_array_shape():
    grid = np.linspace(-2, 0, 6).reshape(2, 3)
    assert stability.stability_function("euler", grid).shape == (2, 3)


@pytest.mark.parametrize(
    "name, points, expected",
    [
        ("euler", [-1.0], True),
        ("euler", [-2.0], True),
        ("euler", [-2.01], False),
        ("euler", [0.1j], False),
        ("euler", [-0.5, -1.5, -1 + 0.5j], True),
        ("euler", [-0.5, -2.5], False),
        ("rk4", [-2.78], True),
        ("rk4", [-2.8], False),
        ("rk4", [2.8j, -2.8j], True),
        ("rk4", [2.9j], False),
        ("midpoint", [0.5j], False),
    ],
)
def test_is_stable(name, points, expected):
    assert stability.is_stable(name, points) is expected


def test_stability_intervals():
    assert stability.real_stability_interval("euler") == pytest.approx(2.0, abs=1e-9)
    assert stability.imaginary_stability_interval("euler") == 0.0
    for name in ("midpoint", "heun", "ralston"):
        assert stability.real_stability_interval(name) == pytest.approx(2.0, abs=1e-9)
        assert stability.imaginary_stability_interval(name) == 0.0
    for name in ("rk4", "rk4_38"):
        # 2.78529356... is the real root of 1 - x + x^2/2 - x^3/6 + x^4/24 = -1
        assert stability.real_stability_interval(name) == pytest.approx(2.785293563405282, abs=1e-9)
        assert stability.imaginary_stability_interval(name) == pytest.approx(2 * math.sqrt(2), abs=1e-9)
    with pytest.raises(ValueError, match="tab: expected an explicit tableau"):
        stability.stability_polynomial(ornn.Tableau(a=[[0.5]], b=[1.0], c=[0.5]))


def test_region_plot_draws_one_curve_per_distinct_method(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    ax = stability.plot_stability_regions(ornn.tableau_names())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["euler", "midpoint, heun, ralston", "rk4, rk4_38"]


class Linear(ornn.ORNNCell):
    """Y' = A Y (input ignored): a cell whose Jacobian is A."""

    def __init__(self, matrix, input_size=1):
        super().__init__(input_size, matrix.shape[0])
        self.register_buffer("matrix", matrix)
        self.rule = UpdateRule(
            stages=(Stage(ornn.identity, input_map=self.apply_matrix),), output=Output(weights={0: 1.0}, gamma=0.0)
        )

    def apply_matrix(self, y, x):
        return y @ self.matrix.T

    def default_dtype(self):
        return self.matrix.real.dtype

    def zero_state(self, batch_size, dtype, device):
        return torch.ones(batch_size, self.hidden_size, dtype=self.matrix.dtype, device=device)


def sym(eigenvalues, seed=0):
    q, _ = torch.linalg.qr(
        torch.randn(
            len(eigenvalues), len(eigenvalues), dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
        )
    )
    return q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T


def test_step_jacobian_of_a_linear_cell_is_its_matrix():
    a = sym([1.3, 0.9, 0.5, -0.2])
    jac = stability.step_jacobian(
        Linear(a), torch.zeros(3, 1, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    )
    assert jac.shape == (3, 4, 4)
    for j in jac:
        assert_matches(j, a)
    assert_matches(stability.spectral_radius(jac), torch.full((3,), 1.3, dtype=torch.float64))
    assert_matches(stability.spectral_norm(jac), torch.full((3,), 1.3, dtype=torch.float64))


def test_step_jacobian_of_a_nonlinear_cell():
    cell = ornn.RKCell(2, 3, tableau="euler", step_size=0.7).double()
    x, y = torch.randn(2, 2, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    jac = stability.step_jacobian(cell, x, y)
    z = y @ cell.weight_hh.T + x @ cell.weight_ih.T + cell.bias
    for b in range(2):  # J = I + h diag(1 - tanh^2 z) W
        expected = torch.eye(3, dtype=torch.float64) + 0.7 * torch.diag(1 - torch.tanh(z[b]) ** 2) @ cell.weight_hh
        assert_matches(jac[b], expected)


def test_history_state_gives_the_companion_jacobian():
    torch.manual_seed(0)
    cell = Leapfrog(1, 2, h=0.1).double()
    state = (torch.randn(1, 2, dtype=torch.float64), torch.randn(1, 2, dtype=torch.float64))
    x = torch.randn(1, 1, dtype=torch.float64)
    jac = stability.step_jacobian(cell, x, state)[0]
    y = state[0]
    d = torch.diag(1 - torch.tanh(cell.w(y) + cell.v(x))[0] ** 2)
    eye, zero = torch.eye(2, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)
    expected = torch.cat([torch.cat([0.2 * d @ cell.w.weight, eye], 1), torch.cat([eye, zero], 1)], 0)
    assert_matches(jac, expected)


def test_lyapunov_exponents_of_linear_maps_are_log_eigenvalues():
    a = sym([1.3, 0.9, 0.5, -0.2], seed=1)
    inputs = torch.zeros(400, 2, 1, dtype=torch.float64)
    exponents = stability.lyapunov_exponents(Linear(a), inputs, k=2, generator=torch.Generator().manual_seed(0))
    # finite-time error is O(log|projection of the start| / T): 0.02 at T = 400 is generous
    assert exponents.shape == (2, 2)
    assert torch.allclose(exponents[:, 0], torch.tensor(math.log(1.3), dtype=torch.float64), atol=0.02)
    assert torch.allclose(exponents[:, 1], torch.tensor(math.log(0.9), dtype=torch.float64), atol=0.02)
    with pytest.raises(ValueError, match="k: expected at most the state dimension 4, got 5"):
        stability.lyapunov_exponents(Linear(a), inputs[:2], k=5)


@settings(max_examples=10)
@given(q=orthogonal_matrices(n=st.integers(2, 6)))
def test_gradient_norm_ratio_is_one_for_orthogonal_maps(q):
    inputs = torch.zeros(30, 3, 1, dtype=torch.float64)
    ratio = stability.gradient_norm_ratio(Linear(q), inputs, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ratio, torch.ones(3, dtype=torch.float64), atol=1e-12)


def test_gradient_norm_ratio_of_a_contraction():
    ratio = stability.gradient_norm_ratio(
        Linear(0.5 * torch.eye(3, dtype=torch.float64)), torch.zeros(10, 2, 1, dtype=torch.float64)
    )
    assert torch.allclose(ratio, torch.full((2,), 0.5**10, dtype=torch.float64), rtol=1e-12)


@settings(max_examples=15)
@given(a=anti_hermitian_matrices())
def test_skewness(a):
    assert stability.skewness(a) == 0.0
    assert stability.skewness(a + torch.eye(a.shape[0], dtype=a.dtype)) == pytest.approx(2 * math.sqrt(a.shape[0]))


def test_skewness_refuses_non_square():
    with pytest.raises(ValueError, match=r"weight: expected a square matrix, got shape \(2, 3\)"):
        stability.skewness(torch.zeros(2, 3))


def test_round_trip_of_a_reversible_cell():
    torch.manual_seed(3)
    cell = Leapfrog(2, 4, h=0.05).double()
    inputs = torch.randn(1000, 2, 2, dtype=torch.float64)
    state = (torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64))
    assert stability.round_trip_error(cell, inputs, state) < 1e-11
    with pytest.raises(TypeError, match="cell: expected a reversible cell with an inverse"):
        stability.round_trip_error(ornn.RKCell(2, 4), inputs.float())


def test_check_verdicts_and_rules():
    """Known answers over T = 50 steps: 0.5 I contracts (ratio 0.5^50 = 10^-15.05), 1.5 I explodes."""
    inputs = torch.zeros(50, 2, 1, dtype=torch.float64)
    calm = stability.check(Linear(0.5 * torch.eye(3, dtype=torch.float64)), inputs)
    assert calm.finite and calm.bounded and not calm.gradient_preserving and not calm.stable
    assert calm.require == "gradient-preserving" and calm.rule.startswith("gradients not preserved over 50 steps")
    assert calm.lyapunov_exponent == pytest.approx(math.log(0.5), abs=1e-9)
    assert calm.gradient_log10_range == pytest.approx((50 * math.log10(0.5),) * 2, abs=1e-9)
    assert calm.gradient_norm_ratio == pytest.approx(0.5**50, rel=1e-9)
    assert calm.spectral_radius == pytest.approx(0.5) and calm.gradient_regime == "vanishing"
    asked_bounded = stability.check(Linear(0.5 * torch.eye(3, dtype=torch.float64)), inputs, require="bounded")
    assert asked_bounded.stable and asked_bounded.rule.startswith("bounded over 50 steps: largest Lyapunov exponent")
    wild = stability.check(Linear(1.5 * torch.eye(3, dtype=torch.float64)), inputs)
    assert not wild.bounded and not wild.gradient_preserving and not wild.stable
    assert wild.rule.startswith("not bounded over 50 steps: largest Lyapunov exponent 0.4055 > 0.01")
    assert wild.gradient_regime == "exploding"
    assert not stability.check(Linear(1.5 * torch.eye(3, dtype=torch.float64)), inputs, require="bounded").stable
    assert set(calm.to_dict()) >= {"stable", "bounded", "gradient_preserving", "rule", "gradient_regime"}
    assert "verdict (gradient-preserving)" in str(calm) and "UNSTABLE" in str(calm)


def test_an_orthogonal_cell_is_bounded_and_gradient_preserving():
    q = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64))[0]
    report = stability.check(Linear(q), torch.zeros(200, 3, 1, dtype=torch.float64))
    assert report.bounded and report.gradient_preserving and report.stable
    assert max(abs(v) for v in report.gradient_log10_range) < 1e-12  # ||v^T Q^200|| = ||v|| = 1
    assert report.gradient_regime == "preserved"


def test_the_gradient_verdict_depends_on_the_horizon_and_the_band():
    """0.9 I: ratio 0.9^T, inside [1e-3, 1e3] for T <= 65 (0.9^65 = 10^-2.97), outside from T = 66."""
    cell = Linear(0.9 * torch.eye(2, dtype=torch.float64))
    assert stability.check(cell, torch.zeros(65, 1, 1, dtype=torch.float64)).gradient_preserving
    assert not stability.check(cell, torch.zeros(66, 1, 1, dtype=torch.float64)).gradient_preserving
    assert stability.check(cell, torch.zeros(66, 1, 1, dtype=torch.float64), gradient_band=1e4).gradient_preserving


def test_a_slowly_growing_cell_can_preserve_gradients_but_is_not_bounded():
    """1.02 I over 50 steps: ratio 1.02^50 = 2.7 is in the band, but the exponent 0.0198 > 0.01."""
    report = stability.check(
        Linear(1.02 * torch.eye(2, dtype=torch.float64)), torch.zeros(50, 1, 1, dtype=torch.float64)
    )
    assert report.gradient_preserving and not report.bounded and not report.stable
    assert report.rule.startswith("not bounded")


@pytest.mark.parametrize(
    "name, kwargs, preserving",
    [
        ("lstm", {}, False),
        ("gru", {}, False),
        ("qunn", {"memory": 4}, False),
        ("urnn", {}, True),
        ("arnn", {"scheme": "symplectic_euler"}, True),
        ("arnn", {"scheme": "leapfrog"}, True),
    ],
)
def test_table_4_cells_split_into_contracting_and_gradient_preserving(name, kwargs, preserving):
    """Over 100 steps at the reference size every one of these cells is bounded; only the rotations keep gradients."""
    import cells

    torch.manual_seed(0)
    cell = cells.create(name, 8, 4 if name == "qunn" else 16, **kwargs).double()
    report = stability.check(
        cell, torch.randn(100, 2, 8, dtype=torch.float64), generator=torch.Generator().manual_seed(0)
    )
    assert report.bounded
    assert report.gradient_preserving is preserving
    assert report.gradient_regime == ("preserved" if preserving else "vanishing")


def test_check_refuses_an_unknown_property_and_a_bad_band():
    with pytest.raises(ValueError, match="require: expected one of 'bounded', 'gradient-preserving', got 'stable'"):
        stability.check(ornn.RKCell(3, 2), torch.zeros(2, 1, 3), require="stable")
    with pytest.raises(ValueError, match=r"gradient_band: expected a number above 1"):
        stability.check(ornn.RKCell(3, 2), torch.zeros(2, 1, 3), gradient_band=0.5)


def test_check_flags_non_finite_trajectories():
    blow_up = Linear(torch.tensor([[1e200]], dtype=torch.float64))
    report = stability.check(blow_up, torch.zeros(5, 1, 1, dtype=torch.float64))
    assert not report.finite and not report.stable and not report.bounded and "left the finite numbers" in report.rule


class BrokenInverse(Leapfrog):
    def inverse(self, x, state):
        y_next, y = state
        return y, y_next  # forgets the 2h tanh(...) term


class ClaimsAntiHermitian(Linear):
    def anti_hermitian_weights(self):
        return [self.matrix]


def test_check_uses_reversibility_and_skewness_when_offered():
    torch.manual_seed(4)
    inputs = torch.randn(20, 2, 2, dtype=torch.float64)
    good = stability.check(Leapfrog(2, 3, h=0.01).double(), inputs, lyapunov_tol=0.1)
    assert good.stable
    assert good.round_trip_error is not None and good.round_trip_error < 1e-12
    bad = stability.check(BrokenInverse(2, 3, h=0.01).double(), inputs, lyapunov_tol=0.1)
    assert not bad.stable and not bad.bounded and not bad.gradient_preserving
    assert bad.rule.startswith("not reversible over 20 steps")
    rotation = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    assert stability.check(ClaimsAntiHermitian(rotation), torch.zeros(5, 1, 1, dtype=torch.float64)).skewness == 0.0
    skewed = stability.check(
        ClaimsAntiHermitian(torch.eye(2, dtype=torch.float64) * 0.5), torch.zeros(5, 1, 1, dtype=torch.float64)
    )
    assert not skewed.stable and skewed.rule.startswith("weights not anti-Hermitian")


def test_complex_states_use_real_coordinates():
    q = torch.linalg.qr(torch.randn(3, 3, dtype=torch.complex128))[0]
    report = stability.check(Linear(q), torch.zeros(40, 2, 1, dtype=torch.float64))
    assert report.state_dim == 6
    assert report.spectral_radius == pytest.approx(1.0, abs=1e-12)
    assert abs(report.lyapunov_exponent) < 1e-12 and report.stable


def test_check_on_an_ode_cell_with_a_number_of_steps():
    cell = ornn.ODECell(lambda y: -y, tableau="rk4", step_size=0.1)
    report = stability.check(cell, 20, torch.ones(2, 3, dtype=torch.float64))
    assert report.stable  # R(-0.1)^20 = 0.135: inside the band over 20 steps
    assert report.lyapunov_exponent == pytest.approx(
        math.log(float(stability.stability_function("rk4", -0.1).real)), abs=1e-12
    )
    with pytest.raises(ValueError, match="state: expected an initial state when inputs is a number of steps"):
        stability.check(cell, 20)


@pytest.mark.parametrize(
    "inputs, error, message",
    [
        (
            torch.zeros(5, 3),
            ValueError,
            r"inputs: expected a \(length, batch, features\) tensor with length >= 1, got shape \(5, 3\)",
        ),
        (torch.zeros(0, 2, 3), ValueError, r"inputs: expected a \(length, batch, features\) tensor"),
        (torch.zeros(5, 2, 4), ValueError, r"x_t: expected last dimension 3 \(input_size\), got 4"),
        ("abc", TypeError, r"inputs: expected a torch.Tensor"),
    ],
)
def test_check_input_errors(inputs, error, message):
    with pytest.raises(error, match=message):
        stability.check(ornn.RKCell(3, 2), inputs)


def test_check_tolerance_errors():
    with pytest.raises(ValueError, match=r"lyapunov_tol: expected a positive finite number, got -1.0"):
        stability.check(ornn.RKCell(3, 2), torch.zeros(2, 1, 3), lyapunov_tol=-1)


def test_log_gradient_norm_ratio_survives_long_horizons():
    cell = Linear(0.5 * torch.eye(3, dtype=torch.float64))
    short = stability.log_gradient_norm_ratio(cell, torch.zeros(10, 2, 1, dtype=torch.float64))
    assert torch.allclose(short, torch.full((2,), 10 * math.log(0.5), dtype=torch.float64), rtol=1e-12)
    assert torch.allclose(
        torch.exp(short), stability.gradient_norm_ratio(cell, torch.zeros(10, 2, 1, dtype=torch.float64))
    )
    long = stability.log_gradient_norm_ratio(cell, torch.zeros(2000, 1, 1, dtype=torch.float64))
    assert long.item() == pytest.approx(2000 * math.log(0.5), rel=1e-12)  # the ratio itself underflows float64
