"""ODECell against torchdiffeq's fixed-grid solvers, the textbook RK4 and exact solutions.

Agreement with torchdiffeq is required to float64 round-off: <= 1e-12 relative to
the trajectory's largest entry (both evaluate the same tableau; only the order
of a few additions differs). torchdiffeq's "rk4" is Kutta's 3/8 rule, so it is
paired with our rk4_38; our classic rk4 is checked against the formulas below.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torchdiffeq import odeint

import ornn

PAIRS = [("euler", "euler"), ("midpoint", "midpoint"), ("rk4_38", "rk4")]
REL = 1e-12
STEPS, H = 200, 0.05


def rel_gap(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def problems():
    g = torch.Generator().manual_seed(0)
    d = 6
    a = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5 - 0.5 * torch.eye(d, dtype=torch.float64)
    w = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    b = torch.randn(d, generator=g, dtype=torch.float64)
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, d)).double()
    return {
        "linear": lambda y: y @ a.T,
        "tanh": lambda y: torch.tanh(y @ w.T + b),
        "mlp": mlp,
    }


PROBLEMS = problems()


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_trajectory_matches_torchdiffeq(problem, ours, theirs):
    f = PROBLEMS[problem]
    y0 = torch.randn(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    cell = ornn.ODECell(f, tableau=ours, step_size=H)
    path = cell.solve(y0, STEPS)
    reference = odeint(lambda t, y: f(y), y0, cell.times(STEPS), method=theirs)
    assert path.shape == reference.shape == (STEPS + 1, 3, 6)
    assert rel_gap(path, reference) <= REL


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_gradients_match_torchdiffeq(ours, theirs):
    mlp = PROBLEMS["mlp"]
    y0 = torch.randn(2, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def grads(run):
        y = y0.clone().requires_grad_(True)
        mlp.zero_grad()
        (run(y)[-1] ** 2).sum().backward()
        return [y.grad.clone()] + [p.grad.clone() for p in mlp.parameters()]

    cell = ornn.ODECell(mlp, tableau=ours, step_size=H)
    ours_grads = grads(lambda y: cell.solve(y, 50))
    theirs_grads = grads(lambda y: odeint(lambda t, v: mlp(v), y, cell.times(50), method=theirs))
    for g_ours, g_theirs in zip(ours_grads, theirs_grads):
        assert rel_gap(g_ours, g_theirs) <= REL


def test_classic_rk4_is_the_textbook_formula():
    f = PROBLEMS["tanh"]
    y = torch.randn(4, 6, dtype=torch.float64)
    h = 0.1
    k1 = f(y)
    k2 = f(y + h / 2 * k1)
    k3 = f(y + h / 2 * k2)
    k4 = f(y + h * k3)
    expected = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    got, _ = ornn.ODECell(f, tableau="rk4", step_size=h)(None, y)
    assert rel_gap(got, expected) <= 1e-15 * 10


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_time_dependent_field_matches_torchdiffeq(ours, theirs):
    def f(t, y):
        return torch.sin(3 * t) * y + torch.cos(t)

    y0 = torch.randn(2, 3, dtype=torch.float64)
    cell = ornn.ODECell(f, tableau=ours, step_size=H, time_dependent=True, start_time=0.5)
    path = cell.solve(y0, STEPS)
    reference = odeint(f, y0, cell.times(STEPS), method=theirs)
    assert rel_gap(path, reference) <= REL
    state = (y0, torch.zeros((), dtype=torch.long))
    for step in range(3):  # the step counter rides in the state
        y, state = cell(None, state)
        assert int(state[1]) == step + 1
        assert rel_gap(y, path[step + 1]) <= REL


@pytest.mark.parametrize("name", ornn.tableau_names())
def test_observed_convergence_order_on_a_linear_ode(name):
    """Global error against exp(A T) shrinks like h^p with p the tableau's order."""
    a = torch.tensor([[0.0, 1.0], [-1.0, -0.1]], dtype=torch.float64)
    y0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    exact = y0 @ torch.linalg.matrix_exp(a * 2.0).T
    errors = []
    for steps in (40, 80):
        cell = ornn.ODECell(lambda y: y @ a.T, tableau=name, step_size=2.0 / steps)
        errors.append((cell.solve(y0, steps)[-1] - exact).abs().max().item())
    observed = math.log2(errors[0] / errors[1])
    assert abs(observed - ornn.tableau(name).order) < 0.25, (name, observed)


@settings(max_examples=15)
@given(steps=st.integers(0, 20), h=st.floats(0.01, 0.5))
def test_solve_shape_and_start(steps, h):
    y0 = torch.randn(5, dtype=torch.float64)
    cell = ornn.ODECell(lambda y: -y, tableau="heun", step_size=h)
    path = cell.solve(y0, steps)
    assert path.shape == (steps + 1, 5)
    assert torch.equal(path[0], y0)
    assert torch.allclose(cell.times(steps)[-1], torch.tensor(steps * h, dtype=torch.float64))


def test_module_f_is_registered_and_moves_with_the_cell():
    mlp = nn.Linear(3, 3)
    cell = ornn.ODECell(mlp)
    assert dict(cell.named_parameters()).keys() == {"f.weight", "f.bias"}
    cell.double()
    assert cell.solve(torch.zeros(1, 3, dtype=torch.float64), 2).dtype == torch.float64


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda: ornn.ODECell(lambda y: y, step_size=0.0),
            ValueError,
            r"step_size: expected a positive finite number, got 0.0",
        ),
        (
            lambda: ornn.ODECell(lambda y: y, step_size=-0.1),
            ValueError,
            r"step_size: expected a positive finite number, got -0.1",
        ),
        (
            lambda: ornn.ODECell(lambda y: y, step_size="0.1"),
            TypeError,
            r"step_size: expected a positive real number, got '0.1'",
        ),
        (
            lambda: ornn.ODECell(lambda y: y, tableau="rk45"),
            ValueError,
            r"tableau: unknown name 'rk45'; valid names are euler",
        ),
        (
            lambda: ornn.ODECell(
                lambda y: y, tableau=ornn.Tableau(a=[[0.5]], b=[1.0], c=[0.5], name="implicit_midpoint")
            ),
            ValueError,
            r"tableau: expected an explicit tableau .* got 'implicit_midpoint'",
        ),
        (lambda: ornn.ODECell("f"), TypeError, r"f: expected a callable or nn.Module, got 'f'"),
        (lambda: ornn.ODECell(lambda y: y, time_dependent=1), TypeError, r"time_dependent: expected a bool"),
        (lambda: ornn.RKCell(3, 4, step_size=0), ValueError, r"step_size: expected a positive finite number"),
        (lambda: ornn.RKCell(0, 4), ValueError, r"input_size: expected an integer >= 1, got 0"),
        (lambda: ornn.RKCell(3, 4.0), TypeError, r"hidden_size: expected an integer >= 1, got 4.0"),
    ],
)
def test_construction_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_call_errors():
    cell = ornn.ODECell(lambda y: -y)
    with pytest.raises(
        TypeError, match=r"x_t: ODECell integrates an autonomous .* expected None, got tensor of shape \(2,\)"
    ):
        cell(torch.zeros(2), torch.zeros(2))
    with pytest.raises(TypeError, match=r"y0: expected a floating-point or complex tensor, got dtype torch.int64"):
        cell.solve(torch.zeros(2, dtype=torch.long), 3)
    with pytest.raises(TypeError, match=r"y0: expected a torch.Tensor, got \[1.0, 2.0\]"):
        cell.solve([1.0, 2.0], 3)
    with pytest.raises(ValueError, match=r"steps: expected an integer >= 0, got -1"):
        cell.solve(torch.zeros(2), -1)
    with pytest.raises(ValueError, match=r"state_shape: ODECell needs state_shape"):
        cell.initial_state(2)
    timed = ornn.ODECell(lambda t, y: -y, time_dependent=True)
    with pytest.raises(ValueError, match=r"state: expected \(y, clock\) for a time-dependent ODECell"):
        timed(None, torch.zeros(2))
    with pytest.raises(TypeError, match=r"state: expected clock to be a 0-d integer tensor"):
        timed(None, (torch.zeros(2), torch.zeros(())))


def test_rk_and_ode_cells_take_torch_factory_keywords():
    torch.manual_seed(0)
    rk = ornn.RKCell(3, 4, tableau="rk4", step_size=0.5, dtype=torch.float64)
    torch.manual_seed(0)
    assert torch.equal(rk.weight_hh, ornn.RKCell(3, 4, tableau="rk4", step_size=0.5).double().weight_hh)
    ode = ornn.ODECell(torch.nn.Linear(3, 3), tableau="heun", step_size=0.1, dtype=torch.float64)
    assert ode.f.weight.dtype == torch.float64
    y = torch.ones(2, 3, dtype=torch.float64)
    assert torch.equal(ode(None, hx=y)[0], ode(None, y)[0])
