"""Atomic file writes: a temporary file in the target folder, then ``os.replace``.

A crash mid-write leaves the previous file (or none), never a truncated one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _atomic(path: Path, write: Callable[[Any], None], mode: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return _atomic(path, lambda h: h.write(text), "w")


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def write_bytes(path: Path, data: bytes) -> Path:
    return _atomic(path, lambda h: h.write(data), "wb")


def save_torch(path: Path, obj: Any) -> Path:
    """``torch.save`` through a temporary file, so a crash never leaves a truncated checkpoint."""
    import torch

    return _atomic(path, lambda h: torch.save(obj, h), "wb")


def save_figure(path: Path, figure: Any, **options: Any) -> Path:
    fmt = Path(path).suffix.lstrip(".") or "png"
    return _atomic(path, lambda h: figure.savefig(h, format=fmt, **options), "wb")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class RunExistsError(FileExistsError):
    """A run folder already holds a run and neither resume nor overwrite was asked for."""


def check_run_folder(
    folder: Path, marker: str, *, resume: bool = False, overwrite: bool = False, resumable: bool = True
) -> Path:
    """Refuse to start a run where ``folder / marker`` exists unless resuming or overwriting.

    ``resume`` needs the marker to exist; ``resumable=False`` is for runs that cannot be continued.
    The messages name the command-line flags (``--resume``, ``--overwrite``), which match the keyword arguments.
    """
    folder = Path(folder)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    exists = (folder / marker).exists()
    if resume and not exists:
        raise FileNotFoundError(f"--resume: expected a run to continue in {folder}, found no {marker}")
    if exists and not (resume or overwrite):
        hint = (
            "pass --resume to continue it or --overwrite to start again"
            if resumable
            else "pass --overwrite to replace it"
        )
        raise RunExistsError(f"{folder} already holds a run ({marker}); {hint}, or choose another --out")
    return folder
