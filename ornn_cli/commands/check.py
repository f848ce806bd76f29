"""``ornn check CELL``: one registered cell's stability report on random inputs over ``--steps`` steps.

The exit code follows the property ``--require`` names: 0 when it holds over the horizon, 1 when not.
"""

from __future__ import annotations

from typing import Sequence

from .._parsing import Parser, non_negative_int, positive_int

#: the properties of ornn.stability.check (kept here so that --help does not import torch)
PROPERTIES = ("bounded", "gradient-preserving")

HELP = "stability report of one registered cell on random inputs; exit 1 unless --require holds"


def parser() -> Parser:
    parser = Parser(
        prog="ornn check",
        description=HELP,
        epilog="examples:\n  ornn check urnn\n  ornn check lstm --require bounded\n"
        "  ornn check arnn --hidden 32 --steps 5000   (the horizon you will run)",
    )
    parser.add_argument("cell", help="a registered cell name (see `ornn cells`)")
    parser.add_argument("--input", type=positive_int, default=8, help="input size (default 8)")
    parser.add_argument("--hidden", type=positive_int, default=16, help="hidden size (default 16)")
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=100,
        help="horizon: steps of standard-normal inputs both verdicts cover (default 100)",
    )
    parser.add_argument(
        "--require",
        choices=PROPERTIES,
        default="gradient-preserving",
        help="the property the exit code follows: gradient-preserving (default; gradients neither vanish nor "
        "explode over the horizon, and bounded) or bounded (nothing explodes)",
    )
    parser.add_argument("--batch", type=positive_int, default=2)
    parser.add_argument("--seed", type=non_negative_int, default=0)
    return parser


def main(argv: Sequence[str]) -> int:
    """One cell's StabilityReport on (steps, batch, input) standard-normal inputs, float64."""
    import torch

    import cells
    from ornn import stability

    args = parser().parse_args(list(argv))
    torch.manual_seed(args.seed)
    cell = cells.create(args.cell, args.input, args.hidden).double()
    inputs = torch.randn(args.steps, args.batch, args.input, dtype=torch.float64)
    report = stability.check(cell, inputs, require=args.require, generator=torch.Generator().manual_seed(args.seed))
    print(
        f"{args.cell}: (n, t) = ({cell.num_stages}, {cell.memory_span}), "
        f"{sum(p.numel() for p in cell.parameters() if p.requires_grad)} trainable parameters"
    )
    print(report)
    return 0 if report.stable else 1
