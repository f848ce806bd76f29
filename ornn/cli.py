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
        raise UsageError(f"unknown command {args.command!r}")
    except (UsageError, ValueError, TypeError, OSError) as err:
        if args.verbose:
            traceback.print_exc()
        print(f"ornn {args.command}: error: {err}", file=sys.stderr)
        return 2


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
