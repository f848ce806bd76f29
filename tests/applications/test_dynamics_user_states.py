"""The user's own initial states and run folders that travel (``ornn dynamics evaluate --states``, relocation)."""

import json
import math
import shutil

import numpy as np
import pytest
import torch

from applications.dynamics import DynamicsPredictor, evaluate_states, evolve_exact
from applications.dynamics.data import haar_states
from applications.dynamics.metrics import mean_relative_entropy
from applications.dynamics.runs import read_states
from ornn_cli.main import main


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
