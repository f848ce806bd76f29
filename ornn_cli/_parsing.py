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
        kwargs.setdefault("allow_abbrev", False)  # --epoch is an error, not a silent --epochs
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


def unit_fraction(text: str) -> float:
    """A number in (0, 1], such as a per-epoch decay factor."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
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
    """Run ``train()``; on Ctrl-C, rank 0 says where the last checkpoint is and how to resume (or that nothing was
    saved yet). None if interrupted."""
    from ornn import distributed

    try:
        return train()
    except KeyboardInterrupt:
        note_interrupt()
        if distributed.is_main():
            if checkpoint.is_file():
                message = (
                    f"interrupted; the last finished epoch is in {checkpoint}. Resume with:\n"
                    f"  ornn {command} --out {out} --resume"
                )
            else:
                message = (
                    "interrupted before the first epoch finished; nothing was saved, so there is nothing to resume. "
                    "Run the same command again to start afresh"
                )
            print(f"\n{message}", file=sys.stderr)
        return None


#: set once a Ctrl-C has been handled (``ornn_cli.main`` then exits 130 at once)
INTERRUPTED = False


def note_interrupt() -> None:
    """Record a handled Ctrl-C and ignore further ones while the process leaves."""
    import signal

    global INTERRUPTED
    INTERRUPTED = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: flags a resumed run may change: where it runs and how many epochs it has in all
RESUME_MAY_CHANGE = ("epochs", "device")
#: namespace entries that are not settings of a run (the process count is in metrics.json: it may change)
NOT_SETTINGS = ("resume", "overwrite", "action", "out", "nproc")


def run_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of a training run as JSON values (saved in config.json under ``"flags"``)."""
    return {k: _plain(v) for k, v in sorted(vars(args).items()) if k not in NOT_SETTINGS}


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def given_flags(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations of the flags ``argv`` sets explicitly (a fresh ``parser`` is modified: pass a new one)."""

    def suppress(p: argparse.ArgumentParser) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    suppress(sub)
            elif action.dest != "help":
                action.default = argparse.SUPPRESS

    suppress(parser)
    return set(vars(parser.parse_args(argv)))


def adopt_saved_flags(
    args: argparse.Namespace, given: set[str], saved: Any, parser: argparse.ArgumentParser, config: Path
) -> None:
    """For ``--resume``: take the flags left out from the saved settings and refuse any given one that differs.

    ``saved`` is config.json's ``"flags"``; ``parser`` (the command's) names the flags in the messages and
    converts the saved values back (``type=Path``). Only :data:`RESUME_MAY_CHANGE` may differ. Raises
    :class:`UsageError` naming the first differing flag.
    """
    if not isinstance(saved, dict):
        raise UsageError(f"--resume: {config} holds no record of the run's flags, so the run cannot be checked")
    actions = _actions(parser)
    for dest, value in sorted(saved.items()):
        if not hasattr(args, dest) or dest in NOT_SETTINGS:
            raise UsageError(f"--resume: {config} records a setting {dest!r} this command does not have")
        action = actions.get(dest)
        flag = next((o for o in action.option_strings if o.startswith("--")), dest) if action else dest
        mine = _plain(getattr(args, dest))
        if dest not in given:
            if value is not None and action is not None and action.type is Path:
                value = Path(value)
            setattr(args, dest, value)
        elif mine != value and dest not in RESUME_MAY_CHANGE:
            raise UsageError(
                f"{flag}: the run in {config.parent} was trained with {flag} {_shown(value)}, got {_shown(mine)}; "
                "a resumed run keeps its settings (leave the flag out, or start a new run with --out)"
            )


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """destination -> its action, over a parser and its subparsers."""
    found: dict[str, argparse.Action] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for dest, sub_action in _actions(sub).items():
                    found.setdefault(dest, sub_action)
        elif action.option_strings:
            found.setdefault(action.dest, action)
    return found


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
