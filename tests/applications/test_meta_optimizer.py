"""The meta-optimiser's construction, graph features and start, and ``two_phase``'s hand-over to Phase II.

Expected values are worked out here: the graph features from the graph's own counts, the paper's start 0.1 in
float64, the best point of each start rule's unroll read off its trajectory, and the settings ``two_phase``
documents for Phase II.
"""

import math

import networkx as nx
import pytest
import torch
from torch import nn

from applications.qaoa import QAOA, MaxCut
from applications.qaoa import meta as meta_module
from applications.qaoa.baselines import linear_ramp
from applications.qaoa.meta import MetaOptimizer, ProblemDistribution, two_phase

from ..helpers import RecordingCell, assert_refusals, spy


def five_node_graph() -> nx.Graph:
    """n = 5 and 5 edges: features n / 20 = 0.25 and mean degree / 10 = (2 * 5 / 5) / 10 = 0.2."""
    return nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3), (3, 4)])


def test_problem_features_are_size_over_20_and_mean_degree_over_10_in_the_models_dtype():
    outputs = [torch.zeros(1, 3, dtype=torch.float64) for _ in range(2)]
    stub = RecordingCell(6, 3, outputs)  # absolute rule, P = 2: theta, cost, its change, then the 2 features
    meta = MetaOptimizer(stub, 2, proposal="absolute", problem_features=True).double()
    meta(QAOA(MaxCut(five_node_graph()), 1), 2)
    for seen in stub.seen:
        assert seen.dtype == torch.float64
        assert seen[0, -2:].tolist() == [0.25, 0.2]


def test_the_absolute_rule_starts_at_the_papers_0_1_in_the_models_dtype_and_never_trains_its_start():
    meta = MetaOptimizer("gru", 2, hidden_size=3, proposal="absolute").double()
    trajectory = meta(QAOA(MaxCut(five_node_graph()), 1), 1)
    assert trajectory.params.dtype == torch.float64
    assert torch.equal(trajectory.params[0], torch.full((1, 2), 0.1, dtype=torch.float64))
    assert not meta.start_bias.requires_grad and not meta.start_slope.requires_grad
    residual = MetaOptimizer("gru", 2, hidden_size=3)
    assert residual.start_bias.requires_grad and residual.start_slope.requires_grad


def test_a_cell_module_brings_its_name_and_hidden_size_and_need_not_declare_an_input_size():
    class Bare(nn.Module):
        """A cell without an input_size attribute: the optimiser cannot check it, and takes it as it is."""

        hidden_size = 5

        def initial_state(self, batch_size=None, *, dtype=None, device=None):
            return torch.zeros(batch_size, 5, dtype=dtype)

        def forward(self, x, state):
            return state, state

    meta = MetaOptimizer(Bare(), 2, hidden_size=9)
    assert (meta.cell_name, meta.hidden_size, meta.head.in_features) == ("Bare", 5, 5)
    assert meta.notes == {} and meta.steps is None
    named = MetaOptimizer(RecordingCell(4, 3, []), 2, proposal="absolute")
    assert (named.cell_name, named.hidden_size) == ("RecordingCell", 3)
    assert_refusals(
        [
            (
                lambda: MetaOptimizer(RecordingCell(5, 3, []), 2, proposal="absolute", problem_features=True),
                ValueError,
                "cell: expected input_size 6 for the absolute rule with P = 2, the cost change, 2 features, got 5",
            ),
            (
                lambda: MetaOptimizer(nn.Linear(2, 2), 2),
                TypeError,
                "cell: expected a registered cell name or a cell module, got Linear(in_features=2, out_features=2, bias=True)",
            ),
        ]
    )


def regular_ansatzes(count: int) -> list[QAOA]:
    return [QAOA(MaxCut(nx.random_regular_graph(3, 6, seed=s)), 1) for s in range(count)]


def test_two_phase_hands_phase_two_the_documented_defaults_and_takes_one_ansatz_or_a_shared_start(monkeypatch):
    optimize = spy(monkeypatch, meta_module, "optimize")
    ansatz = regular_ansatzes(1)[0]
    start = torch.tensor([0.3, 0.2], dtype=torch.float64)
    result = two_phase(ansatz, start)  # one ansatz, not a list; a (P,) start shared by the batch
    ((args, kwargs),) = optimize
    assert args[0] == [ansatz] and torch.equal(args[1], start[None])
    assert kwargs == {"optimizer": "sgd", "lr": 0.01, "steps": 100, "tol": 1e-6}
    assert result.phase_one_energies.shape == (1,)
    assert_refusals([(lambda: two_phase([], start), ValueError, "ansatzes: expected at least one ansatz, got none")])


def two_rule_meta(hidden_size: int = 3) -> MetaOptimizer:
    """A float64 GRU optimiser with a second start rule kept, across the basin at gamma_1 = pi - 0.4."""
    meta = MetaOptimizer("gru", 2, hidden_size=hidden_size).double()
    with torch.no_grad():
        meta.second_bias.copy_(torch.tensor([math.pi - 0.4, 0.3]))
        meta.second_fitted.fill_(True)
    return meta


def test_two_start_rules_each_hand_their_own_best_point_to_phase_two(monkeypatch):
    torch.manual_seed(0)
    meta = two_rule_meta(hidden_size=4)
    with torch.no_grad():
        meta.head.weight.normal_()  # proposals that move, so each unroll's best row is not simply its start
    ansatzes = regular_ansatzes(3)
    with torch.no_grad():
        trajectory = meta(ansatzes, 3)
    assert trajectory.evaluations == 8  # two unrolls of T + 1 = 4 rows
    assert bool((trajectory.energies[:4].argmin(0) == 2).all())  # the first rule's best is its row 2: a split
    # of the rows anywhere but in the middle would hand Phase II another point
    expected = []
    for rows in (slice(0, 4), slice(4, 8)):
        energies, params = trajectory.energies[rows], trajectory.params[rows]
        best = energies.argmin(0)
        expected.append(params[best, torch.arange(3)])
    optimize = spy(monkeypatch, meta_module, "optimize")
    two_phase(ansatzes, meta, steps=3, optimizer="adam", lr=0.02, phase_two_steps=5, tol=1e-3)
    ((args, kwargs),) = optimize
    assert args[0] == ansatzes + ansatzes
    assert torch.allclose(args[1], torch.cat(expected).double(), rtol=0, atol=1e-12)
    assert kwargs == {"optimizer": "adam", "lr": 0.02, "steps": 5, "tol": 1e-3}  # every Phase II setting passed on


def test_with_two_rules_phase_two_keeps_the_lower_end_the_first_on_a_tie_and_counts_both_runs(monkeypatch):
    """Phase II's result is replaced by one written here: problem 0 ends lower from the second rule's point, problem
    1 ties (the first rule's run is kept). Steps: each problem's kept run plus the run it discarded."""
    from applications.qaoa.optimize import OptimizationResult

    meta = two_rule_meta()
    # columns: problem 0 from rule 1, problem 1 from rule 1, problem 0 from rule 2, problem 1 from rule 2
    energies = torch.tensor([[0.0, 0.0, 0.0, 0.0], [-1.0, -2.0, -1.5, -2.0]], dtype=torch.float64)
    params = torch.arange(16, dtype=torch.float64).reshape(2, 4, 2)
    converged_at = torch.tensor([1, -1, 0, 1])  # steps taken: 1, 1 (never stopped: all), 0, 1
    phase_two = OptimizationResult(params, energies, converged_at)
    monkeypatch.setattr(meta_module, "optimize", lambda *args, **kwargs: phase_two)
    result = two_phase(regular_ansatzes(2), meta, steps=1, phase_two_steps=1)
    assert result.final_energies.tolist() == [-1.5, -2.0]
    assert torch.equal(result.final_params, params[-1, [2, 1]])
    assert result.phase_two.converged_at.tolist() == [0, -1]
    assert result.phase_two_steps.tolist() == [0 + 1, 1 + 1]  # kept + discarded: (rule 2, rule 1), (rule 1, rule 2)


def test_two_phase_unrolls_ten_proposals_by_default():
    meta = MetaOptimizer("gru", 2, hidden_size=3).double()
    assert two_phase(regular_ansatzes(1), meta, phase_two_steps=1).phase_one.evaluations == 11


def test_problem_distributions_draw_from_their_own_seed_whatever_the_global_generator():
    from applications.qaoa.problems import MaxCut as MaxCutProblem

    for kind, sizes in (
        ("erdos-renyi", (5, 6, 7)),
        ("3-regular", (4, 6)),
        ("complete-weighted", (3, 5)),
        ("sk", (3, 4)),
    ):
        distribution = ProblemDistribution(kind, sizes)
        torch.manual_seed(0)
        first = distribution.sample(6, seed=11)
        torch.manual_seed(1)
        again = distribution.sample(6, seed=11)
        assert [q.n for q in first] == [q.n for q in again] and {q.n for q in first} <= set(sizes)
        assert [sorted(q.terms) for q in first] == [sorted(q.terms) for q in again], kind
    sk = ProblemDistribution("sk", (3,)).sample(2, seed=0)
    assert all(not isinstance(q, MaxCutProblem) and q.n == 3 for q in sk)  # SK instances, not graphs
    weighted = ProblemDistribution("complete-weighted", (4,)).sample(1, seed=0)[0]
    assert isinstance(weighted, MaxCutProblem) and weighted.n == 4 and len(weighted.terms) == 6
    assert ProblemDistribution("erdos-renyi", (2,)).sizes == (2,)  # n = 2 is the smallest graph with an edge
    assert_refusals(
        [
            (lambda: ProblemDistribution("sk", ()), "sizes: expected integers >= 2, got ()"),
            (lambda: ProblemDistribution("sk", (1,)), "sizes: expected integers >= 2, got (1,)"),
            (lambda: ProblemDistribution("sk", (True,)), "sizes: expected integers >= 2, got (True,)"),
            (lambda: ProblemDistribution("sk", (4.0,)), "sizes: expected integers >= 2, got (4.0,)"),
        ],
        ValueError,
    )


def test_load_fills_missing_notes_refuses_pickled_objects_and_names_a_missing_file(tmp_path):
    meta = MetaOptimizer("gru", 2, hidden_size=3)
    path = meta.save(tmp_path / "meta.pt", steps=4)
    saved = torch.load(path, weights_only=True)
    del saved["notes"]
    torch.save(saved, tmp_path / "old.pt")
    assert MetaOptimizer.load(tmp_path / "old.pt").notes == {}
    torch.save({**saved, "notes": {"recipe": nn.Linear(1, 1)}}, tmp_path / "pickled.pt")  # code, not plain data
    missing = tmp_path / "none.pt"
    assert_refusals(
        [
            (
                lambda: MetaOptimizer.load(tmp_path / "pickled.pt"),
                ValueError,
                f"path: {tmp_path / 'pickled.pt'} is not a readable meta-optimiser file (UnpicklingError)",
            ),
            (
                lambda: MetaOptimizer.load(missing),
                FileNotFoundError,
                f"path: expected a meta-optimiser file written by MetaOptimizer.save, got {str(missing)!r}, "
                "which does not exist",
            ),
            (
                lambda: MetaOptimizer("gru", 2, hidden_size=3).propose(regular_ansatzes(1)),
                ValueError,
                "steps: this optimiser has no trained horizon (meta.steps is None: not trained by meta_train "
                "nor loaded from a file); pass steps",
            ),
        ]
    )


def test_a_cell_gone_non_finite_is_named_with_its_step():
    outputs = [torch.full((1, 3), float("nan"), dtype=torch.float64)]
    meta = MetaOptimizer(RecordingCell(4, 3, outputs), 2, proposal="absolute").double()
    assert_refusals(
        [
            (
                lambda: meta(regular_ansatzes(1), 3),
                ValueError,
                "meta: the cell proposed non-finite parameters at Phase I step 1 of 3 "
                "(its weights or state are no longer finite)",
            )
        ]
    )


def line_fit(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, c) of y ~ a + c x per column by ordinary least squares (LAPACK's gelsd through torch, float64)."""
    design = torch.stack([torch.ones_like(x), x], dim=1)
    solution = torch.linalg.lstsq(design, y, driver="gelsd").solution
    return solution[0], solution[1]


@pytest.mark.parametrize("gain", [-1.0, float("inf")])
def test_fit_start_fits_both_rules_to_the_optima_it_found_and_keeps_the_second_by_its_gain(monkeypatch, gain):
    """First rule: the best, by mean scaled energy, of the least-squares line through the optimised angles
    against x = 1 / sqrt(mean degree) and the linear ramp; second: Adam from the first with gamma_1 - pi, a line
    fitted to the problems it won, kept when the mean gain exceeds SECOND_START_GAIN (forced either way here)."""
    from applications.qaoa.meta import inverse_sqrt_degree
    from applications.qaoa.problems import erdos_renyi_maxcut

    monkeypatch.setattr(meta_module, "SECOND_START_GAIN", gain)
    runs = spy(monkeypatch, meta_module, "optimize", keep_result=True)  # (args, options, result)
    problems = [erdos_renyi_maxcut(n, q, seed=s) for s, (n, q) in enumerate([(5, 0.5), (6, 0.8), (6, 0.4), (7, 0.6)])]
    meta = MetaOptimizer("gru", 2, hidden_size=3).double().fit_start(problems, 1, steps=40)
    ansatzes = [QAOA(q, 1) for q in problems]
    x = torch.tensor([inverse_sqrt_degree(q) for q in problems], dtype=torch.float64)
    centred = x - x.mean()
    ((_, init), options, first), ((_, shifted), options_two, second) = runs
    assert torch.equal(init, torch.stack([linear_ramp(a) for a in ansatzes]))
    assert options == options_two == {"optimizer": "adam", "lr": 0.05, "steps": 40}
    scales = torch.tensor([float(sum(abs(w) for *_, w in q.terms)) for q in problems], dtype=torch.float64)

    def mean_cost(bias, slope):
        return float((meta_module.batch_energy(ansatzes, bias + slope * centred[:, None]) / scales).mean())

    fitted = line_fit(centred, first.final_params)
    candidates = [fitted, (init[0], torch.zeros(2, dtype=torch.float64))]
    bias, slope = min(candidates, key=lambda c: mean_cost(*c))
    assert float(meta.start_reference) == pytest.approx(float(x.mean()), rel=1e-12)
    assert torch.allclose(meta.start_bias.detach(), bias, atol=1e-10) and torch.allclose(
        meta.start_slope.detach(), slope, atol=1e-10
    )
    expected_shift = meta.start(ansatzes).detach() - torch.tensor([math.pi, 0.0], dtype=torch.float64)
    assert torch.allclose(shifted, expected_shift, atol=1e-12)
    wins = second.final_energies < first.final_energies
    assert wins.tolist() == [False, True, False, False]  # one problem's optimum lies across: the rule is its angles
    second_bias, second_slope = second.final_params[1], torch.zeros(2, dtype=torch.float64)
    kept = gain < 0
    assert bool(meta.second_fitted) is kept
    zero = torch.zeros(2, dtype=torch.float64)
    assert torch.allclose(meta.second_bias, second_bias if kept else zero, atol=1e-9)
    assert torch.allclose(meta.second_slope, second_slope if kept else zero, atol=1e-9)


def two_scales() -> tuple[list, list[QAOA], torch.Tensor, dict[str, torch.Tensor]]:
    """The 5-node graph (coupling sum 5) and K4 with weights 10 (sum 60); chosen angles for each (a good point for the
    small problem, a point a little worse than the ramp for K4) and the energies of those and of the ramp."""
    small = MaxCut(five_node_graph())
    k4 = nx.complete_graph(4)
    nx.set_edge_attributes(k4, 10.0, "weight")
    problems = [small, MaxCut(k4)]
    ansatzes = [QAOA(q, 1) for q in problems]
    ramp = linear_ramp(ansatzes[0])
    chosen = torch.stack([torch.tensor([-0.7, -1.2], dtype=torch.float64), ramp + torch.tensor([-0.009, 0.0])])
    energies = {
        "chosen": meta_module.batch_energy(ansatzes, chosen),
        "ramp": meta_module.batch_energy(ansatzes, ramp.expand(2, 2)),
    }
    return problems, ansatzes, chosen, energies


def replace_optimize(monkeypatch, *runs) -> None:
    """fit_start's two Adam runs (first basin, then across gamma_1 - pi) return these (params, energies)."""
    from types import SimpleNamespace

    results = iter([SimpleNamespace(final_params=q, final_energies=e) for q, e in runs])
    monkeypatch.setattr(meta_module, "optimize", lambda *args, **kwargs: next(results))


def test_fit_start_compares_its_candidates_by_scaled_energy_not_by_energy(monkeypatch):
    """In scaled energy (energy / coupling sum, the unit the optimiser sees) the line through the chosen angles
    beats the linear ramp; in raw energy K4's loss outweighs the gain, and the ramp would win. fit_start must keep
    the line, whose bias at the centred x = 0 is the mean of the two points."""
    problems, ansatzes, chosen, energies = two_scales()
    scales = torch.tensor([5.0, 60.0], dtype=torch.float64)
    assert float((energies["chosen"] / scales).mean()) < float((energies["ramp"] / scales).mean())
    assert float(energies["chosen"].mean()) > float(energies["ramp"].mean())  # the test tells the two rules apart
    replace_optimize(monkeypatch, (chosen, energies["chosen"]), (chosen, energies["chosen"] + 100.0))
    meta = MetaOptimizer("gru", 2, hidden_size=3).double().fit_start(problems, 1)
    assert torch.allclose(meta.start_bias.detach(), chosen.mean(0), rtol=0, atol=1e-12)
    assert torch.allclose(meta.start(ansatzes).detach(), chosen, rtol=0, atol=1e-12)
    assert not bool(meta.second_fitted)


def test_a_second_rule_not_worth_its_gain_leaves_no_trace(monkeypatch):
    """Both problems find lower optima across the basin, at distinct angles (a line with a slope), but the gain is
    below SECOND_START_GAIN: the second rule's bias and slope stay zero and Phase I unrolls from one rule."""
    problems, ansatzes, chosen, energies = two_scales()
    across = chosen + torch.tensor([[3.0, 0.2], [2.5, -0.3]], dtype=torch.float64)
    replace_optimize(monkeypatch, (chosen, energies["chosen"]), (across, energies["chosen"] - 1e-6))
    meta = MetaOptimizer("gru", 2, hidden_size=3).double().fit_start(problems, 1)
    assert not bool(meta.second_fitted) and meta.second_start(ansatzes) is None
    zero = torch.zeros(2, dtype=torch.float64)
    assert torch.equal(meta.second_bias, zero) and torch.equal(meta.second_slope, zero)


def test_fit_start_builds_dc_ansatzes_runs_150_steps_by_default_and_refuses_a_mismatched_depth(monkeypatch):
    from applications.qaoa.problems import random_regular_maxcut

    runs = spy(monkeypatch, meta_module, "optimize", keep_result=True)  # (args, options, result)
    one = [random_regular_maxcut(4, seed=0)]  # one 3-regular graph: the fixed angles compete too
    dc = MetaOptimizer("gru", 6, hidden_size=3).double().fit_start(one, 2, dc=True, steps=2)
    assert bool(dc.start_fitted) and runs[-1][1]["steps"] == 2
    MetaOptimizer("gru", 2, hidden_size=3).double().fit_start(one, 1)
    assert [options["steps"] for _, options, _ in runs[-2:]] == [150, 150]
    meta = MetaOptimizer("gru", 2, hidden_size=3)
    assert_refusals(
        [
            (lambda: meta.fit_start([], 1), "problems: expected at least one training problem, got none"),
            (lambda: meta.fit_start(one, 2), "p, dc: the ansatz has 4 parameters, the optimiser 2"),
        ],
        ValueError,
    )


def test_the_default_cell_is_a_20_unit_lstm_and_the_size_refusals_name_their_argument():
    from cells.gated import LSTM

    meta = MetaOptimizer()
    assert (meta.cell_name, meta.hidden_size, meta.num_params, meta.proposal) == ("lstm", 20, 2, "residual")
    assert isinstance(meta.cell, LSTM) and meta.cell.input_size == 6  # theta (2), 4 residual features
    assert_refusals(
        [
            (lambda: MetaOptimizer("lstm", 2, hidden_size=0), "hidden_size: expected an integer >= 1, got 0"),
            (
                lambda: MetaOptimizer(RecordingCell(4, 3, []), 2, proposal="absolute", use_delta=False),
                "cell: expected input_size 3 for the absolute rule with P = 2, got 4",
            ),
        ],
        ValueError,
    )


def test_a_cell_module_without_a_hidden_size_gets_a_head_of_the_given_width():
    class Anonymous(nn.Module):
        input_size = 4

        def initial_state(self, batch_size=None, *, dtype=None, device=None):
            return torch.zeros(batch_size, 7, dtype=dtype)

        def forward(self, x, state):
            return state, state

    meta = MetaOptimizer(Anonymous(), 2, hidden_size=7, proposal="absolute")
    assert (meta.hidden_size, meta.head.in_features, meta.head.out_features) == (7, 7, 2)


RULES = {
    "start_bias": [0.3, -0.2],
    "start_slope": [0.7, 1.1],
    "second_bias": [2.5, 0.4],
    "second_slope": [-0.9, 0.35],
}


def test_both_start_rules_are_bias_plus_slope_times_the_centred_inverse_root_degree_in_float64():
    """x = 1 / sqrt(mean degree): 1 / sqrt(3) for a 3-regular graph and 1 / sqrt(2) for the 5-node graph (d = 2),
    centred at 0.6 -- values float32 cannot hold, so a rule computed in float32 is off by about 1e-8."""
    meta = MetaOptimizer("gru", 2, hidden_size=3).double()
    rules = {name: torch.tensor(values, dtype=torch.float64) for name, values in RULES.items()}
    with torch.no_grad():
        for name, value in rules.items():
            getattr(meta, name).copy_(value)
        meta.start_reference.fill_(0.6)
        meta.second_fitted.fill_(True)
    ansatzes = [regular_ansatzes(1)[0], QAOA(MaxCut(five_node_graph()), 1)]
    x = torch.tensor([1 / math.sqrt(3.0), 1 / math.sqrt(2.0)], dtype=torch.float64) - 0.6
    first = rules["start_bias"] + rules["start_slope"] * x[:, None]
    second = rules["second_bias"] + rules["second_slope"] * x[:, None]
    assert torch.allclose(meta.start(ansatzes), first, rtol=1e-14, atol=0)
    assert torch.allclose(meta.second_start(ansatzes), second, rtol=1e-14, atol=0)


def test_the_start_rule_is_made_where_the_weights_live_and_load_puts_them_on_map_location(tmp_path):
    # "meta", a device without data, stands in for an accelerator on a CPU-only machine
    meta = MetaOptimizer("gru", 2, hidden_size=3).to("meta")
    assert meta.start(regular_ansatzes(2)).device.type == "meta"
    path = MetaOptimizer("gru", 2, hidden_size=3).save(tmp_path / "meta.pt", steps=2)
    assert {q.device.type for q in MetaOptimizer.load(path, map_location="meta").parameters()} == {"meta"}


def test_forward_refuses_a_start_of_another_batch_and_names_steps_and_start():
    meta = MetaOptimizer("gru", 2, hidden_size=3).double()
    ansatzes = regular_ansatzes(2)
    assert_refusals(
        [
            (
                lambda: meta(ansatzes, 2, torch.zeros(1, 2, dtype=torch.float64)),  # (1, P) is not broadcast
                ValueError,
                "start: expected shape (2,) or (2, 2), got (1, 2)",
            ),
            (lambda: meta(ansatzes, 0), ValueError, "steps: expected an integer >= 1, got 0"),
            (lambda: meta(ansatzes, 2, [0.1, 0.2]), TypeError, "start: expected a torch.Tensor, got [0.1, 0.2]"),
        ]
    )


def coupling_sum_1_2() -> nx.Graph:
    """A triangle with weights 0.1, 0.7 and 0.4: coupling sum 1.2, which float32 cannot hold."""
    graph = nx.Graph()
    graph.add_weighted_edges_from([(0, 1, 0.1), (1, 2, 0.7), (2, 0, 0.4)])
    return graph


def test_a_baseline_start_is_scaled_by_the_problems_float64_coupling_sum():
    """Weights 0.1 + 0.7 + 0.4 = 1.2 (not a float32 number): Phase I's scaled energy is energy / 1.2 in float64."""
    ansatz = QAOA(MaxCut(coupling_sum_1_2()), 1)
    result = two_phase(ansatz, torch.tensor([0.3, 0.2], dtype=torch.float64), phase_two_steps=1)
    energies = result.phase_one.energies
    assert energies.dtype == torch.float64
    assert torch.allclose(result.phase_one.scaled, energies / 1.2, rtol=1e-15, atol=0)


def test_the_erdos_renyi_family_draws_edge_probability_j_over_n_with_the_seed_sample_documents():
    from applications.qaoa.problems import erdos_renyi_maxcut

    generator = torch.Generator().manual_seed(3)  # per problem: the size's index, the graph's seed, then j's index
    sizes, factors = (8, 9), (2.0, 1)  # j = 1 is a valid factor: any positive number is
    expected = []
    for _ in range(4):
        n = sizes[int(torch.randint(2, (1,), generator=generator))]
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        j = factors[int(torch.randint(2, (1,), generator=generator))]
        expected.append(erdos_renyi_maxcut(n, min(1.0, j / n), seed=seed))
    drawn = ProblemDistribution("erdos-renyi", sizes, edge_factor=factors).sample(4, seed=3)
    assert [sorted(q.terms) for q in drawn] == [sorted(q.terms) for q in expected]
    assert all(len(q.terms) < q.n * (q.n - 1) // 2 for q in drawn)  # sparse draws, not complete graphs


def test_the_complete_weighted_family_draws_kn_with_the_seed_sample_documents():
    from applications.qaoa.problems import complete_weighted_maxcut

    generator = torch.Generator().manual_seed(5)  # per problem: the size's index, then the graph's seed
    sizes = (4, 5)
    expected = []
    for _ in range(3):
        n = sizes[int(torch.randint(2, (1,), generator=generator))]
        expected.append(complete_weighted_maxcut(n, seed=int(torch.randint(2**31 - 1, (1,), generator=generator))))
    drawn = ProblemDistribution("complete-weighted", sizes).sample(3, seed=5)
    assert [sorted(q.terms) for q in drawn] == [sorted(q.terms) for q in expected]


def test_save_refuses_a_bad_horizon_or_notes_and_names_them(tmp_path):
    meta = MetaOptimizer("gru", 2, hidden_size=3)
    assert_refusals(
        [
            (lambda: meta.save(tmp_path / "a.pt", steps=0), ValueError, "steps: expected an integer >= 1, got 0"),
            (
                lambda: meta.save(tmp_path / "b.pt", notes=[1]),
                TypeError,
                "notes: expected a dict of plain data or None, got [1]",
            ),
        ]
    )
    assert not any(tmp_path.iterdir())  # nothing written


def test_constructor_defaults_flags_head_scale_cell_settings_and_refusals():
    meta = MetaOptimizer("gru", 2, hidden_size=20)
    assert meta.step_scale == 0.5 and meta.use_delta and not meta.problem_features
    assert MetaOptimizer.input_size_for(2, "residual") == 6 and MetaOptimizer.input_size_for(2, "absolute") == 4
    assert meta.start_fitted.dtype == meta.second_fitted.dtype == torch.bool  # flags, saved as such
    # the residual rule's head starts at a tenth of nn.Linear's U(-1/sqrt(20), 1/sqrt(20)): small proposals
    assert float(meta.head.weight.detach().abs().max()) <= 0.1 / math.sqrt(20) and not bool(meta.head.bias.any())
    plain = MetaOptimizer("gru", 2, hidden_size=3, cell_kwargs={"bias": False})  # handed to the cell
    assert [name for name, _ in plain.cell.named_parameters()] == ["weight_ih", "weight_hh"]
    assert_refusals(
        [
            (lambda: MetaOptimizer("gru", 0), "num_params: expected an integer >= 1, got 0"),
            (lambda: MetaOptimizer("gru", 2, step_scale=0.0), "step_scale: expected a positive finite number, got 0.0"),
        ],
        ValueError,
    )


def test_phase_one_refuses_no_ansatz_or_a_non_ansatz_and_two_phase_a_bad_start():
    meta = MetaOptimizer("gru", 2, hidden_size=3)
    ansatz = regular_ansatzes(1)[0]
    assert_refusals(
        [
            (lambda: meta([], 1), ValueError, "ansatzes: expected at least one ansatz, got none"),
            (lambda: meta(["x"], 1), TypeError, "ansatzes: expected QAOA or DCQAOA ansatzes, got 'x'"),
            (
                lambda: two_phase(ansatz, torch.zeros(1, 3, dtype=torch.float64)),
                ValueError,
                "phase_one: expected shape (1, 2), got (1, 3)",
            ),
            (
                lambda: two_phase(ansatz, "x"),
                TypeError,
                "phase_one: expected a MetaOptimizer or a (batch, num_params) start tensor, got 'x'",
            ),
        ]
    )


def test_the_residual_cell_sees_the_step_fraction_and_scaled_energies_in_float64():
    """Steps 0, 1, 2 of T = 3: the last input is 0, 1/3, 2/3 (no float32 numbers); a graph with weights 0.1, 0.7,
    0.4 scales its energies by 1.2; a float32 start is taken in the model's float64."""
    ansatz = QAOA(MaxCut(coupling_sum_1_2()), 1)
    outputs = [torch.full((1, 3), 0.1 * (k + 1), dtype=torch.float64) for k in range(3)]
    stub = RecordingCell(6, 3, outputs)
    meta = MetaOptimizer(stub, 2).double()
    start = torch.tensor([0.3, 0.2], dtype=torch.float32)
    with torch.no_grad():
        trajectory = meta(ansatz, 3, start)
    assert [float(seen[0, -1]) for seen in stub.seen] == [0.0, 1 / 3, 2 / 3]
    assert trajectory.params.dtype == trajectory.energies.dtype == torch.float64
    assert torch.allclose(trajectory.scaled, trajectory.energies / 1.2, rtol=1e-15, atol=0)
    first = ansatz.energy(start.double()[None])[0]
    assert float(trajectory.energies[0, 0]) == pytest.approx(float(first), rel=1e-15)


@pytest.mark.parametrize("gain_at_threshold", [False, True])
def test_the_second_rule_is_the_line_through_the_problems_that_win_across(monkeypatch, gain_at_threshold):
    """Three problems (x = 1/sqrt(2), 1/sqrt(3), 1/2); across the basin, problems 0 and 2 end lower and problem 1
    ties (a tie is no win). The second rule is the line through the two winners' angles, so it reproduces them at
    their x. A gain exactly at SECOND_START_GAIN is not enough: no second rule then."""
    from applications.qaoa.meta import coupling_scales

    problems, _, _, _ = two_scales()
    problems = problems + [MaxCut(nx.complete_graph(5))]
    ansatzes = [QAOA(q, 1) for q in problems]
    chosen = torch.tensor([[-0.7, -1.2], [-0.4, 0.37], [-0.5, 0.3]], dtype=torch.float64)
    energies = meta_module.batch_energy(ansatzes, chosen)
    across = torch.tensor([[2.4, 0.5], [2.6, -0.2], [2.9, 0.1]], dtype=torch.float64)
    across_energies = energies - torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    if gain_at_threshold:  # the gain as fit_start computes it, made the threshold
        scales = coupling_scales(ansatzes, torch.float64, "cpu")
        usual = energies / scales
        gain = float((usual - torch.minimum(usual, across_energies / scales)).mean())
        monkeypatch.setattr(meta_module, "SECOND_START_GAIN", gain)
    replace_optimize(monkeypatch, (chosen, energies), (across, across_energies))
    meta = MetaOptimizer("gru", 2, hidden_size=3).double().fit_start(problems, 1)
    assert bool(meta.second_fitted) is not gain_at_threshold
    if not gain_at_threshold:
        second = meta.second_start(ansatzes).detach()
        assert torch.allclose(second[[0, 2]], across[[0, 2]], rtol=0, atol=1e-12)
        assert not torch.allclose(second[1], across[1], rtol=0, atol=1e-3)  # the tied problem is not on the line


def test_load_refuses_files_that_are_not_meta_optimisers_and_round_trips_four_parameters(tmp_path):
    deeper = MetaOptimizer("gru", 4, hidden_size=3)
    assert MetaOptimizer.load(deeper.save(tmp_path / "p2.pt", steps=3)).num_params == 4
    saved = torch.load(tmp_path / "p2.pt", weights_only=True)
    files = {
        "list.pt": [1, 2],
        "format.pt": {**saved, "format": "other/1"},
        "settings.pt": {**saved, "config": {**saved["config"], "hidden_size": 0}},
        "state.pt": {**saved, "state": {}},
    }
    for name, content in files.items():
        torch.save(content, tmp_path / name)
    not_meta = "path: {} is not a ornn.meta/1 file written by MetaOptimizer.save"
    assert_refusals(
        [
            (lambda: MetaOptimizer.load(tmp_path / "list.pt"), not_meta.format(tmp_path / "list.pt")),
            (lambda: MetaOptimizer.load(tmp_path / "format.pt"), not_meta.format(tmp_path / "format.pt")),
            (
                lambda: MetaOptimizer.load(tmp_path / "settings.pt"),
                f"path: {tmp_path / 'settings.pt'} holds settings that do not build a meta-optimiser "
                "(hidden_size: expected an integer >= 1, got 0)",
            ),
        ],
        ValueError,
    )
    with pytest.raises(ValueError) as refused:
        MetaOptimizer.load(tmp_path / "state.pt")
    assert str(refused.value).startswith(
        f"path ({tmp_path / 'state.pt'}): the saved weights do not fit the model built from the run's settings ("
    )
