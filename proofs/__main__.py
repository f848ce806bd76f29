"""``python -m proofs [NAME ...] [--quick] [--markdown] [--json FILE]``: print the proof table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ornn import _io

from . import PROOFS, format_table, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs", description="Run seed 002's claims and theorems as numerical checks.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"proofs to run (default all): {', '.join(PROOFS)}")
    parser.add_argument("--quick", action="store_true", help="smaller instances")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, default=None, help="also write every result to this JSON file")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in PROOFS]
    if unknown:
        print(f"python -m proofs: error: unknown proof {unknown[0]!r}; valid names are {', '.join(PROOFS)}", file=sys.stderr)
        return 2
    results = run(args.names, quick=args.quick, progress=sys.stderr.isatty())
    print(format_table(results, markdown=args.markdown))
    for r in results:
        if r.notes:
            print(f"\n{r.name}: {r.notes}")
    if args.json is not None:
        _io.write_json(args.json, [r.to_dict() for r in results])
    return 0 if all(r.verdict for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
