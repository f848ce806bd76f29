"""The ``ornn`` command: one table of subcommands, each a module of :mod:`ornn_cli.commands`.

Every subcommand module has ``HELP`` (its line in ``ornn --help``) and ``main(argv) -> int``;
adding a subcommand is one module and one entry in :data:`COMMANDS`.

Exit codes: 0 success, 1 a failed verdict, 2 a usage error or bad input (one line on
stderr; ``--verbose`` anywhere before a ``--`` shows the traceback), 130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from types import FrameType
from typing import Optional, Sequence

from ._parsing import Parser, UsageError

#: subcommand -> module under ornn_cli.commands (the order is the order of ``ornn --help``)
COMMANDS = ("demo", "cells", "check", "prove", "qaoa", "dynamics", "bench")

EXAMPLES = """examples:
  ornn demo                   the tour, written to runs/<timestamp>-demo/
  ornn demo --quick           the same at smaller sizes, under a minute
  ornn demo --out my-run --seed 3 --device cuda
  ornn cells                  the registered cells: (n, t), parameters, stability verdict
  ornn check qk_lstm --hidden 8 --steps 100
  ornn prove                  the unification paper's claims and theorems as numerical checks
  ornn prove theorem4 --quick
  ornn qaoa compare --quick   meta-learned QAOA starts against the baselines
  ornn dynamics train --out runs/ising-sru && ornn dynamics evaluate --run runs/ising-sru
  ornn bench                  list the benchmarks; ornn bench ode_cells --quick runs one

exit codes: 0 success, 1 a failed verdict (unstable cell, failed proof), 2 a usage error or bad input,
130 interrupted (Ctrl-C).
"""


def command_module(name: str):
    """The module that implements subcommand ``name``."""
    if name not in COMMANDS:
        raise UsageError(f"COMMAND: expected one of {', '.join(COMMANDS)}, got {name!r}")
    return importlib.import_module(f"ornn_cli.commands.{name}")


def _parser() -> Parser:
    parser = Parser(
        prog="ornn",
        description="Recurrent cells as steps of Runge-Kutta integrators (n-t-ORNN).",
        epilog=EXAMPLES,
        usage="ornn [--version] [--verbose] COMMAND [ARGS ...]",
    )
    from ornn import __version__

    parser.add_argument("--version", action="version", version=f"ornn {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors (anywhere on the line)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        commands.add_parser(name, help=command_module(name).HELP, add_help=False)
    return parser


def _split_verbose(argv: list[str]) -> tuple[list[str], bool]:
    """``argv`` without ``--verbose`` (before any ``--``, whose tail belongs to a script) and whether it was there."""
    cut = argv.index("--") if "--" in argv else len(argv)
    head = [a for a in argv[:cut] if a != "--verbose"]
    return head + argv[cut:], len(head) != cut


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``ornn ARGS``; Ctrl-C at any point (imports included) exits 130 with one line, no traceback."""
    import signal

    from . import _parsing

    def interrupt(signum: int, frame: Optional[FrameType]) -> None:  # Python's default, plus a record of it
        _parsing.INTERRUPTED = True
        if _inside_import(frame) and hasattr(signal, "setitimer"):
            # an exception raised inside an extension's import (torch's runs Python code from C++) can abort the
            # process instead of unwinding: raise it once the import is over, checking every 50 ms
            signal.signal(signal.SIGALRM, interrupt)
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            return
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        code = _main(argv)
    except BaseException as err:
        # a Ctrl-C during imports can surface as another error (a library that swallowed the KeyboardInterrupt
        # and was left half-imported); once interrupted, every way out is the one line and 130
        if not (isinstance(err, KeyboardInterrupt) or _parsing.INTERRUPTED) or isinstance(err, SystemExit):
            raise
        _parsing.note_interrupt()
        print("\nornn: interrupted", file=sys.stderr)
        code = 130
    finally:
        if not _parsing.INTERRUPTED:
            signal.signal(signal.SIGINT, previous)  # in-process callers (tests) keep their own handler
    if _parsing.INTERRUPTED:
        # CPython re-raises SIGINT at exit when the interrupt landed in code it ran for an extension (a race,
        # seen as exit -2 instead of 130); the interrupt was handled and every file written is atomic, so leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    return code


def _inside_import(frame: Optional[FrameType]) -> bool:
    """Whether ``frame`` runs under the import machinery (a module being imported)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _main(argv: Optional[Sequence[str]]) -> int:
    argv, verbose = _split_verbose(list(sys.argv[1:] if argv is None else argv))
    if not argv or argv[0].startswith("-") or argv[0] not in COMMANDS:
        parser = _parser()
        parser.parse_args(argv)  # --help, --version and unknown commands exit here (2 on usage errors)
        parser.print_help()
        return 0
    name, rest = argv[0], argv[1:]
    try:
        return command_module(name).main(rest)
    except (UsageError, ValueError, TypeError, OSError) as err:
        if verbose:
            traceback.print_exc()
        print(f"ornn {name}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
