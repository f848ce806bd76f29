"""The QAOA rotation circuits (applications.qaoa.circuit): the two runners agree, the adjoint gradient equals
autograd through the state, and bad circuits are refused.

Tolerance 1e-12 in complex128: a few hundred floating-point operations per amplitude.
"""

import pytest
import torch

from applications.qaoa import circuit
from applications.qaoa.circuit import Rotation, circuit_expectation, circuit_state, diagonal_rotation, pauli_rotation
from ornn import quantum as q

from ..helpers import assert_refusals


def test_circuit_runners_agree_and_check_their_input():

    cost = torch.tensor([0.0, -1.0, -1.0, 0.0], dtype=torch.float64)
    rotations = [diagonal_rotation(0, cost), Rotation("pauli", 1, 0.5, pauli="ZY", wires=(0, 1)), Rotation("x_all", 1)]
    params = torch.tensor([[0.3, 0.7], [1.1, -0.4]], dtype=torch.float64)
    initial = q.plus_state(2, dtype=torch.complex128)
    state = circuit_state(initial, rotations, params)
    assert torch.allclose(
        circuit_expectation(initial, rotations, params, cost), q.expectation_diagonal(state, cost), atol=1e-12
    )
    # each message matched whole: the argument, what was expected and what came
    refusals = [
        (
            ValueError,
            r"rotations: parameter index 1 out of range for 1 parameters",
            lambda: circuit_state(initial, rotations, params[:, :1]),
        ),
        (
            ValueError,
            r"params: expected \(batch, num_params\), got shape \(2,\)",
            lambda: circuit_expectation(initial, rotations, params[0], cost),
        ),
        (
            TypeError,
            r"params: expected a torch.Tensor, got \[\[0.3, 0.7\]\]",
            lambda: circuit_state(initial, rotations, [[0.3, 0.7]]),
        ),
        (
            TypeError,
            r"rotations: expected Rotation objects, got 'x_all'",
            lambda: circuit_state(initial, ["x_all"], params),
        ),
        (
            ValueError,
            r"initial: expected 1 or 2 rows \(one per parameter row\), got 3",
            lambda: circuit_state(q.plus_state(2, batch=3, dtype=torch.complex128), rotations, params),
        ),
        # three parameters per row and three initial rows: the rows are counted against the batch, not the parameters
        (
            ValueError,
            r"initial: expected 1 or 2 rows \(one per parameter row\), got 3",
            lambda: circuit_expectation(
                q.plus_state(2, batch=3, dtype=torch.complex128), rotations, torch.ones(2, 3, dtype=torch.float64), cost
            ),
        ),
        (ValueError, r"kind: expected 'diagonal', 'x_all' or 'pauli', got 'y_all'", lambda: Rotation("y_all", 0)),
        (
            ValueError,
            r"diagonal: a 'diagonal' rotation needs its generator's 2\*\*n entries",
            lambda: Rotation("diagonal", 0),
        ),
        (
            ValueError,
            r"pauli: expected one letter per wire, got 'ZY' on \(0,\)",
            lambda: Rotation("pauli", 0, pauli="ZY", wires=(0,)),
        ),
        (ValueError, r"pauli: expected one letter per wire, got '' on \(\)", lambda: Rotation("pauli", 0)),
        (
            ValueError,
            r"observable: expected a real diagonal of 4 entries, got \(4,\) torch.complex128",
            lambda: circuit_expectation(initial, rotations, params, cost.to(torch.complex128)),
        ),
        (
            ValueError,
            r"observable: expected a real diagonal of 4 entries, got \(3,\) torch.float64",
            lambda: circuit_expectation(initial, rotations, params, cost[:3]),
        ),
    ]
    assert_refusals([(call, error, message) for error, message, call in refusals], regex=True)


def test_adjoint_gradient_of_the_mixer_equals_autograd_through_the_state():
    """The 'x_all' generator overlap (ornn.quantum.add_x_sum) gives the same gradient as differentiating |psi> directly."""
    generator = torch.Generator().manual_seed(3)
    n = 5
    cost = torch.randn(2**n, generator=generator, dtype=torch.float64)
    rotations = [diagonal_rotation(0, cost), Rotation("x_all", 1), diagonal_rotation(2, cost), Rotation("x_all", 3)]
    params = torch.randn(3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    initial = q.plus_state(n, dtype=torch.complex128)
    (adjoint,) = torch.autograd.grad(circuit_expectation(initial, rotations, params, cost).sum(), params)
    (direct,) = torch.autograd.grad(
        q.expectation_diagonal(circuit_state(initial, rotations, params), cost).sum(), params
    )
    assert torch.allclose(adjoint, direct, atol=1e-12)


@pytest.mark.parametrize(("n", "start", "width"), [(5, 0, 2), (5, 2, 2), (5, 3, 2), (4, 0, 4), (3, 2, 1)])
def test_group_product_applies_a_batch_of_matrices_to_its_wires(n, start, width):
    """_apply_group against the full operator I_(2^start) (x) M_b (x) I_(rest) built with torch.kron, for two rows
    with different, non-symmetric matrices (the mixer's own Kronecker powers are symmetric, so they cannot tell M
    from M^T), on leading, middle and last wires.

    Catches: the transpose on the last-wires branch dropped, and the view losing its batch dimension.
    """
    from applications.qaoa.circuit import _apply_group

    generator = torch.Generator().manual_seed(n + 7 * start)
    matrices = torch.randn(2, 2**width, 2**width, generator=generator, dtype=torch.complex128)
    state = torch.randn(2, 2**n, generator=generator, dtype=torch.complex128)
    rest = 2 ** (n - start - width)
    expected = torch.stack(
        [torch.kron(torch.kron(torch.eye(2**start), m), torch.eye(rest)) @ row for m, row in zip(matrices, state)]
    )
    assert torch.allclose(_apply_group(matrices, state, start, width), expected, atol=1e-12)
    single = _apply_group(matrices[:1], state[1:], start, width)  # one matrix for one state, as the mixer calls it
    assert torch.allclose(single, torch.kron(torch.kron(torch.eye(2**start), matrices[0]), torch.eye(rest)) @ state[1])


@pytest.mark.parametrize("batch", [1, 3])
def test_rotations_keep_a_complex64_state_in_complex64_under_float64_angles(batch):
    """Each generator kind (the compressed and the plain diagonal, a Pauli string, the mixer on one row and on
    several) rotates a complex64 state by float64 angles into complex64, equal to the complex128 result to 1e-5
    (float32 rounding over a few operations per amplitude of unit size).

    Catches: a phase table or a cos/sin factor left in float64, which would promote the state to complex128 (or
    fail the mixer's in-place update).
    """
    from applications.qaoa.circuit import apply_rotation

    generator = torch.Generator().manual_seed(batch)
    diagonal = torch.randint(0, 3, (8,), generator=generator).double()
    rotations = [
        diagonal_rotation(0, diagonal),
        Rotation("diagonal", 0, diagonal=diagonal),
        Rotation("pauli", 0, pauli="XZ", wires=(0, 2)),
        Rotation("x_all", 0),
    ]
    assert rotations[0].levels is not None and rotations[1].levels is None
    state = torch.randn(batch, 8, generator=generator, dtype=torch.complex128)
    angle = torch.rand(batch, generator=generator, dtype=torch.float64)
    for rot in rotations:
        reference = apply_rotation(state, rot, angle, 3)
        rotated = apply_rotation(state.to(torch.complex64), rot, angle, 3)
        assert rotated.dtype == torch.complex64, rot.kind
        assert torch.allclose(rotated, reference.to(torch.complex64), atol=1e-5), rot.kind
    params = angle[:, None]
    reference = circuit_state(state, rotations, params)
    built = circuit_state(state.to(torch.complex64), rotations, params)  # the out-of-place reference runner too
    assert built.dtype == torch.complex64 and torch.allclose(built, reference.to(torch.complex64), atol=1e-5)


def test_diagonal_rotation_compresses_up_to_max_levels_inclusive():
    """A diagonal with exactly ``max_levels`` distinct values is compressed (levels[level_index] == diagonal);
    one more distinct value than allowed, or a batch of diagonals, keeps the plain form."""
    diagonal = torch.tensor([2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 1.0, 2.0], dtype=torch.float64)
    compressed = diagonal_rotation(1, diagonal, 0.5, max_levels=3)
    assert torch.equal(compressed.levels, torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64))
    assert torch.equal(compressed.levels[compressed.level_index], diagonal)
    assert (compressed.param, compressed.coefficient, compressed.kind) == (1, 0.5, "diagonal")
    plain = diagonal_rotation(1, diagonal, 0.5, max_levels=2)
    assert plain.levels is None and plain.level_index is None and (plain.param, plain.coefficient) == (1, 0.5)
    assert torch.equal(plain.diagonal, diagonal)
    assert diagonal_rotation(0, diagonal.expand(2, 8)).levels is None
    # the default bound is 4,096 levels: 4,096 distinct values are compressed, 4,097 are not
    assert diagonal_rotation(0, torch.arange(8192, dtype=torch.float64) % 4096).levels.numel() == 4096
    assert diagonal_rotation(0, torch.arange(8192, dtype=torch.float64) % 4097).levels is None


@pytest.mark.parametrize("layers", [1, 3])  # 8 rotations keep their states; 24 undo psi in the backward pass
def test_tabulated_pauli_rotations_give_the_plain_ones_bits(layers):
    """A DC-QAOA-like circuit (cost, five ZY terms sharing one angle, mixer per layer) through pauli_rotation's
    gather tables gives the energies and adjoint gradients of plain 'pauli' rotations bit for bit (the tables'
    factors are exact and the shared cos/sin are the ones each term computed), and both equal autograd through
    circuit_state to 1e-12.

    Catches: a wrong phase or flip in the tables, and shared factors reused across a different angle or sign.
    """
    n, edges = 5, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]
    generator = torch.Generator().manual_seed(layers)
    cost = torch.randint(0, 5, (2**n,), generator=generator).double()
    params = torch.randn(2, 3 * layers, generator=generator, dtype=torch.float64, requires_grad=True)
    initial = q.plus_state(n, dtype=torch.complex128)

    def layer(k, tabulated):
        make = (
            (lambda i, j: pauli_rotation(3 * k + 2, "ZY", (i, j), n, 0.5))
            if tabulated
            else (lambda i, j: Rotation("pauli", 3 * k + 2, 0.5, pauli="ZY", wires=(i, j)))
        )
        return [diagonal_rotation(3 * k, cost), *(make(i, j) for i, j in edges), Rotation("x_all", 3 * k + 1)]

    results = []
    for tabulated in (True, False):
        rotations = [rot for k in range(layers) for rot in layer(k, tabulated)]
        assert all((rot.pauli_index is not None) == tabulated for rot in rotations if rot.kind == "pauli")
        energy = circuit_expectation(initial, rotations, params, cost)
        results.append((energy.detach(), *torch.autograd.grad(energy.sum(), params)))
    assert all(torch.equal(a, b) for a, b in zip(*results))
    reference = q.expectation_diagonal(circuit_state(initial, rotations, params), cost)
    assert torch.allclose(results[0][0], reference, atol=1e-12)
    assert torch.allclose(results[0][1], torch.autograd.grad(reference.sum(), params)[0], atol=1e-12)


def test_pauli_rotation_tabulates_small_registers_only_and_tables_must_fit_the_state(monkeypatch):
    assert pauli_rotation(0, "ZY", (0, 1), circuit.PAULI_TABLE_WIRES).pauli_index is not None
    with pytest.raises(TypeError, match=r"n: expected an integer >= 1, got '3'"):
        pauli_rotation(0, "ZY", (0, 1), "3")
    monkeypatch.setattr(circuit, "PAULI_TABLE_WIRES", 2)
    plain = pauli_rotation(0, "ZY", (0, 1), 3, 0.5)
    assert plain.pauli_index is None and plain.pauli_phase is None and plain.coefficient == 0.5
    tabulated = pauli_rotation(0, "ZY", (0, 1), 2, dtype=torch.complex64)
    assert tabulated.pauli_phase.dtype == torch.complex64
    for index, phase in [(tabulated.pauli_index, None), (tabulated.pauli_index, tabulated.pauli_phase[:2])]:
        with pytest.raises(
            ValueError, match=r"pauli_index, pauli_phase: expected both tables of one shape, or neither"
        ):
            Rotation("pauli", 0, pauli="ZY", wires=(0, 1), pauli_index=index, pauli_phase=phase)
    initial = q.plus_state(2, dtype=torch.complex128)
    params = torch.zeros(1, 1, dtype=torch.float64)
    assert_refusals(
        [
            (
                lambda: circuit_expectation(initial, [tabulated], params, torch.zeros(4, dtype=torch.float64)),
                ValueError,
                r"rotations: a 'ZY' rotation's tables are \(4,\) torch.complex64 on cpu, expected the state's "
                r"\(4,\) \(or one row per parameter row\) torch.complex128 on cpu",
            )
        ],
        regex=True,
    )


def test_dc_ansatz_tables_follow_its_dtype_and_are_rebuilt_after_to():
    from applications.qaoa import DCQAOA, random_regular_maxcut

    ansatz = DCQAOA(random_regular_maxcut(6, seed=2), 2, dtype=torch.complex64)
    terms = [rot for rot in ansatz.rotations() if rot.kind == "pauli"]
    assert len(terms) == 2 * 9 and all(rot.pauli_phase.dtype == torch.complex64 for rot in terms)
    assert ansatz.rotations()[1] is terms[0]  # built once per ansatz
    ansatz.to("cpu")
    assert ansatz.rotations()[1] is not terms[0]
