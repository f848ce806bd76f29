"""The layers: imports point down (ornn <- cells <- applications <- proofs <- ornn_cli), and importing a
library package loads nothing above it.

The first test reads every module's import statements (and ``importlib.import_module`` calls with a
literal name); the second imports each package in a fresh interpreter and lists what got loaded.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: package -> the packages of this repository it may import
ALLOWED = {
    "ornn": set(),
    "cells": {"ornn"},
    "applications": {"cells", "ornn"},
    "proofs": {"applications", "cells", "ornn"},
    "ornn_cli": {"proofs", "applications", "cells", "ornn"},
}


def imported_roots(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) for every absolute import in a module, literal import_module names included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add((node.lineno, node.args[0].value.split(".")[0]))
    return found


def test_imports_point_down():
    upward = []
    for package, allowed in ALLOWED.items():
        for module in sorted((ROOT / package).rglob("*.py")):
            for line, root in imported_roots(module):
                if root in ALLOWED and root != package and root not in allowed:
                    upward.append(f"{module.relative_to(ROOT)}:{line} imports {root}")
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def test_the_checker_sees_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text(
        "import torch\nfrom cells.gated import LSTM\n\ndef f():\n    importlib.import_module('ornn_cli.main')\n"
    )
    assert imported_roots(module) == {(1, "torch"), (2, "cells"), (5, "ornn_cli")}


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("ornn", ("cells", "applications", "proofs", "ornn_cli")),
        ("ornn.testing", ("cells", "applications", "proofs", "ornn_cli")),
        ("cells", ("applications", "proofs", "ornn_cli")),
        ("applications.qaoa", ("proofs", "ornn_cli")),
        ("applications.dynamics", ("proofs", "ornn_cli")),
        ("proofs", ("ornn_cli",)),
    ],
)
def test_importing_a_package_loads_nothing_above_it(package, forbidden):
    code = f"import json, sys, {package}; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    )
    above = [m for m in loaded if m.split(".")[0] in forbidden]
    assert not above, f"importing {package} loaded {above}"


def test_importing_ornn_registers_no_cells_and_cells_registers_only_the_zoo():
    code = "import ornn; before = ornn.available_cells(); import cells; print(repr((before, ornn.available_cells())))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    before, after = ast.literal_eval(result.stdout.strip())
    assert before == ()
    assert after == ("arnn", "cw_rnn", "gru", "lstm", "qfwp", "qk_lstm", "qlstm", "qunn", "sru", "urnn")
