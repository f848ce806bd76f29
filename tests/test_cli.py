"""The command line: version, help, the demo's report folder, exit codes."""

import json
import subprocess
import sys

import pytest

import ornn
from ornn import _io
from ornn_cli.main import main


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ornn {ornn.__version__}"
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--seed", "-1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seed: expected a non-negative integer, got -1" in err and "Traceback" not in err


def test_console_script_module_entry():
    result = subprocess.run([sys.executable, "-m", "ornn_cli", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"ornn {ornn.__version__}"


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "metrics.json"
    _io.write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        _io.write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp files left behind


def test_cells_table_and_check_exit_codes(capsys):
    assert main(["cells", "--hidden", "4", "--steps", "5"]) == 0
    table = capsys.readouterr().out
    for name in ("lstm", "qk_lstm", "qfwp", "arnn (scheme=leapfrog)", "bounded", "gradients", "Table 4 stability"):
        assert name in table
    assert main(["check", "arnn", "--hidden", "4", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "arnn: (n, t) = (1, 2)" in out and "verdict (gradient-preserving)" in out and "  stable\n" in out
    # an LSTM contracts: bounded, but its gradients vanish over 100 steps; the exit code follows --require
    assert main(["check", "lstm", "--hidden", "4"]) == 1
    assert "gradients not preserved over 100 steps" in capsys.readouterr().out
    assert main(["check", "lstm", "--hidden", "4", "--require", "bounded"]) == 0
    assert "verdict (bounded)" in capsys.readouterr().out
    assert main(["check", "nope"]) == 2
    assert "unknown cell 'nope'; valid names are" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "lstm", "--steps", "0"])
    assert exit_info.value.code == 2
    assert "--steps: expected a positive integer, got 0" in capsys.readouterr().err


def test_the_cli_lists_the_same_properties_as_the_library():
    from ornn import stability
    from ornn_cli.commands import check

    assert check.PROPERTIES == stability.PROPERTIES


def test_check_reports_an_unstable_cell_with_exit_1(capsys):

    import cells

    class Doubling(cells.GRU):
        """A GRU whose output is doubled each step: the Lyapunov exponent is log 2 > 0."""

        def forward_unchecked(self, x, state):
            return 2 * state, 2 * state

    ornn.register_cell("doubling_test", Doubling, replace=True)
    try:
        assert main(["check", "doubling_test", "--hidden", "3", "--steps", "10"]) == 1
        assert "UNSTABLE" in capsys.readouterr().out
    finally:
        ornn.unregister_cell("doubling_test")


def test_the_demo_summary_counts_repeated_failing_proofs_once():
    from ornn_cli.tour import findings_line
    from ornn_cli.tour.proofs import _counted

    assert _counted(["claim1", "claim1", "claim2", "theorem4"]) == ["claim1 (x2)", "claim2", "theorem4"]
    assert findings_line([("a", True), ("b", False)]) == "1 of 2 findings hold; failing: b"
    assert findings_line([("a", True)]) == "1 of 1 findings hold"
