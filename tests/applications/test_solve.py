"""QAOA on a user's graph: ``MetaOptimizer.propose``, the saved horizon, ``solve`` and ``ornn qaoa solve``.

Independent references: cut values from ``networkx.cut_size`` on the node set a bitstring puts on side 1, and
expected cuts summed over all 2^n basis states from those cut values (not from our cost diagonal). Tolerances:
float64 state vectors of at most 2^10 amplitudes, so sums agree to 1e-10.
"""

import importlib
import inspect
import json

import networkx as nx
import pytest
import torch

from applications import qaoa
from applications.qaoa import MetaOptimizer, ProblemDistribution, meta_train, solve
from ornn_cli.main import main

from ..helpers import assert_refusals, spy


def _cut(graph, nodes, bitstring, weight="weight"):
    side = {node for node, bit in zip(nodes, bitstring) if bit == "1"}
    return nx.cut_size(graph, side, weight=weight)


def _expected_cut(graph, result, weight="weight"):
    """sum_z |psi_z|^2 cut(z) over every basis state, the cut of z counted by networkx."""
    problem = qaoa.MaxCut(graph)
    ansatz = qaoa.make_ansatz(problem, result.p, dc=result.dc)
    probabilities = ansatz.state(result.params).abs() ** 2
    n = len(result.nodes)
    total = 0.0
    for index in range(2**n):
        bits = format(index, f"0{n}b")
        total += float(probabilities[index]) * _cut(graph, result.nodes, bits, weight)
    return total


@pytest.fixture(scope="module")
def petersen():
    return nx.petersen_graph()


def test_propose_is_the_best_of_phase_one_and_defaults_to_the_trained_horizon():
    meta = qaoa.pretrained("3-regular", 2)
    assert meta.steps == 6
    ansatzes = [qaoa.make_ansatz(qaoa.random_regular_maxcut(8, seed=s), 2) for s in (1, 2)]
    proposed = meta.propose(ansatzes)
    with torch.no_grad():
        trajectory = meta(ansatzes, 6)
    assert proposed.shape == (2, 4) and not proposed.requires_grad
    assert torch.equal(proposed, trajectory.best_params)
    energies = torch.stack([a.energy(x) for a, x in zip(ansatzes, proposed)])
    assert torch.allclose(energies, trajectory.energies.min(0).values, rtol=0, atol=1e-12)
    assert (energies <= trajectory.energies[0] + 1e-12).all()  # never behind its own start
    assert torch.equal(meta.propose(ansatzes, steps=2), meta(ansatzes, 2).best_params)


def test_propose_without_a_horizon_says_so_and_meta_train_sets_it(tmp_path):
    torch.manual_seed(0)
    meta = MetaOptimizer("gru", 2, hidden_size=4).double()
    ansatz = qaoa.make_ansatz(qaoa.random_regular_maxcut(6, seed=1), 1)
    with pytest.raises(ValueError, match=r"steps: this optimiser has no trained horizon"):
        meta.propose([ansatz])
    meta_train(meta, ProblemDistribution("3-regular", (6,)), steps=3, epochs=1, batches_per_epoch=1, batch_size=2)
    assert meta.steps == 3
    path = meta.save(tmp_path / "meta.pt")
    loaded = MetaOptimizer.load(path)
    assert loaded.steps == 3
    assert torch.equal(loaded.propose([ansatz]), meta.propose([ansatz]))


def test_solve_from_the_pretrained_start_on_a_three_regular_graph(petersen):
    result = solve(petersen, 2)
    assert result.start_method == "pretrained 3-regular p=2 (lstm)"
    assert result.phase_one_evaluations == 7 and result.evaluations == 7 + result.phase_two_steps
    assert result.expected_cut == pytest.approx(_expected_cut(petersen, result), abs=1e-10)
    assert result.max_cut == 12.0  # the Petersen graph's maximum cut (15 edges, not bipartite: 12 by brute force)
    assert result.approximation_ratio == pytest.approx(result.expected_cut / 12.0, abs=1e-12)
    assert -result.start_energy <= result.expected_cut + 1e-12  # Phase II keeps its best point
    assert result.approximation_ratio > 0.9  # the p = 2 optimum on this graph is 0.925; the ramp gives 0.77
    probabilities = [row["probability"] for row in result.top]
    assert len(result.top) == 5 and probabilities == sorted(probabilities, reverse=True)
    for row in result.top:
        assert row["cut"] == _cut(petersen, result.nodes, row["bitstring"])
    assert result.top[0]["cut"] == 12.0


def test_scaling_every_weight_scales_the_cut_and_divides_gamma(petersen):
    """Weights c w are the same circuit with gamma / c: same probabilities, cut times c, gammas over c."""
    heavy = petersen.copy()
    for u, v in heavy.edges:
        heavy[u][v]["capacity"] = 7.5
    for start in ("ramp", "pretrained"):
        plain = solve(petersen, 2, start=start, steps=20)
        scaled = solve(heavy, 2, start=start, steps=20, weight="capacity")
        assert scaled.expected_cut == pytest.approx(7.5 * plain.expected_cut, rel=1e-10)
        assert scaled.approximation_ratio == pytest.approx(plain.approximation_ratio, abs=1e-10)
        gammas, betas = scaled.params.view(2, 2).unbind(1), plain.params.view(2, 2).unbind(1)
        assert torch.allclose(gammas[0] * 7.5, betas[0], atol=1e-10)  # gamma_k
        assert torch.allclose(gammas[1], betas[1], atol=1e-10)  # beta_k
        assert [r["bitstring"] for r in scaled.top] == [r["bitstring"] for r in plain.top]
        assert scaled.start_method == plain.start_method


def test_weighted_graph_cuts_and_a_given_tensor_start_in_the_graphs_units():
    graph = nx.Graph()
    graph.add_weighted_edges_from([(0, 1, 2.0), (1, 2, 0.5), (2, 3, 3.0), (3, 0, 1.0), (0, 2, 1.5)])
    theta = torch.tensor([-0.3, 0.4])
    result = solve(graph, 1, start=theta, steps=0)
    assert torch.equal(result.start_params, theta.double()) and torch.equal(result.params, theta.double())
    assert result.phase_one_evaluations == 1 and result.phase_two_steps == 0
    assert result.expected_cut == pytest.approx(_expected_cut(graph, result), abs=1e-10)
    assert result.max_cut == max(
        _cut(graph, result.nodes, format(z, "04b")) for z in range(16)
    )  # brute force over the 16 partitions
    assert result.start_method == "given tensor"


def test_named_zero_query_starts_are_the_baselines(petersen):
    degree = solve(nx.cycle_graph(8), 1, start="degree-rule", steps=0)
    assert torch.allclose(degree.start_params, torch.tensor([-(1.19 / 2**0.5 - 0.078), 0.314], dtype=torch.float64))
    fixed = solve(petersen, 2, start="fixed-angles", steps=0)
    assert torch.allclose(fixed.start_params, torch.tensor([-0.488, 0.555, -0.898, 0.293], dtype=torch.float64))
    ramp = solve(petersen, 2, start="ramp", steps=0)
    assert torch.allclose(ramp.start_params, torch.tensor([-0.1875, 0.5625, -0.5625, 0.1875], dtype=torch.float64))
    first, again = (
        solve(petersen, 1, start="random", seed=3, steps=0),
        solve(petersen, 1, start="random", seed=3, steps=0),
    )
    assert torch.equal(first.start_params, again.start_params)


def test_shots_are_reproducible_from_the_seed_and_carry_their_cuts(petersen):
    a = solve(petersen, 1, start="fixed-angles", steps=5, shots=200, seed=4)
    b = solve(petersen, 1, start="fixed-angles", steps=5, shots=200, seed=4)
    c = solve(petersen, 1, start="fixed-angles", steps=5, shots=200, seed=5)
    assert a.samples == b.samples and a.samples != c.samples and len(a.samples) == 200
    assert a.sample_cuts == [_cut(petersen, a.nodes, s) for s in a.samples]
    assert a.best_sample["cut"] == max(a.sample_cuts)
    assert solve(petersen, 1, start="fixed-angles", steps=0).best_sample is None
    data = json.loads(json.dumps(a.to_dict()))
    assert data["samples"] == a.samples and data["evaluations"] == a.evaluations


def test_a_run_folder_of_ornn_qaoa_train_is_a_start_and_its_meta_file_loads(tmp_path, capsys):
    run = tmp_path / "run"
    flags = ["--kind", "3-regular", "--train-sizes", "6", "--steps", "2", "--p", "1"]
    assert main(["qaoa", "train", "--cell", "gru", "--hidden", "4", "--epochs", "1", "--out", str(run), *flags]) == 0
    meta = MetaOptimizer.load(run / "meta.pt")
    assert meta.steps == 2 and meta.cell_name == "gru" and meta.hidden_size == 4
    best = torch.load(run / "best.pt", weights_only=True)
    assert all(torch.equal(best[k].double(), v) for k, v in meta.state_dict().items())
    graph = nx.random_regular_graph(3, 8, seed=2)
    from_folder = solve(graph, 1, start=run, steps=0)
    from_file = solve(graph, 1, start=meta, steps=0)
    assert from_folder.phase_one_evaluations == 3
    assert torch.allclose(from_folder.params, from_file.params, atol=1e-12)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda g: solve(nx.path_graph(25), 1), ValueError, r"graph: expected at most 24 nodes .*got 25"),
        (lambda g: solve(nx.DiGraph([(0, 1)]), 1), TypeError, r"graph: expected an undirected networkx.Graph"),
        (lambda g: solve(g, 1, start="fixed-angles"), ValueError, r"start: 'fixed-angles' does not apply"),
        (lambda g: solve(g, 2, start="degree-rule"), ValueError, r"start: 'degree-rule' does not apply.*p = 1"),
        (lambda g: solve(g, 3, dc=True), ValueError, r"start: no pretrained initialiser for p = 3 with dc"),
        (lambda g: solve(g, 1, start="nowhere"), ValueError, r"start: expected one of pretrained.*'nowhere'"),
        (lambda g: solve(g, 1, start=torch.zeros(3)), ValueError, r"start: expected a tensor of shape \(2,\)"),
        (lambda g: solve(g, 1, start=3), TypeError, r"start: expected one of .*got 3$"),
        (lambda g: solve(g, 1, optimizer="newton"), ValueError, r"optimizer: expected one of adam"),
        (lambda g: solve(g, 1, top=0), ValueError, r"top"),
        (lambda g: solve(g, 1, shots=-1), ValueError, r"shots"),
        (lambda g: solve(g, 1, weight=3), TypeError, r"weight: expected an edge attribute name"),
        (lambda g: solve(nx.Graph([(0, 1, {"weight": -1.0})]), 1), ValueError, r"non-negative MaxCut weights"),
    ],
)
def test_bad_input_is_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call(nx.cycle_graph(6))


def _write_graph_files(folder, graph):
    nx.write_graphml(graph, folder / "g.graphml")
    nx.write_gml(graph, folder / "g.gml")
    (folder / "g.json").write_text(json.dumps(nx.node_link_data(graph, edges="links")))
    lines = ["# u v weight"] + [f"{u} {v} {d['capacity']}" for u, v, d in graph.edges(data=True)]
    (folder / "g.txt").write_text("\n".join(lines) + "\n")


def test_ornn_qaoa_solve_reads_every_format_alike_and_writes_json_and_csv(tmp_path, capsys):
    graph = nx.random_regular_graph(3, 8, seed=3)
    for k, (u, v) in enumerate(graph.edges):
        graph[u][v]["capacity"] = 1.0 + k % 3
    _write_graph_files(tmp_path, graph)
    cuts = []
    for name in ("g.graphml", "g.gml", "g.json", "g.txt"):
        weight = "weight" if name == "g.txt" else "capacity"  # the edge list's third column is "weight"
        out = tmp_path / f"{name}.out.json"
        code = main(
            ["qaoa", "solve", "--graph", str(tmp_path / name), "--weight", weight, "--p", "1", "--shots", "50"]
            + ["--json", str(out), "--csv", str(tmp_path / f"{name}.csv")]
        )
        assert code == 0
        printed = capsys.readouterr().out
        assert "approximation ratio" in printed and "50 samples (seed 0)" in printed
        data = json.loads(out.read_text())
        cuts.append(data["expected_cut"])
        reference = sum(d["capacity"] for _, _, d in graph.edges(data=True))
        assert data["max_cut"] <= reference
        rows = (tmp_path / f"{name}.csv").read_text().splitlines()
        assert rows[0] == "bitstring,probability,cut" and len(rows) == 6
    assert max(cuts) - min(cuts) < 1e-9  # one graph, four files


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("bad.txt", "0 1 2 3\n", r"bad.txt is not a readable edge list file \(line 1: expected 'u v' or 'u v weight'"),
        ("w.txt", "0 1 heavy\n", r"line 1: the weight 'heavy' is not a number"),
        ("empty.txt", "# nothing\n", r"not a readable edge list file \(no edges\)"),
        ("bad.graphml", "<graphml><oops", r"bad.graphml is not a readable GraphML file"),
        ("bad.gml", "graph [ node [ id 0 ", r"bad.gml is not a readable GML file"),
        ("bad.json", "[1, 2]", r"bad.json is not a readable node-link JSON file"),
        ("neg.txt", "0 1 -2\n", r"non-negative MaxCut weights"),
    ],
)
def test_ornn_qaoa_solve_bad_files_are_one_line_and_exit_2(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    assert main(["qaoa", "solve", "--graph", str(path), "--p", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert pytest.importorskip("re").search(message, err), err


def test_ornn_qaoa_solve_refuses_a_directed_or_missing_file(tmp_path, capsys):
    nx.write_graphml(nx.DiGraph([(0, 1), (1, 2)]), tmp_path / "d.graphml")
    assert main(["qaoa", "solve", "--graph", str(tmp_path / "d.graphml"), "--p", "1"]) == 2
    assert "holds a directed graph" in capsys.readouterr().err
    assert main(["qaoa", "solve", "--graph", str(tmp_path / "none.txt"), "--p", "1"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ornn_qaoa_evaluate_takes_the_phase_two_optimiser_and_steps(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    flags = ["--kind", "3-regular", "--train-sizes", "6", "--steps", "2"]
    assert main(["qaoa", "train", "--cell", "gru", "--hidden", "4", "--epochs", "1", "--out", str(run), *flags]) == 0
    seen = []
    original = qaoa.meta.two_phase

    def recording(*args, **kwargs):
        seen.append({k: kwargs[k] for k in ("optimizer", "lr", "phase_two_steps")})
        return original(*args, **kwargs)

    monkeypatch.setattr("applications.qaoa.experiment.two_phase", recording)
    args = ["qaoa", "evaluate", "--run", str(run), "--test-sizes", "8", "--per-size", "2"]
    assert main([*args, "--optimizer", "adam", "--phase-two-steps", "7"]) == 0
    assert seen[-1] == {"optimizer": "adam", "lr": 0.01, "phase_two_steps": 7}
    assert main([*args, "--optimizer", "lbfgs", "--phase-two-lr", "0.5", "--phase-two-steps", "3"]) == 0
    assert seen[-1] == {"optimizer": "lbfgs", "lr": 0.5, "phase_two_steps": 3}
    assert main(args) == 0
    assert seen[-1] == {"optimizer": "sgd", "lr": 0.01, "phase_two_steps": 100}  # the sequence-model paper's


def test_phase_two_returns_its_best_point_not_its_last(petersen):
    """From the fixed angles (the p = 1 optimum on this graph, to 3 digits) Adam at lr 1 overshoots: the result is
    still the best point it evaluated, so never behind the start."""
    result = solve(petersen, 1, start="fixed-angles", lr=1.0, steps=5)
    start = solve(petersen, 1, start="fixed-angles", steps=0)
    assert result.expected_cut >= start.expected_cut - 1e-12
    last = qaoa.optimize(
        qaoa.make_ansatz(qaoa.MaxCut(petersen), 1), start.params[None], optimizer="adam", lr=1.0, steps=5
    )
    assert -float(last.final_energies[0]) < start.expected_cut - 1e-3  # the last point is behind: the check can fail


def test_on_another_family_at_p_above_1_the_ramp_competes_with_the_borrowed_initialiser():
    """A dense Erdős–Rényi graph at p = 2 has no initialiser of its own; the 3-regular one's points and the linear
    ramp's are compared and the lower kept (8 evaluations): here the ramp, whose energy is computed in the test."""
    from applications.qaoa.experiment import held_out_graphs

    graph = held_out_graphs("dense", (12,), 1)[0].graph
    result = solve(graph, 2, steps=0)
    assert result.start_method.endswith("or the linear ramp where lower") and result.phase_one_evaluations == 8
    ansatz = qaoa.QAOA(qaoa.MaxCut(graph), 2)
    ramp = qaoa.linear_ramp(ansatz)
    borrowed = qaoa.pretrained("3-regular", 2).propose([ansatz])[0]
    assert float(ansatz.energy(ramp)) < float(ansatz.energy(borrowed))  # the ramp wins on this graph
    assert torch.allclose(result.start_params, ramp) and result.start_energy == pytest.approx(
        float(ansatz.energy(ramp))
    )


def test_on_another_family_the_borrowed_start_is_kept_where_it_is_lower():
    """The other side of the comparison: on a 5-cycle (2-regular) the borrowed 3-regular initialiser's best point
    is lower than the ramp, so it is Phase I's answer. And the refusals of a MetaOptimizer start that does not fit:
    another depth or ansatz, or no trained horizon."""
    graph = nx.cycle_graph(5)
    ansatz = qaoa.QAOA(qaoa.MaxCut(graph), 2)
    meta = qaoa.pretrained("3-regular", 2)
    borrowed = meta.propose([ansatz])[0]
    assert float(ansatz.energy(borrowed)) < float(ansatz.energy(qaoa.linear_ramp(ansatz)))
    result = solve(graph, 2, steps=0)
    assert result.start_method.endswith("or the linear ramp where lower") and result.phase_one_evaluations == 8
    assert torch.allclose(result.start_params, borrowed) and result.start_energy == pytest.approx(
        float(ansatz.energy(borrowed))
    )
    untrained = qaoa.pretrained("3-regular", 2)
    untrained.steps = None
    one_layer = qaoa.pretrained("3-regular", 1)
    assert_refusals(
        [
            (
                lambda: solve(graph, 2, start=one_layer, steps=0),
                "start: the MetaOptimizer proposes 2 parameters, the depth-2 QAOA has 4",
            ),
            (
                lambda: solve(graph, 2, dc=True, start=meta, steps=0),
                "start: the MetaOptimizer proposes 4 parameters, the depth-2 DC-QAOA has 6",
            ),
            (
                lambda: solve(graph, 2, start=untrained, steps=0),
                "start: the MetaOptimizer has no trained horizon (its .steps is None); set meta.steps",
            ),
        ],
        ValueError,
    )


def test_to_dict_holds_every_field_by_its_name(petersen):
    result = solve(petersen, 1, start="fixed-angles", steps=3, shots=5, seed=1)
    data = result.to_dict()
    assert data == {
        "nodes": [str(v) for v in result.nodes],
        "p": 1,
        "dc": False,
        "start_method": "fixed-angles",
        "start_params": result.start_params.tolist(),
        "start_energy": result.start_energy,
        "params": result.params.tolist(),
        "energy": result.energy,
        "expected_cut": result.expected_cut,
        "max_cut": 12.0,
        "approximation_ratio": result.approximation_ratio,
        "phase_one_evaluations": 1,
        "phase_two_steps": result.phase_two_steps,
        "evaluations": 1 + result.phase_two_steps,
        "top": result.top,
        "samples": result.samples,
        "sample_cuts": result.sample_cuts,
        "best_sample": result.best_sample,
    }
    assert data["nodes"] == [str(k) for k in range(10)] and data["expected_cut"] == -data["energy"]


def test_edge_lists_two_or_three_columns_comments_and_labels(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("# header # with a second hash\n0 1\n1 2 2.5  # a weight # and more\n\n2 -3\n")
    graph = qaoa.read_graph(path)
    assert sorted(graph.nodes) == [-3, 0, 1, 2]  # integer labels, a negative one included
    assert {(u, v): d["weight"] for u, v, d in graph.edges(data=True)} == {(0, 1): 1.0, (1, 2): 2.5, (2, -3): 1.0}
    path.write_text("a b\nb 3\n")
    graph = qaoa.read_graph(path)
    assert list(graph.nodes) == ["a", "b", "3"]  # one label is not an integer: all stay strings


def test_node_link_json_with_links_or_edges_and_multigraph_files(tmp_path):
    graph = nx.path_graph(4)
    for key in ("links", "edges"):
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(nx.node_link_data(graph, edges=key)))
        assert sorted(qaoa.read_graph(path).edges) == [(0, 1), (1, 2), (2, 3)]
    (tmp_path / "no-nodes.json").write_text(json.dumps({"links": [{"source": 0, "target": 1}]}))
    with pytest.raises(ValueError, match=r"no-nodes.json is not a readable node-link JSON file \(expected an object "):
        qaoa.read_graph(tmp_path / "no-nodes.json")
    single = nx.MultiGraph([(0, 1), (1, 2)])
    nx.write_graphml(single, tmp_path / "single.graphml")
    read = qaoa.read_graph(tmp_path / "single.graphml")
    assert not read.is_multigraph() and sorted(read.edges) == [("0", "1"), ("1", "2")]
    nx.write_graphml(nx.MultiGraph([(0, 1), (0, 1), (1, 2)]), tmp_path / "parallel.graphml")
    with pytest.raises(ValueError, match=r"parallel.graphml holds parallel edges; merge them into one weighted edge$"):
        qaoa.read_graph(tmp_path / "parallel.graphml")
    with pytest.raises(ValueError, match=r"graph: expected a graph file, got '.*missing.gml', which does not exist"):
        qaoa.read_graph(tmp_path / "missing.gml")


def test_labels_that_only_look_like_integers_after_stripping_stay_strings(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("X1 2\n2 3\n")
    assert list(qaoa.read_graph(path).nodes) == ["X1", "2", "3"]


def test_a_multigraph_file_without_parallel_edges_reads_as_a_graph(tmp_path):
    """GML keeps the multigraph flag (GraphML does not), so this reaches the multigraph branch."""
    nx.write_gml(nx.MultiGraph([(0, 1), (1, 2)]), tmp_path / "single.gml")
    graph = qaoa.read_graph(tmp_path / "single.gml")
    assert type(graph) is nx.Graph and sorted(graph.edges) == [("0", "1"), ("1", "2")]
    nx.write_gml(nx.MultiGraph([(0, 1), (1, 0), (1, 2)]), tmp_path / "parallel.gml")
    with pytest.raises(ValueError, match=r"parallel.gml holds parallel edges"):
        qaoa.read_graph(tmp_path / "parallel.gml")


def test_pretrained_for_defaults_to_plain_qaoa():
    from applications.qaoa.solve import pretrained_for

    meta, name = pretrained_for(qaoa.random_regular_maxcut(8, seed=1), 2)
    assert meta.num_params == 4 and name == "pretrained 3-regular p=2 (lstm)"
    meta, name = pretrained_for(qaoa.random_regular_maxcut(8, seed=1), 2, dc=True)
    assert meta.num_params == 6 and name == "pretrained 3-regular p=2 dc (lstm)"


def test_pretrained_start_picks_the_family_and_says_when_it_borrows():
    """The rule of ``start="pretrained"``: a 3-regular graph gets the 3-regular initialiser where one is shipped,
    any other graph the Erdos-Renyi one where shipped (p = 1), else the 3-regular one, borrowed (and so named);
    a depth with none shipped is refused with the shipped (p, dc) pairs listed."""
    from applications.qaoa import parameter_count, pretrained
    from applications.qaoa.solve import _pretrained

    cubic = qaoa.MaxCut(nx.random_regular_graph(3, 8, seed=0))
    path = qaoa.MaxCut(nx.path_graph(5))
    expected = [
        (cubic, 2, False, "3-regular", "pretrained 3-regular p=2 (lstm)", False),
        (cubic, 1, False, "3-regular", "pretrained 3-regular p=1 (lstm)", False),
        (path, 1, False, "erdos-renyi", "pretrained erdos-renyi p=1 (lstm)", False),
        (cubic, 2, True, "3-regular", "pretrained 3-regular p=2 dc (lstm)", False),
        (path, 2, False, "3-regular", "pretrained 3-regular p=2 (lstm), used on a graph of another family", True),
        (path, 2, True, "3-regular", "pretrained 3-regular p=2 dc (lstm), used on a graph of another family", True),
    ]
    for problem, p, dc, kind, name, borrowed in expected:
        meta, got_name, got_borrowed = _pretrained(problem, p, dc)
        assert (got_name, got_borrowed) == (name, borrowed)
        assert meta.num_params == parameter_count(p, dc=dc) and meta.notes["kind"] == kind
        reference = pretrained(kind, p, dc=dc).state_dict()
        assert all(torch.equal(value, reference[key]) for key, value in meta.state_dict().items())
    shipped = "[(1, False), (2, False), (2, True), (3, False), (4, False), (5, False)]"
    advice = "pass start='ramp', 'random', a MetaOptimizer, a run folder or a tensor"
    assert_refusals(
        [
            (
                lambda: _pretrained(cubic, 6, False),
                f"start: no pretrained initialiser for p = 6 (shipped (p, dc): {shipped}); {advice}",
            ),
            (
                lambda: _pretrained(cubic, 1, True),
                f"start: no pretrained initialiser for p = 1 with dc (shipped (p, dc): {shipped}); {advice}",
            ),
        ],
        ValueError,
    )


def test_start_rules_for_tensors_optimisers_and_names():
    """A tensor start is in the graph's units (each gamma times the weight scale gives unit-weight units); a
    tensor or a MetaOptimizer never brings the ramp in (only a borrowed initialiser does); bad starts are refused
    whole. And the unit-weight copy of the problem: weights divided by the scale, the problem itself at scale 1."""
    from applications.qaoa.solve import _normalised, _problem, _start

    graph = nx.cycle_graph(4)
    for (u, v), w in zip(graph.edges, (2.0, 4.0, 2.0, 4.0)):
        graph[u][v]["w"] = w
    problem, scale = _problem(graph, "w")
    assert scale == 3.0 and _normalised(problem, 1.0) is problem
    assert [w for _, _, w in _normalised(problem, 2.0).terms] == [w / 2 for _, _, w in problem.terms]
    unit = qaoa.QAOA(_normalised(problem, scale), 2)
    theta, name, borrowed = _start(torch.tensor([0.1, 0.2, 0.3, 0.4]), unit, scale, 0)
    assert (
        torch.allclose(theta, torch.tensor([0.3, 0.2, 0.9, 0.4], dtype=torch.float64)) and theta.dtype == torch.float64
    )
    assert (name, borrowed) == ("given tensor", False)
    meta = qaoa.pretrained("3-regular", 2)
    assert _start(meta, unit, scale, 0) == (meta, "MetaOptimizer (lstm)", False)
    ramp, name, borrowed = _start("ramp", unit, scale, 0)
    assert (name, borrowed) == ("ramp", False) and torch.equal(ramp, qaoa.linear_ramp(unit))
    starts = "pretrained, fixed-angles, degree-rule, ramp, random"
    assert_refusals(
        [
            (
                lambda: _start(3, unit, scale, 0),
                TypeError,
                f"start: expected one of {starts}, a MetaOptimizer, a run folder or a tensor, got 3",
            ),
            (
                lambda: _start("nowhere", unit, scale, 0),
                ValueError,
                f"start: expected one of {starts}, a MetaOptimizer, a run folder of `ornn qaoa train` or a tensor, "
                "got 'nowhere' (no such folder)",
            ),
        ]
    )


def test_graph_refusals_name_what_came(monkeypatch):
    """Each refusal of the graph and its weight attribute whole; a graph of exactly the brute-force limit is
    admitted (the limit lowered to 4 here: a 24-node optimum takes a minute)."""
    from applications.qaoa.solve import _problem

    solve_module = importlib.import_module("applications.qaoa.solve")  # the package exports the function solve
    zero = nx.path_graph(3)
    nx.set_edge_attributes(zero, 0.0, "w")
    monkeypatch.setattr(solve_module, "MAX_BRUTE_FORCE_QUBITS", 4)
    assert_refusals(
        [
            (
                lambda: _problem([(0, 1)], "weight"),
                TypeError,
                "graph: expected an undirected networkx.Graph, got [(0, 1)]",
            ),
            (
                lambda: _problem(nx.path_graph(3), 1),
                TypeError,
                "weight: expected an edge attribute name (a str), got 1",
            ),
            (
                lambda: _problem(nx.path_graph(5), "weight"),
                ValueError,
                "graph: expected at most 4 nodes (the state vector holds 2^n amplitudes), got 5",
            ),
            (
                lambda: _problem(zero, "w"),
                ValueError,
                "graph: every edge weight ('w') is zero; there is no cut to maximise",
            ),
        ]
    )
    problem, scale = _problem(nx.path_graph(4), "weight")
    assert len(problem.nodes) == 4 and scale == 1.0


def test_solve_runs_phase_two_with_its_optimiser_and_reads_the_state_it_reached():
    """A 4-cycle from the ramp: one Phase I evaluation; Phase II is Adam at the given lr (against qaoa.optimize
    run in the test); the likeliest bitstrings carry |amplitude|^2 of the best point's state; many more shots
    than basis states are drawn with replacement; the refusals of p, dc and a tensor start of the wrong shape
    are whole."""
    graph = nx.cycle_graph(4)
    result = solve(graph, 1, start="ramp", steps=5, lr=0.1, shots=64, seed=2)
    unit = qaoa.QAOA(qaoa.MaxCut(graph), 1)
    reference = qaoa.optimize(unit, qaoa.linear_ramp(unit)[None], optimizer="adam", lr=0.1, steps=5)
    assert result.phase_one_evaluations == 1 and result.energy == pytest.approx(float(reference.best_energies[0]))
    probabilities = unit.state(result.params).abs() ** 2  # unit weights: the graph's units are the unit ones
    for row in result.top:
        index = int(row["bitstring"], 2)
        assert row["probability"] == pytest.approx(float(probabilities[index]), abs=1e-12)
    assert len(result.samples) == 64 and len(set(result.samples)) < 64
    seeded = solve(graph, 1, start="ramp", steps=0, shots=32, seed=0).samples
    assert solve(graph, 1, start="ramp", steps=0, shots=32).samples == seeded  # the default seed is 0
    assert solve(graph, 1, start="ramp", steps=0, shots=32, seed=1).samples != seeded
    bad = [
        ({"p": 0}, ValueError, "p: expected an integer >= 1, got 0"),
        ({"p": 1, "dc": 1}, TypeError, "dc: expected a bool, got 1"),
        ({"p": 2, "start": torch.zeros(3)}, ValueError, "start: expected a tensor of shape (4,) for depth 2, got (3,)"),
        (
            {"p": 2, "dc": True, "start": torch.zeros(3)},
            ValueError,
            "start: expected a tensor of shape (6,) for depth 2 DC-QAOA, got (3,)",
        ),
        ({"p": 1, "steps": -1}, ValueError, "steps: expected an integer >= 0, got -1"),
        ({"p": 1, "top": 0}, ValueError, "top: expected an integer >= 1, got 0"),
        ({"p": 1, "shots": -1}, ValueError, "shots: expected an integer >= 0, got -1"),
        ({"p": 1, "seed": -1}, ValueError, "seed: expected an integer >= 0, got -1"),
        ({"p": 1, "lr": 0.0}, ValueError, "lr: expected a positive finite number, got 0.0"),
        (
            {"p": 1, "optimizer": "adamw"},
            ValueError,
            "optimizer: expected one of adam, sgd, adagrad, rmsprop, lbfgs, got 'adamw'",
        ),
    ]
    assert_refusals(
        [
            (lambda kwargs=kwargs: solve(graph, **{"steps": 0, **kwargs}), error, message)
            for kwargs, error, message in bad
        ]
    )
    defaults = {name: value.default for name, value in inspect.signature(solve).parameters.items()}
    assert (defaults["steps"], defaults["seed"], defaults["top"], defaults["shots"]) == (200, 0, 5, 0)


def test_on_an_exact_tie_the_borrowed_point_is_kept_and_phase_two_runs_200_steps_by_default(monkeypatch):
    """The linear ramp is replaced by the mirror image -theta of the borrowed initialiser's best point theta on a
    5-cycle: QAOA's energy is even under theta -> -theta, here to the last bit. The ramp must be strictly lower to
    win, so theta is kept. Phase II's default: 200 steps."""
    solve_module = importlib.import_module("applications.qaoa.solve")  # the package's `solve` is the function
    graph = nx.cycle_graph(5)
    ansatz = qaoa.QAOA(qaoa.MaxCut(graph), 2)
    meta = qaoa.pretrained("3-regular", 2)
    with torch.no_grad():
        trajectory = meta([ansatz], meta.steps)
    borrowed = trajectory.best_params[0].double()
    assert float(ansatz.energy(-borrowed)) == float(trajectory.best_energies[0])  # an exact tie
    monkeypatch.setattr(solve_module, "linear_ramp", lambda unit: -borrowed)
    phases = spy(monkeypatch, solve_module, "two_phase")
    result = solve(graph, 2)
    assert torch.allclose(result.start_params, borrowed, rtol=0, atol=1e-12)
    assert [kwargs["phase_two_steps"] for _, kwargs in phases] == [200]
