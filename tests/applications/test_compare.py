"""``run_compare`` (``ornn qaoa compare``) against the same evaluations made here, one method at a time.

The cells' training is stubbed (``meta_train`` is tested on its own; here it records what it is handed and returns
a short history), so the run takes about a second. Every figure of the results is then recomputed in the test from
the documented test graphs (seed * 7919 + n), the documented starts and :func:`two_phase`, and the report and the
figure are read back.
"""

import json
import re
from dataclasses import asdict, replace

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pytest
import torch
from matplotlib.font_manager import FontProperties

from applications.qaoa import experiment
from applications.qaoa.baselines import ansatz_optimum, fixed_angles, linear_ramp, random_init
from applications.qaoa.experiment import CompareConfig, run_compare
from applications.qaoa.meta import MetaOptimizer, ProblemDistribution, two_phase
from applications.qaoa.metrics import iterations_to_convergence
from ornn import tables
from ornn.training import History

from ..helpers import assert_refusals, capture_figures, spy

CONFIG = CompareConfig(
    kind="3-regular",
    train_sizes=(4,),
    test_sizes=(4, 6),
    test_per_size=2,
    p=1,
    cells=("gru",),
    hidden_size=2,
    use_delta=False,
    steps=2,
    epochs=3,
    batches_per_epoch=1,
    batch_size=2,
    loss="weighted",
    meta_optimizer="rmsprop",
    meta_lr=0.02,
    patience=2,
    phase_two_optimizer="adam",
    phase_two_lr=0.03,
    phase_two_steps=4,
    convergence_tol=1e-3,
    seed=5,
)


def stub_training(monkeypatch) -> list:
    """``meta_train`` replaced by a recorder whose history has two epochs, the best validation loss 0.25."""
    calls = []

    def recorded(meta, distribution, **options):
        calls.append((meta, distribution, options))
        meta.steps = options["steps"]
        return History(train_loss=[1.0, 0.5], val_loss=[0.5, 0.25])

    monkeypatch.setattr(experiment, "meta_train", recorded)
    return calls


def expected_entry(tests, phase_one, config: CompareConfig, *, errors_out: list = None) -> dict:
    """One method's figures on one size, from two_phase and the graphs' exact optima (``errors_out`` receives the
    (iterations + 1, B) relative errors the figure averages)."""
    run = two_phase(
        tests,
        phase_one,
        steps=config.steps,
        optimizer=config.phase_two_optimizer,
        lr=config.phase_two_lr,
        phase_two_steps=config.phase_two_steps,
        tol=1e-12,
    )
    optimum = torch.tensor([a.problem.optimum for a in tests], dtype=torch.float64)
    errors = (run.path - optimum) / optimum.abs()
    if errors_out is not None:
        errors_out.append(errors)
    one, two = run.phase_one_energies / optimum, run.final_energies / optimum
    return {
        "relative_error_phase_one_mean": float(errors[run.phase_one.evaluations - 1].mean()),
        "ratio_phase_one_mean": float(one.mean()),
        "ratio_phase_one_std": float(one.std()),
        "ratio_phase_two_mean": float(two.mean()),
        "ratio_phase_two_std": float(two.std()),
        "iterations_to_convergence": iterations_to_convergence(errors.mean(1), tol=config.convergence_tol),
        "phase_one_length": run.phase_one.evaluations - 1,
        "phase_one_evaluations": run.phase_one.evaluations,
        "phase_two_steps_mean": float(run.phase_two_steps.double().mean()),
    }


def test_run_compare_trains_with_its_config_and_scores_every_start_as_two_phase_does(tmp_path, monkeypatch):
    trainings = stub_training(monkeypatch)
    fitted = spy(monkeypatch, experiment.DegreeRule, "fit", keep_result=True)  # (args, kwargs, rule)
    phases = spy(monkeypatch, experiment, "two_phase")
    figures = capture_figures(monkeypatch)
    printed = []
    metrics = run_compare(CONFIG, tmp_path / "run", progress=False, echo=printed.append)
    # every start, at both test sizes, runs the configured Phase II to its 1e-12 stopping rule
    settings = {"steps": 2, "optimizer": "adam", "lr": 0.03, "phase_two_steps": 4, "tol": 1e-12}
    assert [kwargs for _, kwargs in phases] == [settings] * 10

    ((meta, distribution, options),) = trainings
    assert isinstance(meta, MetaOptimizer) and meta.cell_name == "gru" and meta.hidden_size == 2
    assert meta.head.weight.dtype == torch.float64 and meta.proposal == "residual" and not meta.use_delta
    assert distribution == ProblemDistribution("3-regular", (4,))
    assert options == {
        "p": 1,
        "dc": False,
        "steps": 2,
        "epochs": 3,
        "batches_per_epoch": 1,
        "batch_size": 2,
        "loss": "weighted",
        "optimizer": "rmsprop",
        "lr": 0.02,
        "patience": 2,
        "seed": 5,
        "checkpoint": tmp_path / "run" / "checkpoint-gru.pt",
        "progress": False,
        "impulse_problems": 128,
    }
    training = metrics["training"]["gru"]
    assert training["parameters"] == sum(q.numel() for q in meta.parameters())
    assert (training["epochs_run"], training["best_val_loss"]) == (2, 0.25)
    assert training["seconds_per_epoch"] == pytest.approx(training["seconds"] / 2, rel=1e-12)

    # the degree rule is fitted once, on 16 training graphs drawn from seed + 12345, with 150 steps
    ((args, kwargs, rule),) = fitted
    assert [len(args[0]), args[1], kwargs] == [16, 1, {"steps": 150}]
    assert [sorted(q.terms) for q in args[0]] == [
        sorted(q.terms) for q in ProblemDistribution("3-regular", (4,)).sample(16, seed=5 + 12345)
    ]

    assert set(metrics["results"]) == {
        "learned (gru)",
        "random",
        "linear ramp (TQA)",
        "fixed angles",
        "degree rule",
    }
    ramp_errors = []
    for n in (4, 6):
        problems = ProblemDistribution("3-regular", (n,)).sample(2, seed=5 * 7919 + n)
        tests = [experiment.make_ansatz(q, 1) for q in problems]
        starts = {
            "learned (gru)": meta,
            "random": torch.cat([random_init(a, 1, seed=5 + i) for i, a in enumerate(tests)]),
            "linear ramp (TQA)": torch.stack([linear_ramp(a) for a in tests]),
            "fixed angles": torch.stack([fixed_angles(a) for a in tests]),
            "degree rule": torch.stack([rule(a) for a in tests]),
        }
        for method, start in starts.items():
            out = ramp_errors if method == "linear ramp (TQA)" else None
            assert metrics["results"][method][n] == pytest.approx(
                expected_entry(tests, start, CONFIG, errors_out=out), rel=1e-10
            )
    assert metrics["results"]["learned (gru)"][4]["phase_one_evaluations"] == 3  # T + 1
    assert metrics["verdicts"] == experiment.verdicts(metrics["results"])
    assert metrics["transfer"] == {} and metrics["config"] == asdict(CONFIG)
    assert metrics["out"] == str(tmp_path / "run")
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["verdicts"] == json.loads(json.dumps(metrics["verdicts"])) and set(written) == set(metrics) - {"out"}

    report = (tmp_path / "run" / "report.md").read_text()
    assert printed == [report, f"\nrun folder: {tmp_path / 'run'}"]
    results = metrics["results"]

    def per_size(cell):
        return tables.format_table(
            [{"method": m, **{f"n = {n}": cell(r[n]) for n in (4, 6)}} for m, r in results.items()], style="markdown"
        )

    verdict_rows = [
        {**r, "ratio": f"{r['ratio']:.4f}", "its ratio": f"{r['its ratio']:.4f}"} for r in metrics["verdicts"]
    ]
    cells = [
        {
            "cell": "gru",
            "trainable parameters": training["parameters"],
            "epochs": 2,
            "s / epoch": f"{training['seconds_per_epoch']:.2f}",
            "best validation loss": "0.2500",
        }
    ]
    sections = [
        "# QAOA meta-learning comparison (3-regular, p = 1)",
        "Train n in [4], test n in [4, 6] (2 graphs each), T = 2 Phase I steps, Phase II: adam lr 0.03 for 4 steps, "
        "seed 5.",
        "## Verdict: each learned start against the best baseline (mean ratio over every test size)",
        "Phase I of a learned start is the best of its T + 1 energy evaluations; a baseline start costs one.",
        tables.format_table(verdict_rows, style="markdown"),
        "![relative error](relative_error.png)",
        "## Cells",
        "Hidden size 2; every cell is followed by the meta-optimiser's linear head (counted).",
        tables.format_table(cells, style="markdown"),
        "## Approximation ratio after Phase I (mean +- std)",
        per_size(lambda r: f"{r['ratio_phase_one_mean']:.4f} +- {r['ratio_phase_one_std']:.4f}"),
        "## Approximation ratio after Phase II (mean +- std)",
        per_size(lambda r: f"{r['ratio_phase_two_mean']:.4f} +- {r['ratio_phase_two_std']:.4f}"),
        "## Iterations to convergence (|change of the mean relative error| < 0.001; Phase I steps included)",
        per_size(lambda r: r["iterations_to_convergence"]),
        "## Evaluations per problem (Phase I energy evaluations + mean Phase II gradient steps)",
        per_size(lambda r: f"{r['phase_one_evaluations']} + {r['phase_two_steps_mean']:.1f}"),
    ]
    assert report == "\n\n".join(sections) + "\n"  # every section, in order, and nothing else

    ((path, figure, options),) = figures
    assert path == tmp_path / "run" / "relative_error.png" and options == {"dpi": 120, "bbox_inches": "tight"}
    (ax,) = figure.axes
    assert ax.get_title() == "3-regular, p = 1: mean +- standard error" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "iteration (Phase I proposals, then Phase II steps)"
    assert ax.get_ylabel() == "relative error (F - E0) / |E0|"
    assert [line.get_label() for line in ax.get_lines()] == list(metrics["results"])
    assert not plt.fignum_exists(figure.number)  # closed once saved
    assert tuple(figure.get_size_inches()) == (7.0, 4.5)
    # the ramp's curve: the mean relative error over all 4 test graphs, and a band of one standard error
    length = min(e.shape[0] for e in ramp_errors)
    errors = torch.cat([e[:length] for e in ramp_errors], dim=1)
    mean, se = errors.mean(1), errors.std(1) / 2  # 2 = sqrt(4 graphs)
    k = list(metrics["results"]).index("linear ramp (TQA)")
    assert np.allclose(ax.get_lines()[k].get_ydata(), mean.numpy(), rtol=1e-12, atol=0)
    band = ax.collections[k].get_paths()[0].vertices[:, 1]
    for edge in (mean - se, mean + se):
        assert np.isclose(band[:, None], edge.numpy()[None, :], rtol=1e-12, atol=1e-15).any(0).all()
    assert {band.get_alpha() for band in ax.collections} == {0.2}
    small = FontProperties(size="small").get_size_in_points()
    assert [text.get_fontsize() for text in ax.get_legend().get_texts()] == [small] * len(metrics["results"])


def test_a_dc_comparison_says_so_and_fits_no_degree_rule(tmp_path, monkeypatch):
    stub_training(monkeypatch)
    rules = spy(monkeypatch, experiment.DegreeRule, "fit")
    figures = capture_figures(monkeypatch)
    config = replace(CONFIG, dc=True, test_sizes=(4,), phase_two_steps=1)
    monkeypatch.chdir(tmp_path)
    metrics = run_compare(config, progress=False, echo=lambda *a: None)  # no folder: runs/<date>-<time>-qaoa-compare
    assert re.fullmatch(r"runs/\d{8}-\d{6}-qaoa-compare", metrics["out"]), metrics["out"]
    run = tmp_path / metrics["out"]
    assert rules == [] and "degree rule" not in metrics["results"]
    problems = ProblemDistribution("3-regular", (4,)).sample(2, seed=5 * 7919 + 4)
    tests = [experiment.make_ansatz(q, 1, dc=True) for q in problems]
    ramp = torch.stack([linear_ramp(a) for a in tests])
    assert metrics["results"]["linear ramp (TQA)"][4] == pytest.approx(expected_entry(tests, ramp, config), rel=1e-10)
    report = (run / "report.md").read_text()
    assert report.startswith("# QAOA meta-learning comparison (3-regular, p = 1, DC-QAOA)\n\n")
    ((_, figure, _),) = figures
    assert figure.axes[0].get_title() == "3-regular, p = 1, DC-QAOA: mean +- standard error"


def test_the_transfer_study_scores_phase_one_on_larger_graphs_drawn_from_its_own_seed(tmp_path, monkeypatch):
    trainings = stub_training(monkeypatch)
    capture_figures(monkeypatch)

    def fixed_rule(problems, p, steps):  # the rule's fit is tested above
        return experiment.DegreeRule(
            p=p, c=(0.5, 0.9, 1.1)[:p], b=(0.6, 0.3, 0.2)[:p], training_graphs=16, fit_rms_gamma=0
        )

    monkeypatch.setattr(experiment.DegreeRule, "fit", fixed_rule)
    rule = fixed_rule([], 2, 150)
    config = replace(CONFIG, p=2, test_sizes=(8,), phase_two_steps=1, transfer_sizes=(6, 8), reference_optimum=True)
    references = spy(monkeypatch, experiment, "ansatz_optimum")
    metrics = run_compare(config, tmp_path / "run", progress=False, echo=lambda *a: None)
    assert [kwargs for _, kwargs in references] == [{"starts": 8, "seed": 5}] * 2  # the run's seed, per test graph
    ((meta, _, _),) = trainings
    # the reference: multi-start L-BFGS (8 starts, the run's seed) on each test graph, reported as both phases
    problems = ProblemDistribution("3-regular", (8,)).sample(2, seed=5 * 7919 + 8)
    optimum = torch.tensor([q.optimum for q in problems], dtype=torch.float64)
    best = torch.tensor(
        [ansatz_optimum(experiment.make_ansatz(q, 2), starts=8, seed=5)[0] for q in problems], dtype=torch.float64
    )
    assert abs(float(best[0] - best[1])) > 0.1  # two different graphs: the ratio's spread shows
    ratio = best / optimum
    assert metrics["results"]["ansatz optimum (multi-start L-BFGS)"][8] == pytest.approx(
        {
            "ratio_phase_one_mean": float(ratio.mean()),
            "ratio_phase_one_std": float(ratio.std()),
            "ratio_phase_two_mean": float(ratio.mean()),
            "ratio_phase_two_std": float(ratio.std()),
            "iterations_to_convergence": 0,
            "phase_one_length": 0,
            "phase_one_evaluations": 0,
            "phase_two_steps_mean": 0.0,
            "relative_error_mean": float(((best - optimum) / optimum.abs()).mean()),
        },
        rel=1e-12,
    )
    assert set(metrics["transfer"]) == {"learned (gru)", "random", "linear ramp (TQA)", "fixed angles", "degree rule"}
    for n in (6, 8):
        problems = ProblemDistribution("3-regular", (n,)).sample(2, seed=5 * 104729 + n)
        tests = [experiment.make_ansatz(q, 2) for q in problems]
        optimum = torch.tensor([q.optimum for q in problems], dtype=torch.float64)
        with torch.no_grad():
            learned = meta(tests, 2).best_energies
            ramp = torch.stack([a.energy(linear_ramp(a)) for a in tests])
            fixed = torch.stack([a.energy(fixed_angles(a)) for a in tests])
            degree = torch.stack([a.energy(rule(a)) for a in tests])
        assert metrics["transfer"]["learned (gru)"][n] == pytest.approx(float((learned / optimum).mean()), rel=1e-12)
        assert metrics["transfer"]["linear ramp (TQA)"][n] == pytest.approx(float((ramp / optimum).mean()), rel=1e-12)
        assert metrics["transfer"]["fixed angles"][n] == pytest.approx(float((fixed / optimum).mean()), rel=1e-12)
        assert metrics["transfer"]["degree rule"][n] == pytest.approx(float((degree / optimum).mean()), rel=1e-12)
    transfer_rows = [
        {"method": m, **{f"n = {n}": f"{per_n[n]:.4f}" for n in (6, 8)}} for m, per_n in metrics["transfer"].items()
    ]
    report = (tmp_path / "run" / "report.md").read_text()
    transfer_section = (
        "## Transfer: Phase I approximation ratio on larger 3-regular graphs (trained on n in [4])\n\n"
        + tables.format_table(transfer_rows, style="markdown")
        + "\n"
    )
    # appended after the six other sections (the report still opens with its title and keeps its evaluations)
    assert report.startswith("# QAOA meta-learning comparison (3-regular, p = 2)\n\n")
    assert report.endswith(transfer_section)
    assert report.count("## ") == 7 and "## Evaluations per problem" in report
    # the published fixed angles are a baseline at p = 1 and 2 only
    assert "fixed angles" in metrics["results"]
    weighted = replace(config, kind="complete-weighted", test_sizes=(4,), transfer_sizes=(), reference_optimum=False)
    scored = run_compare(weighted, tmp_path / "weighted", progress=False, echo=lambda *a: None)
    problems = ProblemDistribution("complete-weighted", (4,)).sample(2, seed=5 * 7919 + 4)
    tests = [experiment.make_ansatz(q, 2) for q in problems]
    ramp = torch.stack([linear_ramp(a) for a in tests])  # non-integer optima: kept in float64
    assert scored["results"]["linear ramp (TQA)"][4] == pytest.approx(expected_entry(tests, ramp, weighted), rel=1e-12)
    deeper = run_compare(
        replace(config, p=3, kind="sk", train_sizes=(4,), transfer_sizes=()),
        tmp_path / "p3",
        progress=False,
        echo=print,
    )
    assert "fixed angles" not in deeper["results"]
    with pytest.raises(ValueError) as refused:
        run_compare(
            replace(config, kind="erdos-renyi", train_sizes=(5,), test_sizes=(5,)),
            tmp_path / "er",
            progress=False,
            echo=lambda *a: None,
        )
    assert str(refused.value) == "transfer_sizes: the transfer study uses 3-regular graphs, got kind 'erdos-renyi'"


def test_an_erdos_renyi_run_fits_the_degree_rule_reports_progress_by_default_and_times_one_epoch(tmp_path, monkeypatch):
    trainings = []

    def one_epoch(meta, distribution, **options):
        trainings.append((meta, options))
        meta.steps = options["steps"]
        return History(train_loss=[1.0], val_loss=[0.5])

    monkeypatch.setattr(experiment, "meta_train", one_epoch)
    capture_figures(monkeypatch)
    rules = spy(monkeypatch, experiment.DegreeRule, "fit")
    samples = spy(monkeypatch, ProblemDistribution, "sample")
    printed = []
    config = replace(
        CONFIG,
        kind="erdos-renyi",
        train_sizes=(5,),
        test_sizes=(5,),
        transfer_sizes=(),
        use_delta=True,
        proposal="absolute",
        step_scale=0.3,
    )
    metrics = run_compare(config, tmp_path / "er", echo=printed.append)  # progress left at its default
    assert len(rules) == 1 and "degree rule" in metrics["results"]
    # the rule's 16 training graphs come from seed + 12345 (5 + 12345), the test graphs from seed * 7919 + n
    assert [(args[1], kwargs) for args, kwargs in samples] == [(16, {"seed": 12_350}), (2, {"seed": 5 * 7919 + 5})]
    ((meta, options),) = trainings
    assert options["progress"] is True
    assert (meta.use_delta, meta.proposal, meta.step_scale) == (True, "absolute", 0.3)
    assert json.loads((tmp_path / "er" / "config.json").read_text()) == json.loads(json.dumps(asdict(config)))
    assert any(re.fullmatch(r"n = 5: evaluated \d+ methods on 2 graphs", str(line)) for line in printed), printed
    training = metrics["training"]["gru"]
    assert training["seconds_per_epoch"] == pytest.approx(training["seconds"], rel=1e-12)  # one epoch
    assert 0 <= training["seconds"] < 60  # the stubbed training's wall time


def test_build_meta_builds_a_float64_optimiser_with_its_settings_and_documented_defaults():
    from applications.qaoa.experiment import build_meta

    default = build_meta("gru", p=1)
    assert (default.num_params, default.hidden_size, default.proposal, default.step_scale, default.use_delta) == (
        2,
        20,
        "residual",
        0.5,
        True,
    )
    assert default.head.weight.dtype == torch.float64
    built = build_meta("gru", p=2, dc=True, hidden_size=3, proposal="absolute", step_scale=0.3, use_delta=False)
    assert (built.num_params, built.hidden_size, built.proposal, built.step_scale, built.use_delta) == (
        6,
        3,
        "absolute",
        0.3,
        False,
    )


def test_evaluate_graphs_rows_are_two_phase_on_each_graph_with_the_most_probable_cut():
    from applications.qaoa.experiment import build_meta, evaluate_graphs
    from applications.qaoa.problems import MaxCut

    torch.manual_seed(0)
    meta = build_meta("gru", p=1, hidden_size=3)
    problems = [MaxCut(nx.cycle_graph(5)), MaxCut(nx.complete_graph(4))]
    rows = evaluate_graphs(meta, problems, p=1, steps=2, phase_two_steps=3, optimizer="adam", lr=0.05)
    for k, (problem, row) in enumerate(zip(problems, rows)):
        ansatz = experiment.make_ansatz(problem, 1)
        run = two_phase([ansatz], meta, steps=2, optimizer="adam", lr=0.05, phase_two_steps=3)
        with torch.no_grad():
            probabilities = ansatz.state(run.final_params[0]).abs() ** 2
        index = int(torch.argmax(probabilities))
        bits = problem.bits_of(torch.tensor(index))
        assert row == {
            "graph": k,
            "n": problem.n,
            "ratio_phase_one": pytest.approx(float(run.phase_one_energies[0] / problem.optimum), rel=1e-12),
            "ratio_phase_two": pytest.approx(float(run.final_energies[0] / problem.optimum), rel=1e-12),
            "phase_one_evaluations": 3,
            "phase_two_steps": int(run.phase_two_steps[0]),
            "bitstring": "".join(str(int(b)) for b in bits),
            "probability": pytest.approx(float(probabilities[index]), rel=1e-12),
            "cut": float(problem.cut_value(bits)),
            "max_cut": float(problem.max_cut),
        }
        assert 0 < row["phase_two_steps"] <= 3
    with pytest.raises(TypeError) as refused:
        evaluate_graphs(meta, [], p=1)
    assert str(refused.value) == (
        "problems: expected a non-empty sequence of MaxCut problems (the cut needs a graph), got none"
    )


def test_evaluate_meta_draws_its_documented_graphs_and_reports_two_phase_per_size():
    from applications.qaoa.experiment import build_meta, evaluate_meta

    torch.manual_seed(0)
    meta = build_meta("gru", p=1, hidden_size=3)
    rows = evaluate_meta(meta, kind="3-regular", p=1, steps=2, test_sizes=(4, 6), per_size=2, phase_two_steps=3)
    assert [row["n"] for row in rows] == [4, 6]
    for row in rows:
        n = row["n"]
        problems = ProblemDistribution("3-regular", (n,)).sample(2, seed=10_007 + n)  # the default seed + n
        tests = [experiment.make_ansatz(q, 1) for q in problems]
        optimum = torch.tensor([q.optimum for q in problems], dtype=torch.float64)
        run = two_phase(tests, meta, steps=2, optimizer="sgd", lr=0.01, phase_two_steps=3)
        assert row == {
            "n": n,
            "ratio_phase_one": pytest.approx(float((run.phase_one_energies / optimum).mean()), rel=1e-12),
            "ratio_phase_two": pytest.approx(float((run.final_energies / optimum).mean()), rel=1e-12),
            "phase_one_evaluations": 3,
            "phase_two_steps_mean": pytest.approx(float(run.phase_two_steps.double().mean()), rel=1e-12),
        }
    dc_meta = build_meta("gru", p=1, dc=True, hidden_size=3)
    (dc_row,) = evaluate_meta(dc_meta, kind="3-regular", p=1, dc=True, steps=1, test_sizes=(4,), per_size=1)
    assert dc_row["phase_one_evaluations"] == 2
    (default_row,) = evaluate_meta(meta, kind="3-regular", p=1, test_sizes=(4,), per_size=1, phase_two_steps=1)
    assert default_row["phase_one_evaluations"] == 11  # T = 10 by default
    with pytest.raises(ValueError) as refused:
        evaluate_meta(meta, kind="3-regular", p=1, per_size=0)
    assert str(refused.value) == "per_size: expected an integer >= 1, got 0"


def test_evaluate_meta_defaults_and_weighted_optima_in_float64(monkeypatch):
    """Defaults: 5 problems per size from seed 10,007 + n, T = 10, Phase II plain SGD at lr 0.01 for 100 steps. On
    complete graphs with random weights the optimum is no float32 number: the ratios are float64 to 1e-12."""
    from applications.qaoa.experiment import build_meta, evaluate_meta

    torch.manual_seed(0)
    meta = build_meta("gru", p=1, hidden_size=3)
    samples = spy(monkeypatch, ProblemDistribution, "sample", keep_result=True)  # (args, kwargs, problems)
    phases = spy(monkeypatch, experiment, "two_phase", keep_result=True)
    (row,) = evaluate_meta(meta, kind="complete-weighted", p=1, test_sizes=(4,))
    ((args, kwargs, problems),) = samples
    assert (args[1], kwargs) == (5, {"seed": 10_011})
    ((_, settings, run),) = phases
    assert settings == {"steps": 10, "optimizer": "sgd", "lr": 0.01, "phase_two_steps": 100}
    optimum = torch.tensor([q.optimum for q in problems], dtype=torch.float64)
    assert row["ratio_phase_one"] == pytest.approx(float((run.phase_one_energies / optimum).mean()), rel=1e-12)
    assert row["ratio_phase_two"] == pytest.approx(float((run.final_energies / optimum).mean()), rel=1e-12)
    evaluate_meta(meta, kind="complete-weighted", p=1, test_sizes=(4,), optimizer="adam", lr=0.2)
    assert phases[-1][1] == {"steps": 10, "optimizer": "adam", "lr": 0.2, "phase_two_steps": 100}


def test_held_out_graphs_are_connected_gnp_draws_with_the_documented_edge_factors():
    from applications.qaoa.experiment import held_out_graphs

    for family in ("sparse", "dense"):  # j uniform in {2, 3, 4}, or in 3..n-1
        graphs = held_out_graphs(family, (6, 8), 3, seed=4)
        assert [g.n for g in graphs] == [6, 6, 6, 8, 8, 8]
        rng = np.random.default_rng(4)  # the documented draws: j, then the graph's seed, redrawn until connected
        for problem in graphs:
            n = problem.n
            while True:
                j = int(rng.choice([2, 3, 4])) if family == "sparse" else int(rng.integers(3, n))
                graph = nx.gnp_random_graph(n, min(1.0, j / n), seed=int(rng.integers(2**31)))
                if graph.number_of_edges() and nx.is_connected(graph):
                    break
            assert sorted(problem.terms) == sorted((u, v, 1.0) for u, v in graph.edges())
    assert held_out_graphs("sparse", (5,), 2)[0].terms == held_out_graphs("sparse", (5,), 2, seed=12_345)[0].terms
    assert [g.n for g in held_out_graphs("dense", (4,), 1)] == [4]  # the smallest n with j in 3..n-1
    assert_refusals(
        [
            (lambda: held_out_graphs("sparse", (5,), 0), "per_size: expected an integer >= 1, got 0"),
            (
                lambda: held_out_graphs("dense", (3,), 1),
                "sizes: expected n >= 4 (the dense family draws j from 3..n-1), got 3",
            ),
            (lambda: held_out_graphs("dense", (0,), 1), "sizes: expected an integer >= 1, got 0"),
        ],
        ValueError,
    )


def test_load_meta_run_reads_older_runs_as_the_absolute_rule_and_names_a_missing_best_file(tmp_path):
    from applications.qaoa.experiment import build_meta, load_meta_run

    run = tmp_path / "run"
    run.mkdir()
    settings = {"cell": "gru", "p": 1, "dc": False, "hidden": 3, "kind": "3-regular", "steps": 4}
    (run / "config.json").write_text(json.dumps({**settings, "proposal": "residual", "step_scale": 0.3}))
    torch.save(build_meta("gru", p=1, hidden_size=3, step_scale=0.3).state_dict(), run / "best.pt")
    meta, config = load_meta_run(run)
    assert (meta.proposal, meta.step_scale, meta.steps, meta.hidden_size) == ("residual", 0.3, 4, 3)
    (run / "config.json").write_text(json.dumps(settings))  # written before the residual rule existed
    torch.save(build_meta("gru", p=1, hidden_size=3, proposal="absolute").state_dict(), run / "best.pt")
    older, _ = load_meta_run(run)
    assert (older.proposal, older.step_scale) == ("absolute", 0.5)
    (run / "config.json").write_text(json.dumps({**settings, "steps": 0}))
    with pytest.raises(ValueError) as refused:
        load_meta_run(run)
    assert str(refused.value) == (
        f"{run / 'config.json'}: the settings do not describe a meta-optimiser (steps: expected an integer >= 1, got 0)"
    )
    (run / "config.json").write_text(json.dumps({**settings, "dc": True}))  # DC-QAOA: three angles per layer
    torch.save(build_meta("gru", p=1, dc=True, hidden_size=3, proposal="absolute").state_dict(), run / "best.pt")
    dc, _ = load_meta_run(run, device="meta")  # a device without data stands in for a GPU
    assert dc.num_params == 3 and {q.device.type for q in dc.parameters()} == {"meta"}
    (run / "config.json").write_text(json.dumps({k: v for k, v in settings.items() if k != "kind"}))
    with pytest.raises(ValueError) as refused:
        load_meta_run(run)
    assert str(refused.value) == (
        f"config.json of the run: {run / 'config.json'} lacks the entries kind (is it from another command?)"
    )
    (run / "config.json").write_text(json.dumps(settings))
    (run / "best.pt").unlink()
    with pytest.raises(FileNotFoundError) as refused:
        load_meta_run(run)
    assert str(refused.value) == f"best.pt of the run: expected {run / 'best.pt'}, which does not exist"


def test_evaluate_graphs_defaults_build_dc_ansatzes_and_its_refusal_shows_three_problems(monkeypatch):
    from applications.qaoa.ansatz import DCQAOA
    from applications.qaoa.experiment import build_meta, evaluate_graphs
    from applications.qaoa.problems import MaxCut

    torch.manual_seed(0)
    meta = build_meta("gru", p=1, dc=True, hidden_size=3)
    phases = spy(monkeypatch, experiment, "two_phase")
    (row,) = evaluate_graphs(meta, [MaxCut(nx.cycle_graph(4))], p=1, dc=True)
    ((args, kwargs),) = phases
    (ansatz,) = args[0]
    assert type(ansatz) is DCQAOA and ansatz.p == 1
    assert kwargs == {"steps": 10, "optimizer": "sgd", "lr": 0.01, "phase_two_steps": 100}
    assert row["phase_one_evaluations"] == 11 and 0 < row["phase_two_steps"] <= 100
    with pytest.raises(TypeError) as refused:
        evaluate_graphs(meta, [MaxCut(nx.cycle_graph(4)), 1, "a", None, 2.5], p=1, dc=True)
    assert str(refused.value) == (
        "problems: expected a non-empty sequence of MaxCut problems (the cut needs a graph), got "
        "['MaxCut(n=4, edges=4, max_cut=4)', '1', \"'a'\"]"
    )


def test_a_verdict_is_level_only_strictly_within_level():
    from applications.qaoa.experiment import LEVEL, _verdict

    assert _verdict(LEVEL, 0.0) == "ahead by 0.0001"  # exactly LEVEL apart: no longer level
    assert _verdict(0.0, LEVEL) == "BEHIND by 0.0001"
    assert _verdict(0.5, 0.5 + LEVEL / 2) == "level (within 0.0001)"


def test_build_meta_puts_the_optimiser_on_its_device():
    from applications.qaoa.experiment import build_meta

    meta = build_meta("gru", p=1, hidden_size=3, device="meta")  # a device without data stands in for a GPU
    assert {q.device.type for q in meta.parameters()} == {"meta"}


def test_evaluate_graphs_names_a_bad_meta_and_read_graphs_a_missing_file(tmp_path):
    from applications.qaoa.experiment import evaluate_graphs, read_graphs

    assert_refusals(
        [
            (lambda: evaluate_graphs("x", [], p=1), TypeError, "meta: expected a MetaOptimizer, got 'x'"),
            (
                lambda: read_graphs(tmp_path / "none.json"),
                FileNotFoundError,
                f"graphs file: expected {tmp_path / 'none.json'}, which does not exist",
            ),
        ]
    )
