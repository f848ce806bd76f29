"""ornn.testing: the strategies draw what they promise, the assertions can fail."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ornn
from ornn import testing
from ornn.testing import (
    anti_hermitian_matrices,
    assert_matches,
    assert_reversible,
    assert_stable,
    cells,
    input_sequence,
    input_sequences,
    orthogonal_matrices,
)

from .test_executor import Leapfrog
from .test_stability import BrokenInverse, Linear


@given(a=anti_hermitian_matrices(dtype=torch.complex128))
def test_anti_hermitian_complex(a):
    assert a.dtype == torch.complex128 and torch.equal(a.mH, -a)


@given(a=anti_hermitian_matrices(n=3, dtype=torch.float32))
def test_anti_hermitian_real_is_antisymmetric(a):
    assert a.shape == (3, 3) and a.dtype == torch.float32 and torch.equal(a.T, -a)


@given(q=orthogonal_matrices(dtype=torch.complex128))
def test_orthogonal_matrices_are_unitary(q):
    eye = torch.eye(q.shape[0], dtype=q.dtype)
    assert torch.allclose(q.mH @ q, eye, atol=1e-12)


@given(x=input_sequences(length=4, batch=st.integers(1, 2), features=3, dtype=torch.float64, bound=1.0))
def test_input_sequences(x):
    assert x.shape[0] == 4 and x.shape[2] == 3 and x.dtype == torch.float64
    assert x.abs().max() <= 1.0


def test_cells_strategy_draws_registered_cells():
    ornn.register_cell("test_rk", ornn.RKCell)
    try:
        seen = []

        @settings(max_examples=10)
        @given(cell=cells(names=["test_rk"], dtype=torch.float64))
        def draw(cell):
            assert isinstance(cell, ornn.RKCell) and cell.weight_hh.dtype == torch.float64
            seen.append((cell.input_size, cell.hidden_size))

        draw()
        assert seen
    finally:
        ornn.unregister_cell("test_rk")


def test_cells_strategy_without_registered_cells():
    with pytest.raises(ValueError, match="names: no cells are registered"):
        cells(names=[])


def test_a_failing_property_prints_a_compact_reproducer():
    """The falsifying example is the calls that rebuild the cell and the inputs, and the message names the
    failed rule, the cell's constructor call and the input shape: no tensors."""
    from hypothesis import Phase

    import cells as zoo  # noqa: F401  (registers the zoo)

    @settings(max_examples=5, deadline=None, database=None, phases=[Phase.generate])
    @given(
        cell=cells(names=["lstm"], input_size=3, hidden_size=4, dtype=torch.float64),
        x=input_sequences(length=40, batch=2, features=3, dtype=torch.float64),
    )
    def lstm_preserves_gradients(cell, x):
        drawn[testing.describe_cell(cell)] = cell
        assert_stable(cell, x)  # an LSTM contracts: gradients vanish over 40 steps

    drawn = {}
    with pytest.raises(AssertionError) as info:
        lstm_preserves_gradients()
    message = str(info.value)
    assert "gradients not preserved over 40 steps" in message
    assert "cell: ornn.testing.seeded_cell('lstm', 3, 4, seed=" in message
    assert "inputs of shape (40, 2, 3), float64" in message and "tensor(" not in message
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "seeded_cell(" in notes and "input_sequence(" in notes and "tensor(" not in notes
    call = message.split("cell: ")[1].split("\n")[0]
    rebuilt = eval(call, {"ornn": __import__("ornn"), "torch": torch})  # the printed call rebuilds the failing cell
    assert torch.equal(rebuilt.weight_hh, drawn[call].weight_hh) and torch.equal(rebuilt.bias_ih, drawn[call].bias_ih)


def test_input_sequence_is_seeded_and_bounded():
    a = input_sequence(5, 2, 3, seed=7, bound=0.5, dtype=torch.float64)
    assert torch.equal(a, input_sequence(5, 2, 3, seed=7, bound=0.5, dtype=torch.float64))
    assert a.abs().max() <= 0.5 and a.shape == (5, 2, 3)
    assert torch.equal(input_sequence(2, 1, 1, seed=0, fill=-2.0), torch.full((2, 1, 1), -2.0))
    with pytest.raises(ValueError, match="bound: expected a positive finite number"):
        input_sequences(bound=0.0)


def test_assert_matches_passes_and_fails_with_location():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    assert_matches(a, a + 1e-14)
    with pytest.raises(AssertionError, match=r"value: mismatch at index \(1, 0\): got 3.001, expected 3.0"):
        assert_matches(a + torch.tensor([[0.0, 0.0], [1e-3, 0.0]], dtype=torch.float64), a)
    with pytest.raises(AssertionError, match="shape"):
        assert_matches(a, a[0])
    with pytest.raises(AssertionError, match="structures differ"):
        assert_matches((a, a), a)
    assert_matches(torch.ones(3), torch.ones(3) + 5e-7)  # float32 default atol 1e-6
    with pytest.raises(AssertionError):
        assert_matches(torch.ones(3), torch.ones(3) + 1e-4)
    with pytest.raises(AssertionError, match="non-finite"):
        assert_matches(torch.tensor([float("nan")]), torch.tensor([1.0]))


def test_default_tolerances():
    assert testing.default_tolerances(torch.float64) == (1e-10, 1e-12)
    assert testing.default_tolerances(torch.complex64) == (1e-5, 1e-6)


def test_assert_stable_and_reversible():
    inputs = torch.zeros(20, 2, 1, dtype=torch.float64)
    report = assert_stable(Linear(0.9 * torch.eye(2, dtype=torch.float64)), inputs)
    assert report.stable
    with pytest.raises(
        AssertionError, match=r"Linear is not stable \(gradient-preserving\): not bounded over 20 steps"
    ):
        assert_stable(Linear(1.2 * torch.eye(2, dtype=torch.float64)), inputs)
    contraction = Linear(0.5 * torch.eye(2, dtype=torch.float64))  # ratio 0.5^20 ~ 1e-6 over 20 steps
    assert assert_stable(contraction, inputs, require="bounded").bounded
    with pytest.raises(AssertionError, match="gradients not preserved over 20 steps"):
        assert_stable(contraction, inputs)
    torch.manual_seed(0)
    x = torch.randn(50, 2, 2, dtype=torch.float64)
    assert assert_reversible(Leapfrog(2, 3).double(), x) < 1e-12
    with pytest.raises(AssertionError, match="round-trip error .* exceeds tol"):
        assert_reversible(BrokenInverse(2, 3).double(), x)
