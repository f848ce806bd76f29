"""URNN, CW-RNN and SRU against independent formulations written here."""

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cells
import ornn
from ornn.testing import assert_matches

# ---------------------------------------------------------------- URNN


@settings(max_examples=10)
@given(n=st.integers(1, 16), seed=st.integers(0, 100))
def test_urnn_matrix_is_unitary(n, seed):
    torch.manual_seed(seed)
    w = cells.URNN(2, n).double().recurrent_matrix()
    assert w.dtype == torch.complex128
    assert torch.linalg.matrix_norm(w.mH @ w - torch.eye(n, dtype=w.dtype)) < 1e-12


def test_urnn_factorisation_matches_dense_factors():
    """W = D3 R2 F^-1 D2 Pi R1 F D1 built from dense matrices here."""
    torch.manual_seed(0)
    n = 6
    cell = cells.URNN(2, n).double()
    c = torch.complex128
    d = [torch.diag(torch.exp(1j * cell.theta[k].detach().to(c))) for k in range(3)]
    f = torch.tensor(
        [[math.e ** (-2j * math.pi * j * k / n) for k in range(n)] for j in range(n)], dtype=c
    ) / math.sqrt(n)

    def reflection(k):
        v = torch.complex(cell.reflections[k, 0], cell.reflections[k, 1]).detach().to(c)
        return torch.eye(n, dtype=c) - 2 * torch.outer(v, v.conj()) / (v.abs() ** 2).sum()

    pi = torch.eye(n, dtype=c)[cell.permutation]  # (Pi h)_j = h_{perm[j]}
    dense = d[2] @ reflection(1) @ f.mH @ d[1] @ pi @ reflection(0) @ f @ d[0]
    assert_matches(cell.recurrent_matrix().detach(), dense)


def test_urnn_identity_activation_preserves_norm_over_1000_steps():
    torch.manual_seed(1)
    cell = cells.URNN(2, 8, activation="identity").double()
    h = torch.randn(3, 8, dtype=torch.complex128)
    norm0 = h.abs().pow(2).sum(1).sqrt()
    x = torch.zeros(3, 2, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(1000):
            _, h = cell(x, h)
    assert torch.allclose(h.abs().pow(2).sum(1).sqrt(), norm0, rtol=1e-12)


def test_modrelu():
    act = cells.urnn.ModReLU(3)
    with torch.no_grad():
        act.bias.copy_(torch.tensor([-0.5, 0.0, 0.5]))
    z = torch.tensor([[1.0 + 0.0j, 0.0 + 2.0j, 0.0 + 0.0j]])
    assert_matches(act(z), torch.tensor([[0.5 + 0.0j, 0.0 + 2.0j, 0.0 + 0.0j]]))
    assert_matches(act(torch.tensor([[0.2 + 0j, 1j, 0j]])), torch.tensor([[0j, 1j, 0j]]))


def test_urnn_emits_a_real_readout_and_stacks():
    rnn = cells.recurrent("urnn", 3, 5, num_layers=2)
    out, state = rnn(torch.randn(4, 2, 3))
    assert out.dtype == torch.float32 and out.shape == (4, 2, 5)
    assert state.dtype == torch.complex64 and state.shape == (2, 2, 5)
    with pytest.raises(ValueError, match="activation: expected 'modrelu', 'identity' or a callable"):
        cells.URNN(2, 3, activation="relu")


# ---------------------------------------------------------------- CW-RNN


def koutnik_loop(cell, x, h):
    """Koutnik et al.'s equations, module by module, clock starting at 0."""
    sizes = cells.clockwork._module_sizes(cell.hidden_size, len(cell.periods))
    bounds = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    w_h = cell.weight_hh.detach().clone()
    for i in range(len(sizes)):  # module i reads modules j >= i only
        w_h[bounds[i] : bounds[i + 1], : bounds[i]] = 0
    outputs = []
    for step, x_t in enumerate(x):
        new = h.clone()
        for i, period in enumerate(cell.periods):
            if step % period == 0:
                rows = slice(bounds[i], bounds[i + 1])
                new[:, rows] = torch.tanh(h @ w_h[rows].T + x_t @ cell.weight_ih[rows].T + cell.bias[rows])
        h = new
        outputs.append(h)
    return torch.stack(outputs), h


@settings(max_examples=10)
@given(hidden=st.integers(1, 9), length=st.integers(1, 12), periods=st.sampled_from([None, [1, 3, 5], [2, 3]]))
def test_cwrnn_equals_koutniks_equations(hidden, length, periods):
    assume(periods is None or len(periods) <= hidden)
    cell = cells.CWRNN(2, hidden, periods=periods).double()
    x = torch.randn(length, 3, 2, dtype=torch.float64)
    h0 = torch.randn(3, hidden, dtype=torch.float64)
    out, (h, clock) = ornn.Recurrent(cell)(x, (h0.unsqueeze(0), torch.zeros(1, dtype=torch.long)))
    ref_out, ref_h = koutnik_loop(cell, x, h0)
    with torch.no_grad():
        assert_matches(out, ref_out)
        assert_matches(h[0], ref_h)
    assert int(clock[0]) == length


def test_cwrnn_inactive_modules_are_bit_identical_and_matrix_is_block_triangular():
    torch.manual_seed(2)
    cell = cells.CWRNN(3, 8, periods=[1, 2, 4, 8])
    w = cell.hidden_matrix()
    assert torch.equal(w[2:4, 0:2], torch.zeros(2, 2)) and torch.equal(w[6:8, 0:6], torch.zeros(2, 6))
    assert torch.equal(w[0:2, 6:8], cell.weight_hh[0:2, 6:8])  # the slowest module feeds the fastest
    state = (torch.randn(2, 8), torch.tensor(3))  # step 3: only the period-1 module fires
    _, (h, clock) = cell(torch.randn(2, 3), state)
    assert torch.equal(h[:, 2:], state[0][:, 2:]) and not torch.equal(h[:, :2], state[0][:, :2])
    assert int(clock) == 4 and cell.active_modules(4) == [True, True, True, False]


def test_cwrnn_arguments():
    with pytest.raises(ValueError, match=r"periods: expected strictly increasing periods"):
        cells.CWRNN(2, 4, periods=[2, 1])
    with pytest.raises(ValueError, match=r"periods: expected a non-empty sequence of positive integers"):
        cells.CWRNN(2, 4, periods=[0, 1])
    with pytest.raises(ValueError, match=r"periods: expected at most hidden_size \(2\) modules, got 3"):
        cells.CWRNN(2, 2, periods=[1, 2, 4])
    assert cells.CWRNN(2, 6, num_modules=3).periods == (1, 2, 4)


# ---------------------------------------------------------------- SRU


def sru_equations(cell, x, c):
    """Eq. (A1) of Zhang et al. written out."""
    h_size = cell.hidden_size
    w = cell.weight
    hs = []
    for x_t in x:
        wx, fx, rx = x_t @ w[:h_size].T, x_t @ w[h_size : 2 * h_size].T, x_t @ w[2 * h_size : 3 * h_size].T
        x_tilde = x_t @ w[3 * h_size :].T if cell.projects_input else x_t
        f = torch.sigmoid(fx + cell.weight_c[0] * c + cell.bias[0])
        r = torch.sigmoid(rx + cell.weight_c[1] * c + cell.bias[1])
        c = f * c + (1 - f) * wx
        hs.append(r * c + (1 - r) * x_tilde)
    return torch.stack(hs), c


@settings(max_examples=10)
@given(sizes=st.sampled_from([(4, 4), (3, 5)]), length=st.integers(1, 8))
def test_sru_generic_and_fast_paths_equal_the_equations(sizes, length):
    cell = cells.SRU(*sizes).double()
    with torch.no_grad():
        cell.bias.uniform_(-1, 1)
    x = torch.randn(length, 2, sizes[0], dtype=torch.float64)
    c0 = torch.randn(2, sizes[1], dtype=torch.float64)
    ref_h, ref_c = sru_equations(cell, x, c0)
    state = (torch.zeros(2, sizes[1], dtype=torch.float64), c0)
    generic = []
    for x_t in x:
        out, state = cell(x_t, state)
        generic.append(out)
    fast, fast_state = cell.forward_sequence(x, (torch.zeros_like(c0), c0))
    with torch.no_grad():
        assert_matches(torch.stack(generic), ref_h)
        assert_matches(state[1], ref_c)
        assert_matches(fast, torch.stack(generic))
        assert_matches(fast_state, state)
    runner_out, _ = ornn.Recurrent(cell)(x, (torch.zeros_like(c0)[None], c0[None]))
    with torch.no_grad():
        assert_matches(runner_out, fast)


def test_sru_gradients_agree_between_paths():
    torch.manual_seed(3)
    cell = cells.SRU(3, 5).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    grads = []
    for fast in (False, True):
        cell.zero_grad()
        state = cell.initial_state(2)
        if fast:
            out = cell.forward_sequence(x, state)[0]
        else:
            out = torch.stack(_steps(cell, x, state))
        out.pow(2).sum().backward()
        grads.append([p.grad.clone() for p in cell.parameters()])
    for a, b in zip(*grads):
        assert_matches(a, b)


def _steps(cell, x, state):
    outs = []
    for x_t in x:
        o, state = cell(x_t, state)
        outs.append(o)
    return outs
