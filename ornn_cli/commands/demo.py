"""``ornn demo``: the tour (:mod:`ornn_cli.tour`) with its run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ornn import _checks

from .._parsing import Parser, non_negative_int

HELP = "run the built-in tour and write a report folder"


def parser() -> Parser:
    parser = Parser(
        prog="ornn demo",
        description="Every headline result at small scale: tableaus and ODECell against torchdiffeq, the proofs, the cell "
        "table, QAOA/DC-QAOA meta-learning on unseen graphs, and Ising predictors against exact evolution. "
        "Prints a summary table; writes report.md (plots embedded), metrics.json, config.json and PNGs.",
        epilog="examples:\n  ornn demo                      about a minute on two cores\n"
        "  ornn demo --quick --out /tmp/ornn-demo\n  ornn demo --out runs/demo --overwrite --device cuda",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/<timestamp>-demo)")
    parser.add_argument("--overwrite", action="store_true", help="replace a report already in --out")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="cpu", help="device of the trained models: cpu, cuda, cuda:1 (default cpu)")
    return parser


def main(argv: Sequence[str]) -> int:
    from ..tour import run_demo

    args = parser().parse_args(list(argv))
    metrics = run_demo(
        args.out,
        seed=args.seed,
        quick=args.quick,
        device=_checks.device("--device", args.device),
        overwrite=args.overwrite,
    )
    return 0 if metrics["passed"] else 1
