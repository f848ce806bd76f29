"""QAOA problems, ansatz and metrics against dense QuTiP operators and brute force written here.

Tolerance 1e-10 for complex128 states and energies (a few hundred flops per amplitude).
"""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import qutip
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from applications import qaoa
from applications.qaoa import DCQAOA, QAOA, SK, MaxCut

P = {"I": qutip.qeye(2), "X": qutip.sigmax(), "Y": qutip.sigmay(), "Z": qutip.sigmaz()}


def op(letters_by_wire, n):
    return qutip.tensor(*[P[letters_by_wire.get(w, "I")] for w in range(n)])


def dense_cost(problem):
    n = problem.n
    if isinstance(problem, MaxCut):
        return sum(-0.5 * w * (op({}, n) - op({i: "Z", j: "Z"}, n)) for i, j, w in problem.terms)
    return sum(-w * op({i: "Z", j: "Z"}, n) for i, j, w in problem.terms)


def dense_state(problem, params, cd=None):
    n = problem.n
    h_c = dense_cost(problem)
    mixer = sum(op({w: "X"}, n) for w in range(n))
    psi = qutip.tensor(*[(qutip.basis(2, 0) + qutip.basis(2, 1)).unit()] * n)
    size = 3 if cd else 2
    for k in range(len(params) // size):
        layer = params[size * k : size * (k + 1)]
        psi = (-1j * layer[0] * h_c).expm() * psi
        if cd:
            letters = qaoa.CD_POOL[cd]
            if len(letters) == 1:
                for w in range(n):
                    psi = (-1j * layer[2] / 2 * op({w: letters}, n)).expm() * psi
            else:
                for i, j, weight in problem.terms:
                    psi = (-1j * layer[2] * weight / 2 * op({i: letters[0], j: letters[1]}, n)).expm() * psi
        psi = (-1j * layer[1] * mixer).expm() * psi
    return psi.full()[:, 0]


@st.composite
def graphs(draw, max_n=6, weighted=None):
    n = draw(st.integers(2, max_n))
    edges = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] != e[1]),
            min_size=1,
            max_size=10,
        )
    )
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    use_weights = draw(st.booleans()) if weighted is None else weighted
    for u, v in edges:
        graph.add_edge(u, v, weight=draw(st.floats(0.1, 2.0)) if use_weights else 1.0)
    return graph


@settings(max_examples=20)
@given(graph=graphs())
def test_maxcut_cost_and_optimum_by_brute_force(graph):
    problem = MaxCut(graph)
    assert np.allclose(problem.cost.numpy(), np.real(np.diag(dense_cost(problem).full())), atol=1e-12)
    best = 0.0
    for bits in itertools.product((0, 1), repeat=problem.n):
        cut = sum(d.get("weight", 1.0) for u, v, d in graph.edges(data=True) if bits[u] != bits[v])
        best = max(best, cut)
        assert abs(float(problem.cut_value(bits)) - cut) < 1e-12
    assert abs(problem.max_cut - best) < 1e-12 and problem.optimum == -problem.max_cut
    for bits in problem.optimal_bitstrings:
        assert abs(float(problem.cut_value(bits)) - best) < 1e-12


@settings(max_examples=10)
@given(n=st.integers(2, 6), seed=st.integers(0, 1000))
def test_sk_cost_matches_dense(n, seed):
    problem = qaoa.random_sk(n, seed=seed)
    assert set(problem.couplings.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert np.allclose(problem.cost.numpy(), np.real(np.diag(dense_cost(problem).full())), atol=1e-12)
    assert problem.optimum == float(problem.cost.min()) and len(problem.optimal_bitstrings) >= 2  # Z2 symmetry


@settings(max_examples=15)
@given(graph=graphs(max_n=5), p=st.integers(1, 3), data=st.data())
def test_qaoa_state_matches_dense_circuit(graph, p, data):
    problem = MaxCut(graph)
    params = data.draw(st.lists(st.floats(-math.pi, math.pi), min_size=2 * p, max_size=2 * p))
    ours = QAOA(problem, p).state(torch.tensor(params, dtype=torch.float64))
    assert np.abs(ours.numpy() - dense_state(problem, params)).max() < 1e-10


@settings(max_examples=15)
@given(graph=graphs(max_n=5), p=st.integers(1, 2), cd=st.sampled_from(list(qaoa.CD_POOL)), data=st.data())
def test_dcqaoa_state_matches_dense_circuit_edge_by_edge(graph, p, cd, data):
    problem = MaxCut(graph)
    params = data.draw(st.lists(st.floats(-math.pi, math.pi), min_size=3 * p, max_size=3 * p))
    ours = DCQAOA(problem, p, cd=cd).state(torch.tensor(params, dtype=torch.float64))
    assert np.abs(ours.numpy() - dense_state(problem, params, cd=cd)).max() < 1e-10


def test_energies_batch_and_differentiate():
    problem = qaoa.random_regular_maxcut(8, seed=0)
    ansatz = DCQAOA(problem, 2)
    params = torch.randn(5, ansatz.num_params, dtype=torch.float64)
    batch = ansatz.energy(params)
    assert batch.shape == (5,)
    for b in range(5):
        assert torch.allclose(ansatz.energy(params[b]), batch[b], atol=1e-12)
    assert torch.autograd.gradcheck(ansatz.energy, (params[:2].clone().requires_grad_(True),))
    assert QAOA(problem, 3).num_params == 6 and ansatz.num_params == 6


def test_p1_qaoa_on_a_triangle_free_cubic_graph_reaches_the_known_cut_fraction():
    """Farhi et al.: p = 1 QAOA on 3-regular triangle-free graphs cuts 0.6924 of the edges at best."""
    graph = nx.cubical_graph()  # 3-regular, bipartite, no triangles
    problem = MaxCut(graph)
    gammas, betas = torch.meshgrid(torch.linspace(0, math.pi, 121), torch.linspace(0, math.pi / 2, 61), indexing="ij")
    params = torch.stack([gammas.flatten(), betas.flatten()], 1).double()
    best_fraction = float(-QAOA(problem, 1).energy(params).min()) / graph.number_of_edges()
    assert abs(best_fraction - 0.6924) < 2e-3


def test_metrics():
    problem = qaoa.random_regular_maxcut(6, seed=1)
    assert float(qaoa.relative_error(problem, problem.optimum)) == 0.0
    assert float(qaoa.approximation_ratio(problem, problem.optimum)) == 1.0
    assert float(qaoa.approximation_ratio(problem, -0.5 * problem.max_cut)) == 0.5
    assert float(qaoa.relative_error(problem, 0.0)) == 1.0
    uniform = QAOA(problem, 1).state(torch.zeros(2, dtype=torch.float64))
    expected = len(problem.optimal_indices) / 2**6
    assert abs(float(qaoa.optimal_probability(problem, uniform)) - expected) < 1e-12
    assert qaoa.iterations_to_convergence([1.0, 0.5, 0.3, 0.29995, 0.2999], tol=1e-3) == 3
    assert qaoa.iterations_to_convergence([1.0, 0.5], tol=1e-3) == 2


def test_metrics_against_values_worked_out_here():
    """Each figure by hand on a triangle (max cut 2, six optimal bitstrings), batched and unbatched."""
    triangle = qaoa.MaxCut(nx.cycle_graph(3))
    assert triangle.optimum == -2.0
    energies = torch.tensor([-2.0, -1.5, 0.0, -1.0 / 3.0], dtype=torch.float64)
    assert torch.equal(qaoa.relative_error(triangle, energies), (energies + 2.0) / 2.0)
    assert torch.equal(qaoa.approximation_ratio(triangle, energies), energies / -2.0)
    third = qaoa.relative_error(triangle, -1.0 / 3.0)  # a float becomes a float64 tensor
    assert third.dtype == torch.float64 and float(third) == (2.0 - 1.0 / 3.0) / 2.0
    single = torch.tensor([-1.5], dtype=torch.float32)  # a tensor keeps its dtype
    assert qaoa.relative_error(triangle, single).dtype == torch.float32
    assert qaoa.approximation_ratio(triangle, single).dtype == torch.float32
    # optimal bitstrings of the triangle: all but 000 and 111 (indices 0 and 7)
    amplitudes = torch.arange(1, 9, dtype=torch.float64)
    states = torch.stack([amplitudes, amplitudes.flip(0)]).to(torch.complex128)
    states = states / states.abs().pow(2).sum(1, keepdim=True).sqrt()
    probs = states.abs() ** 2
    expected = 1.0 - probs[:, 0] - probs[:, 7]
    batched = qaoa.optimal_probability(triangle, states)
    assert batched.shape == (2,) and (batched - expected).abs().max() < 1e-15
    single = qaoa.optimal_probability(triangle, states[1])
    assert single.dim() == 0 and abs(float(single) - float(expected[1])) < 1e-15
    with pytest.raises(ValueError, match="state: expected 8 amplitudes for n = 3, got 4"):
        qaoa.optimal_probability(triangle, states[:, :4])
    # convergence: the first step whose change is strictly below tol (exact binary fractions)
    assert (
        qaoa.iterations_to_convergence([1.0, 0.5, 0.25, 0.1875], tol=0.25) == 3
    )  # a change of exactly tol is not below it
    assert qaoa.iterations_to_convergence([1.0, 0.5, 0.25, 0.1875], tol=0.5) == 2
    assert qaoa.iterations_to_convergence(torch.tensor([0.5]), tol=0.1) == 1  # one point: its length
    assert qaoa.iterations_to_convergence([0.5, 0.5]) == 1
    # the default tolerance is 1e-4, and the trajectory is read in float64 (a float32 read loses the 1e-9 step)
    assert qaoa.iterations_to_convergence([0.5, 0.4997, 0.49985, 0.49984]) == 3  # changes 3e-4, 1.5e-4, 1e-5
    assert qaoa.iterations_to_convergence([1.0, 1.0 + 1e-9], tol=1e-10) == 2
    assert qaoa.iterations_to_convergence(torch.tensor([1.0, 1.0 + 1e-9], dtype=torch.float64), tol=1e-10) == 2
    for tol, error in ((0.0, ValueError), (-1.0, ValueError), ("0.1", TypeError)):
        with pytest.raises(error, match=r"^tol: expected a positive"):
            qaoa.iterations_to_convergence([0.5, 0.4], tol=tol)
    with pytest.raises(ValueError, match=r"errors: expected a non-empty 1-d trajectory, got shape \(0,\)"):
        qaoa.iterations_to_convergence([])
    with pytest.raises(ValueError, match=r"errors: expected a non-empty 1-d trajectory, got shape \(2, 1\)"):
        qaoa.iterations_to_convergence([[0.5], [0.4]])


def test_relative_figures_refuse_a_zero_optimum_and_a_non_problem():
    zero = nx.Graph()
    zero.add_edge(0, 1, weight=0.0)
    problem = qaoa.MaxCut(zero)
    for figure in (qaoa.relative_error, qaoa.approximation_ratio):
        with pytest.raises(ValueError, match=r"^problem: the optimum is 0, so relative figures are undefined$"):
            figure(problem, -1.0)
        with pytest.raises(TypeError, match=r"^problem: expected a MaxCut or SK problem, got 'graph'$"):
            figure("graph", -1.0)


def test_generators_are_seeded():
    for make in (
        lambda s: qaoa.random_regular_maxcut(8, seed=s),
        lambda s: qaoa.complete_weighted_maxcut(6, seed=s),
        lambda s: qaoa.erdos_renyi_maxcut(7, 0.4, seed=s),
        lambda s: qaoa.random_sk(6, seed=s),
    ):
        assert torch.equal(make(3).cost, make(3).cost)
        assert not torch.equal(make(3).cost, make(4).cost)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda: MaxCut(nx.empty_graph(3)),
            ValueError,
            r"^graph: expected at least one edge, got 3 nodes and no edges",
        ),
        (
            lambda: MaxCut(nx.DiGraph([(0, 1)])),
            TypeError,
            r"^graph: expected an undirected networkx.Graph, got DiGraph",
        ),
        (
            lambda: MaxCut(nx.Graph([(0, 0), (0, 1)])),
            ValueError,
            r"^graph: self-loops have no cut; got an edge \(0, 0\)",
        ),
        (
            lambda: MaxCut(nx.Graph([(0, 1, {"weight": "a"})])),
            ValueError,
            r"^graph: expected finite numeric edge weights, got 'a'",
        ),
        (
            lambda: MaxCut(nx.Graph([(0, 1, {"weight": -1.0})])),
            ValueError,
            r"^graph: expected non-negative MaxCut weights, got -1.0",
        ),
        (lambda: MaxCut(nx.path_graph(25)), ValueError, r"^n: expected at most 24 qubits .* got 25"),
        (lambda: SK(torch.tensor([[0.0, 1.0], [2.0, 0.0]])), ValueError, r"^couplings: expected a symmetric matrix"),
        (lambda: SK(torch.eye(3)), ValueError, r"^couplings: expected a zero diagonal"),
        (lambda: SK([[0, 1], [1, 0]]), TypeError, r"^couplings: expected a square tensor or array"),
        (lambda: QAOA(MaxCut(nx.path_graph(3)), 0), ValueError, r"^p: expected an integer >= 1, got 0"),
        (
            lambda: DCQAOA(MaxCut(nx.path_graph(3)), 1, cd="xx"),
            ValueError,
            r"^cd: expected one of y, zy, yz, xy, yx, got 'xx'",
        ),
        (
            lambda: QAOA(MaxCut(nx.path_graph(3)), 1).energy(torch.zeros(3)),
            ValueError,
            r"^params: expected shape \(2,\) or \(batch, 2\), got \(3,\)",
        ),
        (lambda: qaoa.random_regular_maxcut(5, 3), ValueError, r"^degree: a 3-regular graph on 5 nodes needs"),
        (lambda: qaoa.erdos_renyi_maxcut(5, 0.0), ValueError, r"^p: expected an edge probability in \(0, 1\]"),
        (lambda: MaxCut(nx.path_graph(3)).cut_value([0, 1]), ValueError, r"^bits: expected a last dimension of 3"),
        (lambda: MaxCut(nx.path_graph(3)).energy_of([0, 1, 2]), ValueError, r"^bits: expected entries 0 or 1$"),
    ],
)
def test_bad_input_is_named(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_batched_qaoa_equals_one_ansatz_per_problem():
    problems = [qaoa.random_regular_maxcut(8, seed=s) for s in range(4)]
    params = torch.randn(4, 4, dtype=torch.float64)
    batched = qaoa.BatchedQAOA(problems, 2).energy(params)
    singles = torch.stack([QAOA(p, 2).energy(row) for p, row in zip(problems, params)])
    assert torch.allclose(batched, singles, atol=1e-12)
    shared = qaoa.BatchedQAOA(problems, 2).energy(params[0])
    assert shared.shape == (4,)
    with pytest.raises(ValueError, match="problems: expected problems of one size"):
        qaoa.BatchedQAOA([problems[0], qaoa.random_regular_maxcut(10, seed=0)], 1)
    with pytest.raises(ValueError, match=r"params: expected one row per problem \(4\), got 3"):
        qaoa.BatchedQAOA(problems, 2).energy(params[:3])


@pytest.mark.parametrize("cd", [None, *qaoa.CD_POOL])
def test_adjoint_gradients_equal_autograd_through_the_state(cd):
    problem = qaoa.complete_weighted_maxcut(5, seed=3)
    ansatz = QAOA(problem, 2) if cd is None else DCQAOA(problem, 2, cd=cd)
    params = torch.randn(3, ansatz.num_params, dtype=torch.float64)
    a = params.clone().requires_grad_(True)
    ansatz.energy(a).sum().backward()
    b = params.clone().requires_grad_(True)
    from ornn import quantum

    quantum.expectation_diagonal(ansatz.state(b), problem.cost).sum().backward()
    assert torch.allclose(
        ansatz.energy(params), quantum.expectation_diagonal(ansatz.state(params), problem.cost), atol=1e-12
    )
    assert torch.allclose(a.grad, b.grad, atol=1e-10)
