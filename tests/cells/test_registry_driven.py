"""Checks every registered cell gets by registering: shapes, dtypes, gradients, stability, errors.

A cell registered with ``ornn.register_cell`` (or added to the zoo) is picked up here
without new test code.
"""

import pytest
import torch
from torch.func import functional_call

import cells
from ornn import stability
from ornn._tree import leaves as ornn_leaves

NAMES = cells.available()


def test_zoo_names_are_registered():
    assert set(NAMES) >= {"lstm", "gru", "urnn", "cw_rnn", "sru", "arnn"}
    with pytest.raises(ValueError, match=r"name: unknown cell 'lstmm'; valid names are .*lstm"):
        cells.create("lstmm", input_size=2, hidden_size=3)


@pytest.mark.parametrize("name", NAMES)
def test_keyword_construction_and_spec(name):
    cell = cells.create(name, input_size=3, hidden_size=4)
    assert (cell.input_size, cell.hidden_size) == (3, 4)
    assert cell.num_stages == cell.rule.num_stages >= 1 and cell.memory_span == cell.rule.memory_span >= 1


@pytest.mark.parametrize("name", NAMES)
def test_factory_keywords_equal_building_then_casting(name):
    """``dtype=``/``device=`` as torch modules take them: the same values as ``.to(device).double()``."""
    torch.manual_seed(3)
    built = cells.create(name, 3, 4, dtype=torch.float64, device="cpu")
    torch.manual_seed(3)
    cast = cells.create(name, 3, 4).double()
    assert built.state_dict().keys() == cast.state_dict().keys()
    for key, value in built.state_dict().items():
        assert value.dtype == cast.state_dict()[key].dtype and torch.equal(value, cast.state_dict()[key]), key
    assert all(p.dtype in (torch.float64, torch.complex128) for p in built.parameters())
    x = torch.randn(2, 3, dtype=torch.float64)
    out, state = built(x)
    assert out.dtype == torch.float64
    # the state positionally or as hx, as torch's cells take it
    by_position, by_keyword = built(x, state), built(x, hx=state)
    assert torch.equal(by_position[0], by_keyword[0])
    with pytest.raises(TypeError, match="dtype: expected a real floating-point torch.dtype"):
        cells.create(name, 3, 4, dtype=torch.int32)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_batched_and_unbatched(name, dtype):
    """Shapes, and the values that must agree: an unbatched call is row 0 of the batched one, and continuing
    from a returned state equals one long run (float32 to 1e-5, float64 to 1e-12: round-off of one sequence)."""
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.manual_seed(0)
    cell = cells.create(name, 3, 4).to(dtype)
    x = torch.randn(2, 3, dtype=dtype)
    out, state = cell(x)
    assert out.shape == (2, 4) and out.dtype == dtype
    out2, _ = cell(torch.randn(2, 3, dtype=dtype), state)
    assert out2.shape == (2, 4)
    single, _ = cell(x[0])
    assert single.shape == (4,) and torch.allclose(single, out[0], atol=tol)
    rnn = cells.recurrent(name, 3, 4, num_layers=2, batch_first=True).to(dtype)
    xs = torch.randn(2, 5, 3, dtype=dtype)
    seq, final = rnn(xs)
    assert seq.shape == (2, 5, 4) and torch.isfinite(seq).all()
    first, middle = rnn(xs[:, :2])
    rest, end = rnn(xs[:, 2:], middle)
    assert torch.allclose(torch.cat([first, rest], dim=1), seq, atol=tol)
    for a, b in zip(ornn_leaves(end), ornn_leaves(final)):
        assert a.dtype == b.dtype and torch.allclose(a, b, atol=tol)  # complex leaves (URNN) compared whole
    unbatched, _ = rnn(xs[0])
    assert unbatched.shape == (5, 4) and torch.allclose(unbatched, seq[0], atol=tol)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_inputs_and_parameters(name):
    torch.manual_seed(1)
    rnn = cells.recurrent(name, 2, 3).double()
    names = [n for n, _ in rnn.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in rnn.named_parameters())
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)

    def run(x, *values):
        return functional_call(rnn, dict(zip(names, values)), (x,))[0]

    assert torch.autograd.gradcheck(run, (x, *params), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_stability_report(name):
    torch.manual_seed(2)
    cell = cells.create(name, 3, 4).double()
    report = stability.check(cell, torch.randn(15, 2, 3, dtype=torch.float64))
    assert report.steps == 15 and report.finite
    assert report.spectral_radius >= 0 and report.rule
    if callable(getattr(cell, "inverse", None)):  # reversible cells come back to round-off over 15 steps
        assert report.round_trip_error < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_wrong_input_size_is_named(name):
    cell = cells.create(name, 3, 4)
    with pytest.raises(ValueError, match=r"x_t: expected last dimension 3 \(input_size\), got 5"):
        cell(torch.randn(2, 5))
    with pytest.raises(TypeError, match=r"x_t: expected dtype torch.float32"):
        cell(torch.randn(2, 3, dtype=torch.float64))


def test_recurrent_builder_errors():
    with pytest.raises(ValueError, match="num_layers: expected an integer >= 1, got 0"):
        cells.recurrent("lstm", 2, 3, num_layers=0)
