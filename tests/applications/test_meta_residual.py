"""The residual meta-optimiser, Phase I's best-of-T record, saving, the user's graphs and the compare verdicts.

Expected values are computed here independently: losses by hand, the start rule's least squares with numpy,
cuts by enumerating the bitstring's edges.
"""

import json
import math

import networkx as nx
import numpy as np
import pytest
import torch

from applications import qaoa
from applications.qaoa import MetaOptimizer, ProblemDistribution
from applications.qaoa.experiment import evaluate_graphs, held_out_graphs, read_graphs, verdicts
from applications.qaoa.meta import MetaTrajectory, best_so_far_loss, inverse_sqrt_degree, meta_train


def test_best_so_far_loss_by_hand():
    scaled = torch.tensor([[-0.5, -0.2], [-0.4, -0.3], [-0.6, -0.1], [-0.55, -0.35]], dtype=torch.float64)
    # column 0: running min over t >= 1: -0.5, -0.6, -0.6 (mean -17/30); best -0.6; proposals' mean -0.5167
    # column 1: running min: -0.3, -0.3, -0.35 (mean -0.3167); best -0.35; proposals' mean -0.25
    expected = ((-0.5 - 0.6 - 0.6) / 3 - 0.6 + (-0.4 - 0.6 - 0.55) / 3 + (-0.3 - 0.3 - 0.35) / 3 - 0.35 - 0.75 / 3) / 2
    assert float(best_so_far_loss(scaled)) == pytest.approx(expected, abs=1e-12)


def test_trajectory_best_point_and_running_minimum():
    params = torch.arange(12, dtype=torch.float64).reshape(3, 2, 2)
    energies = torch.tensor([[-1.0, -2.0], [-3.0, -1.5], [-2.0, -2.5]], dtype=torch.float64)
    t = MetaTrajectory(params, energies, energies / 2)
    assert t.evaluations == 3
    assert torch.equal(t.best_index, torch.tensor([1, 2]))
    assert torch.equal(t.best_energies, torch.tensor([-3.0, -2.5], dtype=torch.float64))
    assert torch.equal(t.best_params, torch.stack([params[1, 0], params[2, 1]]))
    assert torch.equal(t.best_so_far, torch.tensor([[-1.0, -2.0], [-3.0, -2.0], [-3.0, -2.5]], dtype=torch.float64))


def test_the_start_rule_is_the_least_squares_fit_of_optimised_angles():
    problems = ProblemDistribution("erdos-renyi", (6, 7, 8)).sample(8, seed=3)
    meta = MetaOptimizer("gru", 2, hidden_size=4).double().fit_start(problems, 1)
    ansatzes = [qaoa.make_ansatz(q, 1) for q in problems]
    init = torch.stack([qaoa.linear_ramp(a) for a in ansatzes])
    best = qaoa.optimize(ansatzes, init, optimizer="adam", lr=0.05, steps=150).final_params.numpy()
    x = np.array([1 / np.sqrt(2 * len(q.terms) / q.n) for q in problems])
    for k in range(2):
        slope, intercept = np.polyfit(x - x.mean(), best[:, k], 1)
        assert float(meta.start_slope[k].detach()) == pytest.approx(slope, abs=1e-9)
        assert float(meta.start_bias[k].detach()) == pytest.approx(intercept, abs=1e-9)
    start = meta.start(ansatzes).detach().numpy()
    assert np.allclose(start[:, 0], meta.start_bias[0].item() + slope * 0 + meta.start_slope[0].item() * (x - x.mean()))
    assert bool(meta.start_fitted)


def test_on_regular_graphs_the_start_rule_is_the_mean_optimised_angles():
    problems = ProblemDistribution("3-regular", (6, 8)).sample(5, seed=4)
    meta = MetaOptimizer("lstm", 2, hidden_size=4).double().fit_start(problems, 1)
    ansatzes = [qaoa.make_ansatz(q, 1) for q in problems]
    init = torch.stack([qaoa.linear_ramp(a) for a in ansatzes])
    best = qaoa.optimize(ansatzes, init, optimizer="adam", lr=0.05, steps=150).final_params
    assert torch.allclose(meta.start_bias.detach(), best.mean(0), atol=1e-12)
    assert torch.equal(meta.start_slope.detach(), torch.zeros(2, dtype=torch.float64))
    assert inverse_sqrt_degree(problems[0]) == pytest.approx(3**-0.5)


def test_phase_one_is_never_worse_than_the_start_and_untrained_proposals_stay_near_it():
    torch.manual_seed(0)
    meta = MetaOptimizer("lstm", 2, hidden_size=6, step_scale=0.5).double()
    tests = [qaoa.make_ansatz(q, 1) for q in ProblemDistribution("erdos-renyi", (7,)).sample(4, seed=5)]
    with torch.no_grad():
        t = meta(tests, 6)
    assert torch.equal(t.params[0], meta.start(tests).detach())
    assert bool((t.best_energies <= t.energies[0]).all())
    offsets = (t.params[1:] - t.params[0]).abs()
    assert bool((offsets <= 0.5).all()) and 0 < float(offsets.max()) < 0.2  # small head: near, not on, the start


def test_default_training_beats_the_degree_rule_on_unseen_graphs():
    """A shortened default recipe (4 epochs of 8 batches) on Erdős–Rényi p = 1; 8 unseen connected graphs n = 9.

    Phase I (best of 11) must beat the fitted degree rule and come within 0.004 of the p = 1 optimum
    (multi-start L-BFGS); random starts average about 0.6 and the degree rule alone is about 0.005 short.
    """
    torch.manual_seed(0)
    meta = MetaOptimizer("lstm", 2).double()
    distribution = ProblemDistribution("erdos-renyi", (6, 7, 8))
    meta_train(meta, distribution, epochs=4, seed=0)
    problems = held_out_graphs("dense", (9,), 4, seed=77) + held_out_graphs("sparse", (9,), 4, seed=78)
    tests = [qaoa.make_ansatz(q, 1) for q in problems]
    optimum = torch.tensor([q.optimum for q in problems], dtype=torch.float64)
    rule = qaoa.DegreeRule.fit(distribution.sample(16, seed=12345), 1, steps=150)
    with torch.no_grad():
        learned = float((meta(tests, 10).best_energies / optimum).mean())
        degree = float((torch.stack([a.energy(rule(a)) for a in tests]) / optimum).mean())
    best = float((torch.tensor([qaoa.ansatz_optimum(a, starts=6)[0] for a in tests]) / optimum).mean())
    assert learned > degree
    assert best - learned < 0.004, (learned, best, degree)


def test_save_and_load_rebuild_the_same_optimiser(tmp_path):
    torch.manual_seed(1)
    meta = MetaOptimizer("sru", 4, hidden_size=5, step_scale=0.3, problem_features=True).double()
    meta.fit_start(ProblemDistribution("3-regular", (6,)).sample(2, seed=0), 2, steps=5)
    path = meta.save(tmp_path / "meta.pt", steps=7, notes={"recipe": "test"})
    again = MetaOptimizer.load(path)
    assert again.config() == meta.config() and again.steps == 7 and again.notes == {"recipe": "test"}
    tests = [qaoa.make_ansatz(q, 2) for q in ProblemDistribution("3-regular", (8,)).sample(2, seed=1)]
    with torch.no_grad():
        assert torch.equal(meta(tests, 4).params, again(tests, 4).params)
    assert not list(tmp_path.glob(".*.tmp"))


def test_load_refuses_files_that_are_not_saved_optimisers(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path: expected a meta-optimiser file"):
        MetaOptimizer.load(tmp_path / "none.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"is not a readable meta-optimiser file"):
        MetaOptimizer.load(tmp_path / "garbage.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"is not a ornn.meta/1 file"):
        MetaOptimizer.load(tmp_path / "other.pt")
    import cells

    with pytest.raises(ValueError, match=r"cell: only optimisers built from a registered cell name can be saved"):
        MetaOptimizer(cells.GRU(6, 3), 2).save(tmp_path / "x.pt")


def test_bad_constructor_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"proposal: expected one of residual, incumbent, absolute, got 'delta'"):
        MetaOptimizer("gru", 2, proposal="delta")
    with pytest.raises(ValueError, match=r"step_scale"):
        MetaOptimizer("gru", 2, step_scale=0.0)
    with pytest.raises(TypeError, match=r"meta: expected a MetaOptimizer"):
        meta_train(torch.nn.Linear(2, 2), ProblemDistribution("sk", (4,)))
    with pytest.raises(ValueError, match=r"edge_factor: expected positive numbers"):
        ProblemDistribution("erdos-renyi", (6,), edge_factor=(0.0,))


def cut_of(graph, bits):
    nodes = list(graph.nodes)
    return sum(
        d.get("weight", 1.0) for u, v, d in graph.edges(data=True) if bits[nodes.index(u)] != bits[nodes.index(v)]
    )


def test_the_users_graphs_get_ratios_and_their_most_probable_cut(tmp_path):
    graphs = [[[0, 1], [1, 2], [2, 3], [3, 0]], {"edges": [["a", "b", 2.0], ["b", "c"], ["c", "a", 0.5], ["c", "d"]]}]
    path = tmp_path / "graphs.json"
    path.write_text(json.dumps(graphs))
    problems = read_graphs(path)
    assert [q.n for q in problems] == [4, 4] and problems[1].max_cut == pytest.approx(
        4.0
    )  # {a, c} against {b, d}: 2 + 1 + 1
    torch.manual_seed(0)
    meta = MetaOptimizer("gru", 2, hidden_size=4).double().fit_start(problems, 1)  # a start near the optimum
    rows = evaluate_graphs(meta, problems, p=1, steps=3, phase_two_steps=30)
    for row, problem in zip(rows, problems):
        bits = [int(b) for b in row["bitstring"]]
        assert row["cut"] == pytest.approx(cut_of(problem.graph, bits))
        assert (
            row["max_cut"] == pytest.approx(problem.max_cut)
            and 0 < row["ratio_phase_one"] <= row["ratio_phase_two"] + 1e-9
        )
        # T + 1 = 4 evaluations per start rule: the weighted graph's optimum lies across gamma_1 - pi, so two rules
        assert bool(meta.second_fitted) and row["phase_one_evaluations"] == 8 and 0 < row["probability"] <= 1
    assert rows[0]["cut"] == 4.0  # the square's most probable cut at p = 1 is the alternating one


@pytest.mark.parametrize(
    "content, message",
    [
        ("[]", r"expected a non-empty JSON list of graphs"),
        ('{"edges": []}', r"expected a non-empty JSON list of graphs"),
        ("[[[0, 1, 2, 3]]]", r"graph 0: expected a list of \[u, v\] or \[u, v, weight\] edges"),
        ("[[[0, 0]]]", r"graph 0: graph: self-loops have no cut"),
        ('[[[0, 1, "x"]]]', r"graph 0: graph: expected finite numeric edge weights"),
        ("[[0, 1", r"is not valid JSON"),
        ("[[[[0], 1]]]", r"graph 0: node labels must be numbers or strings, got \[\[0\], 1\]$"),
        ('[[[0, 1], [2, {"a": 1}]]]', r"graph 0: node labels must be numbers or strings, got \[2, \{'a': 1\}\]$"),
    ],
)
def test_bad_graph_files_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "g.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_graphs(path)


def test_qaoa_evaluate_on_a_graphs_file_and_a_bad_one(tmp_path, capsys):
    from ornn_cli.main import main

    run = tmp_path / "run"
    common = ["--kind", "3-regular", "--train-sizes", "6", "--steps", "2", "--hidden", "4"]
    assert main(["qaoa", "train", "--cell", "gru", "--epochs", "1", "--out", str(run), *common]) == 0
    graphs = tmp_path / "mine.json"
    graphs.write_text(json.dumps([[[0, 1], [1, 2], [2, 0], [2, 3], [3, 4], [4, 0]]]))
    capsys.readouterr()
    assert main(["qaoa", "evaluate", "--run", str(run), "--graphs", str(graphs)]) == 0
    out = capsys.readouterr().out
    assert "bitstring" in out and (run / "evaluation-graphs.json").is_file()
    graphs.write_text("[[[0, 1, 2, 3]]]")
    assert main(["qaoa", "evaluate", "--run", str(run), "--graphs", str(graphs)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "graph 0" in err


def test_held_out_families_are_connected_and_drawn_as_documented():
    sparse = held_out_graphs("sparse", (10, 12), 6, seed=1)
    dense = held_out_graphs("dense", (10, 12), 6, seed=1)
    assert [q.n for q in sparse] == [10] * 6 + [12] * 6
    for q in sparse + dense:
        assert nx.is_connected(q.graph)
    sparse_degree = np.mean([2 * len(q.terms) / q.n for q in sparse])
    dense_degree = np.mean([2 * len(q.terms) / q.n for q in dense])
    assert sparse_degree < 4.5 < dense_degree  # j in {2, 3, 4} against j in 3..n-1
    again = held_out_graphs("sparse", (10, 12), 6, seed=1)
    assert all(nx.utils.graphs_equal(a.graph, b.graph) for a, b in zip(sparse, again))
    with pytest.raises(ValueError, match=r"family: expected one of sparse, dense, got 'medium'"):
        held_out_graphs("medium", (10,), 1)


def test_verdicts_compare_each_learned_start_with_the_best_baseline_of_each_phase():
    def entry(one, two):
        return {"ratio_phase_one_mean": one, "ratio_phase_two_mean": two}

    results = {
        "learned (lstm)": {10: entry(0.80, 0.85), 12: entry(0.82, 0.87)},
        "random": {10: entry(0.60, 0.86), 12: entry(0.62, 0.88)},
        "degree rule": {10: entry(0.78, 0.84), 12: entry(0.80, 0.86)},
        "ansatz optimum (multi-start L-BFGS)": {10: entry(0.9, 0.9), 12: entry(0.9, 0.9)},
    }
    rows = {r["phase"]: r for r in verdicts(results)}
    assert rows["Phase I"]["best baseline"] == "degree rule" and rows["Phase I"]["verdict"] == "ahead by 0.0200"
    assert rows["Phase II"]["best baseline"] == "random" and rows["Phase II"]["verdict"] == "BEHIND by 0.0100"
    results["learned (lstm)"] = {10: entry(0.80, 0.86003), 12: entry(0.82, 0.88)}  # Phase II 3e-5 short: level
    rows = {r["phase"]: r for r in verdicts(results)}
    assert rows["Phase II"]["verdict"] == "level (within 0.0001)"


def test_the_train_and_compare_defaults_are_meta_trains():
    import inspect

    from applications.qaoa import shipped
    from applications.qaoa.experiment import CompareConfig
    from ornn_cli.commands import qaoa as command

    defaults = {k: v.default for k, v in inspect.signature(meta_train).parameters.items()}
    expected = tuple(defaults[k] for k in ("epochs", "batches_per_epoch", "lr", "steps", "batch_size", "loss"))
    args = command._parser().parse_args(["train"])
    assert (args.epochs, args.batches_per_epoch, args.lr, args.steps, args.batch, args.loss) == expected
    compare = command._parser().parse_args(["compare"])
    assert (compare.epochs, compare.batches_per_epoch, compare.steps) == (expected[0], expected[1], expected[3])
    config = CompareConfig()
    assert (config.epochs, config.batches_per_epoch, config.meta_lr, config.steps, config.batch_size, config.loss) == (
        expected
    )
    recipe = shipped.recipe("erdos-renyi", 1)  # the Erdős–Rényi recipe is meta_train's defaults
    assert (recipe["epochs"], recipe["batches_per_epoch"], recipe["lr"], recipe["steps"]) == expected[:4]
    assert args.proposal == inspect.signature(MetaOptimizer).parameters["proposal"].default
    assert args.step_scale == inspect.signature(MetaOptimizer).parameters["step_scale"].default


def test_weights_saved_before_the_start_rule_load_into_the_absolute_rule():
    torch.manual_seed(2)
    meta = MetaOptimizer("gru", 2, hidden_size=4, proposal="absolute").double()
    old = {k: v for k, v in meta.state_dict().items() if not k.startswith("start_")}  # a 2026-11 best.pt
    again = MetaOptimizer("gru", 2, hidden_size=4, proposal="absolute").double()
    again.load_state_dict(old)
    assert torch.equal(again.head.weight, meta.head.weight)
    residual = MetaOptimizer("gru", 2, hidden_size=4, proposal="absolute").double()
    with pytest.raises(RuntimeError, match=r"start_bias"):
        MetaOptimizer("gru", 2, hidden_size=4).double().load_state_dict(
            {k: v for k, v in residual.state_dict().items() if not k.startswith("start_")}
        )


def test_evaluate_graphs_and_save_refuse_bad_arguments(tmp_path):
    meta = MetaOptimizer("gru", 2, hidden_size=4).double()
    with pytest.raises(TypeError, match=r"problems: expected a non-empty sequence of MaxCut problems"):
        evaluate_graphs(meta, [qaoa.random_sk(4, seed=0)], p=1)
    with pytest.raises(TypeError, match=r"problems: expected a non-empty sequence of MaxCut problems"):
        evaluate_graphs(meta, [], p=1)
    with pytest.raises(TypeError, match=r"meta: expected a MetaOptimizer"):
        evaluate_graphs(torch.nn.Linear(2, 2), [qaoa.random_regular_maxcut(4, seed=0)], p=1)
    with pytest.raises(ValueError, match=r"steps"):
        meta.save(tmp_path / "m.pt", steps=0)
    with pytest.raises(TypeError, match=r"notes: expected a dict"):
        meta.save(tmp_path / "m.pt", notes=["recipe"])
    assert not (tmp_path / "m.pt").exists()


def test_the_second_start_is_kept_where_the_basin_across_gamma_1_minus_pi_wins():
    """DC-QAOA p = 2 on a 3-regular graph whose optimum lies across gamma_1 - pi (graph 0 of compare's test set,
    `benchmarks/qaoa_dc_basins.py`): the second rule is kept and is the Adam optimum reached from across, computed
    here from the kept first rule; on plain QAOA p = 1 the basin across is the mirror image and is not kept."""
    problem = ProblemDistribution("3-regular", (10,)).sample(1, seed=10)[0]
    meta = MetaOptimizer("lstm", 6, hidden_size=4).double().fit_start([problem], 2, dc=True)
    ansatz = qaoa.make_ansatz(problem, 2, dc=True)
    assert bool(meta.second_fitted)
    shifted = meta.start([ansatz]).detach().clone()
    shifted[:, 0] -= math.pi
    across = qaoa.optimize(ansatz, shifted, optimizer="adam", lr=0.05, steps=150)
    usual = qaoa.optimize(ansatz, qaoa.linear_ramp(ansatz)[None], optimizer="adam", lr=0.05, steps=150)
    assert float(across.final_energies[0]) < float(usual.final_energies[0]) - 0.1  # it wins by 1.7 points
    assert torch.allclose(meta.second_start([ansatz]), across.final_params, atol=1e-12)
    plain = ProblemDistribution("3-regular", (8,)).sample(4, seed=5)
    single = MetaOptimizer("lstm", 2, hidden_size=4).double().fit_start(plain, 1)
    assert not bool(single.second_fitted) and single.second_start([qaoa.make_ansatz(plain[0], 1)]) is None


def _two_rule_optimiser():
    """An untrained DC-QAOA p = 1 optimiser with two start rules set by hand, and 3 small 3-regular ansatzes."""
    torch.manual_seed(0)
    problems = ProblemDistribution("3-regular", (6, 8)).sample(3, seed=2)
    ansatzes = [qaoa.make_ansatz(q, 1, dc=True) for q in problems]
    meta = MetaOptimizer("gru", 3, hidden_size=5).double()
    with torch.no_grad():
        meta.start_bias.copy_(torch.tensor([-0.6, 0.4, 0.1]))
        meta.second_bias.copy_(torch.tensor([-3.0, 0.1, -0.7]))
        meta.second_fitted.fill_(True)
    return meta, ansatzes


def test_with_a_second_start_phase_one_unrolls_from_both_rules_one_after_the_other():
    """The trajectory is the unroll from the first rule (T + 1 rows), then the unroll from the second, each equal to
    an unroll given that start explicitly; propose keeps the best of all 2 (T + 1) evaluations."""
    meta, ansatzes = _two_rule_optimiser()
    with torch.no_grad():
        both = meta(ansatzes, 4)
        first = meta(ansatzes, 4, start=meta.start(ansatzes))
        second = meta(ansatzes, 4, start=meta.second_start(ansatzes))
    assert both.evaluations == 10 and both.params.shape == (10, 3, 3)
    assert torch.allclose(both.params[:5], first.params, atol=1e-12)
    assert torch.allclose(both.params[5:], second.params, atol=1e-12)
    assert torch.allclose(both.energies, torch.cat([first.energies, second.energies]), atol=1e-12)
    assert torch.equal(meta.propose(ansatzes, steps=4), both.best_params)
    lowest = torch.minimum(first.energies.min(0).values, second.energies.min(0).values)
    assert torch.allclose(both.best_energies, lowest, atol=1e-12)


def test_files_saved_before_the_second_start_load_without_one(tmp_path):
    meta = MetaOptimizer("gru", 2, hidden_size=4).double()
    state = {k: v for k, v in meta.state_dict().items() if not k.startswith("second_")}
    fresh = MetaOptimizer("gru", 2, hidden_size=4).double()
    fresh.second_fitted.fill_(True)
    fresh.load_state_dict(state)
    assert not bool(fresh.second_fitted)
    assert not bool(qaoa.pretrained("3-regular", 3).second_fitted)


def test_with_two_start_rules_phase_two_runs_from_each_rules_best_point_and_keeps_the_lower_end():
    meta, ansatzes = _two_rule_optimiser()
    with torch.no_grad():
        first = meta(ansatzes, 4, start=meta.start(ansatzes))
        second = meta(ansatzes, 4, start=meta.second_start(ansatzes))
    run = qaoa.two_phase(ansatzes, meta, steps=4, phase_two_steps=30)
    ends = [qaoa.optimize(ansatzes, t.best_params, optimizer="sgd", lr=0.01, steps=30) for t in (first, second)]
    lower = torch.minimum(ends[0].final_energies, ends[1].final_energies)
    assert torch.allclose(run.final_energies, lower, atol=1e-10)

    def steps(result):
        done = result.converged_at
        return torch.where(done >= 0, done, torch.full_like(done, result.energies.shape[0] - 1))

    assert torch.equal(run.phase_two_steps, steps(ends[0]) + steps(ends[1]))
    single = qaoa.two_phase(ansatzes, meta, steps=4, start=meta.start(ansatzes), phase_two_steps=30)
    assert single.discarded_steps is None and torch.allclose(single.final_energies, ends[0].final_energies, atol=1e-10)


def test_fit_start_rules_is_meta_trains_first_step_and_refuses_what_it_cannot_fit():
    """Fitting the start rules first and then training gives the bits of training alone (meta_train then skips
    its own fit); an optimiser without a start rule, or a negative probe size, is refused by name."""
    from applications.qaoa.meta import FITTED_START_STATE, fit_start_rules

    distribution = ProblemDistribution("3-regular", (6,))

    def trained(fit_first: bool) -> MetaOptimizer:
        torch.manual_seed(0)
        meta = MetaOptimizer("gru", 2, hidden_size=6)
        if fit_first:
            assert fit_start_rules(meta, distribution, p=1, seed=3) is meta and bool(meta.start_fitted)
        meta_train(meta, distribution, epochs=1, batches_per_epoch=1, batch_size=2, validation_size=2, steps=2, seed=3)
        return meta

    alone, fitted_first = trained(False).state_dict(), trained(True).state_dict()
    assert alone.keys() == fitted_first.keys() and all(torch.equal(alone[k], fitted_first[k]) for k in alone)
    assert set(FITTED_START_STATE) <= set(alone)
    with pytest.raises(TypeError, match=r"meta: expected a MetaOptimizer, got"):
        fit_start_rules(torch.nn.Linear(2, 2), distribution, p=1)
    for function in (fit_start_rules, meta_train):
        with pytest.raises(TypeError, match=r"distribution: expected a ProblemDistribution, got 'sk'"):
            function(MetaOptimizer("gru", 2), "sk", p=1)
    with pytest.raises(ValueError, match=r"meta: the 'absolute' proposal rule has a fixed start"):
        fit_start_rules(MetaOptimizer("gru", 2, proposal="absolute"), distribution, p=1)
    with pytest.raises(ValueError, match=r"impulse_problems: expected an integer >= 0, got -1"):
        fit_start_rules(MetaOptimizer("gru", 2), distribution, p=1, dc=True, impulse_problems=-1)
