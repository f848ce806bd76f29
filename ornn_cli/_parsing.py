"""Command-line plumbing shared by ``ornn`` and its subcommands.

:class:`Parser` is argparse with the toolkit's error convention: a usage error is one line on
stderr, ``PROG: error: MESSAGE (see PROG --help)``, and exit code 2. The ``type=`` converters
refuse bad values at parse time with a message that names the flag, what was expected and
what came.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one line; help keeps the epilog's layout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _integer(text, 0, "a non-negative integer")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def add_training_flags(parser: argparse.ArgumentParser, *, batch: int, items: str) -> None:
    """The flags every training command shares: --batch (of ``items``), --device, --nproc and --resume / --overwrite."""
    parser.add_argument(
        "--batch", type=positive_int, default=batch, help=f"{items} per batch, over all processes (default {batch})"
    )
    parser.add_argument("--device", default="cpu", help="where the model trains: cpu, cuda, cuda:1 (default cpu)")
    parser.add_argument(
        "--nproc",
        type=positive_int,
        default=1,
        help="data-parallel processes (torchrun on this machine; gloo on cpu, nccl on cuda; default 1)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    group.add_argument("--overwrite", action="store_true", help="start again in an existing run folder")


def train_in_run_folder(command: str, out: Path, checkpoint: Path, train: Callable[[], Any]) -> Any:
    """Run ``train()``; on Ctrl-C, rank 0 says where the last checkpoint is and how to resume. None if interrupted."""
    from ornn import distributed

    try:
        return train()
    except KeyboardInterrupt:
        if distributed.is_main():
            print(
                f"\ninterrupted; the last finished epoch is in {checkpoint}. Resume with:\n"
                f"  ornn {command} --out {out} --resume  (and the same flags)",
                file=sys.stderr,
            )
        return None


def finish_run_folder(out: Path, state: dict, metrics: dict, summary: str) -> int:
    """Rank 0 writes best.pt and metrics.json (with the process count) atomically and prints ``summary``; all ranks leave."""
    from ornn import _io, distributed

    if distributed.is_main():
        _io.save_torch(out / "best.pt", state)
        _io.write_json(out / "metrics.json", {**metrics, "processes": distributed.world_size()})
        print(summary)
    distributed.barrier()
    distributed.teardown()
    return 0


def launch_command(nproc: int, module_args: list[str]) -> list[str]:
    """The torchrun command that runs ``python -m ornn_cli <module_args>`` on ``nproc`` local processes (loopback)."""
    from ornn import _checks

    _checks.positive_int("nproc", nproc)
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "ornn_cli",
        *module_args,
    ]


def without_flag(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag VALUE`` / ``flag=VALUE`` (to hand the rest to the launched processes)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        elif not arg.startswith(flag + "="):
            out.append(arg)
    return out


def relaunch_if_asked(nproc: int, command: str, argv: list[str]) -> Optional[int]:
    """For a ``--nproc N`` flag: run ``ornn <command> <argv without --nproc>`` on N processes through torchrun
    and return its exit code; None when this process should train itself (N = 1, or already launched)."""
    from ornn import distributed

    if nproc <= 1 or distributed.world_size() > 1 or "WORLD_SIZE" in os.environ:
        return None
    return subprocess.run(launch_command(nproc, [command, *without_flag(argv, "--nproc")]), check=False).returncode
