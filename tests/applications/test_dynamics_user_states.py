"""The user's own initial states and run folders that travel (``ornn dynamics evaluate --states``, relocation)."""

import json
import math
import shutil

import numpy as np
import pytest
import torch

from applications.dynamics import DynamicsPredictor, evaluate_states, evolve_exact
from applications.dynamics.data import APPENDIX_C_SPINS, appendix_c_state, haar_states
from applications.dynamics.metrics import mean_relative_entropy
from applications.dynamics.runs import read_states
from ornn_cli.main import main

from ..helpers import assert_refusals


def test_evaluate_states_scores_the_rollout_against_exact_evolution_and_persistence():
    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=3, width=8, num_layers=1).double()
    states = haar_states(3, 4, generator=torch.Generator().manual_seed(2))
    result = evaluate_states(model, states.numpy(), 6)
    assert (result["N"], result["count"], result["steps"]) == (3, 4, 6)
    exact = evolve_exact(states, 3, 6)
    predicted = model.rollout(states, 6).detach()
    assert result["predictor"]["mre"] == pytest.approx(mean_relative_entropy(predicted, exact).tolist(), abs=1e-12)
    persistence = states[:, None].expand_as(exact)
    assert result["persistence"]["mre"] == pytest.approx(mean_relative_entropy(persistence, exact).tolist(), abs=1e-12)
    one = evaluate_states(model, states[1], 6)  # an unbatched state is a batch of one
    assert one["count"] == 1
    with pytest.raises(ValueError, match="states: 4 spins exceed the model's max_spins 3"):
        evaluate_states(model, haar_states(4, 1), 2)
    with pytest.raises(ValueError, match=r"states: expected shape \(batch, 2\*\*N\)"):
        evaluate_states(model, torch.ones(3, dtype=torch.complex128), 2)
    with pytest.raises(ValueError, match="psi0: expected unit-norm states"):
        evaluate_states(model, torch.ones(8, dtype=torch.complex128), 2)


def test_states_files_npy_and_json_pairs(tmp_path):
    states = haar_states(2, 3, generator=torch.Generator().manual_seed(1))
    np.save(tmp_path / "s.npy", states.numpy())
    assert torch.equal(read_states(tmp_path / "s.npy"), states)
    pairs = torch.view_as_real(states).tolist()
    (tmp_path / "s.json").write_text(json.dumps(pairs))
    assert torch.equal(read_states(tmp_path / "s.json"), states)
    (tmp_path / "one.json").write_text(json.dumps([[0.6, 0.0], [0.0, 0.8]]))
    assert torch.equal(read_states(tmp_path / "one.json"), torch.tensor([0.6, 0.8j], dtype=torch.complex128))
    bad = {
        "real.npy": lambda p: np.save(p, np.ones(4)),
        "junk.npy": lambda p: p.write_bytes(b"junk"),
        "junk.json": lambda p: p.write_text("{"),
        "triples.json": lambda p: p.write_text("[[1, 2, 3]]"),
        "states.txt": lambda p: p.write_text("1 0"),
    }
    for name, write in bad.items():
        write(tmp_path / name)
        with pytest.raises(ValueError, match="--states: "):
            read_states(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="--states: .*does not exist"):
        read_states(tmp_path / "missing.npy")


def test_a_run_folder_moved_with_its_cache_evaluates_from_any_directory(tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["dynamics", "generate", "--spins", "2", "--per-spin", "10", "--steps", "4", "--out", "cache"]) == 0
    train = ["dynamics", "train", "--data", "cache", "--width", "6", "--layers", "1", "--epochs", "1", "--out", "run"]
    assert main(train) == 0
    assert json.loads((work / "run" / "config.json").read_text())["data"] == "../cache"
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(str(work / "run"), moved / "run")
    shutil.move(str(work / "cache"), moved / "cache")
    monkeypatch.chdir(tmp_path)
    assert main(["dynamics", "evaluate", "--run", str(moved / "run")]) == 0
    report = (moved / "run" / "report.md").read_text()
    assert "persistence" in report and ("behind persistence" in report or "beats persistence" in report)
    assert "## The paper's initial states (Zhang et al. Appendix C)" in report
    (paper,) = json.loads((moved / "run" / "appendix-c.json").read_text())  # N = 2 only, scored at the data's 4 steps
    psi = appendix_c_state(2)
    exact = evolve_exact(psi[None], 2, 4)
    persistence = float(mean_relative_entropy(psi[None, None].expand_as(exact), exact)[4])
    # the run's model is float32, so its metrics are: 1e-6 covers float32 round-off in a KL of size 4e-5
    assert paper["N"] == 2 and paper["persistence @ 4"] == pytest.approx(persistence, abs=1e-6)
    assert paper["beats persistence"] == ("yes" if paper["MRE @ 4"] < persistence else "no")
    assert "Appendix C" in capsys.readouterr().out
    states = haar_states(2, 2, generator=torch.Generator().manual_seed(3))
    np.save(tmp_path / "mine.npy", states.numpy())
    capsys.readouterr()
    assert (
        main(
            [
                "dynamics",
                "evaluate",
                "--run",
                str(moved / "run"),
                "--states",
                str(tmp_path / "mine.npy"),
                "--steps",
                "12",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "2 state(s) of N = 2 spins" in printed
    saved = json.loads((moved / "run" / "states-evaluation.json").read_text())
    assert saved["count"] == 2 and len(saved["predictor"]["mre"]) == 13
    csv = (moved / "run" / "states-evaluation.csv").read_text().splitlines()
    assert len(csv) == 14 and csv[0].startswith("step,")
    assert (moved / "run" / "states-mre.png").stat().st_size > 0
    np.save(tmp_path / "real.npy", np.ones(4))
    assert main(["dynamics", "evaluate", "--run", str(moved / "run"), "--states", str(tmp_path / "real.npy")]) == 2
    assert "--states: expected complex amplitudes" in capsys.readouterr().err
    # resume from the new place: the cache is found relative to the run folder
    assert main(["dynamics", "train", "--out", str(moved / "run"), "--resume", "--epochs", "2"]) == 0
    assert math.isfinite(json.loads((moved / "run" / "metrics.json").read_text())["val_loss"][-1])


def test_appendix_c_states_are_the_printed_amplitudes_at_unit_norm():
    # amplitudes copied by hand from Zhang et al. (arXiv:1905.09168) Appendix C; printed to 3 decimals, so the
    # renormalised vector may differ from them by the rounding (5e-4) times the norm correction (< 2e-3)
    two = appendix_c_state(2)
    printed = torch.tensor([-0.078 + 0.203j, -0.458 + 0.359j, 0.372 + 0.602j, -0.274 + 0.197j], dtype=torch.complex128)
    assert torch.allclose(two, printed / torch.linalg.vector_norm(printed), atol=1e-12)
    seven = appendix_c_state(7)
    assert seven.shape == (128,) and seven.dtype == torch.complex128
    for index, amplitude in ((0b0000000, 0.067 + 0.007j), (0b0000001, 0.018 + 0.119j), (0b0100011, 0.034 + 0.108j)):
        assert abs(complex(seven[index]) - amplitude) < 1e-3, index
    for n in APPENDIX_C_SPINS:
        psi = appendix_c_state(n, dtype=torch.complex64)
        assert psi.shape == (2**n,) and psi.dtype == torch.complex64
        assert float(torch.linalg.vector_norm(psi.to(torch.complex128))) == pytest.approx(
            1.0, abs=1e-6
        )  # float32 round-off
    assert APPENDIX_C_SPINS == (2, 3, 4, 5, 6, 7)
    for bad in (1, 8, True, "3"):
        with pytest.raises(ValueError, match=r"n_spins: expected one of \(2, 3, 4, 5, 6, 7\)"):
            appendix_c_state(bad)


def test_the_printed_states_are_unit_vectors_to_their_rounding():
    # independent of the loader: every printed vector has norm 1 within the 3-decimal rounding
    from importlib import resources

    states = json.loads(resources.files("applications.dynamics").joinpath("appendix_c.json").read_text())["states"]
    assert sorted(map(int, states)) == list(APPENDIX_C_SPINS)
    for n, pairs in states.items():
        pairs = np.asarray(pairs)
        assert pairs.shape == (2 ** int(n), 2)
        assert abs(np.linalg.norm(pairs) - 1) < 5e-3, n


def test_evaluate_states_admits_one_spin_and_refuses_by_name():
    """One spin (2 amplitudes) is a chain like any other; a model that predicts only some chain lengths
    (``spins``) refuses the others; each refusal whole, naming ``states`` or ``steps``."""
    from applications.dynamics import NormPreservingPredictor

    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=3, width=8, num_layers=1).double()
    one_spin = evaluate_states(model, torch.tensor([0.6, 0.8j], dtype=torch.complex128), 2)
    assert (one_spin["N"], one_spin["count"], one_spin["steps"]) == (1, 1, 2)
    cores = NormPreservingPredictor((1, 3)).double()
    assert evaluate_states(cores, haar_states(3, 2, generator=torch.Generator().manual_seed(0)), 2)["N"] == 3
    assert_refusals(
        [
            (
                lambda: evaluate_states(cores, haar_states(2, 1), 2),
                ValueError,
                "states: the model predicts chains of [1, 3] spins, got states of 2",
            ),
            (
                lambda: evaluate_states(model, "abc", 2),
                TypeError,
                "states: expected a complex tensor, a complex numpy array or a QuTiP ket, got 'abc'",
            ),
            (
                lambda: evaluate_states(model, haar_states(2, 1), 0),
                ValueError,
                "steps: expected an integer >= 1, got 0",
            ),
            (
                lambda: evaluate_states(model, torch.ones(6, dtype=torch.complex128), 2),
                ValueError,
                "states: expected shape (batch, 2**N) or (2**N,), got (6,)",
            ),
        ]
    )
