"""The reference optima of the QAOA benchmarks: ``benchmarks/_qaoa_test_graphs.py``, ``best_known_optima.py``
and the stored ``best_known_optima.json`` (each stored optimum is re-evaluated here; the search itself is not run)."""

import importlib
import sys
from pathlib import Path

import pytest
import torch

from applications.qaoa import ansatz_optimum, make_ansatz, random_regular_maxcut, relative_error

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def scripts():
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import each other by name, as when run from benchmarks/
    try:
        yield importlib.import_module("_qaoa_test_graphs"), importlib.import_module("best_known_optima")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_interp_stretches_each_angle_sequence_by_zhou_et_als_formula(scripts):
    _, survey = scripts
    # p = 1 -> 2 repeats the layer; p = 2 -> 3 keeps both ends and puts their mean in the middle
    assert torch.equal(survey.interp(torch.tensor([0.3, 0.7]), 2), torch.tensor([0.3, 0.7, 0.3, 0.7]))
    two = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=torch.float64)  # DC layers (gamma, beta, alpha)
    expected = torch.tensor([1.0, 2.0, 3.0, 2.5, 3.5, 4.5, 4.0, 5.0, 6.0], dtype=torch.float64)
    assert torch.equal(survey.interp(two, 3), expected)


def test_a_stored_optimum_is_used_for_its_own_graph_and_the_others_are_searched(scripts):
    graphs, _ = scripts
    problems = [random_regular_maxcut(6, seed=s) for s in (1, 2)]
    ansatzes = [make_ansatz(problem, 1) for problem in problems]
    own = torch.stack([relative_error(pr, ansatz_optimum(a)[0]) for pr, a in zip(problems, ansatzes)])
    lower = float(problems[0].optimum) * 0.95  # a value no search gives: the reference must be the stored one
    key = graphs.ansatz_key(1, False)
    stored = {"fingerprint": graphs.fingerprint(problems[0]), "energy": lower}
    errors, from_file = graphs.reference_errors("unseen", problems, ansatzes, 1, False, {key: {"unseen/0": stored}})
    assert from_file == 1
    assert float(errors[0]) == pytest.approx(float(relative_error(problems[0], lower)), abs=1e-12)
    assert float(errors[1]) == pytest.approx(float(own[1]), abs=1e-12)  # not in the file: searched
    # the entry under another set's name or another depth is not this graph's, nor is it another graph's
    optima = {key: {"unseen/0": stored}}
    for label, p in (("compare", 1), ("unseen", 2)):
        assert graphs.stored_entry(optima, p, False, label, 0, problems[0]) is None
    assert graphs.stored_entry(optima, 1, False, "unseen", 0, problems[1]) is None
    swapped = {key: {"unseen/0": {**stored, "fingerprint": graphs.fingerprint(problems[1])}}}
    errors, from_file = graphs.reference_errors("unseen", problems, ansatzes, 1, False, swapped)
    assert from_file == 0 and torch.allclose(errors, own, atol=1e-12)


def test_every_stored_optimum_is_reproduced_by_its_parameters_on_its_test_graph(scripts):
    graphs, _ = scripts
    optima = graphs.load_optima()
    assert optima, f"expected the stored optima in {graphs.OPTIMA_FILE}"
    sets = graphs.graph_sets(16)
    checked = 0
    for key, entries in optima.items():
        dc = key.startswith("DC-QAOA")
        p = int(key.rsplit("=", 1)[1])
        assert key == graphs.ansatz_key(p, dc)
        for name, entry in entries.items():
            label, index = name.split("/")
            problem = sets[label][int(index)]
            assert entry["fingerprint"] == graphs.fingerprint(problem), f"{key} {name}: another graph"
            energy = make_ansatz(problem, p, dc=dc).energy(torch.tensor(entry["params"], dtype=torch.float64))
            # float64 statevector of 2^10 amplitudes: the same parameters give the same energy to rounding
            assert float(energy) == pytest.approx(entry["energy"], abs=1e-9), f"{key} {name}"
            assert entry["energy"] <= entry["benchmark_energy"] + 1e-9  # never above the benchmark's own search
            assert entry["energy"] >= problem.optimum - 1e-9  # no ansatz goes below the ground state
            checked += 1
    assert checked == sum(len(e) for e in optima.values()) > 0


def test_search_again_spares_the_benchmarks_own_search_and_keeps_its_recorded_energy(scripts, monkeypatch):
    """``--again`` passes the recorded benchmark energy: the 16-start search (deterministic) is not run a second
    time, and the entry is the best of the new searches alone."""
    _, survey = scripts
    problem = random_regular_maxcut(6, seed=3)
    runs = []
    real = survey.ansatz_optimum
    monkeypatch.setattr(
        survey,
        "ansatz_optimum",
        lambda a, starts, seed: runs.append((starts, seed)) or real(a, starts=starts, seed=seed),
    )
    first = survey.search(problem, 1, False, 2, None)
    assert runs == [(survey.BENCHMARK_STARTS, survey.BENCHMARK_SEED), (2, survey.SURVEY_SEED)]
    assert first["searched"] == f"16 starts (seed 0), 2 starts (seed {survey.SURVEY_SEED})"
    runs.clear()
    recorded = first["benchmark_energy"] + 0.5  # a recorded energy the new search beats: it must be the one reported
    again = survey.search(problem, 1, False, 2, None, benchmark_energy=recorded)
    assert runs == [(2, survey.SURVEY_SEED)]
    assert again["benchmark_energy"] == recorded and again["found_by"] == "2 random starts"
    assert again["searched"] == f"2 starts (seed {survey.SURVEY_SEED})"
    expected = 100 * float(relative_error(problem, recorded) - relative_error(problem, again["energy"]))
    assert again["points_below_benchmark"] == pytest.approx(expected, abs=1e-12)
