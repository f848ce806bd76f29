"""The optimisation loop and the initialisation baselines."""

import sys

import networkx as nx
import pytest
import torch

from applications import qaoa
from applications.qaoa import DCQAOA, QAOA, MaxCut

from ..helpers import assert_refusals


def test_fixed_angles_reproduce_the_tree_limit_cut_fractions():
    """Wurtz & Lykov: 0.6925 at p = 1 (girth > 3: the cube) and 0.7559 at p = 2 (girth > 5: Heawood)."""
    cube, heawood = MaxCut(nx.cubical_graph()), MaxCut(nx.heawood_graph())
    p1 = QAOA(cube, 1)
    assert abs(-float(p1.energy(qaoa.fixed_angles(p1))) / 12 - 0.6925) < 2e-4
    p2 = QAOA(heawood, 2)
    assert abs(-float(p2.energy(qaoa.fixed_angles(p2))) / 21 - 0.7559) < 2e-4
    dc = DCQAOA(heawood, 2)  # alpha = 0: the same circuit
    assert torch.allclose(dc.energy(qaoa.fixed_angles(dc)), p2.energy(qaoa.fixed_angles(p2)), atol=1e-12)


def test_linear_ramp_beats_random_on_average():
    problem = qaoa.random_regular_maxcut(10, seed=0)
    ansatz = QAOA(problem, 3)
    ramp = float(qaoa.approximation_ratio(problem, ansatz.energy(qaoa.linear_ramp(ansatz))))
    random = qaoa.approximation_ratio(problem, ansatz.energy(qaoa.random_init(ansatz, 64, seed=0))).mean()
    assert ramp > 0.7 and ramp > float(random) + 0.1
    assert torch.equal(qaoa.random_init(ansatz, 3, seed=5), qaoa.random_init(ansatz, 3, seed=5))


@pytest.mark.parametrize("name", ["sgd", "adam", "adagrad", "rmsprop", "lbfgs"])
def test_every_optimizer_lowers_the_energy_of_every_instance(name):
    problems = [qaoa.random_regular_maxcut(8, seed=s) for s in range(3)]
    ansatzes = [QAOA(p, 2) for p in problems]
    init = torch.cat([qaoa.random_init(a, 1, seed=i) for i, a in enumerate(ansatzes)])
    lr = 1.0 if name == "lbfgs" else 0.05
    result = qaoa.optimize(ansatzes, init, optimizer=name, lr=lr, steps=60)
    assert result.energies.shape[1] == 3 and result.params.shape[1:] == (3, 4)
    assert torch.allclose(result.energies[0], qaoa.batch_energy(ansatzes, init))
    assert bool((result.final_energies < result.energies[0] - 1e-3).all())


def test_batched_rows_behave_as_independent_runs_and_stop_independently():
    ansatz = QAOA(qaoa.random_regular_maxcut(8, seed=1), 1)
    init = qaoa.random_init(ansatz, 3, seed=2)
    together = qaoa.optimize(ansatz, init, optimizer="adam", steps=40, tol=1e-12)
    alone = qaoa.optimize(ansatz, init[1:2], optimizer="adam", steps=40, tol=1e-12)
    assert torch.allclose(together.params[:, 1], alone.params[:, 0], atol=1e-12)
    stopped = qaoa.optimize(ansatz, init, optimizer="adam", steps=300, tol=1e-5)
    assert bool((stopped.converged_at > 0).all())
    for b in range(3):  # a stopped instance stays where it stopped
        k = int(stopped.converged_at[b])
        assert torch.equal(stopped.params[k:, b], stopped.params[k, b].expand_as(stopped.params[k:, b]))


def test_degree_rule_fits_saves_and_predicts(tmp_path):
    train = [qaoa.erdos_renyi_maxcut(n, 3 / n, seed=n) for n in (6, 7, 8)]
    rule = qaoa.DegreeRule.fit(train, p=1, steps=80)
    assert rule.training_graphs == 3 and len(rule.c) == 1 and rule.fit_rms_gamma >= 0
    rule.save(tmp_path / "rule.json")
    assert qaoa.DegreeRule.load(tmp_path / "rule.json") == rule
    test = qaoa.erdos_renyi_maxcut(10, 0.3, seed=11)
    start = rule(QAOA(test, 1))
    ratio = float(qaoa.approximation_ratio(test, QAOA(test, 1).energy(start)))
    assert ratio > 0.6
    with pytest.raises(ValueError, match="expected depth p = 1"):
        rule(QAOA(test, 2))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda a: qaoa.optimize(a, torch.zeros(2, 2), optimizer="newton"),
            ValueError,
            r"^optimizer: expected one of sgd, adam, adagrad, rmsprop, lbfgs, got 'newton'$",
        ),
        (lambda a: qaoa.optimize(a, torch.zeros(2, 3)), ValueError, r"^init: expected 2 parameters per row, got 3$"),
        (lambda a: qaoa.optimize(a, torch.zeros(2)), ValueError, r"^init: expected a \(batch, num_params\) tensor"),
        (lambda a: qaoa.optimize(a, torch.zeros(2, 2), lr=0), ValueError, r"^lr: expected a positive finite number"),
        (lambda a: qaoa.optimize(a, torch.zeros(2, 2), steps=-1), ValueError, r"^steps: expected an integer >= 0"),
        (lambda a: qaoa.optimize(a, torch.zeros(2, 2), tol=0), ValueError, r"^tol: expected a positive finite number"),
        (lambda a: qaoa.optimize(a, [[0.0, 0.0]]), TypeError, r"^init: expected a torch\.Tensor"),
        (
            lambda a: qaoa.fixed_angles(QAOA(MaxCut(nx.path_graph(4)), 1)),
            ValueError,
            r"^ansatz: fixed angles are for MaxCut on 3-regular graphs",
        ),
        (
            lambda a: qaoa.fixed_angles(QAOA(MaxCut(nx.cubical_graph()), 6)),
            ValueError,
            r"^ansatz: fixed angles are shipped for p in \[1, 2, 3, 4, 5\], got p = 6",
        ),
        (lambda a: qaoa.linear_ramp(a, dt=-1), ValueError, r"^dt: expected a positive finite number"),
        (lambda a: qaoa.DegreeRule.fit([], 1), ValueError, r"^problems: expected at least one training graph"),
    ],
)
def test_bad_input(call, error, message):
    ansatz = QAOA(MaxCut(nx.cycle_graph(4)), 1)
    with pytest.raises(error, match=message):
        call(ansatz)


def test_ansatz_optimum_is_at_least_as_good_as_every_start():
    problem = MaxCut(nx.heawood_graph())
    ansatz = QAOA(problem, 2)
    best, params = qaoa.ansatz_optimum(ansatz, starts=4, steps=30)
    assert best <= float(ansatz.energy(qaoa.fixed_angles(ansatz))) + 1e-9
    assert abs(float(ansatz.energy(params)) - best) < 1e-10
    assert -best / 21 >= 0.7559 - 1e-4  # at least the tree-limit value that the fixed angles reach


@pytest.mark.parametrize("name", ["sgd", "adam", "adagrad", "rmsprop"])
def test_batched_optimize_equals_one_torch_optimizer_per_row_written_here(name):
    """Each row's trajectory, energies and stopping step against torch.optim run on that row alone.

    The reference is the plain loop of the module docstring: evaluate, stop when the energy moved by
    less than ``tol`` since the last step, else step. float64 throughout, so equality to 1e-12 holds.
    """
    ansatzes = [QAOA(qaoa.random_regular_maxcut(6, seed=s), 1) for s in range(3)]
    init = torch.tensor([[-0.3, 0.2], [-0.9, 1.1], [-0.5, 0.4]], dtype=torch.float64)
    steps, tol, lr = 25, 1e-3, 0.07
    result = qaoa.optimize(ansatzes, init, optimizer=name, lr=lr, steps=steps, tol=tol)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}.get(
        name, torch.optim.RMSprop
    )
    for b, ansatz in enumerate(ansatzes):
        params = init[b].clone().requires_grad_(True)
        opt = cls([params], lr=lr)
        trajectory, energies, stopped = [params.detach().clone()], [], -1
        for step in range(steps + 1):
            opt.zero_grad()
            energy = ansatz.energy(params)
            energies.append(float(energy.detach()))
            if step > 0 and abs(energies[-1] - energies[-2]) < tol:
                stopped = step
                break
            if step == steps:
                break
            energy.backward()
            opt.step()
            trajectory.append(params.detach().clone())
        assert int(result.converged_at[b]) == stopped
        k = len(trajectory)
        assert torch.allclose(result.params[:k, b], torch.stack(trajectory), atol=1e-12, rtol=0)
        assert torch.allclose(result.energies[:k, b], torch.tensor(energies, dtype=torch.float64), atol=1e-12, rtol=0)
        # frozen after stopping: every later row repeats the stopped parameters and energy
        assert torch.equal(result.params[k - 1 :, b], result.params[k - 1, b].expand_as(result.params[k - 1 :, b]))
        assert torch.equal(
            result.energies[k - 1 :, b], result.energies[k - 1, b].expand_as(result.energies[k - 1 :, b])
        )
    assert result.params.dtype == torch.float64 and result.converged_at.dtype == torch.long
    assert result.params.shape[0] == result.energies.shape[0]
    # a tol no step can beat stops every instance at step 1, the first step it can be checked at
    loose = qaoa.optimize(ansatzes, init.float(), optimizer=name, lr=lr, steps=steps, tol=100.0)
    assert loose.converged_at.tolist() == [1, 1, 1] and loose.params.shape[0] == 2
    assert loose.params.dtype == torch.float64  # float32 starts run in the ansatz's precision


def test_lbfgs_equals_torch_lbfgs_with_strong_wolfe_per_instance():
    """L-BFGS: one instance at a time, 10 inner iterations and a strong-Wolfe line search per step."""
    ansatzes = [QAOA(qaoa.random_regular_maxcut(6, seed=s), 2) for s in range(2)]
    init = torch.tensor([[-0.3, -0.2, 0.5, 0.2], [-0.1, -0.6, 0.9, 0.3]], dtype=torch.float64)
    steps, tol, lr = 6, 1e-6, 0.5  # the instances stop at steps 4 and 3: the second is padded
    result = qaoa.optimize(ansatzes, init, optimizer="lbfgs", lr=lr, steps=steps, tol=tol)
    rows = []
    for b, ansatz in enumerate(ansatzes):
        params = init[b].clone().requires_grad_(True)
        opt = torch.optim.LBFGS([params], lr=lr, max_iter=10, line_search_fn="strong_wolfe")

        def closure(ansatz=ansatz, params=params, opt=opt):
            opt.zero_grad()
            energy = ansatz.energy(params)
            energy.backward()
            return energy

        trajectory, energies, stopped = [params.detach().clone()], [float(ansatz.energy(params).detach())], -1
        for step in range(steps):
            opt.step(closure)
            trajectory.append(params.detach().clone())
            energies.append(float(ansatz.energy(params).detach()))
            if abs(energies[-1] - energies[-2]) < tol:
                stopped = step + 1
                break
        rows.append((trajectory, energies, stopped))
    length = max(len(t) for t, _, _ in rows)
    assert result.params.shape == (length, 2, 4) and result.energies.shape == (length, 2)
    for b, (trajectory, energies, stopped) in enumerate(rows):
        assert int(result.converged_at[b]) == stopped
        padded = trajectory + [trajectory[-1]] * (length - len(trajectory))
        assert torch.allclose(result.params[:, b], torch.stack(padded), atol=1e-12, rtol=0)
        expected = torch.tensor(energies + [energies[-1]] * (length - len(energies)), dtype=torch.float64)
        assert torch.allclose(result.energies[:, b], expected, atol=1e-12, rtol=0)
    assert result.converged_at.tolist() == [4, 3]
    # with a loose tol every instance stops after its first step
    loose = qaoa.optimize(ansatzes, init, optimizer="lbfgs", lr=lr, steps=steps, tol=100.0)
    assert loose.converged_at.tolist() == [1, 1] and loose.params.shape[0] == 2
    assert loose.params.dtype == torch.float64 and torch.equal(loose.params[0], init)
    from_float32 = qaoa.optimize(ansatzes, init.float(), optimizer="lbfgs", lr=lr, steps=1)
    assert from_float32.params.dtype == torch.float64
    assert from_float32.converged_at.tolist() == [-1, -1]  # one step, no stop: -1 as for the other optimisers


def test_optimization_result_properties_on_a_trajectory_written_here():
    """final_*, best_* (not always the last row) and steps_taken (the stopping step, or all of them)."""
    params = torch.tensor([[[0.0], [1.0]], [[0.5], [2.0]], [[0.7], [3.0]]], dtype=torch.float64)  # (3, 2, 1)
    energies = torch.tensor([[-1.0, -2.0], [-3.0, -2.5], [-2.0, -2.5]], dtype=torch.float64)
    result = qaoa.OptimizationResult(params, energies, torch.tensor([-1, 1]))
    assert torch.equal(result.final_params, params[2]) and torch.equal(result.final_energies, energies[2])
    assert torch.equal(result.best_params, torch.tensor([[0.5], [2.0]], dtype=torch.float64))
    assert torch.equal(result.best_energies, torch.tensor([-3.0, -2.5], dtype=torch.float64))
    assert result.steps_taken.tolist() == [2, 1]
    ansatzes = [QAOA(MaxCut(nx.cycle_graph(4)), 1), QAOA(MaxCut(nx.path_graph(3)), 1)]
    rows = torch.tensor([[-0.4, 0.3], [-0.2, 0.6]], dtype=torch.float64)
    expected = torch.stack([ansatzes[0].energy(rows[0]), ansatzes[1].energy(rows[1])])
    assert torch.equal(qaoa.batch_energy(ansatzes, rows), expected)
    assert torch.equal(qaoa.batch_energy(ansatzes[0], rows), ansatzes[0].energy(rows))
    assert_refusals(
        [
            (
                lambda: qaoa.batch_energy(ansatzes, rows[:1]),
                "params: expected one row per ansatz, shape (2, num_params), got (1, 2)",
            ),
            # a (P,) row whose length happens to equal the batch: not a row per ansatz
            (
                lambda: qaoa.batch_energy(ansatzes, rows[0]),
                "params: expected one row per ansatz, shape (2, num_params), got (2,)",
            ),
        ],
        ValueError,
    )


def test_batch_energy_stacks_dc_problems_of_one_shape_and_equals_them_one_by_one(monkeypatch):
    """DC-QAOA problems of one size, depth and term coefficients run as one stacked circuit; a different size
    and a weighted graph (other coefficients) run in their own groups. Energies and adjoint gradients equal the
    per-problem ones to 1e-12 (the stacked mixer rounds row-wise; a few hundred operations per amplitude in
    float64); the stacked circuit through circuit_state's autograd equals them too.

    Catches: a row paired with another row's tables or cost, and a group merged across shapes.
    """
    from applications.qaoa import ansatz as ansatz_module
    from applications.qaoa.circuit import circuit_state, stack_circuits
    from ornn import quantum

    weighted = nx.cycle_graph(8)
    nx.set_edge_attributes(weighted, {e: 0.5 + i / 8 for i, e in enumerate(weighted.edges)}, "weight")
    problems = [qaoa.random_regular_maxcut(8, seed=1), qaoa.random_regular_maxcut(6, seed=2)]
    problems += [MaxCut(weighted), qaoa.random_regular_maxcut(8, seed=3), qaoa.random_regular_maxcut(8, seed=4)]
    ansatzes = [DCQAOA(problem, 2) for problem in problems]
    calls = []
    real = ansatz_module.stacked_energy
    optimize_module = sys.modules["applications.qaoa.optimize"]  # the package's `optimize` is the function
    monkeypatch.setattr(
        optimize_module, "stacked_energy", lambda group, rows: calls.append(len(group)) or real(group, rows)
    )
    rows = torch.randn(5, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64, requires_grad=True)
    energies = qaoa.batch_energy(ansatzes, rows)
    assert calls == [3]  # the three unweighted n = 8 graphs; n = 6 and the weighted cycle run alone
    (grads,) = torch.autograd.grad(energies.sum(), rows)
    one_by_one = torch.stack([a.energy(row) for a, row in zip(ansatzes, rows)])
    (expected,) = torch.autograd.grad(one_by_one.sum(), rows)
    assert torch.allclose(energies, one_by_one, atol=1e-12) and torch.allclose(grads, expected, atol=1e-12)
    group = [ansatzes[i] for i in (0, 3, 4)]
    stacked = stack_circuits([a.rotations() for a in group])
    initial = quantum.plus_state(8, dtype=torch.complex128)
    reference = quantum.expectation_diagonal(
        circuit_state(initial, stacked, rows[[0, 3, 4]]), torch.stack([a.problem.cost for a in group])
    )
    assert torch.allclose(reference, one_by_one[[0, 3, 4]], atol=1e-12)
    # circuits of another shape do not stack, and stacked_energy says why it refuses
    assert stack_circuits([ansatzes[0].rotations(), ansatzes[2].rotations()]) is None
    assert stack_circuits([ansatzes[0].rotations(), ansatzes[0].rotations()[:-1]]) is None
    plain = [
        r if r.kind != "pauli" else qaoa.circuit.Rotation("pauli", r.param, r.coefficient, pauli="ZY", wires=r.wires)
        for r in ansatzes[0].rotations()
    ]
    assert stack_circuits([plain, ansatzes[3].rotations()]) is None
    assert QAOA(problems[0], 2).stack_key() is None
    monkeypatch.setattr(qaoa.circuit, "PAULI_TABLE_WIRES", 7)  # registers above it carry no tables: no stacking
    untabled = [DCQAOA(problems[i], 2) for i in (0, 3)]
    assert untabled[0].stack_key() is None
    calls.clear()
    assert torch.allclose(qaoa.batch_energy(untabled, rows[[0, 3]]), one_by_one[[0, 3]], atol=1e-12)
    assert calls == []
    assert_refusals(
        [
            (
                lambda: qaoa.stacked_energy(ansatzes[:2], rows[:2]),
                "ansatzes: expected one class, size, depth, dtype and device to stack, got a mix",
            ),
            (
                lambda: qaoa.stacked_energy([ansatzes[0], ansatzes[2]], rows[:2]),
                "ansatzes: expected circuits that stack (the same rotations up to the problems' data)",
            ),
            (
                lambda: qaoa.stacked_energy(group, rows[:2]),
                "params: expected one row per ansatz, (3, num_params), got (2, 6)",
            ),
        ],
        ValueError,
    )
    assert_refusals(
        [
            (lambda: qaoa.stacked_energy([], rows), r"ansatzes: expected a non-empty list of QAOA ansatzes, got \[\]"),
            (lambda: qaoa.stacked_energy(group, [[0.1] * 6] * 3), r"params: expected a torch.Tensor, got \[\[0\.1, .*"),
        ],
        TypeError,
        regex=True,
    )
