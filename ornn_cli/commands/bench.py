"""``ornn bench [NAME]``: list the scripts in benchmarks/, or run one and pass on its exit code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from .._parsing import Parser, UsageError

HELP = "run a benchmark script from benchmarks/ (list them without a name)"

#: per benchmark, the arguments of ``ornn bench NAME --quick`` (tiny sizes, seconds)
QUICK_BENCH_ARGS = {
    "ode_cells": ["--steps", "50", "--dim", "32", "--repeats", "2"],
    "cells_speed": [
        "--length",
        "10",
        "--batch",
        "4",
        "--input",
        "8",
        "--hidden",
        "16",
        "--repeats",
        "1",
        "--part",
        "1",
    ],
    "dynamics_speed": [
        "--spins",
        "2",
        "4",
        "--batches",
        "1",
        "8",
        "--steps",
        "20",
        "--qutip-states",
        "2",
        "--repeats",
        "1",
    ],
    "memory_tasks": ["--cell", "lstm", "--delay", "5", "--length", "10", "--iterations", "5", "--hidden", "8"],
    "qaoa_speed": ["--sizes", "6", "8", "--repeats", "1", "--max-default-qubit", "0"],
    "distributed_training": ["--epochs", "1", "--jobs", "qaoa"],
    "arnn_horizon": ["--steps", "40", "--seeds", "1"],
}


def parser() -> Parser:
    parser = Parser(
        prog="ornn bench",
        description=HELP,
        epilog="examples:\n  ornn bench\n  ornn bench ode_cells --quick\n"
        "  ornn bench cells_speed -- --part 2 --repeats 3   (arguments after -- go to the script)",
    )
    parser.add_argument("name", nargs="?", default=None, help="benchmark name (the script's file name without .py)")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: checks that the benchmark runs, not a measurement"
    )
    return parser


def benchmark_folder() -> Path:
    """benchmarks/ of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "benchmarks"


def benchmarks() -> dict[str, str]:
    """Benchmark name -> the first line of its docstring, read without importing the script."""
    folder = benchmark_folder()
    found = {}
    for script in sorted(folder.glob("[!_]*.py")) if folder.is_dir() else []:
        doc = (ast.get_docstring(ast.parse(script.read_text())) or "").strip()
        found[script.stem] = doc.splitlines()[0] if doc else ""
    return found


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    script_args: list[str] = []
    if "--" in argv:  # what follows -- belongs to the benchmark script
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1 :]
    args = parser().parse_args(argv)
    available = benchmarks()
    if not available:
        raise UsageError(f"no benchmarks found in {benchmark_folder()}; `ornn bench` runs from a source checkout")
    if args.name is None:
        width = max(map(len, available))
        print("\n".join(f"{name.ljust(width)}  {doc}" for name, doc in available.items()))
        print("\nrun one with: ornn bench NAME [--quick] [-- script arguments]")
        return 0
    if args.name not in available:
        raise UsageError(f"NAME: expected one of {', '.join(available)}, got {args.name!r}")
    command = [
        sys.executable,
        str(benchmark_folder() / f"{args.name}.py"),
        *(QUICK_BENCH_ARGS.get(args.name, []) if args.quick else []),
        *script_args,
    ]
    return subprocess.run(command, check=False).returncode
