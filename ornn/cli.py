"""The ``ornn`` command line. Every action is a library call first.

Exit codes: 0 success, 1 a failed verdict, 2 a usage error or bad input (one
line on stderr; ``--verbose`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from ._cli import Parser, non_negative_int, positive_int

EXAMPLES = """examples:
  ornn demo                   the tour, written to runs/<timestamp>-demo/
  ornn demo --quick           the same at smaller sizes, under a minute
  ornn demo --out my-run --seed 3 --device cuda
  ornn cells                  the registered cells: (n, t), parameters, stability verdict
  ornn check qk_lstm --hidden 8 --steps 100
  ornn prove                  seed 002's claims and theorems as numerical checks
  ornn prove theorem4 --quick
  ornn qaoa compare --quick   meta-learned QAOA starts against the baselines
  ornn dynamics train --out runs/ising-sru && ornn dynamics evaluate --run runs/ising-sru
  ornn bench                  list the benchmarks; ornn bench ode_cells --quick runs one

exit codes: 0 success, 1 a failed verdict (unstable cell, failed proof), 2 a usage error or bad input.
"""

#: subcommands whose parser (help included) lives with a sibling package: name -> module with main(argv)
DELEGATED = {"prove": "proofs.__main__", "qaoa": "applications.qaoa.cli", "dynamics": "applications.dynamics.cli"}


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ornn",
        description="Recurrent cells as steps of Runge-Kutta integrators (n-t-ORNN).",
        epilog=EXAMPLES,
    )
    parser.add_argument("--version", action="version", version=f"ornn {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")  # top level
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the built-in tour and write a report folder",
        description="Every headline result at small scale: tableaus and ODECell against torchdiffeq, the proofs, the cell "
                    "table, QAOA/DC-QAOA meta-learning on unseen graphs, and Ising predictors against exact evolution. "
                    "Prints a summary table; writes report.md (plots embedded), metrics.json, config.json and PNGs.",
        epilog="examples:\n  ornn demo                      about a minute on two cores\n"
               "  ornn demo --quick --out /tmp/ornn-demo\n  ornn demo --out runs/demo --overwrite --device cuda",
    )
    demo.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    demo.add_argument("--out", type=Path, default=None, help="run folder (default runs/<timestamp>-demo)")
    demo.add_argument("--overwrite", action="store_true", help="replace a report already in --out")
    demo.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    demo.add_argument("--device", default="cpu", help="device of the trained models: cpu, cuda, cuda:1 (default cpu)")
    demo.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")

    cells_cmd = commands.add_parser("cells", help="table of the registered cells: (n, t), parameters, stability verdict",
                                    epilog="example:\n  ornn cells --hidden 8 --steps 20")
    cells_cmd.add_argument("--input", type=positive_int, default=8, help="input size of every cell (default 8)")
    cells_cmd.add_argument("--hidden", type=positive_int, default=16, help="hidden size (default 16; QUNN is checked at 4)")
    cells_cmd.add_argument("--steps", type=positive_int, default=50, help="steps of the stability check (default 50)")
    cells_cmd.add_argument("--seed", type=non_negative_int, default=0)
    cells_cmd.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")
    check = commands.add_parser("check", help="stability report of one registered cell on random inputs; exit 1 if unstable",
                                epilog="examples:\n  ornn check lstm\n  ornn check arnn --hidden 32 --steps 500")
    check.add_argument("cell", help="a registered cell name (see `ornn cells`)")
    check.add_argument("--input", type=positive_int, default=8, help="input size (default 8)")
    check.add_argument("--hidden", type=positive_int, default=16, help="hidden size (default 16)")
    check.add_argument("--steps", type=positive_int, default=100, help="steps of standard-normal inputs (default 100)")
    check.add_argument("--batch", type=positive_int, default=2)
    check.add_argument("--seed", type=non_negative_int, default=0)
    check.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")

    bench = commands.add_parser("bench", help="run a benchmark script from benchmarks/ (list them without a name)",
                                epilog="examples:\n  ornn bench\n  ornn bench ode_cells --quick\n"
                                       "  ornn bench cells_speed -- --part 2 --repeats 3   (arguments after -- go to the script)")
    bench.add_argument("name", nargs="?", default=None, help="benchmark name (the script's file name without .py)")
    bench.add_argument("--quick", action="store_true", help="tiny sizes: checks that the benchmark runs, not a measurement")
    bench.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")

    commands.add_parser("prove", help="run seed 002's claims and theorems as numerical checks (ornn prove --help)", add_help=False)
    commands.add_parser("qaoa", help="QAOA/DC-QAOA meta-learning: train, evaluate, compare (ornn qaoa --help)", add_help=False)
    commands.add_parser("dynamics", help="Ising-chain predictors: generate, train, evaluate (ornn dynamics --help)", add_help=False)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] and argv[0] == "--verbose" and argv[1:2] and argv[1] in DELEGATED:  # ornn --verbose qaoa ...
        argv = [*argv[1:], "--verbose"]
    if argv[:1] and argv[0] in DELEGATED:
        return _delegate(DELEGATED[argv[0]], argv[1:], argv[0])
    script_args: list[str] = []
    if argv[:1] == ["bench"] and "--" in argv:  # what follows -- belongs to the benchmark script
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    parser = _parser()
    args = parser.parse_args(argv)  # argparse exits with 2 on usage errors
    args.script_args = script_args
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            from ._checks import device
            from .demo import run_demo

            metrics = run_demo(args.out, seed=args.seed, quick=args.quick, device=device("--device", args.device),
                               overwrite=args.overwrite)
            return 0 if metrics["passed"] else 1
        if args.command == "bench":
            return _bench(args)
        if args.command == "cells":
            return _cells(args)
        if args.command == "check":
            return _check(args)
        raise UsageError(f"unknown command {args.command!r}")
    except (UsageError, ValueError, TypeError, OSError) as err:
        if args.verbose:
            traceback.print_exc()
        print(f"ornn {args.command}: error: {err}", file=sys.stderr)
        return 2


def _cells(args: argparse.Namespace) -> int:
    """Print the family table (cells.family) for every cell it lists."""
    from cells.family import family_table, summary

    print(summary(family_table(input_size=args.input, hidden_size=args.hidden, steps=args.steps, seed=args.seed)))
    return 0


def _check(args: argparse.Namespace) -> int:
    """One cell's StabilityReport on (steps, batch, input) standard-normal inputs, float64."""
    import torch

    import cells  # noqa: F401  (registers the zoo)

    from . import stability
    from .registry import create_cell

    torch.manual_seed(args.seed)
    cell = create_cell(args.cell, args.input, args.hidden).double()
    inputs = torch.randn(args.steps, args.batch, args.input, dtype=torch.float64)
    report = stability.check(cell, inputs, generator=torch.Generator().manual_seed(args.seed))
    print(f"{args.cell}: (n, t) = ({cell.order}, {cell.memory_span}), "
          f"{sum(p.numel() for p in cell.parameters() if p.requires_grad)} trainable parameters")
    print(report)
    return 0 if report.stable else 1


#: per benchmark, the arguments of ``ornn bench NAME --quick`` (tiny sizes, seconds)
QUICK_BENCH_ARGS = {
    "ode_cells": ["--steps", "50", "--dim", "32", "--repeats", "2"],
    "cells_speed": ["--length", "10", "--batch", "4", "--input", "8", "--hidden", "16", "--repeats", "1", "--part", "1"],
    "dynamics_speed": ["--spins", "2", "4", "--batches", "1", "8", "--steps", "20", "--qutip-states", "2", "--repeats", "1"],
    "memory_tasks": ["--cell", "lstm", "--delay", "5", "--length", "10", "--iterations", "5", "--hidden", "8"],
    "qaoa_speed": ["--sizes", "6", "8", "--repeats", "1", "--max-default-qubit", "0"],
    "distributed_training": ["--epochs", "1", "--jobs", "qaoa"],
}


def benchmark_folder() -> Path:
    """benchmarks/ of the source checkout this package runs from."""
    return Path(__file__).resolve().parent.parent / "benchmarks"


def benchmarks() -> dict[str, str]:
    """Benchmark name -> the first line of its docstring, read without importing the script."""
    import ast

    folder = benchmark_folder()
    found = {}
    for script in sorted(folder.glob("[!_]*.py")) if folder.is_dir() else []:
        doc = ast.get_docstring(ast.parse(script.read_text())) or ""
        found[script.stem] = doc.strip().splitlines()[0] if doc.strip() else ""
    return found


def _bench(args: argparse.Namespace) -> int:
    """List the benchmarks, or run one as ``python benchmarks/NAME.py ...`` and pass on its exit code."""
    import subprocess

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
    command = [sys.executable, str(benchmark_folder() / f"{args.name}.py"),
               *(QUICK_BENCH_ARGS.get(args.name, []) if args.quick else []), *args.script_args]
    return subprocess.run(command, check=False).returncode


def _delegate(module: str, argv: list[str], command: str) -> int:
    """Run a sibling package's command-line ``main(argv)`` with this CLI's error conventions."""
    import importlib

    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]
    try:
        return importlib.import_module(module).main(argv)
    except ModuleNotFoundError as err:
        if err.name is None or not module.startswith(err.name):
            raise  # the package is there but something it imports is missing: show the real error
        print(f"ornn {command}: error: {module} is not installed ({err})", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as err:
        if verbose:
            traceback.print_exc()
        print(f"ornn {command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
