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

EXAMPLES = """examples:
  ornn demo                   the tour, written to runs/<timestamp>-demo/
  ornn demo --quick           the same in a few seconds
  ornn demo --out my-run --seed 3
  ornn cells                  the registered cells: (n, t), parameters, stability verdict
  ornn check qk_lstm --hidden 8 --steps 100
  ornn prove                  seed 002's claims and theorems as numerical checks
  ornn prove theorem4 --quick
  ornn qaoa compare --quick   meta-learned QAOA starts against the baselines
  ornn dynamics train --out runs/ising-sru && ornn dynamics evaluate --run runs/ising-sru
"""

#: subcommands whose parser (help included) lives with a sibling package: name -> module with main(argv)
DELEGATED = {"prove": "proofs.__main__", "qaoa": "applications.qaoa.cli", "dynamics": "applications.dynamics.cli"}


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ornn",
        description="Recurrent cells as steps of Runge-Kutta integrators (n-t-ORNN).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ornn {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the built-in tour and write a report folder",
        description="Tableau stability table, ODECell against torchdiffeq, one stability report.",
        epilog="example:\n  ornn demo --quick --out /tmp/ornn-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--quick", action="store_true", help="smaller sizes, a few seconds")
    demo.add_argument("--out", type=Path, default=None, help="report folder (default runs/<timestamp>-demo)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--verbose", action="store_true", help="show tracebacks on errors")

    cells_cmd = commands.add_parser("cells", help="table of the registered cells: (n, t), parameters, stability verdict",
                                    epilog="example:\n  ornn cells --hidden 8 --steps 20",
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    cells_cmd.add_argument("--input", type=int, default=8, help="input size of every cell (default 8)")
    cells_cmd.add_argument("--hidden", type=int, default=16, help="hidden size (default 16; QUNN is checked at 4)")
    cells_cmd.add_argument("--steps", type=int, default=50, help="steps of the stability check (default 50)")
    cells_cmd.add_argument("--seed", type=int, default=0)
    cells_cmd.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    check = commands.add_parser("check", help="stability report of one registered cell on random inputs; exit 1 if unstable",
                                epilog="examples:\n  ornn check lstm\n  ornn check arnn --hidden 32 --steps 500",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("cell", help="a registered cell name (see `ornn cells`)")
    check.add_argument("--input", type=int, default=8, help="input size (default 8)")
    check.add_argument("--hidden", type=int, default=16, help="hidden size (default 16)")
    check.add_argument("--steps", type=int, default=100, help="steps of standard-normal inputs (default 100)")
    check.add_argument("--batch", type=int, default=2)
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--verbose", action="store_true", help="show tracebacks on errors")

    commands.add_parser("prove", help="run seed 002's claims and theorems as numerical checks (ornn prove --help)", add_help=False)
    commands.add_parser("qaoa", help="QAOA/DC-QAOA meta-learning: train, evaluate, compare (ornn qaoa --help)", add_help=False)
    commands.add_parser("dynamics", help="Ising-chain predictors: generate, train, evaluate (ornn dynamics --help)", add_help=False)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in DELEGATED:
        return _delegate(DELEGATED[argv[0]], argv[1:], argv[0])
    parser = _parser()
    args = parser.parse_args(argv)  # argparse exits with 2 on usage errors
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            from .demo import run_demo

            if args.seed < 0:
                raise UsageError(f"--seed: expected a non-negative integer, got {args.seed}")
            metrics = run_demo(args.out, seed=args.seed, quick=args.quick)
            return 0 if metrics["odecell_matches"] else 1
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


def _positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise UsageError(f"--{name}: expected a positive integer, got {value}")


def _cells(args: argparse.Namespace) -> int:
    """Print the family table (cells.family) for every cell it lists."""
    _positive(input=args.input, hidden=args.hidden, steps=args.steps)
    from cells.family import family_table, summary

    print(summary(family_table(input_size=args.input, hidden_size=args.hidden, steps=args.steps, seed=args.seed)))
    return 0


def _check(args: argparse.Namespace) -> int:
    """One cell's StabilityReport on (steps, batch, input) standard-normal inputs, float64."""
    _positive(input=args.input, hidden=args.hidden, steps=args.steps, batch=args.batch)
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
