"""The user's path through the command line, run as a user runs it: ``python -m ornn_cli ...`` in a subprocess.

Where a test makes several calls, one of each kind runs in a subprocess and the others call ``main`` in this
interpreter (the same code; a subprocess start costs about 3 s of imports).

Exit codes (0 ok, 1 failed verdict, 2 usage error), the files each command writes, one-line
errors without tracebacks (and tracebacks with --verbose), refusal to overwrite a run.
"""

import json
import subprocess
import sys

import pytest
import torch


def ornn(*args, cwd=None, timeout=240):
    return subprocess.run(
        [sys.executable, "-m", "ornn_cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def one_line_error(result, *fragments):
    assert_one_line_error(result.returncode, result.stderr, fragments)


def assert_one_line_error(code, err, fragments):
    """Exit code 2 and one line on stderr, without a traceback, holding every fragment."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.slow  # 4.7 min of the default run's 10-minute budget on 2 cores (2026-12-06): run with -m slow
@pytest.mark.timeout(600)  # the whole quick demo
def test_quick_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = ornn("demo", "--quick", "--out", out, "--seed", 1, timeout=480)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = result.stdout
    for title in (
        "Tableaus",
        "ODECell vs torchdiffeq",
        "Proofs: the unification paper",
        "Cells: computed (n, t)",
        "QAOA and DC-QAOA",
        "Ising-chain dynamics",
        "== Summary (quick, seed 1, cpu",
    ):
        assert title in printed, title
    summary = printed[printed.index("== Summary") :]
    for part in (
        "proofs",
        "cells",
        "QAOA meta-learning",
        "DC-QAOA meta-learning",
        "Ising, SRU",
        "Ising, norm-preserving",
    ):
        assert part in summary, part
    last = next(line for line in summary.splitlines() if " findings hold" in line)
    assert " findings hold" in last and "failing: " in last  # Theorem 4's order claim fails, and says so
    assert "theorem4: convergence order 2" in last and "holds" not in last.split("failing: ")[1]
    assert "meta-training" in result.stderr and "training sru predictor" in result.stderr  # progress bars

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["seconds"] > 0
    findings = {f["claim"]: f["holds"] for f in metrics["findings"]}
    assert findings["theorem4: stable for dt ||H|| < 2"] is True
    assert findings["theorem4: convergence order 2 (error O((1/T||H||)^2))"] is False
    assert {row["part"] for row in metrics["summary"]} >= {
        "ODECell",
        "proofs",
        "cells",
        "QAOA meta-learning",
        "Ising, SRU (Zhang et al.)",
    }
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 1 and config["quick"] is True and config["device"] == "cpu"
    report = (out / "report.md").read_text()
    assert "## Summary" in report and "| proofs |" in report
    embedded = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert {
        "stability_regions.png",
        "qaoa-compare/relative_error.png",
        "dc-qaoa-compare/relative_error.png",
        "dynamics-mre.png",
    } <= set(embedded)
    for name in embedded:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name

    again = ornn("demo", "--quick", "--out", out)  # an existing report is never overwritten silently
    one_line_error(again, "already holds a run", "--overwrite")
    assert json.loads((out / "metrics.json").read_text()) == metrics


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_demo_refuses_a_missing_device(tmp_path):
    one_line_error(
        ornn("demo", "--quick", "--device", "cuda", "--out", tmp_path / "x"), "--device", "CUDA is not available"
    )
    one_line_error(ornn("demo", "--device", "tpu7", "--out", tmp_path / "x"), "--device")
    assert not (tmp_path / "x").exists()


def test_every_subcommand_has_help_with_examples(capsys):
    from ornn_cli.main import main  # in-process: twelve interpreters would only time the imports

    for command in (
        [],
        ["demo"],
        ["cells"],
        ["check"],
        ["bench"],
        ["prove"],
        ["qaoa"],
        ["qaoa", "train"],
        ["qaoa", "compare"],
        ["qaoa", "evaluate"],
        ["dynamics"],
        ["dynamics", "generate"],
        ["dynamics", "train"],
        ["dynamics", "evaluate"],
        ["dynamics", "transfer"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        assert exit_info.value.code == 0, command
        assert "example" in capsys.readouterr().out, command


def one_line_error_in_process(capsys, argv, *fragments):
    """As :func:`one_line_error` for ``main(argv)`` in this interpreter (an argparse error exits, others return)."""
    from ornn_cli.main import main

    capsys.readouterr()  # what earlier calls printed
    try:
        code = main([*map(str, argv)])
    except SystemExit as exit_info:
        code = exit_info.code
    assert_one_line_error(code, capsys.readouterr().err, fragments)


def test_usage_errors_are_one_line_and_verbose_shows_the_traceback(tmp_path, capsys):
    from ornn_cli.main import main

    # in a subprocess: an argparse error, a library error inside a command, the same with --verbose, an unknown flag
    one_line_error(ornn("cells", "--hidden", "0"), "--hidden: expected a positive integer, got 0")
    one_line_error(ornn("qaoa", "train", "--cell", "nope", "--out", tmp_path / "n"), "unknown cell 'nope'")
    verbose = ornn("qaoa", "train", "--cell", "nope", "--out", tmp_path / "n", "--verbose")
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr
    unknown_flag = ornn("qaoa", "compare", "--frobnicate")
    one_line_error(unknown_flag, "unrecognized arguments: --frobnicate", "see ornn qaoa --help")
    # the rest in this interpreter: the same code path, without an interpreter start (3 s) each
    one_line_error_in_process(capsys, ["check", "nope"], "unknown cell 'nope'")
    one_line_error_in_process(
        capsys,
        ["qaoa", "train", "--p", "0", "--out", tmp_path / "q"],
        "argument --p: expected a positive integer, got 0",
    )
    one_line_error_in_process(
        capsys,
        ["dynamics", "train", "--spins", "2", "--per-spin", "10", "--epochs", "0", "--out", tmp_path / "d"],
        "argument --epochs: expected a positive integer, got 0",
    )
    capsys.readouterr()
    assert main(["--verbose", "check", "nope"]) == 2  # the global flag, before the command
    assert "Traceback" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in ("n", "q", "d"))  # a refused command writes nothing


def test_prove_exit_codes():
    result = ornn("prove", "claim1", "--quick")
    assert result.returncode == 0 and "holds" in result.stdout
    one_line_error(ornn("prove", "claim9"), "unknown proof 'claim9'")


def test_bench_lists_runs_and_refuses():
    listing = ornn("bench")
    assert listing.returncode == 0
    for name in ("ode_cells", "cells_speed", "qaoa_speed", "dynamics_speed", "memory_tasks"):
        assert name in listing.stdout
    one_line_error(ornn("bench", "nope"), "NAME: expected one of")
    quick = ornn("bench", "ode_cells", "--quick", "--", "--steps", "20")
    assert quick.returncode == 0, quick.stderr
    assert "worst ratio" in quick.stdout


def test_qaoa_runs_refuse_to_overwrite(tmp_path, capsys):
    """The refusal of a second train in a subprocess, as the user meets it; the trainings and the other refusals in
    this interpreter (each subprocess start costs 3 s of imports and 2 s of torch.optim's first use)."""
    from ornn_cli.main import main

    run = tmp_path / "gru"
    train = [
        "qaoa",
        "train",
        "--cell",
        "gru",
        "--hidden",
        "3",
        "--kind",
        "3-regular",
        "--train-sizes",
        "4",
        "--steps",
        "2",
        "--epochs",
        "1",
        "--out",
        str(run),
    ]
    assert main(train) == 0
    for name in ("config.json", "checkpoint.pt", "best.pt", "metrics.json"):
        assert (run / name).stat().st_size > 0
    first = (run / "best.pt").read_bytes()
    one_line_error(ornn(*train), "already holds a run", "--resume", "--overwrite")
    assert (run / "best.pt").read_bytes() == first
    assert main([*train, "--overwrite"]) == 0
    one_line_error_in_process(
        capsys, [*train[:-2], "--out", tmp_path / "fresh", "--resume"], "--resume: expected a run to continue"
    )
    compare = [
        "qaoa",
        "compare",
        "--quick",
        "--kind",
        "3-regular",
        "--cells",
        "gru",
        "--hidden",
        "3",
        "--train-sizes",
        "4",
        "--test-sizes",
        "6",
        "--steps",
        "2",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "cmp"),
    ]
    assert main(compare) == 0
    one_line_error_in_process(capsys, compare, "already holds a run", "--overwrite")
