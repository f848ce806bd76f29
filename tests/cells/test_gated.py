"""LSTM and GRU against torch.nn.LSTM/GRU and their cells.

Tolerances: float64 1e-10 relative (a few hundred ulps after L steps of GEMMs summed
in different orders); float32 1e-5 relative, 1e-6 absolute (torch's CPU LSTM runs
oneDNN kernels with their own summation order).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cells
import ornn
from ornn.testing import assert_matches

PAIRS = [(cells.LSTM, nn.LSTM, nn.LSTMCell), (cells.GRU, nn.GRU, nn.GRUCell)]
TOL = {torch.float64: (1e-10, 1e-12), torch.float32: (1e-5, 1e-6)}


@settings(max_examples=16)
@given(
    pair=st.sampled_from(PAIRS),
    layers=st.integers(1, 3),
    input_size=st.integers(1, 5),
    hidden=st.integers(1, 6),
    length=st.integers(1, 5),
    batch=st.integers(1, 3),
    bias=st.booleans(),
    batch_first=st.booleans(),
    dtype=st.sampled_from([torch.float64, torch.float32]),
    with_state=st.booleans(),
    fused=st.booleans(),
)
def test_layers_match_torch_outputs_states_and_gradients(
    pair, layers, input_size, hidden, length, batch, bias, batch_first, dtype, with_state, fused
):
    """Both sequence paths against torch: the fused kernel and (fused=False) the generic executor."""
    ours_cls, layer_cls, _ = pair
    reference = layer_cls(input_size, hidden, num_layers=layers, bias=bias, batch_first=batch_first).to(dtype)
    ours = ours_cls.from_torch(reference)
    for cell in ours.cells:
        cell.fused = fused
        assert cell.uses_fast_path() is fused
    assert isinstance(ours, ornn.Recurrent) and ours.num_layers == layers and ours.batch_first == batch_first
    shape = (batch, length, input_size) if batch_first else (length, batch, input_size)
    x = torch.randn(shape, dtype=dtype)
    h0 = torch.randn(layers, batch, hidden, dtype=dtype)
    state0 = None
    if with_state:
        state0 = (h0, torch.randn_like(h0)) if ours_cls is cells.LSTM else h0
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, state = ours(xa, state0)
    ref_out, ref_state = reference(xb, state0)
    rtol, atol = TOL[dtype]
    assert_matches(out, ref_out, rtol=rtol, atol=atol)
    assert_matches(state, ref_state, rtol=rtol, atol=atol)
    cotangent = torch.randn_like(out)
    (out * cotangent).sum().backward()
    (ref_out * cotangent).sum().backward()
    assert_matches(xa.grad, xb.grad, rtol=rtol, atol=atol)
    for layer, cell in enumerate(ours.cells):
        for name, p in cell.named_parameters():
            assert_matches(
                p.grad,
                getattr(reference, f"{name}_l{layer}").grad,
                rtol=rtol,
                atol=max(atol, 1e-5 if dtype == torch.float32 else atol),
            )


@pytest.mark.parametrize("ours_cls, layer_cls, cell_cls", PAIRS)
def test_cells_match_torch_cells_and_share_state_dicts(ours_cls, layer_cls, cell_cls):
    torch.manual_seed(0)
    reference = cell_cls(3, 4).double()
    ours = ours_cls.from_torch(reference)
    assert isinstance(ours, ours_cls) and ours.weight_ih.dtype == torch.float64
    assert set(ours.state_dict()) == set(reference.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    ours_state = ours.initial_state(2)
    ref_state = (
        (torch.zeros(2, 4, dtype=torch.float64),) * 2
        if ours_cls is cells.LSTM
        else torch.zeros(2, 4, dtype=torch.float64)
    )
    for x_t in x:
        out, ours_state = ours(x_t, ours_state)
        ref_state = reference(x_t, ref_state)
        assert_matches(ours_state, ref_state)
    # and the other way round: a torch cell loads ours
    back = cell_cls(3, 4).double()
    back.load_state_dict(ours.state_dict())
    assert_matches(back(x[0], ref_state), reference(x[0], ref_state))


def test_spec_and_computed_order():
    lstm, gru = cells.LSTM(2, 3), cells.GRU(2, 3)
    assert (lstm.num_stages, lstm.memory_span) == (2, 1)
    assert (gru.num_stages, gru.memory_span) == (1, 1)
    assert lstm.rule.tuple_state and not gru.rule.tuple_state
    assert cells.LSTM(2, 3, bias=False).bias_ih is None


def test_from_torch_refuses_what_it_cannot_copy():
    assert cells.LSTM.from_torch(nn.LSTM(2, 3, bidirectional=True)).bidirectional  # now copied too
    with pytest.raises(ValueError, match=r"proj_size=2"):
        cells.LSTM.from_torch(nn.LSTM(2, 3, proj_size=2))
    with pytest.raises(TypeError, match=r"module: expected torch.nn.GRUCell or torch.nn.GRU, got LSTM"):
        cells.GRU.from_torch(nn.LSTM(2, 3))
    with pytest.raises(TypeError, match="bias: expected a bool"):
        cells.LSTM(2, 3, bias=1)


def test_from_torch_keeps_dropout():
    rnn = cells.GRU.from_torch(nn.GRU(2, 3, num_layers=2, dropout=0.25))
    assert rnn.dropout == 0.25
