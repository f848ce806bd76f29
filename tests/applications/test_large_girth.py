"""The large-girth cut fraction (exact tree contraction) against state vectors, and the fixed-angle table.

References: a state vector built in this file from the QAOA formula (numpy, one 2 x 2 mixer per
qubit, the cost diagonal from the edge list), on graphs whose girth exceeds 2p + 1, so the tree value
is exact there; and the guarantees Wurtz & Lykov publish with their angles (arXiv:2107.00677,
Table 1: 0.6925, 0.7559, 0.7924, 0.8169, 0.8364 for p = 1..5).
"""

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from applications import qaoa
from applications.qaoa import QAOA, MaxCut, large_girth_cut_fraction


def _state_vector_cut_fraction(graph: nx.Graph, params: np.ndarray) -> float:
    """<cut> / |E| for prod_k exp(-i beta_k sum X) exp(-i gamma_k H_c) |+>^n, H_c = -cut, by brute force."""
    nodes = list(graph.nodes)
    n, index = len(nodes), {v: i for i, v in enumerate(nodes)}
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    cut = sum((bits[:, index[u]] != bits[:, index[v]]).astype(float) for u, v in graph.edges)
    state = np.full(2**n, 2 ** (-n / 2), dtype=complex)
    for gamma, beta in params.reshape(-1, 2):
        state = state * np.exp(1j * gamma * cut)  # exp(-i gamma H_c) with H_c = -cut
        mixer = np.array([[np.cos(beta), -1j * np.sin(beta)], [-1j * np.sin(beta), np.cos(beta)]])
        tensor = state.reshape((2,) * n)
        for axis in range(n):
            tensor = np.moveaxis(np.tensordot(mixer, tensor, axes=([1], [axis])), 0, axis)
        state = tensor.reshape(-1)
    return float(np.sum(np.abs(state) ** 2 * cut)) / graph.number_of_edges()


# (graph, its degree, the largest p with girth > 2p + 1)
GRAPHS = [
    (nx.cubical_graph(), 3, 1),  # girth 4
    (nx.heawood_graph(), 3, 2),  # girth 6
    (nx.petersen_graph(), 3, 1),  # girth 5
    (nx.cycle_graph(10), 2, 4),  # girth 10
    (nx.complete_bipartite_graph(4, 4), 4, 1),  # girth 4
]


@settings(max_examples=12, deadline=None)
@given(case=st.sampled_from(GRAPHS), data=st.data())
def test_the_tree_value_equals_the_state_vector_on_graphs_of_large_girth(case, data):
    """float64 on both sides: agreement to 1e-12 (the state vector sums 2^14 terms at most)."""
    graph, degree, max_p = case
    p = data.draw(st.integers(1, max_p), label="p")
    angles = st.floats(-3.2, 3.2, allow_nan=False, allow_infinity=False)
    params = np.array(data.draw(st.lists(angles, min_size=2 * p, max_size=2 * p), label="params"))
    expected = _state_vector_cut_fraction(graph, params)
    got = float(large_girth_cut_fraction(torch.tensor(params), degree))
    assert abs(got - expected) < 1e-12


def test_the_tree_value_is_not_the_value_on_a_graph_with_short_cycles():
    """The check can fail: on K4 (triangles, girth 3) the p = 1 value differs from the tree's."""
    params = np.array([-0.616, 0.3927])
    assert abs(_state_vector_cut_fraction(nx.complete_graph(4), params) - 0.6925) > 0.01


@pytest.mark.parametrize("p, guarantee", [(1, 0.6925), (2, 0.7559), (3, 0.7924), (4, 0.8169), (5, 0.8364)])
def test_every_fixed_angle_entry_gives_its_published_guarantee(p, guarantee):
    """Within 1e-4: the guarantee is printed to 4 digits and the angles to 3 (0.3927 at p = 1)."""
    ansatz = QAOA(MaxCut(nx.cubical_graph()), p)  # any 3-regular graph: fixed_angles only reads its degrees
    value = float(large_girth_cut_fraction(qaoa.fixed_angles(ansatz), 3))
    assert abs(value - guarantee) < 1e-4


def test_the_fixed_angles_at_p3_are_a_local_maximum_of_the_tree_value():
    """L-BFGS from the table gains less than 1e-4, and from a perturbed start it climbs back to the guarantee."""
    start = qaoa.fixed_angles(QAOA(MaxCut(nx.cubical_graph()), 3))

    def climb(x0):
        x = x0.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=200, tolerance_grad=1e-12, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = -large_girth_cut_fraction(x, 3)
            loss.backward()
            return loss

        opt.step(closure)
        return float(large_girth_cut_fraction(x.detach(), 3))

    table = float(large_girth_cut_fraction(start, 3))
    assert climb(start) - table < 1e-4
    perturbed = start + 0.05 * torch.tensor([1.0, -1.0, -1.0, 1.0, 1.0, -1.0], dtype=torch.float64)
    assert float(large_girth_cut_fraction(perturbed, 3)) < table - 1e-3
    assert abs(climb(perturbed) - 0.7924) < 1e-4


def test_defaults_precision_and_the_depth_limit():
    """degree defaults to 3; float32 angles are evaluated in float64; p = 8 (MAX_DEPTH) is accepted."""
    params = torch.tensor([-0.616, 0.3927], dtype=torch.float64)
    assert float(large_girth_cut_fraction(params)) == float(large_girth_cut_fraction(params, 3))
    assert abs(float(large_girth_cut_fraction(params, 4)) - float(large_girth_cut_fraction(params, 3))) > 1e-3
    single = torch.tensor([-0.6161, 0.3927123], dtype=torch.float32)
    value = large_girth_cut_fraction(single, 3)
    assert value.dtype == torch.float64
    assert abs(float(value) - float(large_girth_cut_fraction(single.double(), 3))) < 1e-15
    # in float32 throughout the value would carry ~1e-7 of rounding; the float64 one matches the state vector
    assert abs(float(value) - _state_vector_cut_fraction(nx.petersen_graph(), single.double().numpy())) < 1e-12
    deepest = large_girth_cut_fraction(torch.full((16,), 0.1, dtype=torch.float64), 3)  # p = 8, the deepest allowed
    assert 0.0 < float(deepest) < 1.0


def test_the_gradient_is_the_finite_difference_one():
    params = torch.tensor([-0.5, 0.6, -0.9, 0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: large_girth_cut_fraction(x, 3), (params,))


@pytest.mark.parametrize(
    "params, degree, error, message",
    [
        (torch.zeros(3, dtype=torch.float64), 3, ValueError, r"params: expected a \(2p,\) vector"),
        (torch.zeros(0, dtype=torch.float64), 3, ValueError, r"params: expected a \(2p,\) vector"),
        (torch.zeros(2, 2, dtype=torch.float64), 3, ValueError, r"params: expected a \(2p,\) vector"),
        (torch.zeros(2, dtype=torch.complex128), 3, TypeError, r"params: expected a real floating-point tensor"),
        (torch.tensor([0.1, float("nan")]), 3, ValueError, r"params: expected finite values"),
        ([0.1, 0.2], 3, TypeError, r"params: expected a torch.Tensor"),
        (torch.zeros(18, dtype=torch.float64), 3, ValueError, r"params: expected depth p <= 8, got p = 9"),
        (torch.zeros(2, dtype=torch.float64), 1, ValueError, r"degree: expected an integer >= 2, got 1"),
    ],
)
def test_bad_input(params, degree, error, message):
    with pytest.raises(error, match=message):
        large_girth_cut_fraction(params, degree)
