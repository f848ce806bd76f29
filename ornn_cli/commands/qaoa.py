"""``ornn qaoa train | evaluate | compare | solve``: meta-learning runs and QAOA on a user's graph.

Every action is a library call (``meta_train``, ``load_meta_run`` and ``evaluate_meta``, ``run_compare``, ``solve``);
configs are saved with each run folder.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Optional, Sequence

import torch

from applications.qaoa.experiment import (
    CompareConfig,
    build_meta,
    evaluate_graphs,
    evaluate_meta,
    load_meta_run,
    read_graphs,
    run_compare,
)
from applications.qaoa.meta import LOSSES, PROPOSALS, ProblemDistribution, meta_train
from applications.qaoa.problems import FAMILIES
from applications.qaoa.solve import DEFAULT_LR, STARTS, read_graph, solve
from ornn import _checks, _io, distributed, tables
from ornn.training import load_checkpoint, restore

from .._parsing import (
    Parser,
    add_training_flags,
    adopt_saved_flags,
    finish_run_folder,
    given_flags,
    non_negative_int,
    positive_float,
    positive_int,
    relaunch_if_asked,
    run_flags,
    train_in_run_folder,
)

HELP = "QAOA/DC-QAOA: meta-learning (train, evaluate, compare) and solving your graph (ornn qaoa --help)"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=FAMILIES, default="erdos-renyi", help="problem family (default erdos-renyi)")
    parser.add_argument("--p", type=positive_int, default=1, help="QAOA depth (default 1)")
    parser.add_argument("--dc", action="store_true", help="DC-QAOA with the zy counterdiabatic term")
    parser.add_argument("--steps", type=positive_int, default=10, help="Phase I horizon T (default 10)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/<timestamp>-qaoa-<action>)")


def _proposal_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--proposal",
        choices=PROPOSALS,
        default="residual",
        help="residual: corrections around a fitted start rule (default); incumbent: corrections around the best "
        "point so far, from the same start rule (the shipped 3-regular QAOA initialisers' rule); absolute: the "
        "sequence-model paper's theta = pi tanh(head(h)) from 0.1",
    )
    parser.add_argument(
        "--step-scale",
        type=positive_float,
        default=0.5,
        help="largest correction per step of the residual and incumbent rules, in radians (default 0.5)",
    )


def _batches_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batches-per-epoch",
        type=positive_int,
        default=8,
        help="batches of problems per epoch (default 8; the shipped 3-regular and DC-QAOA initialisers train on 16)",
    )


def _phase_two_flags(parser: argparse.ArgumentParser, *, optimizer: str, steps: int, lr: Optional[float]) -> None:
    parser.add_argument(
        "--optimizer", choices=tuple(DEFAULT_LR), default=optimizer, help=f"Phase II optimiser (default {optimizer})"
    )
    parser.add_argument(
        "--phase-two-steps", type=non_negative_int, default=steps, help=f"Phase II steps at most (default {steps})"
    )
    parser.add_argument(
        "--phase-two-lr",
        type=positive_float,
        default=lr,
        help=f"Phase II learning rate (default {lr if lr is not None else 'per optimiser: ' + str(DEFAULT_LR)})",
    )


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ornn qaoa",
        description="QAOA/DC-QAOA meta-learning (Chandarana et al., arXiv:2206.09966; arXiv:2512.05058).",
        epilog="examples:\n  ornn qaoa compare --quick\n  ornn qaoa train --cell gru --kind 3-regular --p 2 --out runs/gru\n"
        "  ornn qaoa evaluate --run runs/gru --test-sizes 10 12 14\n  ornn qaoa solve --graph my.graphml --p 2",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train",
        help="meta-train one cell",
        epilog="examples:\n  ornn qaoa train --cell gru --epochs 30 --out runs/gru\n"
        "  ornn qaoa train --cell gru --batch 16 --nproc 2 --out runs/gru-ddp   # two processes, same result",
    )
    _common(train)
    train.add_argument("--cell", default="lstm", help="registered cell name (default lstm)")
    train.add_argument("--hidden", type=positive_int, default=20)
    train.add_argument("--train-sizes", type=positive_int, nargs="+", default=[6, 7, 8, 9])
    train.add_argument("--epochs", type=positive_int, default=20)
    _batches_flag(train)
    train.add_argument("--lr", type=positive_float, default=0.01)
    _proposal_flags(train)
    train.add_argument("--loss", choices=tuple(LOSSES), default="best", help="meta-training loss (default best)")
    add_training_flags(train, batch=8, items="problems")
    evaluate = actions.add_parser(
        "evaluate",
        help="two-phase evaluation of a trained cell on unseen graphs",
        epilog="example:\n  ornn qaoa evaluate --run runs/gru --test-sizes 10 12 14",
    )
    evaluate.add_argument("--run", type=Path, required=True, help="a run folder written by `ornn qaoa train`")
    evaluate.add_argument("--test-sizes", type=positive_int, nargs="+", default=[10, 11, 12, 13, 14])
    evaluate.add_argument(
        "--graphs",
        type=Path,
        default=None,
        help="your own MaxCut graphs instead of drawn ones: JSON, a list of graphs, each a list of [u, v] or "
        "[u, v, weight] edges; prints each graph's ratios and most probable cut",
    )
    evaluate.add_argument("--per-size", type=positive_int, default=5)
    evaluate.add_argument("--device", default="cpu", help="where the circuits run (default cpu)")
    _phase_two_flags(evaluate, optimizer="sgd", steps=100, lr=None)
    solve = actions.add_parser(
        "solve",
        help="QAOA on your own graph: a learned or zero-query start, Phase II, the likeliest cuts",
        epilog="examples:\n  ornn qaoa solve --graph my.graphml --p 2\n"
        "  ornn qaoa solve --graph edges.txt --weight capacity --p 1 --start degree-rule --shots 1000 --json out.json",
    )
    solve.add_argument(
        "--graph",
        type=Path,
        required=True,
        help="edge list ('u v [weight]' per line), GraphML (.graphml), GML (.gml) or node-link JSON (.json)",
    )
    solve.add_argument("--weight", default="weight", help="edge attribute holding the weights (default weight)")
    solve.add_argument("--p", type=positive_int, required=True, help="QAOA depth")
    solve.add_argument("--dc", action="store_true", help="DC-QAOA with the zy counterdiabatic term")
    solve.add_argument(
        "--start",
        default="pretrained",
        help=f"{', '.join(STARTS)} (default pretrained: the shipped initialiser for the graph), or a run folder of "
        "`ornn qaoa train`",
    )
    _phase_two_flags(solve, optimizer="adam", steps=200, lr=None)
    solve.add_argument("--top", type=positive_int, default=5, help="likeliest bitstrings to list (default 5)")
    solve.add_argument("--shots", type=non_negative_int, default=0, help="bitstrings to sample (default 0)")
    solve.add_argument("--seed", type=non_negative_int, default=0, help="seed of the samples and of --start random")
    solve.add_argument("--json", type=Path, default=None, help="write the whole result as JSON")
    solve.add_argument("--csv", type=Path, default=None, help="write the likeliest bitstrings as CSV")
    compare = actions.add_parser(
        "compare",
        help="train cells and compare them with the baselines",
        epilog="examples:\n  ornn qaoa compare --quick\n  ornn qaoa compare --cells lstm gru sru arnn qunn --epochs 30\n"
        "  ornn qaoa compare --cells qk_lstm qlstm qfwp lstm --hidden 4 --no-delta   # the sequence-model paper's models",
    )
    _common(compare)
    compare.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    compare.add_argument("--hidden", type=positive_int, default=20, help="hidden size of every cell (default 20)")
    _proposal_flags(compare)
    compare.add_argument(
        "--no-delta",
        action="store_true",
        help="feed parameters and cost only (the sequence-model paper's input of size 3 at p = 1)",
    )
    compare.add_argument("--epochs", type=positive_int, default=20)
    _batches_flag(compare)
    compare.add_argument("--train-sizes", type=positive_int, nargs="+", default=[6, 7, 8, 9])
    compare.add_argument("--test-sizes", type=positive_int, nargs="+", default=[10, 11, 12, 13, 14])
    compare.add_argument("--per-size", type=positive_int, default=5)
    compare.add_argument(
        "--reference", action="store_true", help="also find each test graph's ansatz optimum (multi-start L-BFGS)"
    )
    compare.add_argument(
        "--transfer-sizes",
        type=positive_int,
        nargs="*",
        default=[],
        help="3-regular only: Phase I ratios on these larger n",
    )
    compare.add_argument("--quick", action="store_true", help="3 epochs, 2 test sizes, 3 graphs each")
    compare.add_argument("--overwrite", action="store_true", help="replace a comparison already in --out")
    compare.add_argument(
        "--device", default="cpu", help="where the cells train and the circuits run: cpu, cuda, cuda:1 (default cpu)"
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    launched = relaunch_if_asked(getattr(args, "nproc", 1), "qaoa", argv)
    if launched is not None:
        return launched
    if args.action == "train":
        return _train(args, argv)
    if args.action == "solve":
        return _solve(args)
    device = _checks.device("--device", args.device)
    if args.action == "compare":
        config = CompareConfig(
            kind=args.kind,
            p=args.p,
            dc=args.dc,
            steps=args.steps,
            seed=args.seed,
            cells=tuple(args.cells),
            epochs=args.epochs,
            batches_per_epoch=args.batches_per_epoch,
            train_sizes=tuple(args.train_sizes),
            test_sizes=tuple(args.test_sizes),
            test_per_size=args.per_size,
            reference_optimum=args.reference,
            transfer_sizes=tuple(args.transfer_sizes),
            hidden_size=args.hidden,
            proposal=args.proposal,
            step_scale=args.step_scale,
            use_delta=not args.no_delta,
            device=str(device),
        )
        if args.quick:
            config.epochs, config.test_sizes, config.test_per_size, config.phase_two_steps = (
                3,
                config.test_sizes[:2],
                3,
                30,
            )
        if args.out is not None:
            _io.check_run_folder(args.out, "metrics.json", overwrite=args.overwrite, resumable=False)
        run_compare(config, args.out)
        return 0
    meta, config = load_meta_run(args.run, device)
    phase_two = {
        "optimizer": args.optimizer,
        "lr": DEFAULT_LR[args.optimizer] if args.phase_two_lr is None else args.phase_two_lr,
        "phase_two_steps": args.phase_two_steps,
    }
    if args.graphs is not None:
        rows = evaluate_graphs(
            meta,
            read_graphs(args.graphs),
            p=config["p"],
            dc=config["dc"],
            steps=config["steps"],
            **phase_two,
        )
        print(tables.format_table(rows))
        _io.write_json(args.run / "evaluation-graphs.json", rows)
        return 0
    rows = evaluate_meta(
        meta,
        kind=config["kind"],
        p=config["p"],
        dc=config["dc"],
        steps=config["steps"],
        test_sizes=args.test_sizes,
        per_size=args.per_size,
        device=device,
        **phase_two,
    )
    print(
        tables.format_table(
            [
                {
                    "n": r["n"],
                    "ratio after Phase I": r["ratio_phase_one"],
                    "Phase I evaluations": r["phase_one_evaluations"],
                    "ratio after Phase II": r["ratio_phase_two"],
                    "Phase II steps (mean)": r["phase_two_steps_mean"],
                }
                for r in rows
            ]
        )
    )
    _io.write_json(args.run / "evaluation.json", rows)
    return 0


def _train(args: argparse.Namespace, argv: list[str]) -> int:
    """Meta-train on one process, or on this rank of a torchrun group (rank 0 writes the run folder).

    With ``--resume`` the flags left out are read from the run's config.json and any other given flag
    must match it; nothing in the folder is written before the checkpoint has loaded.
    """
    out = args.out or Path("runs") / f"{args.cell}-{args.kind}-p{args.p}"
    checkpoint = (
        _io.check_run_folder(out, "checkpoint.pt", resume=args.resume, overwrite=args.overwrite) / "checkpoint.pt"
    )
    if args.resume:
        saved = _io.read_json(out / "config.json", "config.json of the run", keys=("flags",))
        adopt_saved_flags(args, given_flags(_parser(), argv), saved["flags"], _parser(), out / "config.json")
    device = _checks.device("--device", args.device)
    distributed.setup(device)
    main_rank = distributed.is_main()
    distributed.barrier()  # every rank has checked the folder before rank 0 writes to it
    flags = run_flags(args)
    config = {**flags, "flags": flags}
    torch.manual_seed(args.seed)
    meta = build_meta(
        args.cell,
        p=args.p,
        dc=args.dc,
        hidden_size=args.hidden,
        proposal=args.proposal,
        step_scale=args.step_scale,
        device=device,
    )
    distribution = ProblemDistribution(args.kind, tuple(args.train_sizes))
    if args.resume:  # a checkpoint that does not load stops the run before anything is written
        restore(meta, load_checkpoint(checkpoint, map_location=device)["model"], f"checkpoint ({checkpoint})")
    if main_rank:
        _io.write_json(out / "config.json", config)
    history = train_in_run_folder(
        "qaoa train",
        out,
        checkpoint,
        lambda: meta_train(
            meta,
            distribution,
            p=args.p,
            dc=args.dc,
            steps=args.steps,
            epochs=args.epochs,
            batches_per_epoch=args.batches_per_epoch,
            lr=args.lr,
            loss=args.loss,
            seed=args.seed,
            batch_size=args.batch,
            checkpoint=checkpoint,
            resume=args.resume,
            progress=main_rank,
        ),
    )
    if history is None:
        return 130
    if main_rank:  # the optimiser with its constructor arguments and horizon: MetaOptimizer.load reads it
        meta.save(out / "meta.pt", steps=args.steps, notes={"run": "ornn qaoa train", "flags": flags})
    return finish_run_folder(
        out,
        meta.state_dict(),
        asdict(history),
        f"best validation loss {min(history.val_loss):.4f} at epoch {history.best_epoch}; run folder {out}",
    )


def _solve(args: argparse.Namespace) -> int:
    """Read the graph, run :func:`solve`, print the summary and the likeliest bitstrings, write --json / --csv."""
    graph = read_graph(args.graph)
    start = args.start if args.start in STARTS else Path(args.start)
    result = solve(
        graph,
        args.p,
        dc=args.dc,
        start=start,
        optimizer=args.optimizer,
        steps=args.phase_two_steps,
        lr=args.phase_two_lr,
        top=args.top,
        shots=args.shots,
        seed=args.seed,
        weight=args.weight,
    )
    print(
        f"{args.graph}: n = {len(result.nodes)}, p = {result.p}{' (DC-QAOA)' if result.dc else ''}, "
        f"start: {result.start_method}"
    )
    print(
        f"expected cut {result.expected_cut:.6g} of the maximum {result.max_cut:.6g} "
        f"(approximation ratio {result.approximation_ratio:.4f}; the start's {result.start_approximation_ratio:.4f}); "
        f"{result.phase_one_evaluations} Phase I evaluations + {result.phase_two_steps} Phase II steps"
    )
    print(f"nodes, in bit order: {' '.join(map(str, result.nodes))}")
    print(tables.format_table(result.top))
    if result.samples:
        best = result.best_sample
        print(f"{len(result.samples)} samples (seed {args.seed}): best cut {best['cut']:.6g} ({best['bitstring']})")
    if args.json is not None:
        _io.write_json(args.json, result.to_dict())
    if args.csv is not None:
        _io.write_text(args.csv, tables.format_table(result.top, style="csv"))
    return 0
