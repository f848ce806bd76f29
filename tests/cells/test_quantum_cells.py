"""QLSTM, QK-LSTM and QFWP: circuits against dense matrices, kernel properties, input dependence, fast weights.

References are dense 2^q x 2^q matrices assembled here from Kronecker products of the
textbook one-qubit gates, applied one sample at a time: nothing shared with the
batched engine but the Pauli matrices. Tolerances: complex128 throughout, 1e-12.
"""

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cells
from cells import quantum_circuits as qc
from ornn import quantum

C128 = torch.complex128
I2 = torch.eye(2, dtype=C128)
H = torch.tensor([[1, 1], [1, -1]], dtype=C128) / math.sqrt(2)


def rot(axis, angle):
    p = quantum.PAULI[axis]
    a = torch.as_tensor(angle, dtype=torch.float64)
    return torch.cos(a / 2) * I2 - 1j * torch.sin(a / 2) * p


def kron_all(ms):
    out = torch.ones(1, 1, dtype=C128)
    for m in ms:
        out = torch.kron(out, m)
    return out


def on_wire(m, wire, n):
    return kron_all([m if w == wire else I2 for w in range(n)])


def cnot(control, target, n):
    p0 = torch.tensor([[1, 0], [0, 0]], dtype=C128)
    p1 = torch.tensor([[0, 0], [0, 1]], dtype=C128)
    return kron_all([p0 if w == control else I2 for w in range(n)]) + kron_all(
        [p1 if w == control else quantum.PAULI["X"] if w == target else I2 for w in range(n)]
    )


def entangler(n):
    m = torch.eye(2**n, dtype=C128)
    for w in range(n - 1):
        m = cnot(w, w + 1, n) @ m
    if n >= 3:
        m = cnot(n - 1, 0, n) @ m
    return m


def encoded(a):
    """RZ(atan a^2) RY(atan a) H |0> per wire, by dense gates."""
    n = len(a)
    psi = torch.zeros(2**n, dtype=C128)
    psi[0] = 1
    for w, value in enumerate(torch.as_tensor(a, dtype=torch.float64)):  # a tensor keeps its autograd graph
        psi = on_wire(rot("Z", torch.atan(value**2)) @ rot("Y", torch.atan(value)) @ H, w, n) @ psi
    return psi


def variational(weights):
    """(depth, q, 3) -> dense unitary of [entangler, RZ RY RX per wire] layers."""
    depth, n, _ = weights.shape
    u = torch.eye(2**n, dtype=C128)
    for layer in range(depth):
        u = entangler(n) @ u
        for w in range(n):
            a = weights[layer, w]
            u = on_wire(rot("Z", a[2]) @ rot("Y", a[1]) @ rot("X", a[0]), w, n) @ u
    return u


def z_expect(psi):
    n = psi.shape[0].bit_length() - 1
    return torch.stack([(psi.conj() @ on_wire(quantum.PAULI["Z"], w, n) @ psi).real for w in range(n)])


# --------------------------------------------------------------------------- building blocks
@pytest.mark.parametrize("q", [1, 3, 5])
def test_angle_encoding_its_parts_and_gradients_match_dense_gates(q):
    """Values, interleaved parts, first and second derivatives (a Hessian-vector product) against dense gates."""
    torch.manual_seed(q)
    a = (torch.randn(4, q, dtype=torch.float64) * 2).requires_grad_(True)
    got = qc.angle_encoding(a)
    dense = torch.stack([encoded(row) for row in a])
    assert (got - dense).abs().max() < 1e-12
    assert torch.equal(qc.angle_encoding_parts(a), torch.view_as_real(got).reshape(4, -1))
    cotangent, direction = torch.randn(4, 2**q, dtype=C128), torch.randn(4, q, dtype=torch.float64)

    def grad_and_hvp(state):
        (g,) = torch.autograd.grad((state * cotangent).real.sum(), a, create_graph=True)
        return g, torch.autograd.grad((g * direction).sum(), a, retain_graph=True)[0]

    for ours, reference in zip(grad_and_hvp(got), grad_and_hvp(dense)):
        assert (ours - reference).abs().max() < 1e-11
        assert reference.abs().max() > 1e-3
    assert torch.autograd.gradcheck(qc.angle_encoding_parts, (a.detach()[:2].requires_grad_(True),))


@pytest.mark.parametrize("q,depth", [(1, 1), (2, 2), (3, 1), (4, 2)])
def test_variational_unitary_matches_dense_layers_and_is_unitary(q, depth):
    torch.manual_seed(q)
    weights = torch.randn(2, depth, q, 3, dtype=torch.float64)
    u = qc.variational_unitary(weights)
    for c in range(2):
        assert torch.allclose(u[c], variational(weights[c]), rtol=0, atol=1e-12)
        assert torch.allclose(u[c].conj().T @ u[c], torch.eye(2**q, dtype=C128), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "q, depth, axes", [(1, 2, "Y"), (2, 2, "Y"), (3, 2, "Y"), (3, 3, "YZ"), (3, 2, "XYZ"), (7, 1, "Y")]
)
def test_apply_variational_and_its_gradient_match_dense_per_sample(q, depth, axes):
    """Both paths: the eigenbasis products with the adjoint backward ("Y", "YZ" up to KRON_MAX_QUBITS), wire by wire otherwise."""
    torch.manual_seed(3 + q + depth)
    w = torch.randn(3, depth, q, dtype=torch.float64, requires_grad=True)
    a = torch.randn(3, q, dtype=torch.float64, requires_grad=True)
    cotangent = torch.randn(3, 2**q, dtype=C128)
    got = qc.apply_variational(qc.angle_encoding(a), w, axes)
    dense = []
    for b in range(3):
        ref = encoded(a[b])
        for layer in range(depth):
            layer_gates = []
            for k in range(q):
                gate = I2
                for axis in axes:
                    gate = rot(axis, w[b, layer, k]) @ gate
                layer_gates.append(gate)
            ref = entangler(q) @ kron_all(layer_gates) @ ref
        dense.append(ref)
    dense = torch.stack(dense)
    assert (got - dense).abs().max() < 1e-12
    ours = torch.autograd.grad((got * cotangent).real.sum(), [w, a])
    reference = torch.autograd.grad((dense * cotangent).real.sum(), [w, a])
    for g_ours, g_ref in zip(ours, reference):
        assert (g_ours - g_ref).abs().max() < 1e-12
        assert g_ref.abs().max() > 1e-3


# --------------------------------------------------------------------------- QLSTM
def test_qlstm_gates_equal_a_per_sample_dense_evaluation():
    torch.manual_seed(4)
    cell = cells.QLSTM(3, 5, num_qubits=4, depth=2).double()
    x, h = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
    gates = cell.gate_values(x, h)
    for b in range(6):
        a = cell.encoder(torch.cat([x[b], h[b]]))
        psi = encoded(a.tolist())
        for g, name in enumerate("ifgo"):
            pre = cell.decoder(z_expect(variational(cell.circuit_weights[g]) @ psi))
            expected = pre if name == "g" else torch.sigmoid(pre)
            assert torch.allclose(gates[name][b], expected, rtol=0, atol=1e-12), name


def test_qlstm_parameter_layout_and_no_decoder_when_hidden_equals_qubits():
    cell = cells.QLSTM(3, 4, num_qubits=4, depth=1)
    assert cell.decoder is None
    assert sum(p.numel() for p in cell.parameters()) == (7 * 4 + 4) + 4 * 1 * 4 * 3
    wide = cells.QLSTM(3, 6, num_qubits=4, depth=2)
    assert sum(p.numel() for p in wide.parameters()) == (9 * 4 + 4) + 4 * 2 * 4 * 3 + (4 * 6 + 6)


def test_qlstm_trains_its_circuit_weights():
    torch.manual_seed(5)
    cell = cells.QLSTM(2, 3).double()
    out, _ = cell(torch.randn(4, 2, dtype=torch.float64))
    out.square().sum().backward()
    assert cell.circuit_weights.grad is not None and cell.circuit_weights.grad.abs().max() > 1e-6
    assert "circuit_weights" in cell.state_dict()


# --------------------------------------------------------------------------- QK-LSTM
box = st.lists(st.floats(-3, 3), min_size=5, max_size=5)


@settings(max_examples=50, deadline=None)
@given(v=box)
def test_kernel_of_a_point_with_itself_is_one(v):
    cell = cells.QKLSTM(2, 3).double()
    v = torch.tensor([v], dtype=torch.float64)
    assert abs(cell.kernel(v, v).item() - 1.0) < 1e-12


@settings(max_examples=100, deadline=None)
@given(v=box, w=box)
def test_kernel_of_distinct_points_is_below_one(v, w):
    v, w = torch.tensor([v], dtype=torch.float64), torch.tensor([w], dtype=torch.float64)
    assume((v - w).abs().max() >= 0.05)
    cell = cells.QKLSTM(2, 3).double()
    k = cell.kernel(v, w).item()
    assert 0.0 <= k < 1.0 - 1e-10
    assert abs(k - cell.kernel(w, v).item()) < 1e-12  # symmetric


def test_kernel_equals_dense_overlap_of_the_feature_map():
    """phi by dense gates: H, then reps x chunks of [RZ RY per wire, entangler]; features zero-padded."""
    torch.manual_seed(6)
    cell = cells.QKLSTM(3, 3, num_qubits=4, reps=2).double()
    v, w = torch.randn(2, 6, dtype=torch.float64), torch.randn(3, 6, dtype=torch.float64)

    def phi(f):
        f = torch.cat([f, torch.zeros(2)])  # 6 features -> 2 chunks of 4
        psi = kron_all([H] * 4)[:, 0]
        for _ in range(2):
            for chunk in f.reshape(2, 4):
                psi = (
                    entangler(4)
                    @ kron_all([rot("Z", math.atan(a**2)) @ rot("Y", math.atan(a)) for a in chunk.tolist()])
                    @ psi
                )
        return psi

    k = cell.kernel(v, w)
    for b in range(2):
        for j in range(3):
            assert abs(k[b, j] - (phi(w[j]).conj() @ phi(v[b])).abs() ** 2) < 1e-12


def dense_feature_map(f, q, reps):
    """phi(f) for one feature vector by dense gates: H, then reps x chunks of [RZ RY per wire, entangler]."""
    chunks = math.ceil(len(f) / q)
    f = torch.cat([f, torch.zeros(chunks * q - len(f), dtype=f.dtype)])
    psi = kron_all([H] * q)[:, 0]
    gates = [
        kron_all([rot("Z", torch.atan(a**2)) @ rot("Y", torch.atan(a)) for a in chunk])
        for chunk in f.reshape(chunks, q)
    ]
    for _ in range(reps):
        for gate in gates:
            psi = entangler(q) @ gate @ psi
    return psi


@pytest.mark.parametrize("q, d, reps", [(1, 3, 1), (2, 5, 2), (3, 7, 3), (4, 8, 2), (4, 24, 2), (5, 9, 1), (7, 9, 2)])
def test_feature_map_and_its_adjoint_gradient_equal_dense_gates(q, d, reps):
    """Values and the gradient of a random real functional, against autograd through the dense gates
    (q = 7 is above ``KRON_MAX_QUBITS``: the wire-by-wire path)."""
    torch.manual_seed(q * 10 + d)
    v = (2 * torch.randn(3, d, dtype=torch.float64)).requires_grad_(True)
    cotangent = torch.randn(3, 2**q, dtype=C128)
    ours = qc.feature_map(v, q, reps)
    dense = torch.stack([dense_feature_map(row, q, reps) for row in v])
    assert (ours - dense).abs().max() < 1e-12
    (g_ours,) = torch.autograd.grad((ours * cotangent).real.sum(), v)
    (g_dense,) = torch.autograd.grad((dense * cotangent).real.sum(), v)
    assert (g_ours - g_dense).abs().max() < 1e-12
    assert g_ours.abs().max() > 1e-3  # the functional really depends on the features


@pytest.mark.parametrize("q", [2, 7])
def test_no_layers_leave_the_state_as_it_is(q):
    """Both paths (q = 7 is above ``KRON_MAX_QUBITS``): ``apply_variational`` with depth 0 is the identity, its
    gradient included, and ``feature_map`` of zero features uploads nothing, so every state is |+> (exactly)."""
    torch.manual_seed(q)
    features = torch.randn(3, q, dtype=torch.float64, requires_grad=True)
    state = qc.angle_encoding(features)
    out = qc.apply_variational(state, torch.zeros(3, 0, q, dtype=torch.float64, requires_grad=True))
    assert torch.equal(out, state)
    cotangent = torch.randn(3, 2**q, dtype=C128)
    (through,) = torch.autograd.grad((out * cotangent).real.sum(), features, retain_graph=True)
    (direct,) = torch.autograd.grad((state * cotangent).real.sum(), features)
    assert torch.equal(through, direct) and direct.abs().max() > 1e-3
    mapped = qc.feature_map(torch.zeros(3, 0, dtype=torch.float64), q)
    assert mapped.shape == (3, 2**q) and torch.equal(mapped, torch.full_like(mapped, 2 ** (-q / 2)))


def test_feature_map_passes_gradcheck_and_works_under_torch_func():
    torch.manual_seed(8)
    v = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)

    def parts(features):
        return torch.view_as_real(qc.feature_map(features, 2, 2))

    assert torch.autograd.gradcheck(parts, (v,))
    jacobian = torch.autograd.functional.jacobian(parts, v.detach())
    assert (torch.func.jacrev(parts)(v.detach()) - jacobian).abs().max() < 1e-12
    cotangent = torch.randn(2, 4, 2, dtype=torch.float64)
    _, pullback = torch.func.vjp(parts, v.detach())
    (pulled,) = pullback(cotangent)
    assert (pulled - torch.einsum("bzc,bzcjd->jd", cotangent, jacobian)).abs().max() < 1e-12


def test_feature_map_second_derivative_equals_dense_gates():
    """A Hessian-vector product through the adjoint backward (create_graph=True) against the dense gates."""
    torch.manual_seed(9)
    v = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    cotangent, direction = torch.randn(2, 4, dtype=C128), torch.randn(2, 5, dtype=torch.float64)

    def hvp(phi):
        (g,) = torch.autograd.grad((phi(v) * cotangent).real.sum(), v, create_graph=True)
        return torch.autograd.grad((g * direction).sum(), v)[0]

    ours = hvp(lambda f: qc.feature_map(f, 2, 2))
    dense = hvp(lambda f: torch.stack([dense_feature_map(row, 2, 2) for row in f]))
    assert (ours - dense).abs().max() < 1e-11
    assert dense.abs().max() > 1e-2


@settings(max_examples=30, deadline=None)
@given(x1=st.lists(st.floats(-2, 2), min_size=3, max_size=3), x2=st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_qk_lstm_gates_depend_on_the_input(x1, x2):
    """The defect of the sequence-model paper's released code (U(v) U(v)^dagger = I) makes every gate constant."""
    x = torch.tensor([x1, x2], dtype=torch.float64)
    assume((x[0] - x[1]).abs().max() >= 0.05)
    torch.manual_seed(7)
    cell = cells.QKLSTM(3, 4).double()
    gates = cell.gate_values(x)
    for name in "ifgo":
        assert (gates[name][0] - gates[name][1]).abs().max() > 1e-9, name


def test_qk_lstm_gate_at_a_reference_point_sees_kernel_one():
    cell = cells.QKLSTM(2, 3, num_references=1, trainable_references=False).double()
    point = torch.tensor([[0.3, -0.7, 0.0, 0.0, 0.0]], dtype=torch.float64)  # [x, h = 0]
    cell.set_references(point)
    assert "references" not in dict(cell.named_parameters()) and "references" in cell.state_dict()
    gates = cell.gate_values(point[:, :2])
    expected_g = cell.coefficients[2, :, 0] + cell.bias[2]  # k = 1 with the only reference
    assert torch.allclose(gates["g"][0], expected_g, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"vectors: expected shape \(4, 1, 5\) or \(1, 5\), got \(2, 5\)"):
        cell.set_references(torch.zeros(2, 5, dtype=torch.float64))


def test_qk_lstm_parameter_count():
    cell = cells.QKLSTM(3, 2, num_qubits=4, num_references=3)
    assert sum(p.numel() for p in cell.parameters()) == 4 * 3 * 5 + 4 * 2 * 3 + 4 * 2
    fixed = cells.QKLSTM(3, 2, num_references=3, trainable_references=False)
    assert sum(p.numel() for p in fixed.parameters()) == 4 * 2 * 3 + 4 * 2


# --------------------------------------------------------------------------- QFWP
def test_qfwp_fast_weights_accumulate_within_a_sequence_and_reset_between():
    torch.manual_seed(8)
    for decay in (1.0, 0.5):
        cell = cells.QFWP(3, 2, num_qubits=2, depth=2, decay=decay).double()
        xs = torch.randn(4, 5, 3, dtype=torch.float64)
        state = None
        expected = torch.zeros(5, 4, dtype=torch.float64)
        for x in xs:
            _, state = cell(x, state)
            layer, qubit = cell.slow(x).split([2, 2], dim=-1)
            expected = decay * expected + (layer[:, :, None] * qubit[:, None, :]).reshape(5, 4)
            assert torch.allclose(state[1], expected, rtol=0, atol=1e-12)
        # a new sequence (state=None) starts again from W = 0
        _, fresh = cell(xs[0])
        layer, qubit = cell.slow(xs[0]).split([2, 2], dim=-1)
        assert torch.allclose(fresh[1], (layer[:, :, None] * qubit[:, None, :]).reshape(5, 4), rtol=0, atol=1e-12)
        rnn = cells.recurrent("qfwp", 3, 2, decay=decay).double()
        rnn.load_state_dict({f"cells.0.{k}": v for k, v in cell.state_dict().items()})
        first, _ = rnn(xs)
        second, _ = rnn(xs)
        assert torch.equal(first, second)


def test_qfwp_output_equals_dense_circuit_on_the_programmed_weights():
    torch.manual_seed(9)
    cell = cells.QFWP(3, 4, num_qubits=3, depth=2).double()
    xs = torch.randn(2, 2, 3, dtype=torch.float64)
    state = None
    w = torch.zeros(2, 2, 3, dtype=torch.float64)
    for x in xs:
        y, state = cell(x, state)
        layer, qubit = cell.slow(x).split([2, 3], dim=-1)
        w = w + layer[:, :, None] * qubit[:, None, :]
        for b in range(2):
            psi = encoded(cell.encoder(x[b]).tolist())
            for layer in range(2):
                psi = entangler(3) @ kron_all([rot("Y", w[b, layer, k]) for k in range(3)]) @ psi
            assert torch.allclose(y[b], cell.post(z_expect(psi)), rtol=0, atol=1e-12)


def test_qfwp_is_a_two_stage_rule_and_checks_its_arguments():
    cell = cells.QFWP(3, 2)
    assert (cell.num_stages, cell.memory_span) == (2, 1)
    assert sum(p.numel() for p in cell.parameters()) == (3 + 1) * 4 + (3 + 1) * 2 + (2 + 1) * 2
    with pytest.raises(ValueError, match=r"decay: expected a number in \[0, 1\], got 1.5"):
        cells.QFWP(3, 2, decay=1.5)
    with pytest.raises(ValueError, match="num_qubits: expected at most 12"):
        cells.QFWP(3, 2, num_qubits=13)
    with pytest.raises(ValueError, match="num_qubits: expected at most 12"):
        cells.QLSTM(3, 2, num_qubits=13)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: qc.angle_encoding(torch.zeros(3)),
            r"features: expected a real tensor \(batch, features\), got shape \(3,\)",
        ),
        (lambda: qc.feature_map(torch.zeros(2, 3), 13), r"num_qubits: expected at most 12"),
        (lambda: qc.feature_map(torch.zeros(2, 3), 2, reps=0), r"reps: expected an integer >= 1, got 0"),
        (
            lambda: qc.variational_unitary(torch.zeros(2, 1, 3)),
            r"weights: expected shape \(circuits, depth, qubits, 3\), got \(2, 1, 3\)",
        ),
        (
            lambda: qc.apply_variational(qc.angle_encoding(torch.zeros(2, 3)), torch.zeros(2, 1, 2)),
            r"weights: expected shape \(2, depth, 3\), got \(2, 1, 2\)",
        ),
        (
            lambda: qc.apply_variational(qc.angle_encoding(torch.zeros(2, 3)), torch.zeros(2, 1, 3), axes="W"),
            r"axes: expected a non-empty string over X, Y, Z",
        ),
        (
            lambda: qc.fidelity_kernel(qc.angle_encoding(torch.zeros(2, 3)), qc.angle_encoding(torch.zeros(2, 2))),
            r"references: expected states of width 8, got 4",
        ),
    ],
)
def test_circuit_blocks_name_the_bad_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
