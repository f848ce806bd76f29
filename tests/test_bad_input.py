"""Every bad input a hostile new user tried (issue: "Bad input, broken run folders and interrupted work").

Each case once passed silently (NaN or a cast result) or failed with a foreign error; each now
raises our own ``ValueError``/``TypeError`` whose message names the argument, or gives the
correct result. The run-folder and command-line cases are in ``test_run_folders.py``.
"""

import math

import networkx as nx
import numpy as np
import pytest
import qutip
import torch

import cells
import ornn
from applications.dynamics import evolve_exact, evolve_qutip
from applications.dynamics.data import haar_states
from applications.qaoa.ansatz import QAOA
from applications.qaoa.meta import MetaOptimizer, ProblemDistribution, meta_train
from applications.qaoa.problems import SK, MaxCut
from ornn import stability
from ornn.training import NonFiniteLossError

NAN, INF = float("nan"), float("inf")


def qaoa():
    return QAOA(MaxCut(nx.cycle_graph(4)), 2)


# ----------------------------------------------------------------------------- silent garbage, now refused


@pytest.mark.parametrize(
    "params, error, match",
    [
        (torch.tensor([NAN, 0.2, 0.3, 0.4]), ValueError, r"params: expected finite values, got nan at index \(0,\)"),
        (
            torch.tensor([[0.1, 0.2, INF, 0.4]]),
            ValueError,
            r"params: expected finite values, got inf at index \(0, 2\)",
        ),
        (torch.tensor([0.1 + 1j, 0.2, 0.3, 0.4]), TypeError, r"params: expected a real .*got complex"),
        (torch.tensor(0.1), ValueError, r"params: expected shape \(4,\) or \(batch, 4\), got \(\)"),
        (torch.zeros(0, 4), ValueError, r"params: expected at least one row"),
        (
            torch.tensor([1, 2, 3, 4]),
            TypeError,
            r"params: expected a real floating-point tensor, got dtype torch.int64",
        ),
    ],
)
def test_qaoa_energy_refuses_parameters_it_would_misread(params, error, match):
    with pytest.raises(error, match=match):
        qaoa().energy(params)


def test_qaoa_energy_of_good_parameters_is_unchanged():
    # C4, p = 1 at the known optimum gamma = pi/4... checked against the closed form <C> = -(2 + ...) is elsewhere;
    # here: the refusal did not change the value of a good call (single row equals batch row 0)
    ansatz = qaoa()
    theta = torch.tensor([0.3, -0.2, 0.5, 0.1], dtype=torch.float64)
    assert ansatz.energy(theta) == ansatz.energy(theta[None])[0]


@pytest.mark.parametrize(
    "couplings",
    [
        torch.tensor([[0, 1 + 1j], [1 - 1j, 0]]),
        np.array([[0, 1 + 0j], [1 + 0j, 0]]),
        np.array([["a", "b"], ["b", "a"]]),
    ],
)
def test_sk_refuses_complex_or_non_numeric_couplings(couplings):
    with pytest.raises(TypeError, match="couplings: expected real couplings"):
        SK(couplings)


def test_weights_whose_costs_overflow_are_refused_not_returned_as_inf_or_nan():
    graph = nx.cycle_graph(4)
    nx.set_edge_attributes(graph, 1e308, "weight")
    with pytest.raises(ValueError, match="graph: the cost overflows float64"):
        MaxCut(graph)
    with pytest.raises(ValueError, match="couplings: the cost overflows float64"):
        SK(torch.full((3, 3), 1e308, dtype=torch.float64).fill_diagonal_(0))
    nx.set_edge_attributes(graph, 1e300, "weight")  # large but representable: fine
    assert MaxCut(graph).max_cut == pytest.approx(4e300)


def test_registry_refuses_a_factory_that_builds_no_cell():
    ornn.register_cell("junk_for_test", lambda i, h: 42)
    try:
        with pytest.raises(TypeError, match="'junk_for_test' returned int"):
            cells.create("junk_for_test", 4, 8)
        with pytest.raises(TypeError, match="'junk_for_test' returned int"):
            cells.recurrent("junk_for_test", 4, 8)
    finally:
        ornn.registry.unregister_cell("junk_for_test")
    with pytest.raises(TypeError, match="factory: expected a recurrent cell class"):
        ornn.register_cell("linear_for_test", torch.nn.Linear)


def test_stability_function_refuses_nan_and_text():
    with pytest.raises(ValueError, match="z: expected finite values"):
        stability.stability_function("euler", NAN)
    with pytest.raises(TypeError, match="h_lambda: expected complex or real numbers, got 'abc'"):
        stability.is_stable("euler", "abc")
    assert stability.stability_function("euler", -0.5) == pytest.approx(0.5)  # R(z) = 1 + z
    assert stability.is_stable("rk4", torch.tensor([-1.0, -2.0]))


def test_meta_train_stops_at_the_first_non_finite_proposal_naming_epoch_and_batch():
    meta = MetaOptimizer("lstm", 2, hidden_size=4).double()
    with torch.no_grad():
        meta.head.bias.fill_(NAN)
    with pytest.raises(NonFiniteLossError, match=r"epoch 0, batch 0: meta: the cell proposed non-finite parameters"):
        meta_train(meta, ProblemDistribution("erdos-renyi", (4,)), p=1, steps=2, epochs=1)
    for kwargs, match in (({"lr": INF}, "lr: expected a positive finite"), ({"batch_size": 0}, "batch_size")):
        with pytest.raises(ValueError, match=match):
            meta_train(MetaOptimizer("lstm", 2, hidden_size=4).double(), ProblemDistribution("sk", (3,)), **kwargs)


def test_train_predictor_stops_at_a_non_finite_loss_naming_epoch_and_batch(tmp_path):
    from applications.dynamics import DynamicsPredictor, SequenceSpec, train_predictor

    model = DynamicsPredictor(max_spins=2, width=4, num_layers=1).double()
    with torch.no_grad():
        next(model.parameters()).fill_(NAN)
    spec = SequenceSpec(spins=(2,), per_spin=10, steps=3)
    with pytest.raises(NonFiniteLossError, match=r"training: loss nan at epoch 0, batch 0"):
        train_predictor(model, spec, epochs=2, batch_size=4, checkpoint=tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()  # nothing half-done was saved


def test_the_training_loop_stops_when_an_epoch_ends_non_finite():
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(NonFiniteLossError, match="epoch 0 ended with training loss 1.0 and validation loss nan"):
        ornn.training.fit(model, lambda net, e: 1.0, lambda: NAN, optimizer=optimizer, epochs=2)


def test_recurrent_check_finite_names_the_input_step_or_the_layer():
    torch.manual_seed(0)
    stack = cells.recurrent("gru", 3, 4, num_layers=2, check_finite=True)
    x = torch.randn(6, 2, 3)
    x[4, 1, 2] = INF
    with pytest.raises(ValueError, match="x: expected finite input, got inf at step 4, sequence 1"):
        stack(x)
    with torch.no_grad():
        stack.cells[1].weight_hh[0, 0] = NAN  # a corrupted weight in layer 1
    with pytest.raises(ValueError, match="check_finite: layer 1 produced"):
        stack(torch.randn(6, 2, 3))
    plain = cells.recurrent("gru", 3, 4)  # off by default: torch's behaviour, NaN in, NaN out
    assert torch.isnan(plain(torch.full((2, 1, 3), NAN))[0]).all()
    lengths = cells.recurrent("gru", 3, 4, check_finite=True)
    padded = torch.randn(4, 2, 3)
    padded[3, 0] = NAN  # padding beyond sequence 0's length is not read
    assert torch.isfinite(lengths(padded, lengths=[3, 4])[0]).all()


# ----------------------------------------------------------------------------- foreign errors, now ours


def test_input_on_another_device_gets_our_message():
    cell = cells.create("lstm", 3, 4)
    x = torch.randn(2, 3, device="meta")
    with pytest.raises(ValueError, match="x_t: expected a tensor on the cell's device cpu, got one on meta"):
        cell(x)
    with pytest.raises(ValueError, match="x_t: expected a tensor on the cell's device cpu"):
        ornn.Recurrent(cell)(torch.randn(5, 2, 3, device="meta"))


def test_ode_solve_names_y0_for_width_dtype_and_non_finite_values():
    f = torch.nn.Linear(4, 4).double()
    cell = ornn.ODECell(f, step_size=0.1)
    with pytest.raises(ValueError, match=r"y0: f could not be evaluated at y0 of shape \(2, 3\)"):
        cell.solve(torch.ones(2, 3, dtype=torch.float64), 3)
    with pytest.raises(TypeError, match="y0: expected dtype torch.float64 .*got torch.float32"):
        cell.solve(torch.ones(4), 3)
    with pytest.raises(ValueError, match="y0: expected finite values"):
        cell.solve(torch.full((4,), NAN, dtype=torch.float64), 3)
    shaped = ornn.ODECell(lambda y: -y, step_size=0.1, state_shape=(3,))
    with pytest.raises(ValueError, match=r"y0: expected shape \(\.\.\., 3\) \(state_shape\), got \(2, 4\)"):
        shaped.solve(torch.ones(2, 4), 2)
    path = shaped.solve(torch.ones(2, 3, dtype=torch.float64), 10)
    assert torch.allclose(path[-1], torch.full((2, 3), math.exp(-1.0), dtype=torch.float64), atol=1e-6)  # rk4, h = 0.1


def test_stability_check_refuses_a_module_that_is_not_a_cell_and_non_finite_inputs():
    with pytest.raises(TypeError, match="cell: expected a recurrent cell"):
        stability.check(torch.nn.Linear(4, 4), torch.randn(5, 2, 4))
    cell = cells.create("lstm", 4, 4)
    with pytest.raises(ValueError, match="inputs: expected finite values"):
        stability.check(cell, torch.full((5, 2, 4), NAN))


def test_evolve_exact_with_no_states_is_empty_on_both_paths():
    none = torch.zeros(0, 2**9, dtype=torch.complex128)
    for method in ("eig", "krylov"):
        assert evolve_exact(none[:, :8], 3, 4, method=method).shape == (0, 5, 8)
        assert evolve_exact(none, 9, 2, method=method).shape == (0, 3, 2**9)


def test_evolve_exact_takes_numpy_and_qutip_states_and_keeps_an_unbatched_state_unbatched():
    psi = haar_states(3, 2, generator=torch.Generator().manual_seed(1))
    batched = evolve_exact(psi, 3, 5)
    assert evolve_exact(psi[0], 3, 5).shape == (6, 8)
    assert torch.allclose(evolve_exact(psi[0], 3, 5), batched[0], atol=1e-14)  # batch-size round-off only
    assert torch.equal(evolve_exact(psi.numpy(), 3, 5), batched)
    ket = qutip.Qobj(psi[1].numpy()[:, None], dims=[[2, 2, 2], [1, 1, 1]])
    assert torch.allclose(evolve_exact(ket, 3, 5), batched[1], atol=1e-14)
    assert torch.allclose(evolve_exact([ket, ket], 3, 5)[1], batched[1], atol=1e-14)
    assert torch.allclose(evolve_qutip(ket, 3, 5), batched[1], atol=1e-8)
    with pytest.raises(TypeError, match="psi0: expected a complex array"):
        evolve_exact(np.ones(8) / math.sqrt(8), 3, 5)
    with pytest.raises(TypeError, match="psi0: expected QuTiP kets, got a oper"):
        evolve_exact(qutip.qeye(8), 3, 5)
    with pytest.raises(TypeError, match="psi0: expected a complex tensor, a complex numpy array or a QuTiP ket"):
        evolve_exact("up", 3, 5)
