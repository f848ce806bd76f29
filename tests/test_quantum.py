"""The statevector engine against dense QuTiP operators (qutip.tensor, .expm()).

Tolerance 1e-12 in complex128: a handful of floating-point operations per amplitude.
"""

import math

import numpy as np
import pytest
import qutip
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ornn import quantum as q

QUTIP_PAULI = {"I": qutip.qeye(2), "X": qutip.sigmax(), "Y": qutip.sigmay(), "Z": qutip.sigmaz()}


def dense(op_by_wire: dict, n: int) -> np.ndarray:
    return qutip.tensor(*[op_by_wire.get(w, qutip.qeye(2)) for w in range(n)]).full()


@st.composite
def states(draw, n=st.integers(1, 6), batch=st.integers(1, 3)):
    n, batch = draw(n), draw(batch)
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    psi = torch.complex(
        torch.randn(batch, 2**n, generator=g, dtype=torch.float64),
        torch.randn(batch, 2**n, generator=g, dtype=torch.float64),
    )
    return psi / psi.norm(dim=1, keepdim=True)


def draw_pauli_string(data, n: int) -> tuple[str, list[int]]:
    """A Pauli string of 1 to 3 letters (identities included) on distinct wires drawn in any order."""
    k = data.draw(st.integers(1, min(n, 3)))
    wires = data.draw(st.permutations(range(n)))[:k]
    return "".join(data.draw(st.lists(st.sampled_from("IXYZ"), min_size=k, max_size=k))), wires


def close(a, b, tol=1e-12):
    return np.abs(np.asarray(a) - np.asarray(b)).max() <= tol


@settings(max_examples=40)
@given(psi=states(n=st.integers(1, 8)), data=st.data())
def test_pauli_rotations_match_qutip_expm(psi, data):
    n = q.num_wires(psi)
    pauli, wires = draw_pauli_string(data, n)
    theta = data.draw(st.floats(-math.pi, math.pi))
    ours = q.apply_pauli_rotation(psi, pauli, wires, theta)
    operator = dense({w: QUTIP_PAULI[c] for w, c in zip(wires, pauli)}, n)
    reference = psi.numpy() @ qutip.Qobj((-1j * theta * qutip.Qobj(operator)).expm()).full().T
    assert close(ours.numpy(), reference)


@settings(max_examples=40)
@given(psi=states(n=st.integers(1, 7)), data=st.data())
def test_pauli_table_applies_the_string_bit_for_bit(psi, data):
    """state[:, index] * phase is apply_pauli exactly: every factor is +-1 or +-i, so no rounding can differ."""
    n = q.num_wires(psi)
    pauli, wires = draw_pauli_string(data, n)
    index, phase = q.pauli_table(pauli, wires, n)
    assert index.dtype == torch.int64 and phase.dtype == torch.complex128
    assert torch.equal(psi[:, index] * phase, q.apply_pauli(psi, pauli, wires))
    assert sorted(index.tolist()) == list(range(2**n))  # a permutation of the basis


def test_pauli_table_by_hand_and_its_refusals():
    # Z_0 Y_1 on |z0 z1>: Y|0> = i|1>, Y|1> = -i|0>, then Z_0 signs by the first bit
    index, phase = q.pauli_table("ZY", (0, 1), 2, dtype=torch.complex64)
    assert index.tolist() == [1, 0, 3, 2]
    assert phase.tolist() == [-1j, 1j, 1j, -1j] and phase.dtype == torch.complex64
    with pytest.raises(TypeError, match=r"dtype: expected complex64 or complex128, got torch.float64"):
        q.pauli_table("Z", (0,), 1, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"wires: expected integers in \[0, 2\), got \(2,\)"):
        q.pauli_table("Z", (2,), 2)
    with pytest.raises(ValueError, match=r"pauli: expected a non-empty string over I, X, Y, Z, got 'Q'"):
        q.pauli_table("Q", (0,), 2)


@settings(max_examples=30)
@given(psi=states(), data=st.data())
def test_single_qubit_gates_match_qutip(psi, data):
    n = q.num_wires(psi)
    wire = data.draw(st.integers(0, n - 1))
    angles = data.draw(st.lists(st.floats(-3, 3), min_size=3, max_size=3))
    r = [q.rotation(p, torch.tensor(a, dtype=torch.float64), dtype=torch.complex128) for p, a in zip("ZYX", angles)]
    gate = r[0] @ r[1] @ r[2]
    ours = q.apply_gate(psi, gate, wire)
    reference = psi.numpy() @ dense({wire: qutip.Qobj(gate.numpy())}, n).T
    assert close(ours.numpy(), reference)
    batched = q.apply_gate(psi, gate.expand(psi.shape[0], 2, 2), wire)
    assert close(batched.numpy(), reference)


def test_rotation_matches_expm():
    for letter in "XYZ":
        ours = q.rotation(letter, torch.tensor(0.7, dtype=torch.float64), dtype=torch.complex128).numpy()
        assert close(ours, (-1j * 0.35 * QUTIP_PAULI[letter]).expm().full())


@settings(max_examples=20)
@given(psi=states())
def test_expectations_match_qutip(psi):
    n = q.num_wires(psi)
    z = q.expectation_z(psi)
    for w in range(n):
        op = dense({w: qutip.sigmaz()}, n)
        ref = np.einsum("bi,ij,bj->b", psi.conj().resolve_conj().numpy(), op, psi.numpy()).real
        assert close(z[:, w].numpy(), ref)
    diag = torch.randn(2**n, dtype=torch.float64)
    ref = np.einsum("bi,i,bi->b", psi.conj().resolve_conj().numpy(), diag.numpy(), psi.numpy()).real
    assert close(q.expectation_diagonal(psi, diag).numpy(), ref)


def test_wire_zero_is_the_most_significant_bit():
    state = q.basis_state(3, 0b100, dtype=torch.complex128)  # wire 0 in |1>
    assert q.expectation_z(state).tolist() == [[-1.0, 1.0, 1.0]]
    flipped = q.apply_pauli(q.zero_state(3, dtype=torch.complex128), "X", (0,))
    assert torch.equal(flipped, state)
    assert q.z_signs(2).tolist() == [[1, 1, -1, -1], [1, -1, 1, -1]]


def test_plus_state_and_norm_preservation():
    psi = q.plus_state(4, batch=2, dtype=torch.complex128)
    assert torch.allclose(q.probabilities(psi).sum(1), torch.ones(2, dtype=torch.float64))
    out = q.apply_pauli_rotation(psi, "ZY", (1, 3), torch.tensor([0.2, 1.3], dtype=torch.float64))
    assert torch.allclose(out.norm(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-14)


def test_gradients_flow_through_the_engine():
    theta = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    psi = q.apply_pauli_rotation(q.plus_state(2, dtype=torch.complex128), "ZZ", (0, 1), theta)
    psi = q.apply_gate(psi, q.rotation("X", 2 * theta, dtype=torch.complex128), 0)
    energy = q.expectation_z(psi)[0, 1]
    assert torch.autograd.gradcheck(
        lambda t: q.expectation_z(
            q.apply_gate(
                q.apply_pauli_rotation(q.plus_state(2, dtype=torch.complex128), "ZZ", (0, 1), t),
                q.rotation("Y", 2 * t, dtype=torch.complex128),
                0,
            )
        )[0, 1],
        (theta,),
    )
    energy.backward()
    assert theta.grad is not None


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: q.num_wires(torch.zeros(1, 3, dtype=torch.complex64)),
            ValueError,
            r"state: expected a power-of-two dimension 2\*\*n, got 3",
        ),
        (
            lambda: q.num_wires(torch.zeros(1, 4)),
            TypeError,
            r"state: expected dtype complex64 or complex128, got torch.float32",
        ),
        (
            lambda: q.num_wires(torch.zeros(4, dtype=torch.complex64)),
            ValueError,
            r"state: expected shape \(batch, 2\*\*n\), got \(4,\)",
        ),
        (
            lambda: q.apply_pauli(q.zero_state(2), "ZQ", (0, 1)),
            ValueError,
            r"pauli: expected a non-empty string over I, X, Y, Z, got 'ZQ'",
        ),
        (
            lambda: q.apply_pauli(q.zero_state(2), "ZZ", (0,)),
            ValueError,
            r"wires: expected 2 wires for pauli 'ZZ', got 1",
        ),
        (
            lambda: q.apply_pauli(q.zero_state(2), "ZZ", (0, 0)),
            ValueError,
            r"wires: expected distinct wires, got \(0, 0\)",
        ),
        (
            lambda: q.apply_gate(q.zero_state(2), torch.eye(2), 2),
            ValueError,
            r"wires: expected integers in \[0, 2\), got \(2,\)",
        ),
        (
            lambda: q.apply_gate(q.zero_state(2), torch.eye(3), 0),
            ValueError,
            r"gate: expected shape \(2, 2\) or \(batch, 2, 2\), got \(3, 3\)",
        ),
        (
            lambda: q.apply_pauli_rotation(q.zero_state(2, batch=2), "Z", (0,), torch.zeros(3)),
            ValueError,
            r"theta: expected a scalar or shape \(2,\), got \(3,\)",
        ),
        (
            lambda: q.expectation_diagonal(q.zero_state(2), torch.zeros(3)),
            ValueError,
            r"diagonal: expected shape \(4,\) or \(batch, 4\), got \(3,\)",
        ),
        (lambda: q.basis_state(2, 4), ValueError, r"index: expected an integer in \[0, 4\), got 4"),
        (lambda: q.plus_state(2, dtype=torch.float32), TypeError, r"dtype: expected complex64 or complex128"),
    ],
)
def test_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _dense(gates_by_wire, n):
    """Kronecker product of one 2x2 matrix per wire (wire 0 leftmost), the reference for layers."""
    out = torch.ones(1, 1, dtype=torch.complex128)
    for w in range(n):
        out = torch.kron(out, gates_by_wire[w])
    return out


@pytest.mark.parametrize("n,control,target", [(2, 0, 1), (2, 1, 0), (3, 0, 2), (3, 2, 1), (4, 1, 3)])
def test_cnot_equals_its_dense_matrix(n, control, target):
    torch.manual_seed(0)
    psi = torch.randn(3, 2**n, dtype=torch.complex128)
    p0 = torch.tensor([[1, 0], [0, 0]], dtype=torch.complex128)
    p1 = torch.tensor([[0, 0], [0, 1]], dtype=torch.complex128)
    eye, x = torch.eye(2, dtype=torch.complex128), q.PAULI["X"]
    first = _dense([p0 if w == control else eye for w in range(n)], n)
    second = _dense([p1 if w == control else x if w == target else eye for w in range(n)], n)
    expected = psi @ (first + second).T
    assert torch.equal(q.apply_cnot(psi, control, target), expected)


def test_cnot_rejects_equal_or_out_of_range_wires():
    psi = q.zero_state(3, dtype=torch.complex128)
    with pytest.raises(ValueError, match="wires"):
        q.apply_cnot(psi, 1, 1)
    with pytest.raises(ValueError, match="wires"):
        q.apply_cnot(psi, 0, 3)


def test_apply_wise_equals_the_kronecker_product_shared_and_batched():
    torch.manual_seed(1)
    n = 3
    psi = torch.randn(2, 2**n, dtype=torch.complex128)
    gates = torch.randn(2, n, 2, 2, dtype=torch.complex128)
    out = q.apply_wise(psi, gates)
    for b in range(2):
        assert torch.allclose(out[b], _dense(list(gates[b]), n) @ psi[b], atol=1e-12)
    shared = q.apply_wise(psi, gates[0])
    assert torch.allclose(shared, psi @ _dense(list(gates[0]), n).T, atol=1e-12)
    with pytest.raises(ValueError, match=r"gates: expected shape \(3, 2, 2\) or \(batch, 3, 2, 2\), got \(2, 2, 2\)"):
        q.apply_wise(psi, gates[0, :2])


def test_product_state_is_the_kronecker_product():
    torch.manual_seed(2)
    qubits = torch.randn(4, 3, 2, dtype=torch.complex128)
    state = q.product_state(qubits)
    for b in range(4):
        expected = torch.kron(torch.kron(qubits[b, 0], qubits[b, 1]), qubits[b, 2])
        assert torch.allclose(state[b], expected, atol=1e-14)
    with pytest.raises(TypeError, match="qubits: expected dtype complex64 or complex128"):
        q.product_state(torch.ones(1, 2, 2))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 6), alpha=st.floats(-2, 2), seed=st.integers(0, 1000))
def test_add_x_sum_adds_the_dense_sum_of_x_in_place(n, alpha, seed):
    generator = torch.Generator().manual_seed(seed)
    state = torch.randn(3, 2**n, generator=generator, dtype=torch.complex128)
    out = torch.randn(3, 2**n, generator=generator, dtype=torch.complex128)
    dense = sum(qutip.tensor([QUTIP_PAULI["X" if w == v else "I"] for v in range(n)]) for w in range(n)).full()
    expected = out + alpha * state @ torch.from_numpy(dense).T
    result = q.add_x_sum(out, state, alpha)
    assert result is out and torch.allclose(out, expected, atol=1e-12)
    with pytest.raises(ValueError, match=r"out: expected the shape of state"):
        q.add_x_sum(out[:1], state)
