"""``ornn prove [NAME ...] [--quick] [--set KEY=VALUE ...] [--markdown] [--json FILE]``: print the proof table.

``--set`` passes instance options to the selected proofs' ``check`` (for example
``ornn prove theorem1 --set size=12 --set steps=20000``); values are Python literals.
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

from ornn import _io
from proofs import PROOFS, format_table, run, summary_line

from .._parsing import Parser

HELP = "run the unification paper's claims and theorems as numerical checks"


def main(argv: list[str]) -> int:
    parser = Parser(
        prog="ornn prove",
        description="Run the claims and theorems of the unification paper as numerical checks, one verdict per "
        "claim. A claim the measurement refutes prints as FAILS; it is a finding, not a failed run: the exit code "
        "is 0 when the proofs ran (with --strict, 1 when a claim fails) and 2 on bad input.",
        epilog="examples:\n  ornn prove                          every claim and theorem\n  ornn prove theorem4 --quick\n"
        "  ornn prove theorem1 --set size=12 --set steps=20000\n  ornn prove --markdown --json proofs.json",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"proofs to run (default all): {', '.join(PROOFS)}")
    parser.add_argument("--quick", action="store_true", help="smaller instances")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any claim fails")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, default=None, help="also write every result to this JSON file")
    parser.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an instance option for the selected proofs, e.g. size=12 (repeatable)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in PROOFS]
    if unknown:
        parser.error(f"NAME: unknown proof {unknown[0]!r}; valid names are {', '.join(PROOFS)}")
    options = _parse_options(args.options, args.names or list(PROOFS))
    results = run(args.names, quick=args.quick, progress=sys.stderr.isatty(), **options)
    print(format_table(results, markdown=args.markdown))
    print(f"\n{summary_line(results)}")
    for r in results:
        if r.notes:
            print(f"\n{r.name}: {r.notes}")
    if args.json is not None:
        _io.write_json(args.json, [r.to_dict() for r in results])
    return 1 if args.strict and not all(r.holds for r in results) else 0


def _parse_options(pairs: list[str], names: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--set: expected KEY=VALUE, got {pair!r}")
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text
        for name in names:
            if key not in inspect.signature(PROOFS[name]).parameters:
                valid = ", ".join(inspect.signature(PROOFS[name]).parameters)
                raise ValueError(f"--set: proof {name!r} has no option {key!r}; its options are {valid}")
    return options
