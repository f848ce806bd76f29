"""Run folders of ``applications.dynamics.runs``, written here by hand, read back and evaluated.

The folders are built in the test (config.json and best.pt, as ``ornn dynamics train`` writes them), so the
evaluation can be checked against values computed here: the exact evolution with the run's own dt, g and h,
persistence's error from it, and a model whose rollout is the exact evolution (error 0, so it beats persistence).
"""

import json
from dataclasses import asdict

import pytest
import torch
from torch import nn

from applications.dynamics import DynamicsPredictor, SequenceSpec, evolve_exact
from applications.dynamics.data import appendix_c_state, cache
from applications.dynamics.metrics import evaluate_sequences
from applications.dynamics.runs import _appendix_c_rows, build_model, load_run

from ..helpers import assert_refusals, spy

# the run's field and step differ from the defaults (dt 0.002, g -1.05, h 0.5), so a default read in their place shows
SPEC = SequenceSpec(spins=(1, 2, 3), per_spin=10, steps=4, dt=0.05, g=-0.7, h=0.3)


class ExactPredictor(nn.Module):
    """Rolls out the exact evolution of the chain with (dt, g, h): an error of 0 at every step."""

    max_spins = 7

    def __init__(self, dt: float, g: float, h: float):
        super().__init__()
        self.dt, self.g, self.h = dt, g, h
        self.anchor = nn.Parameter(torch.zeros((), dtype=torch.float64))  # the dtype the states are scored in

    def rollout(self, psi0: torch.Tensor, steps: int) -> torch.Tensor:
        n = psi0.shape[-1].bit_length() - 1
        return evolve_exact(psi0, n, steps, self.dt, self.g, self.h)


def persistence_model() -> DynamicsPredictor:
    """A predictor with gain exp(-inf) = 0 on its increment: psi_{t+1} = psi_t, persistence itself."""
    model = DynamicsPredictor(max_spins=3, width=4, num_layers=1).double()
    with torch.no_grad():
        model.increment_log_gain.fill_(-float("inf"))
    return model


def paper_state_scores(n: int, steps: int, spec: SequenceSpec = SPEC) -> dict:
    """Persistence's metrics from Appendix C's state of n spins, against the exact evolution with the spec's fields."""
    psi = appendix_c_state(n)[None]
    exact = evolve_exact(psi, n, steps, spec.dt, spec.g, spec.h)
    return {k: v.double().tolist() for k, v in evaluate_sequences(exact[:, :1].expand_as(exact), exact).items()}


def test_appendix_c_rows_score_the_papers_states_with_the_runs_field_and_say_who_beats_persistence():
    exact_rows = _appendix_c_rows(ExactPredictor(SPEC.dt, SPEC.g, SPEC.h), SPEC, 4, [2, 4])
    assert [row["N"] for row in exact_rows] == [2, 3]  # N = 1 has no Appendix C state
    for row in exact_rows:
        persistence = paper_state_scores(row["N"], 4)
        assert set(row) == {
            "N",
            "MRE @ 2",
            "MRE @ 4",
            "persistence @ 2",
            "persistence @ 4",
            "fidelity @ 2",
            "fidelity @ 4",
            "norm drift @ 4",
            "beats persistence",
        }
        assert row["persistence @ 2"] == pytest.approx(persistence["mre"][2], rel=1e-12)
        assert row["persistence @ 4"] == pytest.approx(persistence["mre"][4], rel=1e-12)
        assert row["persistence @ 4"] > 1e-4  # the field moves the state: a wrong dt, g or h would show
        assert row["MRE @ 2"] == pytest.approx(0.0, abs=1e-12) and row["MRE @ 4"] == pytest.approx(0.0, abs=1e-12)
        assert row["fidelity @ 2"] == pytest.approx(1.0, abs=1e-12) and row["fidelity @ 4"] == pytest.approx(
            1.0, abs=1e-12
        )
        assert row["norm drift @ 4"] == pytest.approx(0.0, abs=1e-12)
        assert row["beats persistence"] == "yes"
    # persistence itself ties with persistence: a tie does not beat it
    for row in _appendix_c_rows(persistence_model(), SPEC, 4, [4]):
        assert row["MRE @ 4"] == row["persistence @ 4"] and row["beats persistence"] == "no"


def write_run(folder, model: nn.Module, *, data=None, spec=SPEC, kind="recurrent-stack") -> None:
    """A run folder as ``ornn dynamics train`` leaves it: config.json (JSON turns the spins into a list) and best.pt."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"kind": kind, "model": model.config, "spec": asdict(spec), "data": data}
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(model.state_dict(), folder / "best.pt")


def test_load_run_reads_the_spec_or_the_cache_and_the_best_weights(tmp_path):
    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=3, width=4, num_layers=1)
    write_run(tmp_path / "run", model)
    loaded, spec, cached, config = load_run(tmp_path / "run")
    assert spec == SPEC and isinstance(spec.spins, tuple) and cached is None
    assert config["kind"] == "recurrent-stack" and config["model"] == model.config
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    # with a cache: its spec and sequences, read relative to the run folder
    cache(SequenceSpec(spins=(2,), per_spin=10, steps=3), tmp_path / "cache")
    write_run(tmp_path / "cached-run", model, data="../cache")
    _, spec, cached, _ = load_run(tmp_path / "cached-run")
    assert spec == SequenceSpec(spins=(2,), per_spin=10, steps=3) and list(cached) == [2]
    assert cached[2].shape == (10, 4, 4)


def test_build_model_builds_either_kind_from_its_arguments_and_refuses_by_name():
    from applications.dynamics.physics import NormPreservingPredictor

    model = build_model({"kind": "norm-preserving", "model": {"spins": [2, 4], "dt": 0.05}})
    assert isinstance(model, NormPreservingPredictor) and model.spins == (2, 4) and model.dt == 0.05
    stack = build_model({"kind": "recurrent-stack", "model": {"max_spins": 3, "width": 6, "num_layers": 1}})
    assert isinstance(stack, DynamicsPredictor) and (stack.max_spins, stack.config["width"]) == (3, 6)
    kinds = "recurrent-stack, norm-preserving"
    assert_refusals(
        [
            (lambda: build_model([]), "config: expected a dict with 'kind' and 'model', got list"),
            (
                lambda: build_model({"kind": "lstm", "model": {}}),
                f"config: expected a model kind in {kinds}, got 'lstm'",
            ),
            (
                lambda: build_model({"kind": "norm-preserving", "model": [2]}),
                "config: expected 'model' to hold the constructor arguments, got [2]",
            ),
            (
                lambda: build_model({"kind": "norm-preserving", "model": {"spins": [2]}}),
                "config: the 'model' entry does not describe a norm-preserving model ('dt')",
            ),
        ],
        ValueError,
    )
    # Python words the constructor's own TypeError (and names the function its own way): matched up to it
    assert_refusals(
        [
            (
                lambda: build_model({"kind": "recurrent-stack", "model": {"wide": 3}}),
                r"config: the 'model' entry does not describe a recurrent-stack model "
                r"\(\S*__init__\S*\(\) got an unexpected keyword argument 'wide'\)",
            )
        ],
        ValueError,
        regex=True,
    )


def test_load_run_names_the_config_when_its_spec_is_broken(tmp_path):
    model = DynamicsPredictor(max_spins=3, width=4, num_layers=1)
    write_run(tmp_path / "run", model)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    del config["spec"]["spins"]
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    expected = f"{tmp_path / 'run' / 'config.json'}: config: the 'spec' entry does not describe a data spec ('spins')"
    assert_refusals([(lambda: load_run(tmp_path / "run"), ValueError, expected)])


def record_plots(monkeypatch) -> dict:
    """The report's plot calls recorded instead of drawn (the figures are tested in the report's own tests)."""
    from applications.dynamics import runs

    names = ("plot_metric", "plot_amplitudes", "plot_magnetisation")
    return {name: spy(monkeypatch, runs, name, call_through=False) for name in names}


def test_evaluate_run_reports_its_tables_horizons_and_the_papers_states(tmp_path, monkeypatch):
    from applications.dynamics.data import sequences
    from applications.dynamics.runs import evaluate_run
    from ornn import tables

    plots = record_plots(monkeypatch)
    spec = SequenceSpec(spins=(1, 2), per_spin=20, steps=4, dt=0.05, g=-0.7, h=0.3)  # 2 test sequences per N
    run = tmp_path / "run"
    write_run(run, persistence_model(), spec=spec)
    result = evaluate_run(run)  # the data's 4 steps: no horizon of 100 steps
    report = (run / "report.md").read_text()
    assert report.startswith("# Ising predictor (sru) against exact evolution\n\nAutoregressive rollout of 4 steps")
    assert result["growth"] == [] and "## MRE growth\n\n(no horizon of 100 steps or more)\n\n" in report
    assert [row["N"] for row in result["table"]] == [1, 2]
    assert tables.format_table(result["table"], style="markdown") in report
    # persistence itself ties with persistence everywhere, so the report says it is behind for both N
    assert all(row["beats persistence"] == "no" for row in result["table"] + result["appendix_c"])
    (paper,) = result["appendix_c"]
    # the run's model is rebuilt in float32 (its config has no dtype): 1e-5 covers float32 round-off in the KL
    assert paper["persistence @ 4"] == pytest.approx(paper_state_scores(2, 4, spec)["mre"][4], rel=1e-5)
    verdict = (
        f"**The predictor is behind persistence** for N = 2 (MRE {paper['MRE @ 4']:.3g} against "
        f"{paper['persistence @ 4']:.3g}): repeating the initial state predicts better there."
    )
    assert result["appendix_c_verdict"] == verdict
    assert tables.format_table([paper], style="markdown") + "\n\n" + verdict in report
    assert json.loads((run / "appendix-c.json").read_text()) == [paper]
    # the plotted rollout starts from the first test sequence's initial state: persistence repeats it
    ((predicted, exact, path), _), ((predicted_m, exact_m, path_m), _) = (
        *plots["plot_amplitudes"],
        *plots["plot_magnetisation"],
    )
    assert (predicted_m, exact_m, path_m) == (predicted, exact, run / "magnetisation.png")
    assert [(args[1:], kwargs) for args, kwargs in plots["plot_metric"]] == [
        (("mre", run / "mre.png"), {"ylabel": "mean relative entropy (Eq. 7)", "log": True}),
        (("magnetisation_error", run / "magnetisation_error.png"), {"ylabel": "|m_pred - m_exact|"}),
    ]
    assert all(args[0] is result["evaluation"] for args, _ in plots["plot_metric"])
    saved = json.loads((run / "evaluation.json").read_text())
    assert saved == {str(n): per for n, per in result["evaluation"].items()}
    assert report.endswith(
        "![MRE](mre.png)\n\n![magnetisation](magnetisation.png)\n\n![magnetisation error](magnetisation_error.png)\n\n"
        "![amplitudes](amplitudes.png)\n"
    )
    first = spec.split_range("test").start
    for n in (1, 2):
        sequence = sequences(spec, n, range(first, first + 1))[0]
        assert torch.equal(exact[n], sequence.to(torch.complex64))
        assert torch.equal(predicted[n], exact[n][:1].expand(5, -1))
    assert path == run / "amplitudes.png"

    # fewer steps than the data: scored on 2 steps; count 1: the first of the 2 test sequences alone
    shorter = evaluate_run(run, steps=2, count=1)
    # float32 metrics: a KL of size 1e-3 computed from float32 amplitudes is good to about 1e-7 absolute
    for n in (1, 2):
        both = sequences(spec, n, range(first, first + 2))[:, :3]
        one, two = (evaluate_sequences(s[:, :1].expand(-1, 3, -1), s)["mre"][2] for s in (both[:1], both))
        assert abs(float(one - two)) > 1e-5  # the count shows
        assert shorter["evaluation"][n]["persistence"]["mre"][2] == pytest.approx(float(one), rel=0, abs=1e-6)
        assert len(shorter["evaluation"][n]["predictor"]["mre"]) == 3
    (_, shorter_exact, _), _ = plots["plot_amplitudes"][-1]
    assert [len(shorter_exact[n]) for n in (1, 2)] == [3, 3]  # the plotted states stop at the evaluated step too

    longer = evaluate_run(run, steps=1000, count=1)  # past the data: horizons 100, 250 and 1000
    report = (run / "report.md").read_text()
    for row in longer["growth"]:
        per = longer["evaluation"][row["N"]]
        assert row == {
            "N": row["N"],
            **{f"MRE @ {k}": per["predictor"]["mre"][k] for k in (100, 250, 1000)},
            **{f"persistence @ {k}": per["persistence"]["mre"][k] for k in (100, 250, 1000)},
            **{f"norm drift @ {k}": per["predictor"]["norm_drift"][k] for k in (100, 250, 1000)},
        }
    assert [row["N"] for row in longer["growth"]] == [1, 2]
    assert "## MRE growth\n\n" + tables.format_table(longer["growth"], style="markdown") + "\n\n" in report
    assert set(longer["appendix_c"][0]) >= {"MRE @ 100", "MRE @ 250", "MRE @ 1000", "norm drift @ 1000"}


def test_a_run_without_a_papers_chain_length_says_so_and_is_labelled_by_its_kind(tmp_path, monkeypatch):
    from applications.dynamics.physics import NormPreservingPredictor
    from applications.dynamics.runs import evaluate_run

    record_plots(monkeypatch)
    spec = SequenceSpec(spins=(1,), per_spin=10, steps=3)
    run = tmp_path / "run"
    write_run(run, NormPreservingPredictor((1,), dt=spec.dt).double(), spec=spec, kind="norm-preserving")
    result = evaluate_run(run)
    report = (run / "report.md").read_text()
    assert report.startswith("# Ising predictor (norm-preserving) against exact evolution\n\n")
    assert result["appendix_c"] == [] and result["appendix_c_verdict"] == ""
    assert "(none of the run's chain lengths is one of (2, 3, 4, 5, 6, 7))" in report


def test_evaluate_states_of_run_scores_the_users_states_with_the_runs_field(tmp_path, monkeypatch):
    import numpy as np

    from applications.dynamics.data import haar_states
    from applications.dynamics.runs import evaluate_states_of_run

    plots = record_plots(monkeypatch)
    run = tmp_path / "run"
    write_run(run, persistence_model())  # SPEC: dt 0.05, g -0.7, h 0.3
    states = haar_states(2, 2, generator=torch.Generator().manual_seed(3))
    np.save(tmp_path / "mine.npy", states.numpy())
    result = evaluate_states_of_run(run, tmp_path / "mine.npy")  # default: 100 steps
    assert (result["N"], result["count"], result["steps"]) == (2, 2, 100)
    exact = evolve_exact(states, 2, 100, SPEC.dt, SPEC.g, SPEC.h)
    persistence = evaluate_sequences(exact[:, :1].expand_as(exact), exact)["mre"]
    assert float(persistence[100]) > 0.01  # the run's field moves the states far from where the defaults would
    # the run's model is float32: 1e-6 covers float32 round-off in these KLs
    assert result["persistence"]["mre"] == pytest.approx(persistence.tolist(), rel=0, abs=1e-6)
    assert result["states"] == str((tmp_path / "mine.npy").resolve())
    assert json.loads((run / "states-evaluation.json").read_text()) == json.loads(json.dumps(result))
    lines = (run / "states-evaluation.csv").read_text().splitlines()
    assert len(lines) == 102 and lines[0].split(",") == [
        "step",
        *(f"{name} {metric}" for name in ("predictor", "persistence") for metric in ("mre", "fidelity", "norm_drift")),
    ]
    ((args, kwargs),) = plots["plot_metric"]
    assert args == ({2: result}, "mre", run / "states-mre.png")
    assert kwargs == {"ylabel": "mean relative entropy (Eq. 7)", "log": True}


def test_read_states_takes_integer_json_pairs_as_float64_amplitudes(tmp_path):
    from applications.dynamics.runs import read_states

    (tmp_path / "basis.json").write_text("[[0, 0], [1, 0], [0, 0], [0, 1]]")  # (|01> + i|11>), unnormalised here
    states = read_states(tmp_path / "basis.json")
    assert states.dtype == torch.complex128
    assert states.tolist() == [0, 1, 0, 1j]


def test_load_run_names_the_file_it_cannot_read(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": "recurrent-stack", "model": {}}))
    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=3, width=4, num_layers=1)
    assert_refusals(
        [
            (
                lambda: load_run(tmp_path / "missing"),
                FileNotFoundError,
                f"config.json of the run: expected {tmp_path / 'missing' / 'config.json'}, which does not exist",
            ),
            (
                lambda: load_run(run),
                ValueError,
                f"config.json of the run: {run / 'config.json'} lacks the entries spec (is it from another command?)",
            ),
        ]
    )
    write_run(run, model)
    (run / "best.pt").unlink()
    assert_refusals(
        [
            (
                lambda: load_run(run),
                FileNotFoundError,
                f"best.pt of the run: expected {run / 'best.pt'}, which does not exist",
            )
        ]
    )
