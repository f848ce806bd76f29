"""Atomic file writes: a temporary file in the target folder, then ``os.replace``.

A crash mid-write leaves the previous file (or none), never a truncated one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

#: the temporary files :func:`_atomic` writes are ``.<name>.ornn-<8 random characters>.tmp`` next to their
#: target; only names of exactly this form are orphans (a user's own ``.notes.tmp`` is left alone)
TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".ornn-", ".tmp"
TEMPORARY_NAME = re.compile(r"\..+\.ornn-[a-z0-9_]{8}\.tmp")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write: Callable[[Any], None], mode: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TEMPORARY_PREFIX}", suffix=TEMPORARY_SUFFIX)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files get the mode open() would give
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


def remove_orphans(folder: Path) -> list[Path]:
    """Delete the temporary files an interrupted atomic write left in ``folder`` (a kill mid-write); returns them."""
    removed = []
    for tmp in Path(folder).glob(f".*{TEMPORARY_PREFIX}*{TEMPORARY_SUFFIX}"):
        if TEMPORARY_NAME.fullmatch(tmp.name) and tmp.is_file():
            tmp.unlink(missing_ok=True)  # another rank may have removed it already
            removed.append(tmp)
    return removed


def read_json_value(path: Path, what: str) -> Any:
    """Any JSON value from ``path``; a missing or unreadable file is one ``FileNotFoundError``/``ValueError``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: expected {path}, which does not exist")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what}: {path} is not valid JSON ({err})") from None


def read_json(path: Path, what: str, *, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object from ``path``, with ``keys`` present; every failure is one ``FileNotFoundError``/``ValueError``.

    ``what`` names the file in the message (``"config.json of the run"``).
    """
    path = Path(path)
    data = read_json_value(path, what)
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object in {path}, got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{what}: {path} lacks the entries {', '.join(missing)} (is it from another command?)")
    return data


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
    Temporary files left by an interrupted write are removed.
    The messages name the command-line flags (``--resume``, ``--overwrite``), which match the keyword arguments.
    """
    folder = Path(folder)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    if folder.is_dir():
        remove_orphans(folder)
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
