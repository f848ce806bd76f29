"""``ornn cells``: the family table of every registered cell (``cells.family``), printed or written as Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ornn import _io

from .._parsing import Parser, non_negative_int, positive_int

HELP = "table of the registered cells: (n, t), parameters, stability verdict"


def parser() -> Parser:
    parser = Parser(
        prog="ornn cells",
        description=HELP,
        epilog="examples:\n  ornn cells --hidden 8 --steps 20\n"
        "  ornn cells --write docs/family_table.md   (the whole docs page, at its reference size)",
    )
    parser.add_argument("--input", type=positive_int, default=8, help="input size of every cell (default 8)")
    parser.add_argument(
        "--hidden", type=positive_int, default=16, help="hidden size (default 16; QUNN is checked at 4)"
    )
    parser.add_argument("--steps", type=positive_int, default=50, help="steps of the stability check (default 50)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument(
        "--write",
        type=Path,
        default=None,
        help="write the Markdown page (family table, QUNN and quantum-model parameter counts) to this file",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    from cells.family import document, family_table, summary

    args = parser().parse_args(list(argv))
    if args.write is not None:
        _io.write_text(args.write, document())
        print(f"written {args.write}")
        return 0
    print(summary(family_table(input_size=args.input, hidden_size=args.hidden, steps=args.steps, seed=args.seed)))
    return 0
