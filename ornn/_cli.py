"""Command-line plumbing shared by ``ornn`` and the subcommands that live in sibling packages.

:class:`Parser` is argparse with the toolkit's error convention: a usage error is one line on
stderr, ``PROG: error: MESSAGE (see PROG --help)``, and exit code 2. The ``type=`` converters
refuse bad values at parse time with a message that names the flag, what was expected and
what came.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn


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


def train_in_run_folder(command: str, out: Any, checkpoint: Any, train: Any) -> Any:
    """Run ``train()``; on Ctrl-C, rank 0 says where the last checkpoint is and how to resume. None if interrupted."""
    import sys

    from . import distributed

    try:
        return train()
    except KeyboardInterrupt:
        if distributed.is_main():
            print(f"\ninterrupted; the last finished epoch is in {checkpoint}. Resume with:\n"
                  f"  ornn {command} --out {out} --resume  (and the same flags)", file=sys.stderr)
        return None


def finish_run_folder(out: Any, state: dict, metrics: dict, summary: str) -> int:
    """Rank 0 writes best.pt and metrics.json (with the process count) atomically and prints ``summary``; all ranks leave."""
    from pathlib import Path

    from . import _io, distributed

    if distributed.is_main():
        _io.save_torch(Path(out) / "best.pt", state)
        _io.write_json(Path(out) / "metrics.json", {**metrics, "processes": distributed.world_size()})
        print(summary)
    distributed.barrier()
    distributed.teardown()
    return 0
