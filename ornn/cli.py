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
  ornn demo                 core tour, written to runs/<timestamp>-demo/
  ornn prove                seed 002's claims and theorems as numerical checks
  ornn prove theorem4 --quick
  ornn qaoa compare --quick     meta-learned QAOA starts against the baselines
  ornn demo --quick         the same in a few seconds
  ornn demo --out my-run --seed 3
"""


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

    prove = commands.add_parser(
        "prove",
        help="run seed 002's claims and theorems as numerical checks",
        description="Print the proof table; exit 1 if a verdict fails.",
        epilog="examples:\n  ornn prove\n  ornn prove claim1 theorem2 --quick --markdown",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prove.add_argument("names", nargs="*", metavar="NAME", help="proofs to run (default all)")
    prove.add_argument("--quick", action="store_true", help="smaller instances")
    prove.add_argument("--markdown", action="store_true", help="print a Markdown table")
    prove.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    prove.add_argument("--set", dest="options", action="append", default=[], metavar="KEY=VALUE",
                       help="an instance option for the selected proofs, e.g. size=12 (repeatable)")
    prove.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    qaoa = commands.add_parser("qaoa", help="QAOA/DC-QAOA meta-learning: train, evaluate, compare", add_help=False,
                               description="ornn qaoa {train,evaluate,compare} ...; see `ornn qaoa --help`")
    qaoa.add_argument("qaoa_args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["qaoa"]:  # its own parser (help included) lives with the application
        return _delegate("applications.qaoa.cli", argv[1:], "qaoa")
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
        if args.command == "prove":
            import importlib

            try:
                proofs_main = importlib.import_module("proofs.__main__").main
            except ModuleNotFoundError as err:
                raise UsageError(f"the proofs package is not installed ({err})") from None
            argv_out = list(args.names) + (["--quick"] if args.quick else []) + (["--markdown"] if args.markdown else [])
            argv_out += ["--json", str(args.json)] if args.json is not None else []
            argv_out += [item for option in args.options for item in ("--set", option)]
            return proofs_main(argv_out)
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
        print(f"ornn {command}: error: {module} is not installed ({err})", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as err:
        if verbose:
            traceback.print_exc()
        print(f"ornn {command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
