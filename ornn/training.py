r"""The one training loop, its checkpoint format and the optimiser table.

Both applications (QAOA meta-optimisers and Ising-chain predictors) train through
:func:`fit`. The caller supplies what differs, the work of one epoch and a validation
score; the loop owns what must not differ:

* the learning-rate schedule (``lr_at(epoch)``), best-validation tracking and early
  stopping after ``patience`` epochs without improvement;
* data-parallel training (the model is wrapped by :func:`ornn.distributed.wrap`; rank 0
  alone writes, every rank waits at the barrier);
* an atomic checkpoint after every epoch and ``resume=True``, which continues from it.

A checkpoint is a dict of tensors and plain containers, loaded with ``weights_only=True``
(a checkpoint can never run code)::

    {"format": "ornn.training/1", "epoch": e, "model": ..., "optimizer": ..., "history": {...},
     "best_state": ..., "best_val": v, "rng": {"torch": ..., "cuda": [...], "numpy": {...}, "python": {...}},
     "extra": {...}}

The RNG states are those after epoch e, so a resumed run draws the same dropout masks
(and anything else from the global generators) as an uninterrupted one: the two agree bit
for bit on the same machine.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np
import torch
from torch import nn

from . import _checks, _io, distributed

__all__ = [
    "History",
    "fit",
    "load_checkpoint",
    "OPTIMIZERS",
    "make_optimizer",
    "CHECKPOINT_FORMAT",
    "NonFiniteLossError",
    "check_step",
    "load_weights",
    "restore",
]

CHECKPOINT_FORMAT = "ornn.training/1"

#: optimiser name -> class; the one table behind every ``optimizer=`` argument and ``--optimizer`` flag
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "lbfgs": torch.optim.LBFGS,  # needs a closure: ``applications.qaoa.optimize`` runs it, the training loop does not
}


def make_optimizer(name: str, parameters: Iterable[Any], lr: float) -> torch.optim.Optimizer:
    """``OPTIMIZERS[name](parameters, lr=lr)``, with an error listing the names for an unknown one."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](parameters, lr=_checks.positive_float("lr", lr))


class NonFiniteLossError(ValueError):
    """Training met a NaN or infinite loss or gradient; the message names the epoch and the batch.

    A ``ValueError``, so the command line reports it in one line (exit 2). The last checkpoint written
    (that of the epoch before) is untouched.
    """


def check_step(loss: torch.Tensor, parameters: Iterable[torch.Tensor], *, epoch: int, batch: int) -> None:
    """Refuse a non-finite loss or gradient; call it after ``backward()`` and before ``optimizer.step()``.

    The gradients are checked as well as the loss: under data parallelism they are all-reduced, so a
    non-finite loss on any rank makes them non-finite on every rank, and all ranks stop at the same batch.
    """
    value = float(loss.detach())
    grads = [p.grad for p in parameters if p.grad is not None]
    grads_finite = bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()) if grads else True
    if not (math.isfinite(value) and grads_finite):
        what = f"loss {value}" if not math.isfinite(value) else f"a non-finite gradient (loss {value:.4g})"
        raise NonFiniteLossError(
            f"training: {what} at epoch {epoch}, batch {batch}; lower the learning rate or check the data "
            "(the checkpoint of the previous epoch is kept)"
        )


@dataclass
class History:
    """Per-epoch figures of a :func:`fit` run (stored in its checkpoint as a plain dict)."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False

    @property
    def best_val(self) -> float:
        """The best validation loss (inf before the first epoch)."""
        return min(self.val_loss, default=math.inf)


# ------------------------------------------------------------------------------ RNG states


def rng_state() -> dict[str, Any]:
    """The torch (CPU and CUDA), numpy and python generators' states, as tensors and plain values."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, mt, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": version, "state": torch.tensor(mt, dtype=torch.int64), "gauss": gauss},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy = state["numpy"]
    np.random.set_state(
        (
            numpy["name"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )
    python = state["python"]
    random.setstate((python["version"], tuple(int(v) for v in python["state"].tolist()), python["gauss"]))


# ------------------------------------------------------------------------------ checkpoints

_KEYS = ("format", "epoch", "model", "optimizer", "history", "best_state", "best_val", "rng", "extra")


def load_checkpoint(path: Union[str, Path], map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint written by :func:`fit`, loaded with ``weights_only=True`` onto ``map_location``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for one that is not such a checkpoint
    (truncated, another format, missing entries).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint: expected a checkpoint file written by ornn.training.fit, got {str(path)!r}, "
            "which does not exist"
        )
    try:
        saved = torch.load(path, weights_only=True, map_location=map_location)
    except Exception as err:  # torch raises several kinds for a damaged file
        raise ValueError(
            f"checkpoint: {path} is not a readable checkpoint (damaged, truncated or not a torch.save file: {_first_line(err)})"
        ) from None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT or any(k not in saved for k in _KEYS):
        got = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(
            f"checkpoint: {path} is not a {CHECKPOINT_FORMAT} checkpoint (expected the keys "
            f"{', '.join(_KEYS)}, got {got})"
        )
    return saved


def restore(module: nn.Module, state: Any, what: str) -> nn.Module:
    r"""``module.load_state_dict(state)`` with one-line ``ValueError``\ s naming ``what`` for a state that does not fit."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{what}: expected a state dict of tensors, got {_checks.describe(state)}")
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        detail = next((line.strip().rstrip(".") for line in str(err).splitlines()[1:] if line.strip()), str(err))
        raise ValueError(
            f"{what}: the saved weights do not fit the model built from the run's settings ({detail})"
        ) from None
    return module


def load_weights(module: nn.Module, path: Union[str, Path], *, what: str = "weights") -> nn.Module:
    """Load a state dict saved with ``torch.save`` at ``path`` into ``module`` (``weights_only=True``).

    Missing, truncated, garbage or mismatched files raise ``FileNotFoundError`` or ``ValueError`` in one line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: expected {path}, which does not exist")
    try:
        state = torch.load(path, weights_only=True, map_location=_module_device(module))
    except Exception as err:  # torch raises several kinds for a damaged file
        raise ValueError(
            f"{what}: {path} is not a readable weights file (damaged, truncated or not a torch.save file: {_first_line(err)})"
        ) from None
    return restore(module, state, f"{what} ({path})")


def _module_device(module: nn.Module) -> torch.device:
    """Where the module's tensors live: its first parameter's device, else its first buffer's, else the CPU."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return torch.device("cpu")


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------------------ the loop


def fit(
    model: nn.Module,
    train_epoch: Callable[[nn.Module, int], float],
    validate: Callable[[], float],
    *,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    lr_at: Optional[Callable[[int], float]] = None,
    patience: Optional[int] = None,
    checkpoint: Optional[Union[str, Path]] = None,
    resume: bool = False,
    extra: Optional[dict[str, Any]] = None,
    progress: Optional[str] = None,
) -> History:
    """Train ``model`` in place for up to ``epochs`` epochs, then load its best-validation weights.

    Args:
        model: the module whose ``state_dict`` is checkpointed and restored.
        train_epoch: ``train_epoch(net, epoch) -> mean training loss``; runs one epoch's batches with
            ``optimizer`` (``net`` is ``model``, or its DDP wrapper under torchrun). Called in train mode.
        validate: ``validate() -> validation loss`` (lower is better), the same on every rank; called in
            eval mode under ``torch.no_grad()``.
        optimizer: the optimiser ``train_epoch`` steps; its state is checkpointed.
        epochs: total number of epochs, counting those of a resumed run.
        lr_at: ``lr_at(epoch)``, the learning rate of every parameter group for that epoch (default: unchanged).
        patience: stop after this many epochs without a better validation loss (default: never).
        checkpoint: where to write the checkpoint after every epoch (atomically, rank 0 only).
        resume: continue from ``checkpoint``: weights, optimiser, history, best state and RNG states.
        extra: plain data stored with every checkpoint (a config, a data spec).
        progress: a progress-bar title (rank 0 only); None for no bar.
    """
    epochs = _checks.positive_int("epochs", epochs)
    if patience is not None:
        _checks.positive_int("patience", patience)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer: expected a torch.optim.Optimizer, got {_checks.describe(optimizer)}")
    path = Path(checkpoint) if checkpoint is not None else None
    history, best_state, best_val, first = History(), None, math.inf, 0
    if resume:
        if path is None:
            raise ValueError("checkpoint: resume=True needs the checkpoint path to continue from, got None")
        saved = load_checkpoint(path, map_location=_module_device(model))
        restore(model, saved["model"], f"checkpoint ({path})")
        try:
            optimizer.load_state_dict(saved["optimizer"])
        except (ValueError, KeyError) as err:
            raise ValueError(f"checkpoint ({path}): the optimiser state does not fit ({err})") from None
        history = History(**saved["history"])
        best_state, best_val, first = saved["best_state"], saved["best_val"], saved["epoch"] + 1
        set_rng_state(saved["rng"])
    net = distributed.wrap(model)
    bar = None
    if progress is not None and distributed.is_main():
        from tqdm import tqdm

        bar = tqdm(total=epochs, initial=min(first, epochs), desc=progress, unit="epoch")
    for epoch in range(first, epochs):
        if history.stopped_early:
            break
        if lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(epoch)
        model.train()
        train_loss = float(train_epoch(net, epoch))
        model.eval()
        with torch.no_grad():
            val = float(validate())
        if not (math.isfinite(train_loss) and math.isfinite(val)):
            raise NonFiniteLossError(
                f"training: epoch {epoch} ended with training loss {train_loss} and validation loss {val}; "
                "lower the learning rate or check the data (the checkpoint of the previous epoch is kept)"
            )
        history.train_loss.append(train_loss)
        history.val_loss.append(val)
        history.lr.append(float(optimizer.param_groups[0]["lr"]))
        if val < best_val:
            best_val, history.best_epoch, best_state = val, epoch, _clone_state(model)
        elif patience is not None and epoch - history.best_epoch >= patience:
            history.stopped_early = True
        if path is not None and distributed.is_main():
            _io.save_torch(
                path,
                {
                    "format": CHECKPOINT_FORMAT,
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": asdict(history),
                    "best_state": best_state,
                    "best_val": best_val,
                    "rng": rng_state(),
                    "extra": dict(extra or {}),
                },
            )
        distributed.barrier()  # no rank runs ahead of the checkpoint it could be resumed from
        if bar is not None:
            bar.set_postfix(train=f"{train_loss:.3e}", val=f"{val:.3e}")
            bar.update(1)
    if bar is not None:
        bar.close()
    model.train()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _first_line(err: BaseException) -> str:
    """The first sentence of an error's message, with its type (torch's messages run to several lines)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text.split('. ')[0]}" if text else type(err).__name__
