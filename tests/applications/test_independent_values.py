"""Application and training-loop tests against values worked out here, not read back from the code.

Each test names the wrong answer it was written to catch. A copy of the code with that bug planted
fails the test (the bugs are listed in the mutation record of benchmarks/RESULTS.md).
"""

import json
import math
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import qutip
import torch
from torch import nn

import cells
import ornn
from applications import qaoa
from applications.dynamics import DynamicsPredictor, SequenceSpec, evolve_exact, metrics, sequences, train_predictor
from applications.dynamics.data import haar_states
from applications.dynamics.metrics import mean_relative_entropy
from applications.qaoa import QAOA, MaxCut
from applications.qaoa.meta import MetaOptimizer, ProblemDistribution, meta_train

from ..helpers import RecordingCell, assert_refusals, capture_figures, saved_figure


def test_mean_relative_entropy_averages_over_sequences_at_every_step():
    """Two sequences, two steps, one spin: D(t) = mean_b sum_x P log(P / Q), P and Q the normalised |amplitudes|.

    Catches: summing over the sequences instead of averaging (D would double).
    """
    exact = torch.tensor([[[0.6, 0.8], [1.0, 0.0]], [[0.8, 0.6j], [0.0, 1.0]]], dtype=torch.complex128)
    predicted = torch.tensor([[[0.8, 0.6], [0.6, 0.8]], [[0.8, 0.6], [0.6, -0.8j]]], dtype=torch.complex128)
    # by hand: the normalised |coefficients| of each state, then KL(P || Q)
    p = [[(0.6 / 1.4, 0.8 / 1.4), (1.0, 0.0)], [(0.8 / 1.4, 0.6 / 1.4), (0.0, 1.0)]]
    q = [[(0.8 / 1.4, 0.6 / 1.4), (0.6 / 1.4, 0.8 / 1.4)], [(0.8 / 1.4, 0.6 / 1.4), (0.6 / 1.4, 0.8 / 1.4)]]

    def kl(a, b):
        return sum(x * math.log(x / y) for x, y in zip(a, b) if x > 0)

    expected = [(kl(p[0][t], q[0][t]) + kl(p[1][t], q[1][t])) / 2 for t in range(2)]
    assert expected[0] > 0 and expected[1] > 0
    assert mean_relative_entropy(predicted, exact).tolist() == pytest.approx(expected, rel=1e-12)


def test_krylov_path_at_nine_spins_equals_qutip_with_the_hamiltonian_built_here():
    """H = -sum Z_i Z_{i+1} - h sum Z_i - g sum X_i (README, Zhang et al. Eq. 1), built from QuTiP's operators.

    The Krylov path (above DENSE_MAX_SPINS = 8) runs on the CPU here; catches any error of the matrix-free H.
    """
    n, g, h, dt, steps = 9, -1.05, 0.5, 0.002, 30

    def site(op, i):
        return qutip.tensor([op if k == i else qutip.qeye(2) for k in range(n)])

    hamiltonian = -sum(site(qutip.sigmaz(), i) * site(qutip.sigmaz(), i + 1) for i in range(n - 1))
    hamiltonian -= h * sum(site(qutip.sigmaz(), i) for i in range(n)) + g * sum(
        site(qutip.sigmax(), i) for i in range(n)
    )
    psi0 = haar_states(n, 2, generator=torch.Generator().manual_seed(9))
    ours = evolve_exact(psi0, n, steps, dt, g, h, method="krylov")
    times = np.arange(steps + 1) * dt
    for b in range(2):
        ket = qutip.Qobj(psi0[b].numpy()[:, None], dims=[[2] * n, [1] * n])
        result = qutip.sesolve(hamiltonian, ket, times, options={"atol": 1e-12, "rtol": 1e-10})
        reference = np.stack([state.full()[:, 0] for state in result.states])
        assert np.abs(ours[b].numpy() - reference).max() < 1e-8


def test_krylov_dimension_is_the_smallest_m_of_saads_bound_capped_at_krylov_dim():
    """m = min{m >= 1 : 2 r^m e^r / m! <= tol}, at most KRYLOV_DIM (Saad 1992's a priori bound), written here.

    Catches a bound that stops early (too short a basis for the promised tolerance) as well as one that never
    stops before the cap (always the most expensive basis).
    """
    from applications.dynamics.exact import KRYLOV_DIM, _krylov_dimension

    def smallest(reach, tol):
        for m in range(1, KRYLOV_DIM + 1):
            if 2 * reach**m * math.exp(reach) / math.factorial(m) <= tol:
                return m
        return KRYLOV_DIM

    for reach in (0.05, 0.5, 1.0, 3.5, 4.0, 30.0):
        for tol in (1e-13, 1e-8, 1e-3):
            assert _krylov_dimension(reach, tol) == smallest(reach, tol), (reach, tol)
    assert _krylov_dimension(30.0, 1e-13) == KRYLOV_DIM  # the cap binds
    assert _krylov_dimension(0.5) == smallest(0.5, 1e-13)  # the default tolerance


def test_krylov_over_several_windows_off_unit_norm_equals_the_matrix_exponential():
    """Five spins, dt = 0.1, 10 steps: the bound on ||H|| is 4 + 5 |h| + 5 |g| = 9.5, so a window holds at most
    int(KRYLOV_REACH / 0.95) = 4 steps and the Lanczos path takes 3 equal windows (4 + 4 + 2 steps), each from the
    last state of the one before. psi0's norms are 1 +- 5e-7, inside the accepted 1e-6: the evolution is
    linear, so the result keeps them. Reference: torch.linalg.matrix_exp of the dense H, no eigendecomposition.
    """
    from applications.dynamics import ising_matrix

    n, dt, steps, g, h = 5, 0.1, 10, -0.8, 0.3
    psi0 = (
        haar_states(n, 3, generator=torch.Generator().manual_seed(2))
        * torch.tensor([1 + 5e-7, 1 - 5e-7, 1.0], dtype=torch.float64)[:, None]
    )
    hamiltonian = ising_matrix(n, g, h).to(torch.complex128)
    expected = torch.stack([psi0 @ torch.linalg.matrix_exp(-1j * dt * k * hamiltonian).T for k in range(steps + 1)], 1)
    for method in ("krylov", "eig"):
        got = evolve_exact(psi0, n, steps, dt, g, h, method=method)
        assert got.shape == (3, steps + 1, 2**n)
        assert (got - expected).abs().max() < 1e-11, method
    one = evolve_exact(psi0[0], n, 7, dt, g, h, method="krylov")  # 7 steps: windows of 4 + 3
    assert one.shape == (8, 2**n) and (one - expected[0, :8]).abs().max() < 1e-11
    assert torch.equal(evolve_exact(psi0, n, 0, dt, g, h, method="krylov"), psi0[:, None])  # no steps, no window
    for method in ("krylov", "eig"):  # complex64 states are evolved in single precision, on both paths
        single = evolve_exact(psi0.to(torch.complex64), n, steps, dt, g, h, method=method)
        assert single.dtype == torch.complex64 and (single - expected).abs().max() < 1e-5, method
    for field in ("g", "h"):
        with pytest.raises(ValueError, match=rf"^{field}: expected a finite number, got True$"):
            evolve_exact(psi0, n, steps, dt, **{field: True})


def test_krylov_edge_cases_eigenstates_tiny_steps_and_the_norm_bound():
    """An eigenstate only gains a phase (its Krylov space is exhausted after one vector); a step of 1e-8 needs a
    basis of two vectors (2 r^2 e^r / 2 <= 1e-13), whose off-diagonal still counts; the window bound uses
    ||H|| <= (N - 1) + N |h| + N |g|, which must hold for the dense H."""
    from applications.dynamics import ising_matrix
    from applications.dynamics.exact import _norm_bound

    n, g, h = 4, -1.05, 0.5
    hamiltonian = ising_matrix(n, g, h).to(torch.float64)
    energies, vectors = torch.linalg.eigh(hamiltonian)
    ground = vectors[:, 0].to(torch.complex128)
    path = evolve_exact(ground[None], n, 5, 0.3, g, h, method="krylov")[0]
    phases = torch.exp(-1j * 0.3 * torch.arange(6, dtype=torch.float64) * energies[0])
    assert (path - phases[:, None] * ground).abs().max() < 1e-12
    psi0 = haar_states(n, 2, generator=torch.Generator().manual_seed(6))
    exact_step = psi0 @ torch.linalg.matrix_exp(-1j * 1e-8 * hamiltonian.to(torch.complex128)).T
    tiny = evolve_exact(psi0, n, 1, 1e-8, g, h, method="krylov")
    assert (tiny[:, 1] - exact_step).abs().max() < 1e-15 and (tiny[:, 1] - psi0).abs().max() > 1e-9
    for spins, field_g, field_h in [(4, -1.05, 0.5), (5, -0.8, 0.3), (3, 2.0, -1.5)]:
        bound = (spins - 1) + spins * abs(field_h) + spins * abs(field_g)
        assert _norm_bound(spins, field_g, field_h) == pytest.approx(bound, rel=1e-15)
        norm = torch.linalg.matrix_norm(ising_matrix(spins, field_g, field_h).to(torch.float64), ord=2)
        assert float(norm) <= bound


def test_exact_evolution_inputs_kets_bounds_and_refusals():
    """A single QuTiP ket gives an unbatched path; 16 spins (MAX_SPINS) are accepted; refusals matched whole."""
    from applications.dynamics.exact import check_states

    ket = qutip.Qobj(np.array([[0.6], [0.0], [0.8j], [0.0]]), dims=[[2, 2], [1, 1]])
    single = evolve_exact(ket, 2, 3)
    assert single.shape == (4, 4) and torch.equal(single, evolve_exact([ket], 2, 3)[0])
    big = torch.zeros(2**16, dtype=torch.complex128)
    big[5] = 1.0
    assert torch.equal(evolve_exact(big, 16, 0), big[None])
    good = torch.full((4,), 0.5, dtype=torch.complex128)
    cases = [
        (
            lambda: evolve_exact("abc", 2, 1),
            TypeError,
            "psi0: expected a complex tensor, a complex numpy array or a QuTiP ket, got 'abc'",
        ),
        (
            lambda: evolve_exact([], 2, 1),
            TypeError,
            "psi0: expected a complex tensor, a complex numpy array or a QuTiP ket, got []",
        ),
        (
            lambda: evolve_exact(good[None, None], 2, 1),
            ValueError,
            "psi0: expected shape (batch, 4) or (4,) for 2 spins, got (1, 1, 4)",
        ),
        (lambda: evolve_exact(good, 2, -1), ValueError, "steps: expected an integer >= 0, got -1"),
        (lambda: evolve_exact(good, True, 1), ValueError, "n_spins: expected an integer in [1, 16], got True"),
        (lambda: evolve_exact(good, 17, 1), ValueError, "n_spins: expected an integer in [1, 16], got 17"),
        (
            lambda: evolve_exact(good * float("nan"), 2, 1),
            ValueError,
            "psi0: expected finite amplitudes, got nan or inf",
        ),
        (lambda: check_states([0.5] * 4, 2), TypeError, "psi0: expected a torch.Tensor, got [0.5, 0.5, 0.5, 0.5]"),
    ]
    assert_refusals(cases)


def test_exact_evolution_picks_its_path_and_the_references_take_every_field(monkeypatch):
    """``method="auto"`` takes the eigendecomposition up to DENSE_MAX_SPINS = 8 spins and Lanczos above (the two
    agree, so only the path taken can tell them apart); ``evolve_qutip`` and ``ising_qobj`` take g and h (checked
    against the matrix built without QuTiP away from the defaults); the empty batch, the unbatched form and the
    names in every refusal."""
    from applications.dynamics import evolve_qutip, exact, ising_matrix, ising_qobj

    taken = []
    for name in ("_evolve_eig", "_evolve_krylov"):
        real = getattr(exact, name)
        monkeypatch.setattr(exact, name, lambda *a, _real=real, _name=name: taken.append(_name) or _real(*a))
    for n, method, path in [(8, "auto", "_evolve_eig"), (9, "auto", "_evolve_krylov"), (2, "eig", "_evolve_eig")]:
        state = torch.zeros(2**n, dtype=torch.complex128)
        state[0] = 1.0
        evolve_exact(state, n, 1, method=method)
        assert taken[-1] == path, (n, method)
    evolve_exact(torch.tensor([1.0, 0.0], dtype=torch.complex128), 1, 1, method="krylov")
    assert taken[-1] == "_evolve_krylov"
    monkeypatch.undo()

    g, h = -0.7, 0.3
    assert np.allclose(ising_qobj(3, g, h).full(), ising_matrix(3, g, h).numpy(), atol=1e-15)
    assert np.allclose(ising_qobj(3).full(), ising_matrix(3).numpy(), atol=1e-15)  # the same defaults
    sparse = ising_matrix(3, g, h, sparse=True)
    assert sparse.is_sparse and torch.equal(sparse.to_dense(), ising_matrix(3, g, h))
    psi0 = haar_states(2, 2, generator=torch.Generator().manual_seed(8))
    reference = evolve_qutip(psi0, 2, 5, 0.05, g, h)
    assert (reference - evolve_exact(psi0, 2, 5, 0.05, g, h)).abs().max() < 1e-8
    assert evolve_qutip(psi0[0], 2, 5, 0.05, g, h).shape == (6, 4)
    assert evolve_qutip(psi0.to(torch.complex64), 2, 1).dtype == torch.complex64
    empty = evolve_qutip(psi0[:0], 2, 5)
    assert empty.shape == (0, 6, 4) and empty.dtype == torch.complex128
    cases = [
        (lambda: evolve_exact(psi0, 2, 1, dt=0.0), "dt: expected a positive finite number, got 0.0"),
        (lambda: evolve_exact(psi0, 2, 1, h=float("nan")), "h: expected a finite number, got nan"),
        (lambda: evolve_exact(psi0, 2, 1, tol=0.0), "tol: expected a positive finite number, got 0.0"),
        (lambda: evolve_exact(psi0, 2, 1, method="dense"), "method: expected 'auto', 'eig' or 'krylov', got 'dense'"),
        (lambda: evolve_qutip(psi0, 2, 1, dt=-1.0), "dt: expected a positive finite number, got -1.0"),
        (
            lambda: evolve_qutip("abc", 2, 1),
            "psi0: expected a complex tensor, a complex numpy array or a QuTiP ket, got 'abc'",
        ),
        (lambda: evolve_qutip(psi0.real, 2, 1), "psi0: expected a complex64 or complex128 tensor, got torch.float64"),
        (lambda: ising_matrix(2, g="x"), "g: expected a finite number, got 'x'"),
        (lambda: ising_matrix(2, h="x"), "h: expected a finite number, got 'x'"),
        (lambda: ising_qobj(2, g="x"), "g: expected a finite number, got 'x'"),
        (lambda: ising_qobj(2, h="x"), "h: expected a finite number, got 'x'"),
    ]
    assert_refusals(cases, (ValueError, TypeError))


def test_degree_rule_fits_c_by_least_squares_and_scales_by_one_over_root_degree():
    """The fit's c minimises sum_i (gamma_i - c / sqrt(d_i))^2 over the training graphs' optimal gammas.

    gamma_i here come from a grid search of the p = 1 energy (not the code's optimiser). Catches c * sqrt(d),
    a wrong least-squares formula and a start that random angles reach too.
    """
    train = [qaoa.erdos_renyi_maxcut(n, 3 / n, seed=n) for n in (6, 7, 8, 9)]
    rule = qaoa.DegreeRule.fit(train, p=1, steps=300)
    # (gamma, beta) and (-gamma, -beta) give the same energy: search the branch of the fit's sign
    branch = math.copysign(1.0, rule.c[0])
    grid_g = branch * torch.linspace(0.05, 1.2, 116, dtype=torch.float64)  # gamma step 0.01
    grid_b = torch.linspace(-0.8, 0.8, 161, dtype=torch.float64)
    gammas, xs = [], []
    for problem in train:
        ansatz = QAOA(problem, 1)
        pairs = torch.cartesian_prod(grid_g, grid_b)
        best = pairs[int(torch.argmin(ansatz.energy(pairs)))]
        gammas.append(float(best[0]))
        xs.append(1.0 / math.sqrt(2 * problem.graph.number_of_edges() / problem.graph.number_of_nodes()))
    c_least_squares = sum(g * x for g, x in zip(gammas, xs)) / sum(x * x for x in xs)
    assert rule.c[0] == pytest.approx(c_least_squares, abs=0.02)  # the grid's step (0.01) and Adam's residual
    test = qaoa.erdos_renyi_maxcut(12, 0.3, seed=11)
    degree = 2 * test.graph.number_of_edges() / 12
    start = rule(QAOA(test, 1))
    assert float(start[0]) == pytest.approx(rule.c[0] / math.sqrt(degree), rel=1e-12)
    ansatz = QAOA(test, 1)
    ratio = float(qaoa.approximation_ratio(test, ansatz.energy(start)))
    randoms = qaoa.approximation_ratio(test, ansatz.energy(qaoa.random_init(ansatz, 256, seed=0)))
    assert ratio > 0.78 and ratio > float(randoms.max()) - 0.02  # gamma = 0 gives 0.5; c * sqrt(d) gives ~0.6
    assert float(randoms.mean()) < 0.7


def test_the_meta_optimiser_feeds_parameters_scaled_cost_and_its_change():
    """Input at step t: [theta_t, F_t / S, (F_t - F_{t-1}) / S], S = sum |w_ij|, F_{-1} = F_0; theta_{t+1} = pi tanh(head).

    Catches the cost change fed as zero, an unscaled cost, a stale theta.
    """
    torch.manual_seed(0)
    outputs = [torch.randn(1, 3, dtype=torch.float64) for _ in range(3)]
    stub = RecordingCell(4, 3, outputs)
    meta = MetaOptimizer(stub, 2, proposal="absolute").double()
    graph = nx.Graph(
        [(0, 1, {"weight": 2.0}), (1, 2, {"weight": 0.5}), (2, 0, {"weight": 1.0}), (2, 3, {"weight": 1.5})]
    )
    ansatz = QAOA(MaxCut(graph), 1)
    start = torch.tensor([0.2, -0.3], dtype=torch.float64)
    trajectory = meta(ansatz, 3, start)
    scale = 2.0 + 0.5 + 1.0 + 1.5
    theta, previous = start, float(ansatz.energy(start))
    for t in range(3):
        energy = float(ansatz.energy(theta))
        expected = torch.tensor([*theta.tolist(), energy / scale, (energy - previous) / scale], dtype=torch.float64)
        assert torch.allclose(stub.seen[t][0], expected, atol=1e-12), t
        previous = energy
        with torch.no_grad():
            theta = math.pi * torch.tanh(meta.head(outputs[t]))[0]
        assert torch.allclose(trajectory.params[t + 1, 0], theta, atol=1e-12)
    assert float(stub.seen[2][0, 3]) != 0.0  # the change is really there


@pytest.mark.parametrize("proposal", ["residual", "incumbent"])
def test_the_residual_meta_optimiser_feeds_offset_relative_changes_and_the_horizon(proposal):
    """Residual and incumbent rules, input at step t of T: [(theta_t - a_t) / s, k (F~_t - F~_0) / |F~_0|,
    k (F~_t - F~_{t-1}) / |F~_0|, k (F~_t - min_{j<=t} F~_j) / |F~_0|, t / T], k = 10, F~ = F / sum|w|;
    theta_{t+1} = a_t + s tanh(head(output_t)), with the anchor a_t = theta_0 (residual) or the best point
    so far, moved only by a strict improvement (incumbent).

    Catches a stale offset, a best-so-far that is not a running minimum, a wrong horizon fraction, and an
    incumbent that does not move on an improvement or moves without one.
    """
    torch.manual_seed(1)
    outputs = [torch.randn(1, 3, dtype=torch.float64) for _ in range(4)]
    stub = RecordingCell(6, 3, outputs)
    meta = MetaOptimizer(stub, 2, step_scale=0.4, proposal=proposal).double()
    with torch.no_grad():
        meta.head.weight.copy_(torch.randn(2, 3, dtype=torch.float64))  # large enough for the energy to move
    graph = nx.Graph(
        [(0, 1, {"weight": 2.0}), (1, 2, {"weight": 0.5}), (2, 0, {"weight": 1.0}), (2, 3, {"weight": 1.5})]
    )
    ansatz = QAOA(MaxCut(graph), 1)
    start = torch.tensor([0.05, 0.4], dtype=torch.float64)
    trajectory = meta(ansatz, 4, start)
    scale, s, k = 5.0, 0.4, 10.0
    theta = anchor = start
    first = previous = best = float(ansatz.energy(start)) / scale
    moves = []
    for t in range(4):
        now = float(ansatz.energy(theta)) / scale
        if proposal == "incumbent" and now < best:
            anchor = theta
        moves.append(now < best)
        best = min(best, now)
        unit = abs(first) / k
        expected = [
            *((theta - anchor) / s).tolist(),
            (now - first) / unit,
            (now - previous) / unit,
            (now - best) / unit,
            t / 4,
        ]
        assert torch.allclose(stub.seen[t][0], torch.tensor(expected, dtype=torch.float64), atol=1e-12), t
        previous = now
        with torch.no_grad():
            theta = anchor + s * torch.tanh(meta.head(outputs[t]))[0]
        assert torch.allclose(trajectory.params[t + 1, 0], theta, atol=1e-12)
    assert any(moves[1:]) and not all(moves[1:])  # this draw has steps that improve and steps that do not
    seen = torch.cat(stub.seen)
    assert bool((seen[:, 4] >= -1e-12).all())  # the gap above the best so far is never negative
    assert float(seen[1:, 3].abs().max()) > 0.01  # the change since the previous step is really there


def test_one_qunn_step_pair_at_three_slots_by_hand():
    """L = 3, d = 1, h = 1. Step 0 from the empty tape writes u = tanh(x) to slot 0 and turns slots (0, 1) by the
    Cayley angle phi = 2 atan(h p_1 / 2); the output is the next slot, u sin phi, and the tape rolls by -1.
    Step 1 is computed with numpy from Definition 3 as the module docstring states it.

    Catches the tape rolled the wrong way, the output read from the wrong slot, p_1 and p_2 swapped.
    """
    cell = cells.QUNN(1, 1, memory=3, step_size=1.0).double()
    with torch.no_grad():
        cell.p_logits.copy_(torch.tensor([[0.3, -0.7, 1.1], [0.9, -0.4, 0.2]], dtype=torch.float64))
    p1 = 1 / (1 + np.exp(-np.array([0.3, -0.7, 1.1])))
    p2 = 1 / (1 + np.exp(-np.array([0.9, -0.4, 0.2])))
    x0, x1 = 0.8, -0.5
    y0, state = cell(torch.tensor([[x0]], dtype=torch.float64))
    u0 = math.tanh(x0)
    phi = 2 * math.atan(p1[0] / 2)
    assert float(y0.detach()) == pytest.approx(u0 * math.sin(phi), rel=1e-12)
    (tape, memory, u_prev), clock = state
    assert tape[0, :, 0].tolist() == pytest.approx([u0 * math.sin(phi), 0.0, u0 * math.cos(phi)], abs=1e-14)

    y1, _ = cell(torch.tensor([[x1]], dtype=torch.float64), state)
    u1 = math.tanh(x1)
    written = np.array([u1, 0.0, u0 * math.cos(phi)])  # the new input on slot 0, the rolled tape behind it
    transition = np.zeros((3, 3))
    transition[0, 2] = u1 * u0  # |u_1><u_0| (x) |0><L-1|
    transition -= transition.T
    shift = np.zeros((3, 3))
    shift[1, 0], shift[0, 1] = 1.0, -1.0
    generator = (1 - p1[1]) * (p2[1] * transition) + p1[1] * shift  # the generator memory was 0 before
    eye = np.eye(3)
    after = np.linalg.solve(eye - 0.5 * generator, (eye + 0.5 * generator) @ written)
    assert float(y1.detach()) == pytest.approx(after[1], rel=1e-12)


def test_dropout_acts_between_layers_and_never_after_the_last():
    """Three layers, p = 0.5: the output equals the layers run by hand with dropout after layers 0 and 1 only.

    Catches dropout after the last layer, dropout on the input, dropout in eval mode.
    """
    torch.manual_seed(0)
    layers = [cells.create("lstm", 3 if i == 0 else 4, 4).double() for i in range(3)]
    stack = ornn.Recurrent(layers, dropout=0.5).double().train()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.manual_seed(11)
    got = stack(x)[0]
    torch.manual_seed(11)
    h = x
    for i, cell in enumerate(layers):
        h = ornn.Recurrent(cell)(h)[0]
        if i < 2:
            h = nn.functional.dropout(h, p=0.5, training=True)
    assert torch.equal(got, h)
    stack.eval()
    plain = x
    for cell in layers:
        plain = ornn.Recurrent(cell)(plain)[0]
    assert torch.equal(stack(x)[0], plain)


# ----------------------------------------------------------------------------- resume with the best epoch before it


def test_meta_train_resume_keeps_a_best_epoch_that_lies_before_the_interruption(tmp_path):
    """At lr 0.5 the validation loss peaks at epoch 1 of 6: a run stopped after epoch 2 and resumed must report
    best epoch 1, the same best loss, and end with the epoch-1 weights, like the uninterrupted run.

    Catches a resume that drops the best state or the best validation loss.
    """

    def run(epochs, checkpoint, resume=False):
        torch.manual_seed(0)
        meta = MetaOptimizer("lstm", 2, hidden_size=4, proposal="absolute").double()
        kwargs = dict(p=1, steps=2, lr=0.5, batches_per_epoch=1, batch_size=2, validation_size=2, patience=10)
        kwargs.update(loss="weighted", grad_clip=None)  # the paper's rule, unclipped: an early peak at this lr
        history = meta_train(
            meta, ProblemDistribution("3-regular", (4,)), epochs=epochs, checkpoint=checkpoint, resume=resume, **kwargs
        )
        return meta, history

    straight, history = run(6, tmp_path / "a.pt")
    assert history.best_epoch == 1 and min(history.val_loss[2:]) > history.val_loss[1]
    run(3, tmp_path / "b.pt")
    resumed, history_b = run(6, tmp_path / "b.pt", resume=True)
    assert history_b.best_epoch == 1 and history_b.best_val == history.best_val == history.val_loss[1]
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()):
        assert torch.equal(a, b)


def test_train_predictor_resume_keeps_a_best_epoch_that_lies_before_the_interruption(tmp_path):
    """At lr 0.3 (weights seeded 2) the first epoch's validation loss is the best of six; the checks of meta_train."""
    spec = SequenceSpec(spins=(2,), per_spin=10, steps=3)

    def run(epochs, checkpoint, resume=False):
        torch.manual_seed(2)
        model = DynamicsPredictor(max_spins=2, width=4, num_layers=1).double()
        history = train_predictor(
            model, spec, epochs=epochs, batch_size=4, lr=0.3, decay=1.0, checkpoint=checkpoint, resume=resume
        )
        return model, history

    straight, history = run(6, tmp_path / "a.pt")
    assert history.best_epoch == 0 and min(history.val_loss[1:]) > history.val_loss[0]
    run(3, tmp_path / "b.pt")
    resumed, history_b = run(6, tmp_path / "b.pt", resume=True)
    assert history_b.best_epoch == 0 and history_b.best_val == history.val_loss[0]
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()):
        assert torch.equal(a, b)


def test_fit_resume_restores_best_epoch_loss_and_weights_from_before_the_interruption(tmp_path):
    """A scripted validation curve 3, 1, 2, 4, 5: the best is epoch 1 whether or not the run stops after epoch 2."""
    curve = [3.0, 1.0, 2.0, 4.0, 5.0]

    def run(epochs, resume=False):
        torch.manual_seed(0)
        model = nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        snapshots = {}

        def train_epoch(net, epoch):
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(1.0)  # weights after epoch e: the initial ones + (e + 1)
            snapshots[epoch] = [p.detach().clone() for p in model.parameters()]
            return float(epoch)

        epoch_of_validation = iter(range(5 - epochs if resume else 0, 5)) if not resume else iter(range(3, 5))
        history = ornn.training.fit(
            model,
            train_epoch,
            lambda: curve[next(epoch_of_validation)],
            optimizer=optimizer,
            epochs=epochs,
            checkpoint=tmp_path / "c.pt",
            resume=resume,
        )
        return model, history

    run(3)
    model, history = run(5, resume=True)
    assert history.best_epoch == 1 and history.best_val == 1.0 and history.val_loss == curve
    torch.manual_seed(0)
    initial = [p.detach().clone() for p in nn.Linear(2, 1).parameters()]
    for p, start in zip(model.parameters(), initial):
        assert torch.equal(p.detach(), start + 2.0)  # the weights after epoch 1


class CountingModel(nn.Module):
    """f(psi_t) = psi_t (1 + 0.1 c_t), c_t the number of states read before psi_t (the memory): a rollout by hand."""

    def forward(self, states, memory=None):
        count = 0 if memory is None else memory
        factors = 1 + 0.1 * (count + torch.arange(states.shape[1], dtype=torch.float64))
        return states * factors[None, :, None], count + states.shape[1]


def test_rollout_loss_equals_a_hand_computed_value():
    """Constant exact states [1, 0]; start 1, two steps: psi_hat_2 = 1.1, psi_hat_3 = 1.1 * 1.2 = 1.32 (first entry).

    MSE over the 4 real numbers of each state: (0.1^2 / 4 + 0.32^2 / 4) / 2 = 0.01405.
    """
    from applications.dynamics.train import rollout_horizon, rollout_loss

    exact = torch.zeros(1, 4, 2, dtype=torch.complex128)
    exact[..., 0] = 1.0
    assert float(rollout_loss(CountingModel(), exact, 2, start=1)) == pytest.approx(0.01405, rel=1e-12)
    # from the first state: psi_hat_1 = 1.0 (nothing read before), psi_hat_2 = 1.1, psi_hat_3 = 1.1 * 1.2
    assert float(rollout_loss(CountingModel(), exact, 3)) == pytest.approx((0.0 + 0.01 + 0.1024) / 4 / 3, rel=1e-12)
    with pytest.raises(ValueError, match="start: expected 0 <= start and start \\+ steps < 4"):
        rollout_loss(CountingModel(), exact, 3, start=1)
    # exact states that move (first amplitude 1, 2, 3, 4): each prediction is scored against its own step only,
    # (|1.0 - 2|^2 / 4 + |1.1 - 3|^2 / 4) / 2 = (0.25 + 0.9025) / 2
    moving = exact.clone()
    moving[0, :, 0] = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.complex128)
    assert float(rollout_loss(CountingModel(), moving, 2)) == pytest.approx(0.57625, rel=1e-12)
    assert_refusals(
        [(lambda: rollout_loss(CountingModel(), exact, 0), ValueError, "steps: expected an integer >= 1, got 0")]
    )
    assert [rollout_horizon(e, 20) for e in range(7)] == [1, 2, 4, 8, 16, 20, 20]
    assert rollout_horizon(3, 0) == 0 and [rollout_horizon(e, 1) for e in (0, 5)] == [1, 1]  # k = 1 is a rollout
    assert rollout_horizon(40, 2**40) == 2**30  # the doubling stops at 2^30 (an int that stays small)


class ZeroModel(nn.Module):
    """Predicts psi_{t+1} = 0: its MSE on unit-norm states is 1 / (2 * 2^N) (the 2 * 2^N real numbers)."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros((), dtype=torch.float64))  # sets the data's device and dtype

    def forward(self, states, memory=None):
        return torch.zeros_like(states), None


def test_relative_validation_loss_divides_by_persistence_per_batch():
    from applications.dynamics.train import validation_loss

    spec = SequenceSpec(spins=(2, 3), per_spin=10, steps=5)  # one validation sequence per N, one batch each
    exact = {n: sequences(spec, n, spec.split_range("validation")) for n in (2, 3)}
    steps_mse = {n: float(((exact[n][:, 1:] - exact[n][:, :-1]).abs() ** 2).mean() / 2) for n in (2, 3)}
    zero = (1 / 8 / steps_mse[2] + 1 / 16 / steps_mse[3]) / 2
    assert validation_loss(ZeroModel(), spec, relative=True) == pytest.approx(zero, rel=1e-9)
    assert validation_loss(ZeroModel(), spec) == pytest.approx((1 / 8 + 1 / 16) / 2, rel=1e-6)  # float64 data
    model = DynamicsPredictor(max_spins=3, width=4, num_layers=1).double()
    with torch.no_grad():
        model.increment_log_gain.fill_(-math.inf)  # gain exp(-inf) = 0, psi_{t+1} = psi_t: persistence itself
    assert validation_loss(model, spec, relative=True) == pytest.approx(1.0, rel=1e-12)
    assert validation_loss(model, spec) == pytest.approx((steps_mse[2] + steps_mse[3]) / 2, rel=1e-9)
    # training divides the same way: persistence (moved by Adam steps of 1e-12 at most) scores 1 on every batch
    history = train_predictor(model, spec, epochs=1, batch_size=100, lr=1e-12, relative=True)
    assert history.train_loss[0] == pytest.approx(1.0, abs=1e-6) and history.val_loss[0] == pytest.approx(1.0, abs=1e-6)


def test_default_width_is_the_least_that_represents_the_largest_chain():
    from applications.dynamics.train import default_width

    assert [default_width(spins) for spins in ((2, 3, 4), (5,), (2, 3, 4, 5, 6, 7), (8,))] == [64, 64, 256, 512]
    with pytest.raises(ValueError, match="spins: expected an integer >= 1, got 0"):
        default_width((0, 2))


def test_rollout_training_is_reproducible_and_resumes_bit_for_bit(tmp_path):
    spec = SequenceSpec(spins=(2,), per_spin=10, steps=6)

    def run(epochs, checkpoint, resume=False):
        torch.manual_seed(0)
        model = DynamicsPredictor(max_spins=2, width=4, num_layers=1, dropout=0.2).double()
        history = train_predictor(
            model, spec, epochs=epochs, batch_size=4, rollout=4, checkpoint=checkpoint, resume=resume
        )
        return model, history

    straight, history = run(4, tmp_path / "a.pt")
    run(2, tmp_path / "b.pt")
    resumed, history_b = run(4, tmp_path / "b.pt", resume=True)
    assert history_b.train_loss == history.train_loss and history_b.val_loss == history.val_loss
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="rollout: expected fewer steps than the data's 6"):
        train_predictor(DynamicsPredictor(max_spins=2, width=4).double(), spec, rollout=6)


def test_every_per_step_metric_against_loops_written_here():
    """Two sequences, two steps, two spins, predicted states off unit norm: each entry of evaluate_sequences
    (and nothing else) against its definition written as plain Python loops.

    Catches: a metric or its key renamed or dropped, a sum over sequences instead of the mean, Born
    probabilities in place of Zhang et al.'s normalised |amplitudes| (or the reverse), a fidelity or
    magnetisation without its normalisation, a norm drift of ||psi|| instead of ||psi||^2.
    """
    generator = np.random.default_rng(5)
    exact = generator.normal(size=(2, 2, 4)) + 1j * generator.normal(size=(2, 2, 4))
    exact /= np.linalg.norm(exact, axis=-1, keepdims=True)
    predicted = 1.3 * exact + 0.2 * (generator.normal(size=(2, 2, 4)) + 1j * generator.normal(size=(2, 2, 4)))

    def kl(p, q):
        return sum(a * math.log(a / b) for a, b in zip(p, q))

    def normalised(values):
        return [v / sum(values) for v in values]

    def magnetisation(psi):  # (1/N) sum_i <Z_i> / <psi|psi>, wire 0 the most significant bit, |0> = +1
        weights = [abs(a) ** 2 for a in psi]
        signs = [sum(1 - 2 * ((z >> (1 - i)) & 1) for i in range(2)) / 2 for z in range(4)]
        return sum(w * s for w, s in zip(weights, signs)) / sum(weights)

    expected = {name: [] for name in ("mre", "born_kl", "fidelity", "norm_drift", "magnetisation_error")}
    for t in range(2):
        rows = {name: [] for name in expected}
        for b in range(2):
            e, p = exact[b, t], predicted[b, t]
            rows["mre"].append(kl(normalised([abs(a) for a in e]), normalised([abs(a) for a in p])))
            rows["born_kl"].append(kl(normalised([abs(a) ** 2 for a in e]), normalised([abs(a) ** 2 for a in p])))
            overlap = abs(sum(x.conjugate() * y for x, y in zip(e, p))) ** 2
            rows["fidelity"].append(overlap / (sum(abs(x) ** 2 for x in e) * sum(abs(y) ** 2 for y in p)))
            rows["norm_drift"].append(sum(abs(y) ** 2 for y in p) - 1.0)
            rows["magnetisation_error"].append(abs(magnetisation(p) - magnetisation(e)))
        for name in expected:
            expected[name].append(sum(rows[name]) / 2)
    assert expected["norm_drift"][0] > 0.3 and expected["mre"][0] != pytest.approx(expected["born_kl"][0], rel=0.1)

    got = metrics.evaluate_sequences(torch.from_numpy(predicted), torch.from_numpy(exact))
    assert set(got) == set(expected)
    for name, values in expected.items():
        assert got[name].tolist() == pytest.approx(values, rel=1e-12, abs=1e-15), name
    by_hand = [magnetisation(predicted[b, t]) for b in range(2) for t in range(2)]
    assert metrics.magnetisation(torch.from_numpy(predicted)).reshape(-1).tolist() == pytest.approx(by_hand, rel=1e-12)
    single = metrics.magnetisation(torch.from_numpy(predicted).to(torch.complex64))
    assert single.dtype == torch.float32  # the precision of the states, not promoted to float64
    assert single.reshape(-1).tolist() == pytest.approx(by_hand, rel=1e-5)


def test_metric_refusals_name_the_argument_and_what_came():
    """Catches: a refusal message that loses the argument's name, the expected form, or what was given."""
    good = torch.ones(1, 2, 4, dtype=torch.complex128) / 2
    real = torch.ones(1, 2, 4, dtype=torch.float64)
    cases = [
        (
            lambda: metrics.fidelity(real, good),
            r"predicted: expected a complex tensor \(batch, steps, 2\*\*N\), got \(1, 2, 4\) torch\.float64",
        ),
        (lambda: metrics.born_kl(good, [1]), r"exact: expected a complex tensor \(batch, steps, 2\*\*N\), got list"),
        (
            lambda: metrics.mean_relative_entropy(good[0], good),
            r"predicted: expected a complex tensor \(batch, steps, 2\*\*N\), got \(2, 4\) torch\.complex128",
        ),
        (
            lambda: metrics.evaluate_sequences(good, good[:, :1]),
            r"predicted: expected the shape of exact \(1, 1, 4\), got \(1, 2, 4\)",
        ),
        (
            lambda: metrics.magnetisation(real),
            r"states: expected a complex tensor \(batch, steps, 2\*\*N\), got \(1, 2, 4\) torch\.float64",
        ),
        (
            lambda: metrics.magnetisation(good[0]),
            r"states: expected a complex tensor \(batch, steps, 2\*\*N\), got \(2, 4\) torch\.complex128",
        ),
        (
            lambda: metrics.magnetisation([1, 2]),
            r"states: expected a complex tensor \(batch, steps, 2\*\*N\), got list",
        ),
    ]
    assert_refusals(cases, ValueError, regex=True)


def test_norm_preserving_predictor_teacher_forcing_rollout_and_dtypes_by_hand():
    """The norm-preserving predictor against Eq. (14) written here, step by step.

    Catches: teacher forcing that feeds its own predictions (or skips a step), a rollout that does not start
    from psi0 or repeats a state, an output cast to the model's dtype instead of the input's, a core for the
    wrong chain length, and the flags and the configuration that distributed training and run folders read.
    """
    from applications.dynamics import NormPreservingPredictor

    torch.manual_seed(31)
    model = NormPreservingPredictor((2, 3), dt=0.01).double()
    assert model.dtype == torch.float64 and model.uses_all_parameters is False
    assert model.config == {"spins": [2, 3], "dt": 0.01} and model.cell_name == "arnn (norm-preserving)"
    # no bias: Eq. (14) has none, and a zero-initialised one would not show in the outputs below
    assert [(name, tuple(p.shape)) for name, p in model.named_parameters()] == [
        ("cores.2.weight_a", (4, 4)),
        ("cores.2.weight_v", (8, 1)),
        ("cores.3.weight_a", (8, 8)),
        ("cores.3.weight_v", (16, 1)),
    ]
    with torch.no_grad():
        for core in model.cores.values():
            core.weight_a.normal_()
    a = model.cores["3"].weight_a

    def eq14(psi):  # P' = P + dt A C, C' = C - dt A^T P'
        p, c = psi.real, psi.imag
        p_next = p + 0.01 * c @ a.T
        return torch.complex(p_next, c - 0.01 * p_next @ a)

    states = haar_states(3, 6, generator=torch.Generator().manual_seed(3)).view(2, 3, 8)
    predicted, memory = model(states)
    assert memory is None
    for b in range(2):
        for t in range(3):  # every step from the given state, not from the previous prediction
            assert torch.allclose(predicted[b, t], eq14(states[b, t : t + 1])[0], atol=1e-14)
    path = model.rollout(states[:, 0], 4)
    expected, current = [states[:, 0]], states[:, 0]
    for _ in range(4):
        current = eq14(current)
        expected.append(current)
    assert torch.allclose(path, torch.stack(expected, dim=1), atol=1e-13)
    # a float32 model keeps a complex128 input's dtype, and steps the core of the input's chain length
    single = NormPreservingPredictor((2, 3), dt=0.01)
    assert single(states)[0].dtype == torch.complex128
    assert single(states[:, :, :4].contiguous())[0].shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"^states: expected shape \(batch, steps, 2\*\*N\), got \(6, 8\)$"):
        model(states.view(6, 8))
    with pytest.raises(
        ValueError,
        match=r"^states: expected complex amplitudes of one of the trained chain lengths \(2, 3\) \(2\^N entries\), "
        r"got last dimension 16 \(torch\.complex128\)$",
    ):
        model.step(torch.ones(1, 16, dtype=torch.complex128))
    with pytest.raises(ValueError, match=r"^psi: expected shape \(batch, 2\*\*N\), got \(8,\)$"):
        model.step(states[0, 0])
    with pytest.raises(ValueError, match=r"got last dimension 8 \(torch\.float64\)$"):  # real amplitudes
        model.step(states[:, 0].real)
    with pytest.raises(TypeError, match=r"^states: expected a torch\.Tensor, got \[\[1\.0\]\]$"):
        model([[1.0]])
    with pytest.raises(TypeError, match=r"^psi: expected a torch\.Tensor, got \[\[1\.0\]\]$"):
        model.step([[1.0]])


def test_zero_query_starts_against_their_formulas_written_here():
    """The linear ramp, the fixed angles, a degree rule and the random draw, value by value, in layer-major order.

    Catches: a ramp off by half a step or with another default dt, the fixed angles' sign convention or
    order, an alpha that is not zero for DC-QAOA, a degree rule that scales by sqrt(d) or ignores b, and
    random angles outside (or not covering) their documented ranges.
    """
    cube = MaxCut(nx.cubical_graph())  # 3-regular
    qaoa2, dc2 = QAOA(cube, 2), qaoa.DCQAOA(cube, 2)
    # ramp: t_k = (k + 1/2) / p, gamma_k = -t_k dt, beta_k = (1 - t_k) dt, dt = 0.75 by default
    expected = [-0.25 * 0.75, 0.75 * 0.75, -0.75 * 0.75, 0.25 * 0.75]
    assert qaoa.linear_ramp(qaoa2).tolist() == pytest.approx(expected, abs=1e-15)
    assert qaoa.linear_ramp(qaoa2, dt=2.0).tolist() == pytest.approx([-0.5, 1.5, -1.5, 0.5], abs=1e-15)
    assert qaoa.linear_ramp(dc2).tolist() == pytest.approx([-0.1875, 0.5625, 0.0, -0.5625, 0.1875, 0.0], abs=1e-15)
    # Wurtz & Lykov p = 2: gamma = (0.488, 0.898), beta = (0.555, 0.293) in their convention; ours negates gamma
    assert qaoa.fixed_angles(qaoa2).tolist() == pytest.approx([-0.488, 0.555, -0.898, 0.293], abs=1e-15)
    assert qaoa.fixed_angles(dc2).tolist() == pytest.approx([-0.488, 0.555, 0.0, -0.898, 0.293, 0.0], abs=1e-15)
    # a degree rule on a graph of mean degree 4 (K5): gamma_k = c_k / 2, beta_k = b_k
    rule = qaoa.DegreeRule(p=2, c=(-1.0, -3.0), b=(0.5, 0.25), training_graphs=1, fit_rms_gamma=0.0)
    k5 = QAOA(MaxCut(nx.complete_graph(5)), 2)
    assert rule(k5).tolist() == pytest.approx([-0.5, 0.5, -1.5, 0.25], abs=1e-15)
    with pytest.raises(ValueError, match=r"^ansatz: expected depth p = 2 \(the fit's\), got 1$"):
        rule(QAOA(MaxCut(nx.complete_graph(5)), 1))
    # random: gamma in [-pi, 0), beta in [0, pi/2), alpha in [-pi/2, pi/2), each range covered
    draws = qaoa.random_init(dc2, 4000, seed=3).view(4000, 2, 3)
    for column, (low, high) in enumerate([(-math.pi, 0.0), (0.0, math.pi / 2), (-math.pi / 2, math.pi / 2)]):
        values = draws[:, :, column]
        assert float(values.min()) >= low and float(values.max()) < high
        assert float(values.min()) < low + 0.01 * (high - low) and float(values.max()) > high - 0.01 * (high - low)
    assert not torch.equal(qaoa.random_init(dc2, 3, seed=3), qaoa.random_init(dc2, 3, seed=4))


def test_degree_rule_on_dc_qaoa_and_the_baselines_refusals():
    """The p = 1 degree rule adds alpha = 0 for DC-QAOA; the baselines' refusals are matched whole."""
    cube = MaxCut(nx.cubical_graph())  # mean degree 3
    gamma = -(1.19 / math.sqrt(3.0) - 0.078)
    assert qaoa.degree_rule(QAOA(cube, 1)).tolist() == pytest.approx([gamma, 0.314], abs=1e-15)
    assert qaoa.degree_rule(qaoa.DCQAOA(cube, 1)).tolist() == pytest.approx([gamma, 0.314, 0.0], abs=1e-15)
    cases = [
        (lambda: qaoa.linear_ramp("qaoa"), TypeError, r"ansatz: expected a QAOA or DCQAOA, got 'qaoa'"),
        (
            lambda: qaoa.degree_rule(QAOA(qaoa.random_sk(4, seed=0), 1)),
            ValueError,
            r"ansatz: the degree rule is for MaxCut, got SK\(n=4, optimum=-4\)",
        ),
        (lambda: qaoa.degree_rule(QAOA(cube, 2)), ValueError, r"ansatz: the degree rule is a p = 1 rule, got p = 2"),
        (lambda: qaoa.ansatz_optimum(QAOA(cube, 1), starts=0), ValueError, r"starts: expected an integer >= 1, got 0"),
    ]
    assert_refusals(cases, regex=True)
    with pytest.raises(ValueError, match=r"^batch: expected an integer >= 1, got 0$"):
        qaoa.random_init(QAOA(cube, 1), 0)
    # a fitted rule on DC-QAOA: alpha_k = 0 after each (gamma_k, beta_k)
    rule = qaoa.DegreeRule(p=2, c=(-1.0, -3.0), b=(0.5, 0.25), training_graphs=1, fit_rms_gamma=0.0)
    dc = qaoa.DCQAOA(MaxCut(nx.complete_graph(5)), 2)  # mean degree 4
    assert rule(dc).tolist() == pytest.approx([-0.5, 0.5, 0.0, -1.5, 0.25, 0.0], abs=1e-15)


def test_random_starts_are_uniform_draws_mapped_in_float64():
    """random_init = low + width * U[0, 1) per (layer, angle), in float64 (pi is not rounded to float32), one row
    by default, from the global generator when no seed is given."""
    dc = qaoa.DCQAOA(MaxCut(nx.cubical_graph()), 2)
    u = torch.rand(3, 2, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    low = torch.tensor([-math.pi, 0.0, -math.pi / 2], dtype=torch.float64)
    width = torch.tensor([math.pi, math.pi / 2, math.pi], dtype=torch.float64)
    expected = (low + width * u).reshape(3, 6)
    assert torch.allclose(qaoa.random_init(dc, 3, seed=7), expected, atol=1e-15, rtol=0)
    assert qaoa.random_init(dc, seed=7).shape == (1, 6)
    torch.manual_seed(11)
    first = qaoa.random_init(dc, 2)
    torch.manual_seed(11)
    assert torch.equal(qaoa.random_init(dc, 2), first) and first.dtype == torch.float64


def test_ansatz_optimum_is_multistart_lbfgs_from_the_documented_starts(monkeypatch):
    """Defaults: 16 random starts (seed 0), the linear ramp and, on 3-regular MaxCut, the fixed angles; L-BFGS at
    lr 1 for 100 steps with tol 1e-10; the answer is the lowest final energy and its parameters."""
    from applications.qaoa import baselines

    seen = []
    real_optimize = baselines.optimize

    def spy(ansatz, init, **settings):
        seen.append((init.clone(), settings))
        return real_optimize(ansatz, init, **settings)

    monkeypatch.setattr(baselines, "optimize", spy)
    cube = QAOA(MaxCut(nx.cubical_graph()), 1)
    best, params = qaoa.ansatz_optimum(cube)
    init, settings = seen[-1]
    assert settings == {"optimizer": "lbfgs", "lr": 1.0, "steps": 100, "tol": 1e-10}
    starts = torch.cat(
        [qaoa.random_init(cube, 16, seed=0), qaoa.linear_ramp(cube)[None], qaoa.fixed_angles(cube)[None]]
    )
    assert torch.equal(init, starts)
    final = real_optimize(cube, starts, **settings).final_energies
    assert best == float(final.min()) and abs(float(cube.energy(params)) - best) < 1e-12
    path = QAOA(MaxCut(nx.path_graph(4)), 1)  # not 3-regular: no fixed angles
    qaoa.ansatz_optimum(path, starts=3, steps=7, seed=5)
    init, settings = seen[-1]
    assert torch.equal(init, torch.cat([qaoa.random_init(path, 3, seed=5), qaoa.linear_ramp(path)[None]]))
    assert settings["steps"] == 7


def test_degree_rule_fit_is_least_squares_over_the_optimised_angles_worked_out_here(monkeypatch):
    """``DegreeRule.fit`` on three graphs of mean degree 2, 3 and 4 with Phase II replaced by fixed answers:

    c_k = sum_i gamma_ik x_i / sum_i x_i^2 with x_i = 1 / sqrt(d_i), b_k = mean_i beta_ik, and the fit's rms is
    sqrt(mean_ik (gamma_ik - c_k x_i)^2), each computed here in plain Python. The optimiser is called with Adam,
    the given lr and steps, from each graph's linear ramp.
    """
    from applications.qaoa import baselines

    graphs = [nx.cycle_graph(4), nx.complete_graph(4), nx.complete_graph(5)]  # mean degrees 2, 3, 4
    problems = [MaxCut(g) for g in graphs]
    answers = torch.tensor(
        [[-0.9, 0.4, -1.3, 0.2], [-0.7, 0.5, -1.0, 0.3], [-0.6, 0.3, -0.8, 0.1]], dtype=torch.float64
    )  # rows (gamma_1, beta_1, gamma_2, beta_2), layer-major
    calls = []

    def fixed_phase_two(ansatzes, init, **settings):
        calls.append((init.clone(), settings))
        return qaoa.OptimizationResult(torch.stack([init, answers]), torch.zeros(2, 3), torch.full((3,), -1))

    monkeypatch.setattr(baselines, "optimize", fixed_phase_two)
    rule = qaoa.DegreeRule.fit(problems, 2, steps=17, lr=0.2)
    init, settings = calls[0]
    assert settings == {"optimizer": "adam", "lr": 0.2, "steps": 17}
    assert torch.equal(init, torch.stack([qaoa.linear_ramp(QAOA(q, 2)) for q in problems]))
    xs = [1 / math.sqrt(d) for d in (2.0, 3.0, 4.0)]
    rows = answers.tolist()
    c = [sum(r[2 * k] * x for r, x in zip(rows, xs)) / sum(x * x for x in xs) for k in range(2)]
    b = [sum(r[2 * k + 1] for r in rows) / 3 for k in range(2)]
    rms = math.sqrt(sum((r[2 * k] - c[k] * x) ** 2 for r, x in zip(rows, xs) for k in range(2)) / 6)
    assert rule.p == 2 and rule.training_graphs == 3
    assert rule.c == pytest.approx(c, abs=1e-15) and rule.b == pytest.approx(b, abs=1e-15)
    assert rule.fit_rms_gamma == pytest.approx(rms, abs=1e-15)
    qaoa.DegreeRule.fit(problems, 2)
    assert calls[-1][1] == {"optimizer": "adam", "lr": 0.05, "steps": 200}  # the defaults


def test_problem_generators_draw_the_documented_instances():
    """Each generator against networkx and numpy called here with the seed it documents: graph seeds are
    ``default_rng(seed).integers(2**31)``, weights and couplings the rng's next draws. The held-out instances of
    the benchmarks are fixed by these seeds, so another derivation would silently change every published figure.
    Boundaries: K_n as the (n - 1)-regular graph, K_2, p = 1, and the refusals matched whole.
    """

    def graph_seed(seed):
        return int(np.random.default_rng(seed).integers(2**31))

    def edges(problem):
        return sorted(problem.graph.edges)

    assert edges(qaoa.random_regular_maxcut(8, seed=3)) == sorted(
        nx.random_regular_graph(3, 8, seed=graph_seed(3)).edges
    )
    assert edges(qaoa.random_regular_maxcut(4, 3, seed=0)) == sorted(nx.complete_graph(4).edges)
    assert edges(qaoa.erdos_renyi_maxcut(9, 0.4, seed=5)) == sorted(
        nx.gnp_random_graph(9, 0.4, seed=graph_seed(5)).edges
    )
    assert edges(qaoa.erdos_renyi_maxcut(4, 1.0, seed=1)) == sorted(nx.complete_graph(4).edges)
    weighted = qaoa.complete_weighted_maxcut(5, seed=2)
    draws = np.random.default_rng(2).uniform(0.0, 1.0, size=10)
    assert [weighted.graph[u][v]["weight"] for u, v in nx.complete_graph(5).edges] == draws.tolist()
    shifted = qaoa.complete_weighted_maxcut(2, seed=2, low=0.5, high=2.0)
    assert shifted.graph[0][1]["weight"] == float(np.random.default_rng(2).uniform(0.5, 2.0))
    signs = np.triu(np.random.default_rng(4).choice([-1.0, 1.0], size=(5, 5)), k=1)
    assert torch.equal(qaoa.random_sk(5, seed=4).couplings, torch.from_numpy(signs + signs.T))
    cases = [
        (lambda: qaoa.random_regular_maxcut(8, seed=-1), r"seed: expected a non-negative integer or None, got -1"),
        (lambda: qaoa.random_sk(4, seed=True), r"seed: expected a non-negative integer or None, got True"),
        (lambda: qaoa.random_sk(4, seed=1.5), r"seed: expected a non-negative integer or None, got 1\.5"),
        (
            lambda: qaoa.complete_weighted_maxcut(1),
            r"n, low, high: expected n >= 2 and 0 <= low < high, got 1, 0\.0, 1\.0",
        ),
        (
            lambda: qaoa.complete_weighted_maxcut(3, low=0.5, high=0.5),
            r"n, low, high: expected n >= 2 and 0 <= low < high, got 3, 0\.5, 0\.5",
        ),
        (lambda: qaoa.complete_weighted_maxcut(0), r"n: expected an integer >= 1, got 0"),
        (lambda: qaoa.erdos_renyi_maxcut(0, 0.5), r"n: expected an integer >= 1, got 0"),
        (lambda: qaoa.erdos_renyi_maxcut(4, 1.5), r"p: expected an edge probability in \(0, 1\], got 1\.5"),
        (lambda: qaoa.erdos_renyi_maxcut(2, 1e-12, seed=0), r"p: G\(2, 1e-12\) drew no edges in 100 tries"),
        (lambda: qaoa.random_regular_maxcut(4, 0), r"degree: expected an integer >= 1, got 0"),
        (lambda: qaoa.random_regular_maxcut(0), r"n: expected an integer >= 1, got 0"),
        (lambda: qaoa.random_sk(0), r"n: expected an integer >= 1, got 0"),
        (lambda: qaoa.random_sk(1), r"n: expected at least 2 spins, got 1"),
        (  # the base class names its terms when the sums overflow
            lambda: qaoa.problems.Problem(2, [(0, 1, 1e308)] * 3, 0.5, -0.5),
            r"terms: the cost overflows float64 \(largest \|weight\| 1e\+308, 3 terms\); "
            r"rescale the weights, which leaves the optimal cuts unchanged",
        ),
        (
            lambda: qaoa.random_regular_maxcut(4, 4),
            r"degree: a 4-regular graph on 4 nodes needs degree < n and n \* degree even",
        ),
    ]
    assert_refusals(cases, ValueError, regex=True)


def test_optimal_bitstrings_are_those_within_1e9_of_the_optimum_relative_above_one():
    """The optimal set holds every bitstring within 1e-9 * max(1, |optimum|) of the optimum (weights read from
    files are rounded, so exact ties are not expected). A triangle with weights a, a + d, a + 2d has cuts 2a + d,
    2a + 2d and 2a + 3d (vertex 1, 0 or 2 on its own side), each by two bitstrings (a side and its complement).
    """

    def triangle(a, d):
        graph = nx.Graph()
        graph.add_weighted_edges_from([(0, 1, a), (1, 2, a + d), (0, 2, a + 2 * d)])
        return MaxCut(graph)

    # |optimum| ~ 2: the window is 2e-9, so the runner-up 1.5e-9 away is optimal too, the third (3e-9) is not
    assert triangle(1.0, 1.5e-9).optimal_bitstrings.shape == (4, 3)
    assert triangle(1.0, 3e-9).optimal_bitstrings.shape == (2, 3)
    # |optimum| ~ 0.5: the window is the absolute 1e-9, so 1.5e-9 away is not optimal, 0.6e-9 away is
    assert triangle(0.25, 1.5e-9).optimal_bitstrings.shape == (2, 3)
    assert triangle(0.25, 0.6e-9).optimal_bitstrings.shape == (4, 3)
    # the largest problem the brute-force optimum allows
    assert qaoa.problems.Problem(24, [(0, 1, 1.0)], 0.5, -0.5).n == 24


def test_ansatz_refusals_reprs_and_precision_words_and_values():
    """Every refusal of the ansatz layer matched whole, its reprs, complex64's real precision, ``to`` (in place,
    returns self) and a batched ansatz sharing one parameter vector across its problems."""
    from applications.qaoa.ansatz import BatchedQAOA, make_ansatz, parameter_count

    path3, path4 = MaxCut(nx.path_graph(3)), MaxCut(nx.path_graph(4))
    a = QAOA(path3, 2)
    assert repr(a) == "QAOA(MaxCut(n=3, edges=2, max_cut=2), p=2)"
    assert repr(qaoa.DCQAOA(path3, 1, "y")) == "DCQAOA(MaxCut(n=3, edges=2, max_cut=2), p=1, cd='y')"
    batched = BatchedQAOA([path3, MaxCut(nx.star_graph(2))], 1)
    assert repr(batched) == "BatchedQAOA(2 problems, n=3, p=1)"
    shared = torch.tensor([-0.4, 0.3], dtype=torch.float64)
    assert torch.equal(batched.energy(shared), batched.energy(shared.expand(2, 2)))
    assert torch.allclose(batched.energy(shared)[0], QAOA(path3, 1).energy(shared), atol=1e-14, rtol=0)
    assert batched.problem is batched.problems[0]
    batched64 = BatchedQAOA([path3, path3], 1, dtype=torch.complex64)
    assert batched64.real_dtype == torch.float32 and batched64.energy(shared).dtype == torch.float32
    assert qaoa.DCQAOA(path3, 1, dtype=torch.complex64).real_dtype == torch.float32
    single = QAOA(path3, 1, dtype=torch.complex64)
    assert single.real_dtype == torch.float32 and single.energy(shared).dtype == torch.float32
    assert a.to("cpu") is a and a.device == torch.device("cpu")
    angles = torch.tensor([-0.3, 0.2, -0.7, 0.4])  # float32 angles run in the ansatz's float64
    assert a.energy(angles).dtype == torch.float64 and float(a.energy(angles) - a.energy(angles.double())) == 0.0
    assert parameter_count(3) == 6 and parameter_count(3, dc=True) == 9
    assert type(make_ansatz(path3, 1)) is QAOA and make_ansatz(path3, 1, dc=True, cd="y").cd == "y"
    cases = [
        (lambda: QAOA("x", 1), TypeError, "problem: expected a MaxCut or SK problem, got 'x'"),
        (
            lambda: QAOA(path3, 1, dtype=torch.float64),
            TypeError,
            "dtype: expected complex64 or complex128, got torch.float64",
        ),
        (
            lambda: a.energy([0.1] * 4),
            TypeError,
            "params: expected a tensor of shape (4,) or (batch, 4), got [0.1, 0.1, 0.1, 0.1]",
        ),
        (
            lambda: a.energy(torch.zeros(1, 1, 4)),
            ValueError,
            "params: expected shape (4,) or (batch, 4), got (1, 1, 4)",
        ),
        (
            lambda: a.energy(torch.zeros(0, 4)),
            ValueError,
            "params: expected at least one row of 4 angles, got shape (0, 4)",
        ),
        (lambda: make_ansatz(path3, 1, dc=1), TypeError, "dc: expected a bool, got 1"),
        (lambda: parameter_count(0), ValueError, "p: expected an integer >= 1, got 0"),
        (lambda: BatchedQAOA([], 1), ValueError, "problems: expected at least one problem, got none"),
        (
            lambda: BatchedQAOA([path3, path4], 1),
            ValueError,
            "problems: expected problems of one size, got sizes [3, 4]",
        ),
        (lambda: batched.energy(torch.zeros(3, 2)), ValueError, "params: expected one row per problem (2), got 3"),
        (
            lambda: a.energy(torch.zeros(4, device="meta")),
            ValueError,
            "params: expected a tensor on the ansatz's device cpu, got one on meta; move one of them with .to(device)",
        ),
    ]
    assert_refusals(cases)


def test_sk_cost_on_every_bitstring_by_hand_and_its_refusals():
    """H_c(z) = -sum_{i<j} J_ij s_i s_j with s = 1 - 2 z, each pair once, wire 0 the most significant bit; integer
    couplings are read as float64; every refusal matched whole."""
    couplings = np.array([[0, 1, -2], [1, 0, 3], [-2, 3, 0]])  # integers
    problem = qaoa.SK(couplings)
    assert problem.couplings.dtype == torch.float64 and problem.n == 3
    # each pair once, i < j (DC-QAOA's two-wire terms act on (i, j) in this order)
    assert problem.terms == ((0, 1, 1.0), (0, 2, -2.0), (1, 2, 3.0))
    for index in range(8):
        s = [1 - 2 * ((index >> (2 - w)) & 1) for w in range(3)]
        expected = -(1 * s[0] * s[1] - 2 * s[0] * s[2] + 3 * s[1] * s[2])
        assert float(problem.cost[index]) == expected
    assert repr(problem) == "SK(n=3, optimum=-4)"  # frustrated: -1 + 2 + 3 at best
    assert qaoa.SK(torch.tensor([[0.0, 0.5], [0.5, 0.0]], dtype=torch.float32)).couplings.dtype == torch.float64
    cases = [
        (
            lambda: qaoa.SK([[0, 1], [1, 0]]),
            TypeError,
            "couplings: expected a square tensor or array, got [[0, 1], [1, 0]]",
        ),
        (
            lambda: qaoa.SK(np.array([["a"]])),
            TypeError,
            "couplings: expected real couplings, got dtype <U1; SK couplings are real, not cast",
        ),
        (
            lambda: qaoa.SK(torch.zeros(2, 3)),
            ValueError,
            "couplings: expected a square n x n matrix with n >= 2, got shape (2, 3)",
        ),
        (
            lambda: qaoa.SK(torch.zeros(3, 2)),
            ValueError,
            "couplings: expected a square n x n matrix with n >= 2, got shape (3, 2)",
        ),
        (
            lambda: qaoa.SK(torch.zeros(1, 1)),
            ValueError,
            "couplings: expected a square n x n matrix with n >= 2, got shape (1, 1)",
        ),
        (
            lambda: qaoa.SK(torch.zeros(2, 2, 2)),
            ValueError,
            "couplings: expected a square n x n matrix with n >= 2, got shape (2, 2, 2)",
        ),
        (
            lambda: qaoa.SK(torch.tensor([[0.0, float("inf")], [float("inf"), 0.0]])),
            ValueError,
            "couplings: expected finite entries",
        ),
        (
            lambda: qaoa.SK(torch.tensor([[0.0, 1.0], [2.0, 0.0]])),
            ValueError,
            "couplings: expected a symmetric matrix (J_ij = J_ji)",
        ),
        (lambda: qaoa.SK(torch.eye(2)), ValueError, "couplings: expected a zero diagonal (no self-couplings)"),
        (lambda: qaoa.SK(torch.zeros(2, 2)), ValueError, "couplings: expected at least one non-zero coupling"),
    ]
    assert_refusals(cases)


def test_dynamics_predictor_builds_what_its_arguments_say():
    """Table B1's defaults, the tables' shapes and 1/sqrt(width/2) scale, the untied decoder, the recurrent stack's
    layers and cell arguments, and the residual gain's parameter (absent when not residual), by name and shape."""
    defaults = DynamicsPredictor()
    assert defaults.config == {
        "max_spins": 10,
        "width": 512,
        "cell": "sru",
        "num_layers": 4,
        "dropout": 0.005,
        "tie_decoder": True,
        "residual": True,
        "cell_kwargs": {},
        "increment_init": 0.002,
    }
    assert defaults.cell_name == "sru" and defaults.spin_re.shape == (1024, 256)
    assert float(defaults.increment_log_gain.detach()) == pytest.approx(math.log(0.002), rel=1e-6)
    for table in (defaults.spin_re, defaults.spin_im):  # N(0, 1) / sqrt(256): 262,144 draws, std 1/16 +- 0.2%
        assert float(table.detach().std()) == pytest.approx(1 / 16, rel=0.01)
    assert float(defaults.chain.detach().std()) == pytest.approx(0.1, rel=0.05)  # 0.1 N(0, 1): 5,120 draws, +- 1%
    torch.manual_seed(0)
    model = DynamicsPredictor(
        max_spins=3, width=8, cell="lstm", num_layers=2, cell_kwargs={"bias": False}, tie_decoder=False, residual=False
    )
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes["decode_re"] == shapes["decode_im"] == (8, 4) and shapes["chain"] == (3, 8)
    assert [name for name in shapes if name.startswith("recurrent.")] == [
        "recurrent.cells.0.weight_ih",
        "recurrent.cells.0.weight_hh",
        "recurrent.cells.1.weight_ih",
        "recurrent.cells.1.weight_hh",
    ]  # two layers, no biases
    assert model.increment_log_gain is None and model.increment_gain is None and not model.residual
    assert "increment_log_gain" not in shapes and model.cell_name == "lstm"
    wide = DynamicsPredictor(max_spins=4, width=64, tie_decoder=False, num_layers=1)
    for table in (wide.decode_re, wide.decode_im):  # 16 x 32 draws scaled by 1/sqrt(32)
        assert table.shape == (16, 32) and 0.12 < float(table.detach().std()) < 0.22
    with pytest.raises(ValueError, match=r"^max_spins: expected an integer >= 1, got 0$"):
        DynamicsPredictor(max_spins=0)


@pytest.mark.parametrize("tie_decoder", [True, False])
def test_dynamics_predictor_decodes_through_the_right_tables(tie_decoder):
    """psi' = v_re E_re[:2^N]^T + i v_im E_im[:2^N]^T, with the decoder's own tables when untied, in the
    state's dtype (complex128 from float32 tables).

    Catches: the untied decoder reading an encoding table for either half, and the result left in complex64.
    """
    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=3, width=6, num_layers=1, tie_decoder=tie_decoder, residual=False)
    v = torch.randn(2, 6)
    table_re = model.spin_re if tie_decoder else model.decode_re
    table_im = model.spin_im if tie_decoder else model.decode_im
    decoded = model._decode(v, 2, torch.complex128)
    assert decoded.dtype == torch.complex128 and decoded.shape == (2, 4)
    expected_re = v[:, :3] @ table_re[:4].T
    expected_im = v[:, 3:] @ table_im[:4].T
    assert torch.allclose(decoded.real.float(), expected_re) and torch.allclose(decoded.imag.float(), expected_im)
    states = torch.randn(1, 2, 8, dtype=torch.complex128)
    assert model(states)[0].dtype == torch.complex128  # not residual: the decoded state is the prediction


def test_dynamics_predictor_encodes_by_hand_adds_its_increment_and_refuses_bad_states():
    """e = [Re(psi) E_re[:2^N], Im(psi) E_im[:2^N]] + C[N - 1] for N = 1 and 2, and the residual prediction equals
    psi + gain * (the prediction of the same network built with residual=False); a float32 model reads complex128
    states; the refusals name ``states`` (and the checkpoint's gain) and say what came.

    Catches: the chain row off by one, N = 1 refused, the increment subtracted, the dtype conversion dropped, a
    real tensor of the right length admitted, and a gain of exactly zero read as a logarithm.
    """
    torch.manual_seed(0)
    residual = DynamicsPredictor(max_spins=3, width=6, num_layers=1).eval()
    torch.manual_seed(0)
    plain = DynamicsPredictor(max_spins=3, width=6, num_layers=1, residual=False).eval()
    shared = {k: v for k, v in residual.state_dict().items() if k != "increment_log_gain"}
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in shared.items())
    for n in (1, 2):
        states = torch.randn(2, 3, 2**n, dtype=torch.complex128)
        rows = 2**n
        expected = torch.cat(
            [states.real.float() @ residual.spin_re[:rows], states.imag.float() @ residual.spin_im[:rows]], dim=-1
        )
        assert torch.allclose(residual._encode(states, n), expected + residual.chain[n - 1])
        out, _ = residual(states)
        increment, _ = plain(states)
        assert out.dtype == torch.complex128 and not torch.allclose(out, states)
        assert torch.allclose(out, states + residual.increment_gain * increment)
    assert_refusals(
        [
            (lambda: residual("psi"), TypeError, "states: expected a torch.Tensor, got 'psi'"),
            (
                lambda: residual(torch.zeros(2, 4, dtype=torch.complex128)),
                ValueError,
                "states: expected shape (batch, steps, 2**N), got (2, 4)",
            ),
            (
                lambda: residual(torch.zeros(1, 1, 4, dtype=torch.float64)),
                ValueError,
                "states: expected complex amplitudes over 2^N entries with 1 <= N <= 3, got last dimension 4 "
                "(torch.float64)",
            ),
            (
                lambda: residual(torch.zeros(1, 1, 1, dtype=torch.complex128)),
                ValueError,
                "states: expected complex amplitudes over 2^N entries with 1 <= N <= 3, got last dimension 1 "
                "(torch.complex128)",
            ),
            (
                lambda: residual.load_state_dict({**shared, "increment_gain": torch.tensor(0.0)}),
                ValueError,
                "increment_gain: expected a positive gain to take the logarithm of, got 0.0 (a checkpoint whose "
                "gain crossed zero in training)",
            ),
        ]
    )


def test_evaluate_predictor_refuses_what_the_data_cannot_give():
    """steps past the data, a non-positive step or count, and a chain longer than the model reads: each refused
    with a message naming the argument and what came; steps equal to the data's and a count past the split are
    admitted (the split's sequences, all of them)."""
    from applications.dynamics.train import evaluate_predictor

    spec = SequenceSpec(spins=(2,), per_spin=10, steps=3)
    model = DynamicsPredictor(max_spins=2, width=4, num_layers=1).double()
    full = evaluate_predictor(model, spec, steps=3, count=100)
    assert len(full[2]["predictor"]["mre"]) == 4
    # count = 1 scores the first test sequence (not the first sequence of the data set) against its exact path
    from applications.dynamics import train as train_module

    test = spec.split_range("test")
    first = train_module._score(
        model, train_module.to_model(sequences(spec, 2, range(test.start, test.start + 1)), model)
    )
    assert evaluate_predictor(model, spec, count=1)[2] == first and test.start > 0
    assert_refusals(
        [
            (
                lambda: evaluate_predictor(model, spec, steps=4),
                ValueError,
                "steps: expected at most the data's 3 steps, got 4",
            ),
            (lambda: evaluate_predictor(model, spec, steps=0), ValueError, "steps: expected an integer >= 1, got 0"),
            (lambda: evaluate_predictor(model, spec, count=0), ValueError, "count: expected an integer >= 1, got 0"),
            (
                lambda: evaluate_predictor(model, SequenceSpec(spins=(3,), per_spin=10, steps=3)),
                ValueError,
                "spec: 3 spins exceed the model's max_spins 2",
            ),
            (
                lambda: train_module.evaluate_states(model, torch.ones(1, 1, 4, dtype=torch.complex128) / 2, 2),
                ValueError,
                "states: expected shape (batch, 2**N) or (2**N,), got (1, 1, 4)",
            ),
        ]
    )


def test_dynamics_predictor_bounds_are_inclusive_and_its_refusals_name_the_argument():
    """The edges of what the constructor admits: max_spins up to 14 (2^14-row tables), width 2 (one real and one
    imaginary unit), dropout just below 1; one step past each is refused with a message naming the argument.

    Catches: an off-by-one bound, a refusal without a message, and a message that names another argument.
    """
    edge = DynamicsPredictor(max_spins=14, width=2, num_layers=1, dropout=0.999)
    assert edge.spin_re.shape == edge.spin_im.shape == (2**14, 1) and edge.chain.shape == (14, 2)
    assert_refusals(
        [
            (
                lambda: DynamicsPredictor(max_spins=15, width=2),
                ValueError,
                "max_spins: expected at most 14 (tables of 2^max_spins rows), got 15",
            ),
            (lambda: DynamicsPredictor(width=1), ValueError, "width: expected an integer >= 2, got 1"),
            (lambda: DynamicsPredictor(width=2.0), TypeError, "width: expected an integer >= 2, got 2.0"),
            (
                lambda: DynamicsPredictor(width=6 + 1),
                ValueError,
                "width: expected an even number (real and imaginary halves), got 7",
            ),
            (
                lambda: DynamicsPredictor(width=2, dropout=1.0),
                ValueError,
                "dropout: expected a number in [0, 1), got 1.0",
            ),
            (
                lambda: DynamicsPredictor(width=2, dropout="0.1"),
                TypeError,
                "dropout: expected a number in [0, 1), got '0.1'",
            ),
        ]
    )


def test_splits_and_unshuffled_batches_by_index():
    """25 sequences per N: train 0..19, validation 20..21 (round(22.5) = 22), test 22..24; without shuffling,
    batches walk each N's split in order, N by N in the spec's order, the last batch short.

    Catches: split bounds off by one or truncated instead of rounded, batches that skip or repeat sequences,
    a shuffle that ignores its flag, and a seed that does not change the order.
    """
    spec = SequenceSpec(spins=(2, 3), per_spin=25, steps=2, chunk=4)
    assert [(r.start, r.stop) for r in map(spec.split_range, ("train", "validation", "test"))] == [
        (0, 20),
        (20, 22),
        (22, 25),
    ]
    from applications.dynamics import data

    whole = {n: sequences(spec, n, range(25)) for n in spec.spins}
    plan = list(data.batches(spec, "train", 8, shuffle=False))
    assert [(n, b.shape[0]) for n, b in plan] == [(2, 8), (2, 8), (2, 4), (3, 8), (3, 8), (3, 4)]
    for n in spec.spins:
        assert torch.equal(torch.cat([b for m, b in plan if m == n]), whole[n][:20])
    test = list(data.batches(spec, "test", 8, shuffle=False))
    assert [n for n, _ in test] == [2, 3] and torch.equal(test[1][1], whole[3][22:25])
    shuffled = list(data.batches(spec, "train", 8, seed=1))
    rows = {n: torch.cat([b for m, b in shuffled if m == n]) for n in spec.spins}
    for n in spec.spins:  # the same 20 sequences, in another order
        assert rows[n].shape == whole[n][:20].shape and not torch.equal(rows[n], whole[n][:20])
        assert torch.allclose(rows[n].abs().sum(0), whole[n][:20].abs().sum(0), atol=1e-12)
    again = list(data.batches(spec, "train", 8, seed=1))
    other = list(data.batches(spec, "train", 8, seed=2))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(shuffled, again))
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(shuffled, other) if a[1].shape == b[1].shape)
    default = list(data.batches(spec, "train", 8))  # seed 0 by default
    assert all(torch.equal(a[1], b[1]) for a, b in zip(default, data.batches(spec, "train", 8, seed=0)))
    # one batch per N: the sequences inside a batch are shuffled too, not only the order of the batches
    for n, batch in data.batches(spec, "train", 20, seed=1):
        assert not torch.equal(batch, whole[n][:20])
        assert sorted(batch[:, 0, 0].real.tolist()) == sorted(whole[n][:20, 0, 0].real.tolist())
    with pytest.raises(ValueError, match=r"^batch_size: expected an integer >= 1, got 0$"):
        next(data.batches(spec, "train", 0))


def test_sequences_are_the_documented_seeded_chunks_evolved_with_the_spec_fields():
    """The data set's reproducibility contract: chunk c of N spins draws its Haar states from a generator seeded
    with (seed * 1_000_003 + N * 10_007 + c) mod 2^63, and evolves them with the spec's dt, g and h.

    Catches: another seed formula (the published figures were measured on these exact sequences), a field of
    the spec not passed to the evolution, and a seed that overflows instead of being reduced mod 2^63.
    """
    # seed 2^62: the sum exceeds what manual_seed accepts unless it is reduced
    spec = SequenceSpec(spins=(2,), per_spin=10, steps=3, dt=0.01, g=-0.7, h=0.3, seed=2**62, chunk=4)
    got = sequences(spec, 2, range(10))
    assert got.shape == (10, 4, 4) and got.dtype == torch.complex128
    for c, (lo, hi) in enumerate([(0, 4), (4, 8), (8, 10)]):
        generator = torch.Generator().manual_seed((spec.seed * 1_000_003 + 2 * 10_007 + c) % 2**63)
        real = torch.randn(hi - lo, 2, 4, generator=generator, dtype=torch.float64)  # (Re, Im) of each state
        psi0 = torch.complex(real[:, 0], real[:, 1])
        psi0 = psi0 / psi0.abs().pow(2).sum(1, keepdim=True).sqrt()
        assert torch.allclose(got[lo:hi], evolve_exact(psi0, 2, 3, 0.01, -0.7, 0.3), atol=1e-15, rtol=0)
    assert torch.equal(sequences(spec, 2, range(5, 7)), got[5:7])  # a slice is regenerated identically
    assert torch.equal(sequences(spec, 2, range(3, 9)), got[3:9])  # ends one past a chunk boundary


def test_cache_makes_nested_folders_rewrites_in_place_and_labels_its_progress(tmp_path, capsys):
    """``cache`` creates missing parent folders, may be run again over its own output, and shows a bar only when
    asked, labelled "generating" and counting chain lengths."""
    from applications.dynamics import data

    spec = SequenceSpec(spins=(2, 3), per_spin=10, steps=2)
    folder = tmp_path / "a" / "b"
    assert data.cache(spec, folder) == folder
    assert capsys.readouterr().err == ""  # no bar by default
    data.cache(spec, folder, progress=True)  # the same folder again
    bar = capsys.readouterr().err
    assert "generating: 100%" in bar and "2/2" in bar and "N/s" in bar
    loaded_spec, loaded = data.load_cached(folder)
    assert loaded_spec == spec and torch.equal(loaded[3], sequences(spec, 3, range(10)))


def test_haar_states_refusals_name_their_argument():
    assert haar_states(2, 3, dtype=torch.complex64).dtype == torch.complex64
    assert_refusals(
        [
            (lambda: haar_states(2, 0), "count: expected an integer >= 1, got 0"),
            (lambda: haar_states(0, 2), "n_spins: expected an integer >= 1, got 0"),
        ],
        ValueError,
    )


def test_data_refusals_name_the_argument_or_the_file_and_what_came(tmp_path):
    """SequenceSpec's bounds (MAX_SPINS itself allowed, per_spin >= 10), a chain length outside the spec, and
    every way a data cache can be incomplete or altered, each message matched whole."""
    import pickle
    from fractions import Fraction

    from applications.dynamics import data
    from applications.dynamics.exact import MAX_SPINS

    assert SequenceSpec(spins=(1, MAX_SPINS)).spins == (1, MAX_SPINS)
    assert SequenceSpec(per_spin=10).per_spin == 10
    spec = SequenceSpec(spins=(2,), per_spin=10, steps=2)
    cases = [
        (lambda: SequenceSpec(spins=()), ValueError, rf"spins: expected integers in \[1, {MAX_SPINS}\], got \(\)"),
        (
            lambda: SequenceSpec(spins=(2, MAX_SPINS + 1)),
            ValueError,
            r"spins: expected integers in \[1, 16\], got \(2, 17\)",
        ),
        (lambda: SequenceSpec(per_spin=9), ValueError, r"per_spin: expected an integer >= 10, got 9"),
        (lambda: SequenceSpec(spins=(True,)), ValueError, r"spins: expected integers in \[1, 16\], got \(True,\)"),
        (lambda: SequenceSpec(spins=(2.0,)), ValueError, r"spins: expected integers in \[1, 16\], got \(2\.0,\)"),
        (lambda: SequenceSpec(steps=0), ValueError, r"steps: expected an integer >= 1, got 0"),
        (lambda: SequenceSpec(dt=0.0), ValueError, r"dt: expected a positive finite number, got 0\.0"),
        (lambda: SequenceSpec(chunk=0), ValueError, r"chunk: expected an integer >= 1, got 0"),
        (lambda: spec.split_range("dev"), ValueError, r"split: expected one of train, validation, test, got 'dev'"),
        (lambda: sequences(spec, 3, range(2)), ValueError, r"n: expected one of the spec's spins \(2,\), got 3"),
        (
            lambda: data.load_cached(tmp_path),
            FileNotFoundError,
            rf"folder: expected a data cache with metadata\.json, got {re.escape(str(tmp_path))}",
        ),
    ]
    assert_refusals(cases, regex=True)
    folder = data.cache(spec, tmp_path / "cache")
    meta_path, pt = folder / "metadata.json", folder / "spins-2.pt"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({"spec": meta["spec"]}))
    with pytest.raises(ValueError) as caught:
        data.load_cached(folder)
    assert str(caught.value) == (
        f"metadata.json of the data cache: {meta_path} lacks the entries sha256 (is it from another command?)"
    )
    meta_path.write_text(json.dumps({"spec": {"spins": [2]}, "sha256": {}}))
    with pytest.raises(ValueError) as caught:
        data.load_cached(folder)
    assert str(caught.value) == f"folder: {meta_path} does not describe a data cache ('2')"
    meta_path.write_text(json.dumps(meta))
    pt.rename(folder / "moved.pt")
    with pytest.raises(FileNotFoundError) as caught:
        data.load_cached(folder)
    assert str(caught.value) == f"folder: the data cache lacks {pt}"
    # a pickle that is not tensors, with its checksum updated, is still refused: tensors only are loaded
    torch.save({"payload": Fraction(1, 3)}, pt)
    meta["sha256"]["2"] = data._sha256(pt)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(pickle.UnpicklingError):
        data.load_cached(folder)


def test_appendix_c_states_are_the_printed_amplitudes_normalised_in_float64():
    """Each Appendix C state against the printed pairs read here and normalised with numpy in float64."""
    from applications.dynamics.data import APPENDIX_C_SPINS, appendix_c_state

    printed = json.loads(Path(__file__).parents[2].joinpath("applications/dynamics/appendix_c.json").read_text())
    for n in APPENDIX_C_SPINS:
        pairs = np.array(printed["states"][str(n)], dtype=np.float64)
        psi = pairs[:, 0] + 1j * pairs[:, 1]
        expected = torch.from_numpy(psi / np.linalg.norm(psi))
        got = appendix_c_state(n)
        assert got.shape == (2**n,) and got.dtype == torch.complex128
        assert torch.allclose(got, expected, atol=1e-15, rtol=0)  # a float32 read loses ~1e-8
        assert appendix_c_state(n, dtype=torch.complex64).dtype == torch.complex64


def test_optimize_is_gradient_descent_by_hand_with_adam_lr_005_by_default_and_its_stopping_rule():
    """Phase II's loop against steps taken here with autograd gradients of the energy.

    Catches: a step that uses another row's gradient or a stale one, a history shifted by one step, defaults
    other than Adam at lr 0.05 for 100 steps with tol 1e-6, and a stopping step off by one.
    """
    ansatz = QAOA(qaoa.random_regular_maxcut(6, seed=4), 1)
    init = qaoa.random_init(ansatz, 2, seed=5)
    result = qaoa.optimize(ansatz, init, optimizer="sgd", lr=0.1, steps=3, tol=1e-12)
    theta = init.clone()
    for k in range(3):
        t = theta.clone().requires_grad_(True)
        energy = ansatz.energy(t)
        (gradient,) = torch.autograd.grad(energy.sum(), t)
        assert torch.allclose(result.params[k], theta, atol=1e-13)
        assert torch.allclose(result.energies[k], energy.detach(), atol=1e-12)
        theta = theta - 0.1 * gradient
    assert torch.allclose(result.final_params, theta, atol=1e-13)
    assert torch.allclose(result.final_energies, ansatz.energy(theta), atol=1e-12)
    assert result.converged_at.tolist() == [-1, -1]

    default = qaoa.optimize(ansatz, init)
    adam_params = init.clone().requires_grad_(True)
    adam = torch.optim.Adam([adam_params], lr=0.05)
    for k in range(5):  # the first steps, before any row can stop
        assert torch.allclose(default.params[k], adam_params.detach(), atol=1e-12)
        adam.zero_grad()
        ansatz.energy(adam_params).sum().backward()
        adam.step()
    changes = (default.energies[1:] - default.energies[:-1]).abs()
    assert default.energies.shape[0] == 101 and bool((changes >= 1e-6).all())  # 100 steps, none below tol 1e-6
    assert default.converged_at.tolist() == [-1, -1]
    loose = qaoa.optimize(ansatz, init, tol=1e-3)
    changes = (loose.energies[1:] - loose.energies[:-1]).abs()
    for b in range(2):  # each row stops at its first step whose energy moved by less than tol, and stays there
        stop = int(torch.nonzero(changes[:, b] < 1e-3).flatten()[0]) + 1
        assert int(loose.converged_at[b]) == stop
        assert torch.equal(loose.params[stop:, b], loose.params[stop, b].expand_as(loose.params[stop:, b]))
    assert bool((loose.converged_at > 0).all())


def _evaluation_by_hand():
    """Two chain lengths, three steps: the predictor ahead of persistence at N = 2 and behind at N = 3 (step 2)."""

    def curves(mre, fidelity, dm, drift):
        return {"mre": mre, "fidelity": fidelity, "magnetisation_error": dm, "norm_drift": drift, "born_kl": mre}

    return {
        3: {
            "predictor": curves([0.0, 0.2, 0.5], [1.0, 0.9, 0.7], [0.0, 0.1, 0.3], [0.0, 0.01, 0.02]),
            "persistence": curves([0.0, 0.1, 0.4], [1.0, 0.95, 0.8], [0.0, 0.05, 0.2], [0.0, 0.0, 0.0]),
        },
        2: {
            "predictor": curves([0.0, 0.01, 0.02], [1.0, 0.99, 0.98], [0.0, 0.01, 0.02], [0.0, -0.01, -0.02]),
            "persistence": curves([0.0, 0.3, 0.6], [1.0, 0.7, 0.5], [0.0, 0.2, 0.4], [0.0, 0.0, 0.0]),
        },
    }


def test_report_rows_and_the_behind_persistence_sentence_by_hand():
    """Catches: a row read at another step or from the other predictor, N out of order, a verdict with the
    comparison reversed, and a sentence that hides which N is behind persistence."""
    from applications.dynamics.report import behind_persistence, summary_rows

    rows = summary_rows(_evaluation_by_hand(), 2)
    assert rows == [
        {
            "N": 2,
            "MRE": 0.02,
            "MRE persistence": 0.6,
            "fidelity": 0.98,
            "fidelity persistence": 0.5,
            "|dm|": 0.02,
            "|dm| persistence": 0.4,
            "norm drift": -0.02,
            "beats persistence": "yes",
        },
        {
            "N": 3,
            "MRE": 0.5,
            "MRE persistence": 0.4,
            "fidelity": 0.7,
            "fidelity persistence": 0.8,
            "|dm|": 0.3,
            "|dm| persistence": 0.2,
            "norm drift": 0.02,
            "beats persistence": "no",
        },
    ]
    assert behind_persistence(rows) == (
        "**The predictor is behind persistence** for N = 3 (MRE 0.5 against 0.4): repeating the initial state "
        "predicts better there."
    )
    assert behind_persistence(rows[:1]) == "The predictor beats persistence (a lower MRE) for every N."
    second = {**rows[1], "N": 4, "MRE": 0.25, "MRE persistence": 0.125}
    assert behind_persistence([rows[1], second]) == (
        "**The predictor is behind persistence** for N = 3 (MRE 0.5 against 0.4), N = 4 (MRE 0.25 against 0.125): "
        "repeating the initial state predicts better there."
    )
    tie = summary_rows(
        {
            2: {
                "predictor": _evaluation_by_hand()[2]["persistence"],
                "persistence": _evaluation_by_hand()[2]["persistence"],
            }
        },
        1,
    )
    assert tie[0]["beats persistence"] == "no"  # equal is not ahead


def _line_styles(ax):
    """(label, linestyle, linewidth, alpha) of every line, and whether each line shares the previous one's colour."""
    lines = ax.get_lines()
    same = [False] + [a.get_color() == b.get_color() for a, b in zip(lines, lines[1:])]
    return [(line.get_label(), line.get_linestyle(), line.get_linewidth(), line.get_alpha()) for line in lines], same


def test_report_plots_draw_what_their_legends_say(tmp_path, monkeypatch):
    """The figures, read back from matplotlib before they are written: one solid predictor line and one dashed
    persistence line per N with the same colour, from step 1 on a log axis (both curves start at 0), labels in N
    order, integer step ticks, the magnetisation of each state computed from the amplitudes, one amplitude panel
    per N with its first min(2^N, 8) amplitudes, and every title, axis label, size and legend font as written."""
    from matplotlib.font_manager import FontProperties

    from applications.dynamics import report

    small = FontProperties(size="small").get_size_in_points()
    captured = capture_figures(monkeypatch)
    evaluation = _evaluation_by_hand()
    assert report.plot_metric(evaluation, "mre", tmp_path / "mre.png", ylabel="MRE", log=True) == tmp_path / "mre.png"
    figure = saved_figure(captured, tmp_path / "mre.png")
    (ax,) = figure.axes
    assert tuple(figure.get_size_inches()) == pytest.approx((7.0, 4.2))
    assert (ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel()) == ("log", "step (dt = 0.002)", "MRE")
    assert ax.get_title() == "MRE: predictor (solid) and persistence (dashed)"
    styles, same_colour = _line_styles(ax)
    default_width = ax.get_lines()[0].get_linewidth()
    assert styles == [
        ("N = 2 predictor", "-", default_width, None),
        ("N = 2 persistence", "--", default_width, 0.6),
        ("N = 3 predictor", "-", default_width, None),
        ("N = 3 persistence", "--", default_width, 0.6),
    ]
    assert same_colour == [False, True, False, True]
    lines = ax.get_lines()
    assert list(lines[2].get_xdata()) == list(lines[3].get_xdata()) == [1, 2]  # both curves from step 1
    assert list(lines[3].get_ydata()) == [0.1, 0.4]
    assert all(float(tick).is_integer() for tick in ax.get_xticks())  # steps are whole numbers
    legend = ax.get_legend().get_texts()
    assert [t.get_text() for t in legend] == [s[0] for s in styles] and {t.get_fontsize() for t in legend} == {small}
    report.plot_metric(evaluation, "fidelity", tmp_path / "f.png", ylabel="fidelity")
    linear = saved_figure(captured, tmp_path / "f.png").axes[0]
    assert linear.get_yscale() == "linear" and list(linear.get_lines()[0].get_xdata()) == [0, 1, 2]
    assert list(linear.get_lines()[0].get_ydata()) == [1.0, 0.99, 0.98]  # N = 2's predictor fidelity, from step 0

    up = torch.zeros(3, 4, dtype=torch.complex128)
    up[:, 0] = 1.0  # |00>: m = +1 at every step
    flipped = up.clone()
    flipped[1:] = 0.0
    flipped[1:, 3] = 1.0  # |11> from step 1: m = -1
    assert report.plot_magnetisation({2: flipped}, {2: up}, tmp_path / "m.png") == tmp_path / "m.png"
    figure = saved_figure(captured, tmp_path / "m.png")
    (ax,) = figure.axes
    assert tuple(figure.get_size_inches()) == pytest.approx((7.0, 4.2))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step (dt = 0.002)", "magnetisation m(t)")
    assert ax.get_title() == "m(t): exact (solid) and predicted (dashed), one held-out state per N"
    exact_line, predicted_line = ax.get_lines()
    assert list(exact_line.get_ydata()) == [1.0, 1.0, 1.0] and list(predicted_line.get_ydata()) == [1.0, -1.0, -1.0]
    assert (exact_line.get_label(), exact_line.get_linestyle(), predicted_line.get_linestyle()) == ("N = 2", "-", "--")
    assert exact_line.get_color() == predicted_line.get_color()
    legend = ax.get_legend().get_texts()
    assert [t.get_text() for t in legend] == ["N = 2"] and legend[0].get_fontsize() == small

    assert report.plot_amplitudes({2: flipped}, {2: up}, tmp_path / "a.png") == tmp_path / "a.png"
    figure = saved_figure(captured, tmp_path / "a.png")
    (ax,) = figure.axes
    assert tuple(figure.get_size_inches()) == pytest.approx((4.0, 3.4))
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("N = 2 (first 4 amplitudes)", "step", "|amplitude|")
    styles, same_colour = _line_styles(ax)
    assert [s[1:3] for s in styles] == [("-", 1.0), ("--", 1.0)] * 4 and same_colour == [False, True] * 4
    assert list(ax.get_lines()[7].get_ydata()) == [0.0, 1.0, 1.0]  # |amplitude| of |11>, predicted, dashed
    three, four = torch.zeros(3, 8, dtype=torch.complex128), torch.zeros(3, 16, dtype=torch.complex128)
    three[:, 0] = four[:, 0] = 1.0
    report.plot_amplitudes({2: flipped, 3: three, 4: four}, {2: up, 3: three, 4: four}, tmp_path / "a.png")
    figure = saved_figure(captured, tmp_path / "a.png")
    assert tuple(figure.get_size_inches()) == pytest.approx((12.0, 3.4))  # 4 inches per panel, one panel per N
    assert [ax.get_title() for ax in figure.axes] == [
        "N = 2 (first 4 amplitudes)",
        "N = 3 (first 8 amplitudes)",
        "N = 4 (first 8 amplitudes)",
    ]
    assert [len(ax.get_lines()) for ax in figure.axes] == [8, 16, 16]  # min(2^N, 8) amplitudes, exact and predicted
    assert [ax.get_ylabel() for ax in figure.axes] == ["|amplitude|", "", ""]  # the shared label on the first panel
    assert len({round(ax.get_position().y0, 6) for ax in figure.axes}) == 1  # side by side


def test_compare_verdicts_pick_the_best_baseline_per_phase_and_say_behind():
    """Two test sizes: the learned start is ahead of every baseline after Phase I, level after Phase II and, for a
    second cell, behind; the best baseline differs between the phases, and the ansatz optimum is no baseline.

    Catches: a verdict against a fixed baseline (or against the optimum), means over one size only, the level
    band applied the wrong way, and a "behind" that is not said.
    """
    from applications.qaoa.experiment import LEVEL, verdicts

    def row(one, two):
        return {"ratio_phase_one_mean": one, "ratio_phase_two_mean": two}

    results = {
        "ansatz optimum": {10: row(0.95, 0.95), 12: row(0.95, 0.95)},
        "learned (lstm)": {10: row(0.86, 0.90), 12: row(0.84, 0.90)},  # means 0.85, 0.90
        "learned (gru)": {10: row(0.70, 0.80), 12: row(0.70, 0.80)},
        "degree rule": {10: row(0.83, 0.89995), 12: row(0.81, 0.89995)},  # means 0.82, 0.89995
        "fixed angles": {10: row(0.80, 0.85), 12: row(0.84, 0.87)},  # means 0.82, 0.86
        "random": {10: row(0.50, 0.88), 12: row(0.50, 0.88)},
    }
    table = {(r["method"], r["phase"]): r for r in verdicts(results)}
    assert set(table) == {(m, p) for m in ("learned (lstm)", "learned (gru)") for p in ("Phase I", "Phase II")}
    lstm_one, lstm_two = table["learned (lstm)", "Phase I"], table["learned (lstm)", "Phase II"]
    assert lstm_one["ratio"] == pytest.approx(0.85) and lstm_one["its ratio"] == pytest.approx(0.82)
    assert lstm_one["best baseline"] in ("degree rule", "fixed angles")  # tied at 0.82
    assert lstm_one["verdict"] == "ahead by 0.0300"
    assert lstm_two["best baseline"] == "degree rule" and lstm_two["verdict"] == f"level (within {LEVEL:g})"
    gru_one = table["learned (gru)", "Phase I"]
    assert gru_one["verdict"] == "BEHIND by 0.1200" and gru_one["its ratio"] == pytest.approx(0.82)
    assert table["learned (gru)", "Phase II"]["verdict"] == f"BEHIND by {0.89995 - 0.80:.4f}"  # against the degree rule
    assert verdicts({"learned (lstm)": results["learned (lstm)"]}) == []  # nothing to compare with
