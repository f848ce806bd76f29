"""Every cell's sequence fast path against its own generic step (the executor), and the guard.

Tolerance: float64, 1e-10 relative and 1e-12 absolute, for outputs, final states and the
gradients of a random cotangent with respect to the input and every parameter (the fast
paths reorder sums: one input GEMM over all steps instead of one per step).
"""

import pytest
import torch

import cells
import ornn
from ornn._tree import leaves, tree_map
from ornn.testing import assert_matches

FAST = sorted(name for name in cells.available() if hasattr(cells.create(name, 3, 4), "forward_sequence"))


def _random_state(cell, batch):
    """The zero state with its floating leaves drawn at random (a continued sequence, not a fresh one)."""
    state = cell.initial_state(batch)
    return tree_map(
        lambda leaf: torch.randn_like(leaf) * 0.5 if leaf.is_floating_point() or leaf.is_complex() else leaf, state
    )


def _stepped(cell, x, state):
    outputs = []
    for x_t in x:
        out, state = cell.forward_unchecked(x_t, state)
        outputs.append(out)
    return torch.stack(outputs), state


def test_the_fast_path_cells_are_the_expected_ones():
    assert {"lstm", "gru", "sru", "urnn"} <= set(FAST)


@pytest.mark.parametrize(
    "name, options", [(name, {}) for name in FAST] + [("lstm", {"bias": False}), ("gru", {"bias": False})]
)
def test_fast_path_equals_the_generic_step_in_float64(name, options):
    torch.manual_seed(11)
    cell = cells.create(name, 3, 4, **options).double()
    assert cell.uses_fast_path()
    x = torch.randn(8, 2, 3, dtype=torch.float64)
    state0 = _random_state(cell, 2)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    fast, fast_state = cell.forward_sequence(xa, state0)
    generic, generic_state = _stepped(cell, xb, state0)
    assert_matches(fast, generic, rtol=1e-10, atol=1e-12)
    for a, b in zip(leaves(fast_state), leaves(generic_state)):
        assert_matches(a, b, rtol=1e-10, atol=1e-12)
    cotangent = torch.randn_like(fast)
    params = [p for p in cell.parameters() if p.requires_grad]
    fast_grads = torch.autograd.grad((fast * cotangent).sum(), [xa, *params], allow_unused=True)
    generic_grads = torch.autograd.grad((generic * cotangent).sum(), [xb, *params], allow_unused=True)
    for a, b in zip(fast_grads, generic_grads):
        assert (a is None) == (b is None)
        if a is not None:
            assert_matches(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FAST)
def test_the_runner_uses_the_fast_path_and_fused_false_declines_it(name, monkeypatch):
    torch.manual_seed(12)
    cell = cells.create(name, 3, 4).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    calls = []
    original = type(cell).forward_sequence

    def counting(self, *args):
        result = original(self, *args)
        calls.append(result is not NotImplemented)
        return result

    monkeypatch.setattr(type(cell), "forward_sequence", counting)
    fast, _ = ornn.Recurrent(cell)(x)
    cell.fused = False
    generic, _ = ornn.Recurrent(cell)(x)
    assert calls == [True, False]
    assert_matches(fast, generic, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FAST)
def test_a_subclass_that_changes_the_step_declines_the_fast_path(name):
    stock = type(cells.create(name, 3, 4))

    class Damped(stock):
        """Halves every output: a different step, so the stock fast path would be wrong."""

        def forward_unchecked(self, x, state):
            out, new_state = super().forward_unchecked(x, state)
            return 0.5 * out, new_state

    torch.manual_seed(13)
    variant = Damped(3, 4).double()
    assert not variant.uses_fast_path()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    out, _ = ornn.Recurrent(variant)(x)
    assert_matches(out, _stepped(variant, x, variant.initial_state(2))[0])
    reference = stock(3, 4).double()
    reference.load_state_dict(variant.state_dict())
    assert_matches(out, 0.5 * ornn.Recurrent(reference)(x)[0], rtol=1e-10, atol=1e-12)


class _HalvedForgetGate(cells.LSTM):
    """Overrides only ``_gates`` (the forget gate halved): the fused kernel would compute the stock LSTM."""

    def _gates(self, x, state, clock):
        gates = super()._gates(x, state, clock)
        return {**gates, "f": 0.5 * gates["f"]}


def test_a_subclass_that_changes_only_the_gates_declines_the_fused_kernel():
    torch.manual_seed(6)
    variant = _HalvedForgetGate(3, 4).double()
    assert not variant.uses_fast_path()
    assert variant.forward_sequence(torch.zeros(2, 1, 3, dtype=torch.float64), variant.initial_state(1)) is (
        NotImplemented
    )
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    out, _ = ornn.Recurrent(variant)(x)
    assert_matches(out, _stepped(variant, x, variant.initial_state(2))[0])
    stock = cells.LSTM(3, 4).double()
    stock.load_state_dict(variant.state_dict())
    assert (ornn.Recurrent(stock)(x)[0] - out).abs().max() > 1e-3  # the variant really differs


def test_the_fused_lstm_in_float32_agrees_with_the_generic_rule():
    """float32 on CPU runs oneDNN's LSTM kernel (its own summation order): 1e-5 relative."""
    torch.manual_seed(5)
    cell = cells.LSTM(4, 6)
    x = torch.randn(12, 3, 4)
    fast, _ = ornn.Recurrent(cell)(x)
    cell.fused = False
    generic, _ = ornn.Recurrent(cell)(x)
    assert_matches(fast, generic, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", FAST)
def test_a_replaced_rule_declines_the_fast_path(name):
    cell = cells.create(name, 3, 4)
    cell.rule = cells.create(name, 3, 4).rule
    assert not cell.uses_fast_path()


@pytest.mark.parametrize("name", FAST)
def test_continuing_a_fast_sequence_from_its_state_equals_one_long_generic_run(name):
    """Covers clocked cells starting mid-cycle (QUNN enters its fixed frame at clock 3 here)."""
    torch.manual_seed(14)
    cell = cells.create(name, 3, 4).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    first, state = cell.forward_sequence(x[:3], cell.initial_state(2))
    second, final = cell.forward_sequence(x[3:], state)
    generic, generic_final = _stepped(cell, x, cell.initial_state(2))
    assert_matches(torch.cat([first, second]), generic, rtol=1e-10, atol=1e-12)
    for a, b in zip(leaves(final), leaves(generic_final)):
        assert_matches(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "memory, system",
    [(1, "dense"), (2, "dense"), (3, "dense"), (3, "batched"), (2, "bipartite"), (4, "bipartite")],
)
def test_qunn_cayley_step_backward_passes_gradcheck(memory, system):
    """The hand-written backward of QUNN's fast step against finite differences (float64): the dense
    factorisation with the rest of the system shared by the batch or carrying an entry memory per
    sample, and the Schur-complement solve of an even clock (identity diagonal blocks, couplings only
    between slots of opposite parity)."""
    from cells.qunn import _CayleyStep

    torch.manual_seed(15)
    batch, d = 2, 2
    n = memory * d
    base = torch.eye(n, dtype=torch.float64) + 0.1 * torch.randn(n, n, dtype=torch.float64)
    if system == "bipartite":
        parity = torch.arange(n) // d % 2
        base = torch.where(parity[:, None] != parity[None, :], base, torch.eye(n, dtype=torch.float64))
    elif system == "batched":
        base = base + 0.1 * torch.randn(batch, n, n, dtype=torch.float64)
    inputs = (
        torch.randn(batch, memory, d, d, dtype=torch.float64),  # blocks_prev
        torch.tensor(0.3, dtype=torch.float64),  # mixing
        torch.randn(batch, d, dtype=torch.float64),  # u
        torch.randn(batch, d, dtype=torch.float64),  # u_prev
        torch.randn(batch, memory, d, dtype=torch.float64),  # tape_prev
        base,  # the rest of A
        torch.tensor(-0.4, dtype=torch.float64),  # coupling
    )
    inputs = tuple(t.requires_grad_(True) for t in inputs)
    where = (memory - 1, system == "bipartite")
    assert torch.autograd.gradcheck(lambda *a: _CayleyStep.apply(*a, where), inputs)
    if system == "bipartite":  # the Schur-complement solve equals the dense one
        dense = _CayleyStep.apply(*inputs, (memory - 1, False))
        for a, b in zip(_CayleyStep.apply(*inputs, where), dense):
            assert_matches(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("memory", [1, 2, 3, 4])
def test_qunn_fast_path_from_the_zero_state_equals_the_generic_step(memory):
    """From the zero state the entry memory stays out of the system: an even clock takes the
    Schur-complement solve, an odd one the dense factorisation. Outputs, final state and the
    gradients of a random cotangent with respect to the input and p_1, p_2 (float64)."""
    torch.manual_seed(20)
    cell = cells.QUNN(3, 2, memory=memory).double()
    with torch.no_grad():
        cell.p_logits.normal_()  # p_1, p_2 away from 1/2, different per slot
    x = torch.randn(2 * memory + 3, 2, 3, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    fast, fast_state = cell.forward_sequence(xa, cell.initial_state(2))
    generic, generic_state = _stepped(cell, xb, cell.initial_state(2))
    assert_matches(fast, generic, rtol=1e-10, atol=1e-12)
    for a, b in zip(leaves(fast_state), leaves(generic_state)):
        assert_matches(a, b, rtol=1e-10, atol=1e-12)
    cotangent = torch.randn_like(fast)
    fast_grads = torch.autograd.grad((fast * cotangent).sum(), [xa, cell.p_logits])
    generic_grads = torch.autograd.grad((generic * cotangent).sum(), [xb, cell.p_logits])
    for a, b in zip(fast_grads, generic_grads):
        assert_matches(a, b, rtol=1e-10, atol=1e-12)


def test_qunn_fast_path_gradient_with_respect_to_the_entry_state_equals_the_generic_step():
    """The entry memory joins the fast path's system only through its decay: its gradient, the tape's
    and u_prev's must still equal the generic step's (float64, a random cotangent on the outputs and
    the final memory)."""
    torch.manual_seed(18)
    cell = cells.QUNN(3, 2, memory=3).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    state = _random_state(cell, 2)
    grads = []
    for run in (cell.forward_sequence, lambda xs, st: _stepped(cell, xs, st)):
        (tape, memory, u_prev), clock = state
        leaves_in = [t.clone().requires_grad_(True) for t in (tape, memory, u_prev)]
        outputs, ((_, final_memory, _), _) = run(x, (tuple(leaves_in), clock))
        torch.manual_seed(19)
        loss = (outputs * torch.randn_like(outputs)).sum() + (final_memory * torch.randn_like(final_memory)).sum()
        grads.append(torch.autograd.grad(loss, leaves_in))
    for a, b in zip(*grads):
        assert_matches(a, b, rtol=1e-10, atol=1e-12)


def test_qfwp_fast_path_with_decay_equals_the_generic_step():
    """decay < 1 takes the fast path's explicit recurrence instead of the cumulative sum."""
    torch.manual_seed(16)
    cell = cells.QFWP(3, 4, decay=0.7).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    state0 = _random_state(cell, 2)
    fast, fast_state = cell.forward_sequence(x, state0)
    generic, generic_state = _stepped(cell, x, state0)
    assert_matches(fast, generic, rtol=1e-10, atol=1e-12)
    assert_matches(fast_state[1], generic_state[1], rtol=1e-10, atol=1e-12)


def test_qunn_fast_path_with_a_nonlinear_hidden_activation_and_small_step():
    """sigma_2 = tanh takes the fast path's general branch (the increment (2/h)(A^{-1} w - w) itself)."""
    torch.manual_seed(17)
    cell = cells.QUNN(3, 2, memory=3, step_size=0.05, hidden_activation=torch.tanh).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    state0 = _random_state(cell, 2)
    fast, _ = cell.forward_sequence(x, state0)
    generic, _ = _stepped(cell, x, state0)
    assert_matches(fast, generic, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["identity", lambda z: torch.tanh(z.real) + 1j * torch.tanh(z.imag)])
def test_urnn_fast_path_with_other_activations_equals_the_generic_step(activation):
    """The fast path applies the activation on the complex view of its real state, whatever the activation."""
    torch.manual_seed(15)
    cell = cells.URNN(3, 4, activation=activation).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
    state0 = _random_state(cell, 2)
    fast, fast_state = cell.forward_sequence(x, state0)
    generic, generic_state = _stepped(cell, x, state0)
    assert_matches(fast, generic, rtol=1e-10, atol=1e-12)
    assert_matches(fast_state, generic_state, rtol=1e-10, atol=1e-12)
    cotangent = torch.randn_like(fast)
    (g_fast,) = torch.autograd.grad((fast * cotangent).sum(), x)
    (g_generic,) = torch.autograd.grad((generic * cotangent).sum(), x)
    assert_matches(g_fast, g_generic, rtol=1e-10, atol=1e-12)


HAND_WRITTEN = [
    ("qlstm, hidden 4", lambda: cells.QLSTM(3, 4, depth=2)),
    ("qlstm with a decoder, hidden 5", lambda: cells.QLSTM(3, 5, depth=2)),
    # 7 features on 4 wires: chunk 0 = [x, h_0], chunk 1 = [h_1, h_2, h_3, 0]
    ("qk_lstm", lambda: cells.QKLSTM(3, 4)),
    ("qk_lstm, 3 wires, 3 uploads, fixed references", lambda: cells.QKLSTM(2, 5, 3, 2, 3, False)),
    ("qk_lstm, 2 wires, input 4", lambda: cells.QKLSTM(4, 2, num_qubits=2, num_references=3)),
]


@pytest.mark.parametrize("build", [b for _, b in HAND_WRITTEN], ids=[name for name, _ in HAND_WRITTEN])
def test_hand_written_backpropagation_through_time_equals_the_generic_step(build):
    """QLSTM's and QK-LSTM's sequence paths differentiate their whole recurrence by hand: outputs, final state
    and the gradients with respect to the input, the entry state and every parameter (QLSTM's decoder only
    where hidden != 4 qubits; QK-LSTM's references where trainable), with cotangents on the outputs and on the
    final (h, c) (float64)."""
    torch.manual_seed(21)
    cell = build().double()
    x = torch.randn(6, 2, cell.input_size, dtype=torch.float64)
    state = _random_state(cell, 2)
    cotangents = None
    grads = []
    for run in (cell.forward_sequence, lambda xs, st: _stepped(cell, xs, st)):
        xs = x.clone().requires_grad_(True)
        entry = tuple(t.clone().requires_grad_(True) for t in state)
        outputs, (h, c) = run(xs, entry)
        if cotangents is None:
            cotangents = (torch.randn_like(outputs), torch.randn_like(h), torch.randn_like(c))
        loss = sum((a * b).sum() for a, b in zip((outputs, h, c), cotangents))
        params = [p for p in cell.parameters() if p.requires_grad]
        grads.append((outputs, h, c, *torch.autograd.grad(loss, [xs, *entry, *params])))
    for a, b in zip(*grads):
        assert_matches(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("build", [b for _, b in HAND_WRITTEN], ids=[name for name, _ in HAND_WRITTEN])
def test_hand_written_paths_keep_two_live_graphs_apart(build):
    """Two graphs alive at once, the first retained and differentiated again after another call, give the
    gradients of separate runs: no call writes into memory a live graph still reads (float64)."""
    torch.manual_seed(29)
    cell = build().double()
    inputs = [torch.randn(4, 2, cell.input_size, dtype=torch.float64) for _ in range(2)]
    expected = [_sequence_gradients(cell, x)[1] for x in inputs]
    loss, first = _sequence_gradients(cell, inputs[0], retain=True)  # graph 0 stays alive
    _, second = _sequence_gradients(cell, inputs[1])
    again = torch.autograd.grad(loss, list(cell.parameters()))  # graph 0 read after another call's writes
    for got, want in ((first, expected[0]), (second, expected[1]), (again, expected[0])):
        for a, b in zip(got, want):
            assert_matches(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("build", [b for _, b in HAND_WRITTEN[:2]], ids=[name for name, _ in HAND_WRITTEN[:2]])
def test_qlstm_reuses_its_stored_memory_once_a_graph_is_gone(build):
    """QLSTM's sequence path takes its stored values from the cell's workspace: once a graph is gone, the next
    call runs on the same blocks, and under no_grad a block is free again as soon as the forward returns."""
    torch.manual_seed(31)
    cell = build().double()
    x = torch.randn(4, 2, cell.input_size, dtype=torch.float64)
    _sequence_gradients(cell, x)
    held = sorted(block.data_ptr() for block in cell._workspace._free)
    assert len(held) == 2  # the forward's block and the backward's
    _sequence_gradients(cell, x)
    assert sorted(block.data_ptr() for block in cell._workspace._free) == held
    with torch.no_grad():
        cell.forward_sequence(x, cell.zero_state(2, torch.float64, "cpu"))
    assert sorted(block.data_ptr() for block in cell._workspace._free) == held


def _sequence_gradients(cell, x, retain=False):
    out, (h, c) = cell.forward_sequence(x, cell.zero_state(x.shape[1], torch.float64, "cpu"))
    loss = out.sin().sum() + h.square().sum() + c.sum()
    return loss, torch.autograd.grad(loss, list(cell.parameters()), retain_graph=retain)


@pytest.mark.parametrize(
    "build",
    [
        lambda: cells.QKLSTM(4, 2, num_qubits=2, num_references=3),  # chunks 0, 1 hold inputs only
        lambda: cells.QKLSTM(5, 3, num_qubits=2, num_references=2),  # and chunk 2 mixes x_4 with h_0
        lambda: cells.QKLSTM(8, 4, reps=3),  # the benchmark's layout: chunks 0, 1 inputs, 2 hidden
    ],
    ids=["inputs fill two chunks", "a chunk mixes input and hidden", "three uploads"],
)
def test_qk_lstm_fast_path_without_an_input_gradient_equals_the_generic_step(build):
    """QK-LSTM's sequence path runs the first pass's inputs-only layers for the whole sequence before the
    recurrence, and skips their adjoint when x needs no gradient: the outputs and the gradients with respect to
    the entry state and every parameter still equal the generic step's (float64)."""
    torch.manual_seed(23)
    cell = build().double()
    x = torch.randn(5, 3, cell.input_size, dtype=torch.float64)
    state = _random_state(cell, 3)
    grads = []
    for run in (cell.forward_sequence, lambda xs, st: _stepped(cell, xs, st)):
        entry = tuple(t.clone().requires_grad_(True) for t in state)
        outputs, (h, c) = run(x, entry)
        loss = outputs.sin().sum() + h.square().sum() + c.sum()
        grads.append((outputs, h, c, *torch.autograd.grad(loss, [*entry, *cell.parameters()])))
    for a, b in zip(*grads):
        assert_matches(a, b, rtol=1e-10, atol=1e-12)


def test_qk_lstm_above_the_kronecker_limit_declines_the_fast_path():
    """Past ``KRON_MAX_QUBITS`` wires the layers do not run through dense products, so QK-LSTM's sequence path
    declines and the runner steps the rule (wire by wire)."""
    torch.manual_seed(22)
    cell = cells.QKLSTM(2, 3, num_qubits=cells.quantum_circuits.KRON_MAX_QUBITS + 1, num_references=1).double()
    x = torch.randn(3, 2, 2, dtype=torch.float64)
    assert cell.uses_fast_path()
    assert cell.forward_sequence(x, cell.initial_state(2)) is NotImplemented
    outputs, _ = ornn.Recurrent(cell)(x)
    assert_matches(outputs, _stepped(cell, x, cell.initial_state(2))[0], rtol=0, atol=0)


@pytest.mark.parametrize("name", ["qlstm", "qk_lstm"])
def test_hand_written_fast_path_refuses_a_second_derivative_and_fused_false_gives_it(name):
    """QLSTM's and QK-LSTM's sequence backward is written by hand for first derivatives (README, "Sequence fast
    paths"): differentiating it again raises, and the executor's path (``fused = False``) still supports it."""
    torch.manual_seed(13)
    cell = cells.create(name, 3, 4).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    fast, _ = ornn.Recurrent(cell)(x)
    (grad,) = torch.autograd.grad(fast.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        grad.sum().backward()
    cell.fused = False
    generic, _ = ornn.Recurrent(cell)(x)
    (grad,) = torch.autograd.grad(generic.square().sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    assert torch.isfinite(second).all() and second.abs().sum() > 0
