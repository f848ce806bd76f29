"""The generic executor: classical RK, gates, tuple states, delays, clocks, validation.

References are written independently in the tests: the textbook RK recurrence, a
leapfrog loop, and torch.nn.LSTMCell for a gated rule with an (h, c) state.
Float64 comparisons use 1e-12 (a handful of ulps after a few fused adds);
float32 against torch's LSTMCell uses 1e-5 (different summation order in the gate GEMM).
"""

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule, state_input
from ornn.testing import assert_matches, input_sequences, tableaus


def textbook_rk_step(cell, x, y):
    """K_q = tanh(W (y + h sum_k a_qk K_k) + U x + b); y' = y + h sum_q b_q K_q."""
    tab, h = cell.tableau, cell.step_size
    ks = []
    for q in range(tab.stages):
        arg = y + h * sum((tab.a[q][k] * ks[k] for k in range(q)), torch.zeros_like(y))
        ks.append(torch.tanh(arg @ cell.weight_hh.T + x @ cell.weight_ih.T + cell.bias))
    return y + h * sum(tab.b[q] * ks[q] for q in range(tab.stages))


@given(tab=tableaus(), x=input_sequences(length=5, batch=3, features=4, dtype=torch.float64), h=st.floats(0.05, 1.0))
def test_rk_cell_is_the_textbook_recurrence(tab, x, h):
    cell = ornn.RKCell(4, 5, tableau=tab, step_size=h).double()
    y = torch.randn(3, 5, dtype=torch.float64)
    for x_t in x:
        expected = textbook_rk_step(cell, x_t, y)
        out, y_next = cell(x_t, y)
        assert_matches(y_next, expected, rtol=1e-12, atol=1e-12)
        assert out is y_next
        y = y_next


def test_order_and_memory_span_are_computed():
    assert (ornn.RKCell(2, 3, tableau="rk4").num_stages, ornn.RKCell(2, 3, tableau="rk4").memory_span) == (4, 1)
    assert ornn.RKCell(2, 3, tableau="euler").num_stages == 1
    rule = UpdateRule(
        stages=(Stage(torch.tanh, state_input, delay=2), Stage(torch.tanh, couplings={0: 1.0})),
        output=Output(weights={1: 1.0}, delay=1),
    )
    assert (rule.num_stages, rule.memory_span) == (2, 3)


class Leapfrog(ornn.ORNNCell):
    """Y_{l+1} = Y_{l-1} + 2h tanh(W Y_l + V x_l): one stage, memory span 2."""

    def __init__(self, input_size, hidden_size, h=0.1):
        super().__init__(input_size, hidden_size)
        self.w = nn.Linear(hidden_size, hidden_size, bias=False)
        self.v = nn.Linear(input_size, hidden_size)
        self.rule = UpdateRule(
            stages=(Stage(torch.tanh, input_map=self.drive),),
            output=Output(weights={0: 2.0}, input_map=state_input, delay=1, gamma=0.0),
            step_size=h,
        )

    def drive(self, y, x):
        return self.w(y) + self.v(x)

    def inverse(self, x, state):
        y_next, y = state
        return y, y_next - 2 * self.rule.step_size * torch.tanh(self.w(y) + self.v(x))


def test_delays_read_the_history():
    torch.manual_seed(0)
    cell = Leapfrog(3, 4).double()
    assert (cell.num_stages, cell.memory_span) == (1, 2)
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    prev, cur = torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64)
    state = cell.initial_state(2, dtype=torch.float64)
    assert isinstance(state, tuple) and len(state) == 2
    for x_t in x:
        prev, cur = cur, prev + 2 * 0.1 * torch.tanh(cell.w(cur) + cell.v(x_t))
        out, state = cell(x_t, state)
        assert_matches(out, cur)
        assert_matches(state, (cur, prev))


class GatedLSTM(ornn.ORNNCell):
    """An LSTM written as a 2-stage rule with gates, to exercise gates, carries and tuple states.

    K_1 = i * tanh(g);  K_2 = 1 * K_1 + f * c;  h' = o * tanh(K_2);  c' = K_2.
    """

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.torch_cell = nn.LSTMCell(input_size, hidden_size)
        self.rule = UpdateRule(
            stages=(
                Stage(torch.tanh, input_map="g", kappa="i"),
                Stage(ornn.identity, input_map=self.cell_state, gamma=1.0, kappa="f"),
            ),
            output=(
                Output(weights={1: 1.0}, activation=torch.tanh, gamma=0.0, kappa="o"),
                Output(weights={1: 1.0}, gamma=0.0),
            ),
            gates=self.gates,
        )

    def gates(self, x, state, clock):
        h, _ = state
        m = self.torch_cell
        i, f, g, o = (F.linear(x, m.weight_ih, m.bias_ih) + F.linear(h, m.weight_hh, m.bias_hh)).chunk(4, dim=-1)
        return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": g, "o": torch.sigmoid(o)}

    @staticmethod
    def cell_state(state, x):
        return state[1]

    def zero_state(self, batch_size, dtype, device):
        z = super().zero_state(batch_size, dtype, device)
        return (z, z.clone())


def test_gated_tuple_state_rule_equals_torch_lstm_cell():
    torch.manual_seed(1)
    cell = GatedLSTM(3, 5)
    x = torch.randn(7, 4, 3)
    state = cell.initial_state(4)
    ref = (torch.zeros(4, 5), torch.zeros(4, 5))
    for x_t in x:
        out, state = cell(x_t, state)
        ref = cell.torch_cell(x_t, ref)
        assert_matches(state, ref)  # float32 defaults: rtol 1e-5, atol 1e-6
        assert_matches(out, ref[0])


def test_missing_gate_is_reported_by_name():
    rule = UpdateRule(
        stages=(Stage(torch.tanh, state_input, kappa="z"),),
        output=Output(weights={0: 1.0}),
        gates=lambda x, y, clock: {"r": y},
    )
    with pytest.raises(ValueError, match=r"gate 'z' is referenced by the rule but the gate function produced \['r'\]"):
        ornn.execute(rule, None, (torch.zeros(1, 2),))


def test_output_without_terms_keeps_gamma_times_state():
    rule = UpdateRule(stages=(Stage(torch.tanh, state_input),), output=Output(gamma=0.5))
    y = torch.ones(2, 3)
    assert_matches(ornn.execute(rule, None, (y,)), 0.5 * y)


def _hand_rolled(w, v, gamma, kappa, delay, gamma_delay, x, history):
    """Y_{l+1} = gamma Y_{l-gamma_delay} + kappa tanh(W Y_{l-delay} + V x_l + h K_1), K_1 = tanh(W Y_l): by hand."""
    h = 0.3
    outputs = []
    for x_t in x:
        k1 = torch.tanh(history[0] @ w.T)
        y = gamma * history[gamma_delay] + kappa * torch.tanh(history[delay] @ w.T + x_t @ v.T + h * k1)
        history = (y, *history[:-1])
        outputs.append(y)
    return torch.stack(outputs)


@pytest.mark.parametrize("delay, gamma_delay", [(0, 0), (2, 0), (0, 2), (1, 2), (2, 1)])
def test_output_with_a_delay_and_a_gamma_against_a_hand_rolled_loop(delay, gamma_delay):
    """The gamma term reads Y_{l-gamma_delay} (0: the newest state) and the input map Y_{l-delay}, independently."""
    g = torch.Generator().manual_seed(7)
    w = torch.randn(3, 3, generator=g, dtype=torch.float64) / 2
    v = torch.randn(3, 2, generator=g, dtype=torch.float64)
    x = torch.randn(6, 4, 2, generator=g, dtype=torch.float64)
    history = tuple(torch.randn(4, 3, generator=g, dtype=torch.float64) for _ in range(3))
    rule = UpdateRule(
        stages=(Stage(torch.tanh, input_map=lambda y, x_t: y @ w.T),),
        output=Output(
            weights={0: 1.0},
            activation=torch.tanh,
            input_map=lambda y, x_t: y @ w.T + x_t @ v.T,
            delay=delay,
            gamma=0.7,
            kappa=0.4,
            gamma_delay=gamma_delay,
        ),
        step_size=0.3,
    )
    assert rule.memory_span == 1 + max(delay, gamma_delay)
    span = rule.memory_span
    state = history[:span]
    outputs = []
    for x_t in x:
        y = ornn.execute(rule, x_t, state)
        state = (y, *state[:-1])
        outputs.append(y)
    assert_matches(torch.stack(outputs), _hand_rolled(w, v, 0.7, 0.4, delay, gamma_delay, x, history[:span]))


def test_eq_3_of_the_paper_literally_gamma_on_the_oldest_state():
    """Eq. (3): Y_{l+t} = gamma Y_l + kappa sigma(W Y_{l+t-1} + ...): with t = 2, gamma_delay = 1, delay = 0."""
    rule = UpdateRule(
        stages=(Stage(torch.tanh, state_input),),
        output=Output(weights={0: 0.0}, activation=torch.tanh, input_map=state_input, gamma=0.5, gamma_delay=1),
    )
    newest, oldest = torch.full((1, 2), 0.2, dtype=torch.float64), torch.full((1, 2), -1.0, dtype=torch.float64)
    assert (rule.num_stages, rule.memory_span) == (1, 2)
    assert_matches(ornn.execute(rule, None, (newest, oldest)), 0.5 * oldest + torch.tanh(newest))


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: UpdateRule(stages=(), output=Output()), ValueError, r"stages: expected at least one Stage"),
        (
            lambda: UpdateRule(stages=(Stage(torch.tanh),), output=Output()),
            ValueError,
            r"stages\[0\]: expected an input_map or couplings",
        ),
        (
            lambda: UpdateRule(
                stages=(Stage(torch.tanh, state_input), Stage(torch.tanh, couplings={1: 1.0})), output=Output()
            ),
            ValueError,
            r"stages\[1\].couplings: an explicit step couples to earlier stages only \(k < 1\), got k = 1",
        ),
        (
            lambda: UpdateRule(stages=(Stage(torch.tanh, state_input),), output=Output(weights={3: 1.0})),
            ValueError,
            r"output\[0\].weights: stage index 3 out of range for 1 stages",
        ),
        (
            lambda: UpdateRule(stages=(Stage(torch.tanh, state_input),), output=Output(), step_size=0.0),
            ValueError,
            r"step_size: expected a positive finite number, got 0.0",
        ),
        (
            lambda: UpdateRule(stages=(Stage(torch.tanh, state_input),), output=Output(), step_size=-1),
            ValueError,
            r"step_size: expected a positive finite number, got -1.0",
        ),
        (
            lambda: UpdateRule(stages=(Stage(torch.tanh, state_input, time_dependent=True),), output=Output()),
            ValueError,
            r"clocked: time-dependent stages read the step counter",
        ),
        (lambda: UpdateRule(stages=("tanh",), output=Output()), TypeError, r"stages\[0\]: expected a Stage"),
        (
            lambda: UpdateRule(stages=(Stage(torch.tanh, state_input),), output="y"),
            TypeError,
            r"output\[0\]: expected an Output",
        ),
        (
            lambda: Stage(torch.tanh, state_input, delay=-1),
            ValueError,
            r"delay: expected a non-negative integer delay, got -1",
        ),
        (lambda: Stage(torch.tanh, "g", delay=1), ValueError, r"delay: a gate-name input map reads Y_l only"),
        (lambda: Stage("tanh", state_input), TypeError, r"activation: expected a callable"),
        (lambda: Stage(torch.tanh, state_input, gamma=[1.0]), TypeError, r"gamma: expected a number, a gate name"),
        (
            lambda: Stage(torch.tanh, state_input, couplings={-1: 1.0}),
            ValueError,
            r"couplings: expected non-negative integer",
        ),
        (lambda: Output(kappa=None), TypeError, r"kappa: expected a number, a gate name"),
        (lambda: Output(gamma_delay=-1), ValueError, r"gamma_delay: expected a non-negative integer delay, got -1"),
    ],
)
def test_spec_validation(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_deepcopy_and_save_keep_parameters_bound_to_their_module():
    torch.manual_seed(2)
    cell = ornn.RKCell(2, 3, tableau="rk4")
    twin = copy.deepcopy(cell)
    x = torch.randn(4, 2)
    before = cell(x)[0]
    with torch.no_grad():
        twin.weight_hh.mul_(2.0)  # only the copy changes
    assert_matches(cell(x)[0], before)
    assert not torch.allclose(twin(x, torch.ones(4, 3))[0], cell(x, torch.ones(4, 3))[0])
    buffer = io.BytesIO()
    torch.save(cell, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert_matches(loaded(x)[0], before)


@settings(max_examples=10)
@given(x=input_sequences(length=3, batch=2, features=2))
def test_gradients_flow_to_every_parameter(x):
    cell = ornn.RKCell(2, 3, tableau="ralston")
    out = ornn.Recurrent(cell)(x)[0]
    out.sum().backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_from_tableau_builds_the_runge_kutta_step_and_refuses_what_it_cannot_build():
    """RK4 on dy/dt = -y from the classmethod equals R(-h) y; gates scale the increment elementwise."""
    rule = UpdateRule.from_tableau("rk4", lambda y: -y, step_size=0.1)
    y = torch.ones(1, 3, dtype=torch.float64)
    r = 1 - 0.1 + 0.1**2 / 2 - 0.1**3 / 6 + 0.1**4 / 24
    assert (rule.num_stages, rule.memory_span) == (4, 1)
    assert_matches(ornn.execute(rule, None, (y,)), r * y)
    half = torch.tensor([[0.0, 0.5, 1.0]], dtype=torch.float64)
    gated = UpdateRule.from_tableau("rk4", lambda y: -y, step_size=0.1, gates=lambda x, y, c: {"g": half}, gate="g")
    assert_matches(ornn.execute(gated, None, (y,)), y + half * (r - 1) * y)
    with pytest.raises(ValueError, match="gate: 'g' names a gate tensor, so expected a gates function"):
        UpdateRule.from_tableau("heun", torch.tanh, gate="g")
    with pytest.raises(ValueError, match="output: the weights are the tableau's b_k"):
        UpdateRule.from_tableau("heun", torch.tanh, output={"weights": {0: 1.0}})
    with pytest.raises(ValueError, match="tableau: expected an explicit tableau"):
        UpdateRule.from_tableau(ornn.Tableau(a=[[0.5]], b=[1.0], c=[0.5], name="implicit midpoint"), torch.tanh)
    with pytest.raises(TypeError, match="stage: expected a callable"):
        UpdateRule.from_tableau("heun", "tanh")
