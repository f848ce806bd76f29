"""``ornn dynamics generate | train | evaluate | transfer``: Ising-chain predictors from the command line.

    ornn dynamics generate --spins 2 3 4 --per-spin 200 --steps 100 --out data/ising
    ornn dynamics train --spins 2 3 4 5 6 7 --out runs/ising-sru27
    ornn dynamics train --data data/ising --cell sru --epochs 15 --out runs/ising-sru
    ornn dynamics evaluate --run runs/ising-sru --steps 100
    ornn dynamics transfer --out runs/transfer-7                 # Fig. 7: base N = 2..6, target N = 7

``train`` generates the data in memory from the spec flags when no ``--data`` cache is given. Every run folder
holds config.json, the checkpoint, best.pt and metrics.json; ``evaluate`` adds
evaluation.json, report.md and the plots.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Optional, Sequence

import torch

from applications.dynamics.data import SequenceSpec, cache, load_cached
from applications.dynamics.report import behind_persistence
from applications.dynamics.runs import MODEL_KINDS, build_model, evaluate_run, evaluate_states_of_run
from applications.dynamics.train import DEFAULT_ROLLOUT, RECIPE, default_width, train_predictor
from applications.dynamics.transfer import TransferConfig
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
    unit_fraction,
)

#: the default --rollout horizon (chosen by measurement: benchmarks/RESULTS.md, "Rollout training")
ROLLOUT_DEFAULT = DEFAULT_ROLLOUT

HELP = "Ising-chain predictors: generate, train, evaluate, transfer (ornn dynamics --help)"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ornn dynamics",
        description="Ising-chain dynamics predictors (Zhang et al.).",
        epilog="examples:\n" + __doc__.split("\n\n")[1],
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def spec_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--spins", type=positive_int, nargs="+", default=[2, 3, 4], help="chain lengths N (default 2 3 4)"
        )
        p.add_argument(
            "--per-spin",
            type=positive_int,
            default=RECIPE["per_spin"],
            help=f"sequences per N, split 80/10/10 (default {RECIPE['per_spin']})",
        )
        p.add_argument("--steps", type=positive_int, default=100, help="steps per sequence (default 100)")
        p.add_argument("--seed", type=non_negative_int, default=0)

    generate = actions.add_parser(
        "generate",
        help="evolve Haar-random states exactly and cache them",
        epilog="example:\n  ornn dynamics generate --spins 2 3 4 5 --per-spin 500 --out data/ising",
    )
    spec_flags(generate)
    generate.add_argument("--out", type=Path, required=True, help="cache folder")
    generate.add_argument("--overwrite", action="store_true", help="replace a cache already in --out")
    train = actions.add_parser(
        "train",
        help="train a predictor (teacher-forced MSE plus free-running rollout losses)",
        epilog="examples:\n  ornn dynamics train --cell sru --epochs 15 --out runs/ising-sru\n"
        "  ornn dynamics train --batch 32 --nproc 2 --out runs/ising-ddp   # two processes, same result",
    )
    spec_flags(train)
    train.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a cache from `generate` (default: generate in memory from the spec flags)",
    )
    train.add_argument(
        "--model",
        choices=MODEL_KINDS,
        default="recurrent-stack",
        help="recurrent-stack: encoders + recurrent stack (Zhang et al., Table B1); "
        "norm-preserving: psi itself in a linear 1-ARNN per N",
    )
    train.add_argument("--cell", default="sru", help="registered cell of the recurrent stack (default sru)")
    train.add_argument(
        "--width",
        "--hidden",
        dest="width",
        type=positive_int,
        default=None,
        help="feature width = the recurrent cells' hidden size (Zhang et al.: 512; default "
        "max(64, 2^(N_max + 1)), the least that can represent the largest chain)",
    )
    train.add_argument("--layers", type=positive_int, default=2, help="recurrent layers (Zhang et al.: 4; default 2)")
    train.add_argument("--epochs", type=positive_int, default=RECIPE["epochs"], help=f"default {RECIPE['epochs']}")
    train.add_argument("--lr", type=positive_float, default=RECIPE["lr"], help=f"Adam's (default {RECIPE['lr']})")
    train.add_argument(
        "--decay",
        type=unit_fraction,
        default=RECIPE["decay"],
        help=f"learning-rate factor per epoch (Zhang et al.: 0.95; default {RECIPE['decay']})",
    )
    train.add_argument(
        "--rollout",
        type=non_negative_int,
        default=None,
        help="also train on free-running rollouts of up to this many steps, k = 1, 2, 4, ... by epoch "
        f"(0: teacher-forced only; default {ROLLOUT_DEFAULT}, or the data's steps - 1 if fewer)",
    )
    train.add_argument(
        "--rollout-weight", type=positive_float, default=1.0, help="weight of the rollout loss (default 1)"
    )
    train.add_argument(
        "--loss",
        choices=("relative", "absolute"),
        default="relative" if RECIPE["relative"] else "absolute",
        help="relative: each batch's MSE divided by persistence's, so every N weighs alike (default); "
        "absolute: the plain MSE (Zhang et al.)",
    )
    train.add_argument("--out", type=Path, required=True, help="run folder")
    add_training_flags(train, batch=32, items="sequences")
    evaluate = actions.add_parser(
        "evaluate",
        help="autoregressive rollout against exact evolution and persistence",
        epilog="example:\n  ornn dynamics evaluate --run runs/ising-sru --steps 100 --count 50",
    )
    evaluate.add_argument("--run", type=Path, required=True, help="a run folder written by `ornn dynamics train`")
    evaluate.add_argument("--steps", type=positive_int, default=None, help="rollout length (default: the data's steps)")
    evaluate.add_argument(
        "--count", type=positive_int, default=None, help="test sequences per N (default: the whole test split)"
    )
    evaluate.add_argument("--device", default="cpu", help="where the model runs (default cpu)")
    evaluate.add_argument(
        "--states",
        type=Path,
        default=None,
        help="your own initial states instead of the held-out ones: .npy (complex, (B, 2^N)) or .json ([re, im] pairs)",
    )
    transfer = actions.add_parser(
        "transfer",
        help="fine-tune a base model on a longer chain against training from scratch (Fig. 7)",
        epilog="example:\n  ornn dynamics transfer --base-spins 2 3 4 --target 5 --base-epochs 15 --out runs/transfer-5",
    )
    defaults = TransferConfig()
    transfer.add_argument("--base-spins", type=positive_int, nargs="+", default=list(defaults.base_spins))
    transfer.add_argument("--target", type=positive_int, default=defaults.target)
    transfer.add_argument("--per-spin", type=positive_int, default=defaults.per_spin)
    transfer.add_argument("--steps", type=positive_int, default=defaults.steps)
    transfer.add_argument(
        "--width",
        "--hidden",
        dest="width",
        type=positive_int,
        default=None,
        help="feature width (default max(64, 2^(N_max + 1)), as for train)",
    )
    transfer.add_argument("--layers", type=positive_int, default=defaults.layers)
    transfer.add_argument("--base-epochs", type=positive_int, default=defaults.base_epochs)
    transfer.add_argument(
        "--epochs",
        type=positive_int,
        default=defaults.epochs,
        help=f"epochs on the target chain, for both models (default {defaults.epochs})",
    )
    transfer.add_argument("--seed", type=non_negative_int, default=0)
    transfer.add_argument("--out", type=Path, required=True, help="run folder")
    transfer.add_argument("--overwrite", action="store_true", help="replace a transfer run already in --out")
    return parser


def _spec(args: argparse.Namespace) -> SequenceSpec:
    return SequenceSpec(spins=tuple(args.spins), per_spin=args.per_spin, steps=args.steps, seed=args.seed)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    launched = relaunch_if_asked(getattr(args, "nproc", 1), "dynamics", argv)
    if launched is not None:
        return launched
    if args.action == "generate":
        _io.check_run_folder(args.out, "metadata.json", overwrite=args.overwrite, resumable=False)
        folder = cache(_spec(args), args.out, progress=True)
        print(f"cached {len(args.spins)} chain lengths in {folder}")
        return 0
    if args.action == "train":
        return _train(args, argv)
    if args.action == "transfer":
        from applications.dynamics.transfer import run_transfer

        _io.check_run_folder(args.out, "metrics.json", overwrite=args.overwrite, resumable=False)

        metrics = run_transfer(
            TransferConfig(
                base_spins=tuple(args.base_spins),
                target=args.target,
                per_spin=args.per_spin,
                steps=args.steps,
                width=args.width,
                layers=args.layers,
                base_epochs=args.base_epochs,
                epochs=args.epochs,
                seed=args.seed,
            ),
            args.out,
            progress=True,
        )
        print(tables.format_table(metrics["rows"], style="markdown"))
        print("\n" + metrics["verdict"].replace("**", ""))
        print(f"\nreport: {args.out / 'report.md'}")
        return 0
    device = _checks.device("--device", args.device)
    if args.states is not None:
        steps = args.steps or 100
        result = evaluate_states_of_run(args.run, args.states, steps=steps, device=device)
        shown = sorted({k for k in (1, 10, 100, 250, 1000) if k <= steps} | {steps})
        rows = [
            {
                "step": k,
                "MRE": result["predictor"]["mre"][k],
                "MRE persistence": result["persistence"]["mre"][k],
                "fidelity": result["predictor"]["fidelity"][k],
                "norm drift": result["predictor"]["norm_drift"][k],
            }
            for k in shown
        ]
        print(f"{result['count']} state(s) of N = {result['N']} spins from {args.states}")
        print(tables.format_table(rows, style="markdown"))
        behind = [r["step"] for r in rows if r["MRE"] >= r["MRE persistence"]]
        if behind:
            print(f"the predictor is behind persistence at step(s) {', '.join(map(str, behind))}")
        print(f"\nwritten: {args.run / 'states-evaluation.json'}, states-evaluation.csv, states-mre.png")
        return 0
    result = evaluate_run(args.run, steps=args.steps, count=args.count, device=device)
    print(tables.format_table(result["table"], style="markdown"))
    print("\n" + behind_persistence(result["table"]).replace("**", ""))
    if result["growth"]:
        print("\n" + tables.format_table(result["growth"], style="markdown"))
    if result["appendix_c"]:
        print("\nfrom the initial states of Zhang et al. Appendix C:")
        print(tables.format_table(result["appendix_c"], style="markdown"))
        print("\n" + result["appendix_c_verdict"].replace("**", ""))
    print(f"\nreport: {args.run / 'report.md'}")
    return 0


def _relative_data(args: argparse.Namespace) -> Optional[str]:
    """The --data cache relative to the run folder, so the folder and its cache can move together."""
    return os.path.relpath(args.data.resolve(), args.out.resolve()) if args.data else None


def _train(args: argparse.Namespace, argv: list[str]) -> int:
    """Train on one process, or on this rank of a torchrun group (rank 0 writes the run folder).

    With ``--resume`` the flags left out are read from the run's config.json and any other given flag
    must match it; nothing in the folder is written before the checkpoint has loaded.
    """
    checkpoint = (
        _io.check_run_folder(args.out, "checkpoint.pt", resume=args.resume, overwrite=args.overwrite) / "checkpoint.pt"
    )
    if args.resume:
        config_path = args.out / "config.json"
        saved = _io.read_json(config_path, "config.json of the run", keys=("flags",))
        flags = dict(saved["flags"]) if isinstance(saved["flags"], dict) else saved["flags"]
        if isinstance(flags, dict) and flags.get("data"):  # stored relative to the run folder: compare resolved paths
            flags["data"] = str((args.out / flags["data"]).resolve())
            if args.data is not None:
                args.data = args.data.resolve()
        adopt_saved_flags(args, given_flags(_parser(), argv), flags, _parser(), config_path)
    device = _checks.device("--device", args.device)
    distributed.setup(device)
    main_rank = distributed.is_main()
    distributed.barrier()  # every rank has checked the folder before rank 0 writes to it
    spec, cached = load_cached(args.data) if args.data else (_spec(args), None)
    if args.rollout is None:  # the default recipe, within the data's horizon (an explicit value is checked as given)
        args.rollout = min(ROLLOUT_DEFAULT, spec.steps - 1)
    if args.width is None:
        args.width = default_width(spec.spins)
    torch.manual_seed(args.seed)
    model = build_model(
        {
            "kind": args.model,
            "model": (
                {"max_spins": max(spec.spins), "width": args.width, "cell": args.cell, "num_layers": args.layers}
                if args.model == "recurrent-stack"
                else {"spins": spec.spins, "dt": spec.dt}
            ),
        }
    ).to(device)
    if args.resume:  # a checkpoint that does not load stops the run before anything is written
        restore(model, load_checkpoint(checkpoint, map_location=device)["model"], f"checkpoint ({checkpoint})")
    config = {
        "data": _relative_data(args),
        "spec": asdict(spec),
        "kind": args.model,
        "model": model.config,
        "epochs": args.epochs,
        "batch": args.batch,
        "lr": args.lr,
        "decay": args.decay,
        "seed": args.seed,
        "flags": {**run_flags(args), "data": _relative_data(args)},
    }
    if main_rank:
        _io.write_json(args.out / "config.json", config)
    history = train_in_run_folder(
        "dynamics train",
        args.out,
        checkpoint,
        lambda: train_predictor(
            model,
            spec,
            epochs=args.epochs,
            batch_size=args.batch,
            lr=args.lr,
            decay=args.decay,
            seed=args.seed,
            checkpoint=checkpoint,
            resume=args.resume,
            progress=main_rank,
            cached=cached,
            rollout=args.rollout,
            rollout_weight=args.rollout_weight,
            relative=args.loss == "relative",
        ),
    )
    if history is None:
        return 130
    return finish_run_folder(
        args.out,
        model.state_dict(),
        asdict(history),
        f"best validation loss {min(history.val_loss):.3e} at epoch {history.best_epoch}; run folder {args.out}",
    )
