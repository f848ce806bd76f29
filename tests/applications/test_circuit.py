"""The QAOA rotation circuits (applications.qaoa.circuit): the two runners agree, the adjoint gradient equals
autograd through the state, and bad circuits are refused.

Tolerance 1e-12 in complex128: a few hundred floating-point operations per amplitude.
"""

import pytest
import torch

from applications.qaoa.circuit import Rotation, circuit_expectation, circuit_state, diagonal_rotation
from ornn import quantum as q


def test_circuit_runners_agree_and_check_their_input():

    cost = torch.tensor([0.0, -1.0, -1.0, 0.0], dtype=torch.float64)
    rotations = [diagonal_rotation(0, cost), Rotation("pauli", 1, 0.5, pauli="ZY", wires=(0, 1)), Rotation("x_all", 1)]
    params = torch.tensor([[0.3, 0.7], [1.1, -0.4]], dtype=torch.float64)
    initial = q.plus_state(2, dtype=torch.complex128)
    state = circuit_state(initial, rotations, params)
    assert torch.allclose(
        circuit_expectation(initial, rotations, params, cost), q.expectation_diagonal(state, cost), atol=1e-12
    )
    with pytest.raises(ValueError, match=r"rotations: parameter index 1 out of range for 1 parameters"):
        circuit_state(initial, rotations, params[:, :1])
    with pytest.raises(ValueError, match=r"params: expected \(batch, num_params\)"):
        circuit_expectation(initial, rotations, params[0], cost)
    with pytest.raises(TypeError, match="rotations: expected Rotation objects"):
        circuit_state(initial, ["x_all"], params)
    with pytest.raises(ValueError, match=r"initial: expected 1 or 2 rows"):
        circuit_state(q.plus_state(2, batch=3, dtype=torch.complex128), rotations, params)
    with pytest.raises(ValueError, match="kind: expected 'diagonal', 'x_all' or 'pauli'"):
        Rotation("y_all", 0)


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
