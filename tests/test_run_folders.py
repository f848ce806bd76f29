"""The run-folder contract of the training commands (``ornn qaoa train``, ``ornn dynamics train``).

- Every failure to read a run (config, checkpoint, weights: missing, truncated, garbage, foreign
  keys, another shape) is one line on stderr and exit 2, for ``evaluate`` and for ``--resume``.
- ``--resume`` takes the flags left out from config.json and refuses a given flag that differs,
  naming it; ``--epochs`` and ``--device`` may change.
- Nothing in the folder is written before the checkpoint has loaded (a failed resume leaves
  config.json as it was); orphan temporary files are removed; files honour the umask.
- Ctrl-C: before the first checkpoint it says there is nothing to resume; after it, the printed
  command resumes; during start-up it exits 130 without a traceback. No flag abbreviations.

Most cases run the command in-process (``ornn_cli.main.main``, the code a console script runs);
the interrupt and a sample of the corruptions run through a subprocess, as a user runs them.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ornn_cli.main import main

QAOA_TRAIN = ["qaoa", "train", "--cell", "gru", "--hidden", "3", "--kind", "3-regular", "--train-sizes", "4"]
QAOA_TRAIN += ["--steps", "2", "--epochs", "2"]
DYNAMICS_TRAIN = ["dynamics", "train", "--spins", "2", "--per-spin", "10", "--steps", "4", "--width", "6"]
DYNAMICS_TRAIN += ["--layers", "1", "--epochs", "2"]


def one_line(capsys, code, *fragments):
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("ornn ")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One finished run of each training command, and a QAOA run of another width (for shape mismatches)."""
    root = tmp_path_factory.mktemp("runs")
    assert main([*QAOA_TRAIN, "--out", str(root / "qaoa")]) == 0
    assert main([*QAOA_TRAIN[:5], "5", *QAOA_TRAIN[6:], "--out", str(root / "qaoa-5")]) == 0
    assert main([*DYNAMICS_TRAIN, "--out", str(root / "dynamics")]) == 0
    return root


def copy_run(runs, name, tmp_path):
    target = tmp_path / name
    shutil.copytree(runs / name, target)
    return target


CORRUPTIONS = {
    "missing": lambda path: path.unlink(),
    "empty": lambda path: path.write_bytes(b""),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 3]),
    "garbage": lambda path: path.write_bytes(b"not a torch file\n"),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
@pytest.mark.parametrize("command", ["qaoa", "dynamics"])
def test_a_damaged_best_pt_or_checkpoint_is_one_line_and_resume_writes_nothing(
    runs, tmp_path, capsys, command, corruption
):
    run = copy_run(runs, command, tmp_path)
    CORRUPTIONS[corruption](run / "best.pt")
    CORRUPTIONS[corruption](run / "checkpoint.pt")
    capsys.readouterr()
    one_line(
        capsys,
        main(
            [
                command,
                "evaluate",
                "--run",
                str(run),
                *(["--test-sizes", "6", "--per-size", "1"] if command == "qaoa" else []),
            ]
        ),
        "best.pt",
    )
    config = (run / "config.json").read_bytes()
    expected = "--resume: expected a run to continue" if corruption == "missing" else "checkpoint"
    one_line(capsys, main([command, "train", "--out", str(run), "--resume"]), expected)
    assert (run / "config.json").read_bytes() == config


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{}", "lacks the entries"),
        ("[]", "expected a JSON object"),
        ("{not json", "is not valid JSON"),
        (None, "does not exist"),
    ],
)
@pytest.mark.parametrize("command", ["qaoa", "dynamics"])
def test_a_broken_config_json_is_one_line(runs, tmp_path, capsys, command, content, fragment):
    run = copy_run(runs, command, tmp_path)
    if content is None:
        (run / "config.json").unlink()
    else:
        (run / "config.json").write_text(content)
    capsys.readouterr()
    one_line(capsys, main([command, "evaluate", "--run", str(run)]), "config.json", fragment)
    one_line(capsys, main([command, "train", "--out", str(run), "--resume"]), "config.json", fragment)


def test_a_config_missing_one_key_or_describing_another_model_is_one_line(runs, tmp_path, capsys):
    run = copy_run(runs, "dynamics", tmp_path)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "spec"}))
    one_line(capsys, main(["dynamics", "evaluate", "--run", str(run)]), "lacks the entries spec")
    (run / "config.json").write_text(json.dumps({**config, "model": {**config["model"], "colour": "red"}}))
    one_line(capsys, main(["dynamics", "evaluate", "--run", str(run)]), "does not describe a recurrent-stack model")


def test_weights_of_another_shape_are_one_line_for_evaluate_and_resume(runs, tmp_path, capsys):
    run = copy_run(runs, "qaoa", tmp_path)
    for name in ("best.pt", "checkpoint.pt"):
        shutil.copy(runs / "qaoa-5" / name, run / name)
    config = (run / "config.json").read_bytes()
    capsys.readouterr()
    one_line(capsys, main(["qaoa", "evaluate", "--run", str(run), "--test-sizes", "6"]), "do not fit", "size mismatch")
    one_line(capsys, main(["qaoa", "train", "--out", str(run), "--resume"]), "checkpoint", "do not fit")
    assert (run / "config.json").read_bytes() == config


@pytest.mark.parametrize(
    "command, flags, named",
    [
        ("qaoa", ["--kind", "sk", "--seed", "9"], "--kind: the run in"),
        ("qaoa", ["--hidden", "5"], "--hidden: the run in"),
        ("qaoa", ["--train-sizes", "4", "6"], "--train-sizes: the run in"),
        ("dynamics", ["--width", "16"], "--width: the run in"),
        ("dynamics", ["--spins", "2", "3"], "--spins: the run in"),
        ("dynamics", ["--lr", "0.1"], "--lr: the run in"),
    ],
)
def test_resume_refuses_flags_that_differ_from_the_run_and_writes_nothing(
    runs, tmp_path, capsys, command, flags, named
):
    run = copy_run(runs, command, tmp_path)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    line = one_line(capsys, main([command, "train", "--out", str(run), "--resume", *flags]), named)
    assert "a resumed run keeps its settings" in line
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_resume_takes_left_out_flags_from_the_config_and_may_extend_the_epochs(runs, tmp_path, capsys):
    run = copy_run(runs, "qaoa", tmp_path)
    # the same flags as given: accepted; the left-out ones (--cell gru --hidden 3 ...) come from config.json
    assert main(["qaoa", "train", "--out", str(run), "--resume", "--kind", "3-regular", "--epochs", "3"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["cell"] == "gru" and config["hidden"] == 3 and config["epochs"] == 3
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["val_loss"]) == 3  # two epochs from the first run, one more


def test_flags_take_no_abbreviations(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*QAOA_TRAIN[:-2], "--epoch", "3", "--out", "unused"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --epoch 3" in capsys.readouterr().err


def test_orphan_temporary_files_are_removed_and_files_honour_the_umask(runs, tmp_path):
    run = copy_run(runs, "qaoa", tmp_path)
    orphan = run / ".checkpoint.pt.ornn-abc12_yz.tmp"  # what a kill during the checkpoint write leaves
    orphan.write_bytes(b"half a checkpoint")
    users = [run / ".notes.tmp", run / ".draft.v2.tmp", run / ".x.ornn-short.tmp"]  # not ours: left alone
    for path in users:
        path.write_text("mine")
    old = os.umask(0o027)
    try:
        assert main(["qaoa", "train", "--out", str(run), "--resume", "--epochs", "3"]) == 0
    finally:
        os.umask(old)
    assert not orphan.exists() and all(path.read_text() == "mine" for path in users)
    for name in ("config.json", "checkpoint.pt", "best.pt", "metrics.json"):
        assert (run / name).stat().st_mode & 0o777 == 0o640, name


# ----------------------------------------------------------------------------- as a user runs it: a subprocess


def ornn_process(*args, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "ornn_cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def interrupt(process, *, after=None, delay=0.0, limit=120):
    start = time.monotonic()
    while after is not None and not after.exists() and time.monotonic() - start < limit:
        time.sleep(0.02)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=limit)
    return process.returncode, err


def test_ctrl_c_during_start_up_exits_130_without_a_traceback(tmp_path):
    code, err = interrupt(ornn_process(*QAOA_TRAIN, "--out", tmp_path / "r", cwd=tmp_path), delay=0.5)
    assert code == 130 and "Traceback" not in err, err


def test_ctrl_c_before_the_first_checkpoint_says_there_is_nothing_to_resume(tmp_path):
    run = tmp_path / "r"
    flags = [*QAOA_TRAIN[:-1], "100000", "--train-sizes", "10", "--batch", "16", "--out", run]
    code, err = interrupt(ornn_process(*flags, cwd=tmp_path), after=run / "config.json")
    assert code == 130 and "Traceback" not in err, err
    assert "nothing was saved, so there is nothing to resume" in err and "--resume" not in err
    assert not (run / "checkpoint.pt").exists()


def test_ctrl_c_after_a_checkpoint_prints_a_resume_command_that_works(tmp_path):
    run = tmp_path / "r"
    code, err = interrupt(
        ornn_process(*QAOA_TRAIN[:-1], "100000", "--out", run, cwd=tmp_path), after=run / "checkpoint.pt", delay=0.1
    )
    assert code == 130 and "Traceback" not in err, err
    command = err[err.index("Resume with:") :].splitlines()[1].split()
    assert command[:3] == ["ornn", "qaoa", "train"] and "--resume" in command
    resumed = subprocess.run(
        [sys.executable, "-m", "ornn_cli", *command[1:], "--epochs", "6"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(json.loads((run / "metrics.json").read_text())["val_loss"]) == 6


def test_a_subprocess_sees_the_same_one_line_errors(runs, tmp_path):
    run = copy_run(runs, "dynamics", tmp_path)
    (run / "best.pt").write_bytes(b"garbage")
    result = subprocess.run(
        [sys.executable, "-m", "ornn_cli", "dynamics", "evaluate", "--run", str(run)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "best.pt of the run" in result.stderr
