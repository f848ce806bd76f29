"""Bidirectional stacks, packed sequences and lengths, against torch.nn.LSTM / nn.GRU in float64 (tolerance 1e-10:
the same products in the same order agree to a few ulps)."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import cells
import ornn

TOL = 1e-10
CASES = [(nn.LSTM, cells.LSTM), (nn.GRU, cells.GRU)]


def close(a, b):
    if isinstance(a, tuple):
        return all(close(x, y) for x, y in zip(a, b))
    return (a - b).abs().max().item() <= TOL


@pytest.mark.parametrize("torch_layer, ours", CASES)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_padded_and_packed_equal_torch(torch_layer, ours, bidirectional, batch_first):
    torch.manual_seed(0)
    reference = torch_layer(3, 5, num_layers=2, bidirectional=bidirectional, batch_first=batch_first).double()
    stack = ours.from_torch(reference)
    assert stack.bidirectional is bidirectional
    x = torch.randn(4, 7, 3, dtype=torch.float64) if batch_first else torch.randn(7, 4, 3, dtype=torch.float64)
    out_ref, state_ref = reference(x)
    out, state = stack(x)
    assert out.shape == out_ref.shape and close(out, out_ref) and close(state, state_ref)
    # a given initial state, in torch's layout (num_layers * num_directions, B, H)
    hx = tuple(torch.randn_like(s) for s in state_ref) if isinstance(state_ref, tuple) else torch.randn_like(state_ref)
    assert close(stack(x, hx)[0], reference(x, hx)[0])

    lengths = torch.tensor([7, 3, 5, 1])
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out_ref, state_ref = reference(packed, hx)
    out, state = stack(packed, hx)
    assert isinstance(out, nn.utils.rnn.PackedSequence)
    padded, got_lengths = pad_packed_sequence(out, batch_first=batch_first)
    padded_ref, _ = pad_packed_sequence(out_ref, batch_first=batch_first)
    assert torch.equal(got_lengths, lengths) and close(padded, padded_ref) and close(state, state_ref)
    # the same through lengths= on the padded tensor: zeros after each sequence's end
    by_lengths, state_l = stack(x, hx, lengths=lengths)
    assert close(by_lengths, padded_ref) and close(state_l, state_ref)


@pytest.mark.parametrize("torch_layer, ours", CASES)
def test_stacks_load_torch_state_dicts_directly(torch_layer, ours):
    torch.manual_seed(1)
    reference = torch_layer(3, 4, num_layers=2, bidirectional=True).double()
    stack = cells.recurrent(ours.__name__.lower(), 3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    stack.load_state_dict(reference.state_dict())
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    assert close(stack(x)[0], reference(x)[0])
    one_way = cells.recurrent(ours.__name__.lower(), 3, 4, num_layers=2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\).*weight_ih_l0_reverse"):
        one_way.load_state_dict(reference.state_dict())
    one_way.load_state_dict(torch_layer(3, 4, num_layers=2).double().state_dict())  # strict, all keys matched


def test_any_cell_runs_bidirectionally_and_the_backward_half_reads_the_reversed_sequence():
    torch.manual_seed(2)
    stack = cells.recurrent("arnn", 3, 4, bidirectional=True, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    out, state = stack(x)
    assert out.shape == (5, 2, 8)
    backward, _ = ornn.Recurrent(stack.reverse_cells[0])(x.flip(0))
    assert torch.equal(out[..., 4:], backward.flip(0))
    # lengths: the backward direction starts at each sequence's own last step
    lengths = [5, 2]
    out_l, _ = stack(x, lengths=lengths)
    short, _ = ornn.Recurrent(stack.reverse_cells[0])(x[:2, 1:2].flip(0))
    assert torch.allclose(out_l[:2, 1:2, 4:], short.flip(0), atol=1e-12, rtol=0)
    assert torch.equal(out_l[2:, 1], torch.zeros(3, 8, dtype=torch.float64))


def test_default_reverse_cells_are_drawn_independently():
    torch.manual_seed(3)
    stack = ornn.Recurrent([cells.LSTM(3, 4)], bidirectional=True)
    assert not torch.equal(stack.cells[0].weight_hh, stack.reverse_cells[0].weight_hh)


def test_bad_bidirectional_and_lengths_arguments_are_named():
    lstm = cells.recurrent("lstm", 3, 4)
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"lengths: expected every length in 1..5 \(the padded length\), got \[6, 2\]"):
        lstm(x, lengths=[6, 2])
    with pytest.raises(ValueError, match=r"lengths: expected one length per sequence \(2\), got 3"):
        lstm(x, lengths=[1, 2, 3])
    with pytest.raises(TypeError, match="lengths: expected a 1-d integer tensor or a list of ints"):
        lstm(x, lengths=torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="lengths: expected a batched x"):
        lstm(torch.randn(5, 3), lengths=[5])
    packed = pack_padded_sequence(x, [5, 3])
    with pytest.raises(ValueError, match="lengths: a PackedSequence carries its own lengths"):
        lstm(packed, lengths=[5, 3])
    clockwork = cells.recurrent("cw_rnn", 3, 4)
    with pytest.raises(ValueError, match="lengths: clocked cells share one step counter"):
        clockwork(x, lengths=[5, 3])
    assert clockwork(x, lengths=[5, 5])[0].shape == (5, 2, 4)  # full lengths are fine
    with pytest.raises(ValueError, match="reverse_cells: given, so expected bidirectional=True"):
        ornn.Recurrent([cells.LSTM(3, 4)], reverse_cells=[cells.LSTM(3, 4)])
    with pytest.raises(ValueError, match=r"cells\[1\]: expected input_size 8 \(2 x hidden_size of layer 0\), got 4"):
        ornn.Recurrent([cells.LSTM(3, 4), cells.LSTM(4, 4)], bidirectional=True)
    with pytest.raises(TypeError, match=r"reverse_cells: cells\[0\] \(ODECell\) has no reset_parameters"):
        ornn.Recurrent([ornn.ODECell(lambda y: -y, state_shape=(4,))], bidirectional=True)
