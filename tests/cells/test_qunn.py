"""QUNN: the invariants our reading of Definition 3 promises."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import cells
from ornn.testing import assert_matches, input_sequences


@settings(max_examples=20)
@given(
    x=input_sequences(length=st.integers(1, 6), batch=2, features=3, dtype=torch.float64),
    memory=st.integers(1, 4),
    hidden=st.integers(1, 4),
)
def test_generator_is_antisymmetric_for_every_input(x, memory, hidden):
    torch.manual_seed(0)
    cell = cells.QUNN(3, hidden, memory=memory).double()
    with torch.no_grad():
        cell.p_logits.normal_()
    state = cell.initial_state(2)
    for x_t in x:
        core, clock = state
        g = cell.generator(x_t, core, clock)
        assert torch.equal(g.transpose(1, 2), -g)
        _, state = cell(x_t, state)


@pytest.mark.parametrize("memory", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("data_dim", [1, 4, 16])
def test_parameter_count_is_2L_whatever_the_data_dimension(memory, data_dim):
    for input_size in (data_dim, 2 * data_dim + 1):
        cell = cells.QUNN(input_size, data_dim, memory=memory)
        assert sum(p.numel() for p in cell.parameters()) == 2 * memory


def test_identity_activations_preserve_the_norm_of_the_step():
    torch.manual_seed(1)
    cell = cells.QUNN(3, 3, memory=4, step_size=0.7, input_activation=lambda z: z).double()
    with torch.no_grad():
        cell.p_logits.normal_()
    state = cell.initial_state(2)
    for x_t in torch.randn(12, 2, 3, dtype=torch.float64):
        core, clock = state
        written = cell._gates(x_t, core, clock)["tape"]
        _, state = cell(x_t, state)
        assert torch.allclose(state[0][0].reshape(2, -1).norm(dim=1), written.norm(dim=1), rtol=1e-12)


def test_readout_is_the_next_clock_slot_and_the_clock_advances():
    torch.manual_seed(2)
    cell = cells.QUNN(2, 2, memory=3).double()
    state = cell.initial_state(1)
    out, state = cell(torch.randn(1, 2, dtype=torch.float64), state)
    (tape, memory, u), clock = state
    assert int(clock) == 1 and tape.shape == (1, 3, 2) and memory.shape == (1, 6, 6)
    assert_matches(out, tape[:, 0])


def test_sequence_dependence():
    """Different histories give different outputs: the tape and the transitions carry memory."""
    torch.manual_seed(3)
    tail = torch.randn(2, 1, 2, dtype=torch.float64)
    a = torch.cat([torch.randn(3, 1, 2, dtype=torch.float64), tail])
    b = torch.cat([torch.randn(3, 1, 2, dtype=torch.float64), tail])
    rnn = cells.recurrent("qunn", 2, 2, memory=3).double()
    assert not torch.allclose(rnn(a)[0][-1], rnn(b)[0][-1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="memory: expected an integer >= 1, got 0"):
        cells.QUNN(2, 2, memory=0)
    with pytest.raises(TypeError, match="hidden_activation: expected a callable"):
        cells.QUNN(2, 2, hidden_activation="tanh")
