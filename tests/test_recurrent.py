"""Recurrent: torch.nn.LSTM's calling convention over ornn cells.

References: a hand-written loop over the cell, and torch.nn.RNN, which computes
h' = tanh(W_ih x + b_ih + W_hh h + b_hh), i.e. an RKCell with one Euler step
whose output is the stage itself (Y' = 0 * Y + K_1).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule
from ornn.testing import assert_matches, input_sequences

from .test_executor import GatedLSTM, Leapfrog


class Elman(ornn.ORNNCell):
    """torch.nn.RNNCell as a one-stage rule: Y' = tanh(W_ih x + b_ih + W_hh Y + b_hh)."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.torch_cell = nn.RNNCell(input_size, hidden_size)
        self.rule = UpdateRule(
            stages=(Stage(torch.tanh, input_map=self.drive),), output=Output(weights={0: 1.0}, gamma=0.0)
        )

    def drive(self, y, x):
        m = self.torch_cell
        return nn.functional.linear(x, m.weight_ih, m.bias_ih) + nn.functional.linear(y, m.weight_hh, m.bias_hh)


def elman_stack(input_size, hidden_size, num_layers, reference):
    cells = [Elman(input_size if i == 0 else hidden_size, hidden_size) for i in range(num_layers)]
    for i, cell in enumerate(cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell.torch_cell, name).data.copy_(getattr(reference, f"{name}_l{i}"))
    return cells


@settings(max_examples=20)
@given(
    layers=st.integers(1, 3),
    batch_first=st.booleans(),
    sizes=st.tuples(st.integers(1, 5), st.integers(1, 6)),
    length=st.integers(1, 6),
    batch=st.integers(1, 3),
    with_state=st.booleans(),
)
def test_matches_torch_rnn_with_and_without_state(layers, batch_first, sizes, length, batch, with_state):
    input_size, hidden = sizes
    reference = nn.RNN(input_size, hidden, num_layers=layers, batch_first=batch_first).double()
    rnn = ornn.Recurrent(elman_stack(input_size, hidden, layers, reference), batch_first=batch_first).double()
    x = torch.randn((batch, length, input_size) if batch_first else (length, batch, input_size), dtype=torch.float64)
    h0 = torch.randn(layers, batch, hidden, dtype=torch.float64) if with_state else None
    out, h_n = rnn(x, h0)
    ref_out, ref_h = reference(x, h0)
    assert_matches(out, ref_out)
    assert_matches(h_n, ref_h)
    # gradients through the whole stack agree too
    x_a, x_b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    rnn(x_a, h0)[0].pow(2).sum().backward()
    reference(x_b, h0)[0].pow(2).sum().backward()
    assert_matches(x_a.grad, x_b.grad)


def test_unbatched_input_and_state():
    torch.manual_seed(0)
    reference = nn.RNN(3, 4, num_layers=2).double()
    rnn = ornn.Recurrent(elman_stack(3, 4, 2, reference)).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    h0 = torch.randn(2, 4, dtype=torch.float64)
    out, h_n = rnn(x, h0)
    ref_out, ref_h = reference(x, h0)
    assert out.shape == (5, 4) and h_n.shape == (2, 4)
    assert_matches(out, ref_out)
    assert_matches(h_n, ref_h)


def test_tuple_states_stack_like_torch_lstm():
    torch.manual_seed(1)
    cells = [GatedLSTM(3, 5), GatedLSTM(5, 5)]
    reference = nn.LSTM(3, 5, num_layers=2)
    for i, cell in enumerate(cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell.torch_cell, name).data.copy_(getattr(reference, f"{name}_l{i}"))
    rnn = ornn.Recurrent(cells)
    x = torch.randn(6, 2, 3)
    (out, (h, c)), (ref_out, (ref_h, ref_c)) = rnn(x), reference(x)
    assert h.shape == c.shape == (2, 2, 5)
    assert_matches(out, ref_out)
    assert_matches((h, c), (ref_h, ref_c))
    # continuing from the returned state equals one long run
    out_a, state_a = rnn(x[:3])
    out_b, state_b = rnn(x[3:], state_a)
    assert_matches(torch.cat([out_a, out_b]), out)
    assert_matches(state_b, (h, c))


def test_memory_span_history_is_threaded_and_resumable():
    torch.manual_seed(2)
    cell = Leapfrog(2, 3).double()
    rnn = ornn.Recurrent(cell)
    x = torch.randn(8, 2, 2, dtype=torch.float64)
    out, state = rnn(x)
    manual_state, manual = cell.initial_state(2), []
    for x_t in x:
        o, manual_state = cell(x_t, manual_state)
        manual.append(o)
    assert_matches(out, torch.stack(manual))
    assert_matches(state, tuple(s.unsqueeze(0) for s in manual_state))
    first, mid = rnn(x[:5])
    second, end = rnn(x[5:], mid)
    assert_matches(torch.cat([first, second]), out)
    assert_matches(end, state)


def test_heterogeneous_layers_return_one_state_per_layer():
    rnn = ornn.Recurrent([Leapfrog(2, 3), ornn.RKCell(3, 4)])
    out, state = rnn(torch.randn(4, 2, 2))
    assert out.shape == (4, 2, 4)
    assert isinstance(state, tuple) and len(state) == 2
    assert len(state[0]) == 2 and state[1].shape == (2, 4)
    out2, _ = rnn(torch.randn(4, 2, 2), state)
    assert out2.shape == (4, 2, 4)


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(3)
    rnn = ornn.Recurrent([ornn.RKCell(2, 8), ornn.RKCell(8, 8)], dropout=0.5)
    x = torch.randn(5, 3, 2)
    rnn.eval()
    assert_matches(rnn(x)[0], rnn(x)[0])
    rnn.train()
    torch.manual_seed(4)
    a = rnn(x)[0]
    torch.manual_seed(5)
    b = rnn(x)[0]
    assert not torch.allclose(a, b)
    single = ornn.Recurrent(ornn.RKCell(2, 8), dropout=0.5).train()  # no layer above: no dropout
    assert_matches(single(x)[0], single(x)[0])


def test_initial_state_matches_forward_layout():
    rnn = ornn.Recurrent([GatedLSTM(3, 4), GatedLSTM(4, 4)])
    h0, c0 = rnn.initial_state(5)
    assert h0.shape == c0.shape == (2, 5, 4)
    assert (rnn.num_layers, rnn.input_size, rnn.hidden_size) == (2, 3, 4)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda rnn: rnn(torch.randn(5, 2, 4)), ValueError, r"x_t: expected last dimension 3 \(input_size\), got 4"),
        (lambda rnn: rnn(torch.randn(5, 2, 3, 1)), ValueError, r"x: expected a 3-d tensor \(length, batch, features\)"),
        (lambda rnn: rnn(torch.randn(0, 2, 3)), ValueError, r"x: expected at least one time step"),
        (lambda rnn: rnn([[1.0, 2.0, 3.0]]), TypeError, r"x: expected a torch.Tensor"),
        (
            lambda rnn: rnn(torch.randn(5, 2, 3, dtype=torch.float64)),
            TypeError,
            r"x_t: expected dtype torch.float32 \(the cell's parameters\), got torch.float64",
        ),
        (
            lambda rnn: rnn(torch.randn(5, 2, 3), torch.zeros(1, 2, 4)),
            ValueError,
            r"state: expected leaf 0 of shape \(2, 2, 4\), got \(1, 2, 4\)",
        ),
        (
            lambda rnn: rnn(torch.randn(5, 2, 3), torch.zeros(2, 2, 4, dtype=torch.float64)),
            TypeError,
            r"state: expected leaf 0 of dtype torch.float32, got torch.float64",
        ),
        (
            lambda rnn: rnn(torch.randn(5, 2, 3), (torch.zeros(2, 2, 4),)),
            ValueError,
            r"state: expected the structure of initial_state\(\)",
        ),
    ],
)
def test_bad_input_is_named(call, error, message):
    rnn = ornn.Recurrent([ornn.RKCell(3, 4), ornn.RKCell(4, 4)])
    with pytest.raises(error, match=message):
        call(rnn)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: ornn.Recurrent([]), TypeError, r"cells: expected a cell or a non-empty sequence of cells"),
        (
            lambda: ornn.Recurrent([ornn.RKCell(3, 4), ornn.RKCell(5, 4)]),
            ValueError,
            r"cells\[1\]: expected input_size 4 \(hidden_size of layer 0\), got 5",
        ),
        (
            lambda: ornn.Recurrent([nn.Linear(2, 2)]),
            TypeError,
            r"cells\[0\]: expected a cell module with initial_state",
        ),
        (
            lambda: ornn.Recurrent(ornn.RKCell(2, 2), dropout=1.0),
            ValueError,
            r"dropout: expected a number in \[0, 1\), got 1.0",
        ),
        (lambda: ornn.Recurrent(ornn.RKCell(2, 2), batch_first=1), TypeError, r"batch_first: expected a bool, got 1"),
    ],
)
def test_bad_construction_is_named(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_cell_level_errors():
    cell = ornn.RKCell(3, 4)
    with pytest.raises(ValueError, match=r"x_t: expected shape \(batch, 3\) or \(3,\), got \(1, 2, 3\)"):
        cell(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match=r"state: expected leaf 0 of shape \(2, 4\), got \(2, 5\)"):
        cell(torch.zeros(2, 3), torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"batch_size: expected an integer >= 1, got 0"):
        cell.initial_state(0)
    out, state = cell(torch.zeros(3))  # unbatched, as torch's cells allow
    assert out.shape == state.shape == (4,)


@settings(max_examples=10)
@given(x=input_sequences(length=st.integers(1, 20), batch=2, features=3))
def test_iterating_with_unbind_keeps_backward_correct(x):
    rnn = ornn.Recurrent(ornn.RKCell(3, 4, tableau="midpoint"))
    x = x.clone().requires_grad_(True)
    out, _ = rnn(x)
    out[-1].sum().backward()
    assert x.grad.shape == x.shape and torch.isfinite(x.grad).all()
    assert x.grad[0].abs().sum() > 0  # the first step influences the last output
