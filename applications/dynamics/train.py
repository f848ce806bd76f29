r"""Teacher-forced training of a :class:`DynamicsPredictor`, and evaluation against exact evolution.

:func:`train_predictor` follows seed 003 Appendix B: MSE between predicted and exact
states at every step, Adam from lr 1e-3 decayed by 0.95 per epoch while above 5e-5, the
best-validation model kept. After every epoch a checkpoint (model, optimiser, schedule,
history, best state) is written atomically; ``resume=True`` continues from it and, as
each epoch's shuffle is seeded by (seed, epoch), reproduces an uninterrupted run. Without a
disk cache the sequences are generated once, in memory, at the start.

:func:`evaluate_predictor` rolls the model out autoregressively from held-out initial
states and scores it per time step against the exact evolution, next to the persistence
baseline (the initial state repeated), which a useful predictor must beat.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ornn import _checks, _io, distributed

from .data import SequenceSpec, batches, materialise, sequences
from .metrics import evaluate_sequences
from .model import DynamicsPredictor

__all__ = ["TrainHistory", "train_predictor", "validation_loss", "evaluate_predictor", "load_checkpoint", "to_model"]


@dataclass
class TrainHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int = -1


def _mse(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over real and imaginary parts."""
    return torch.view_as_real(predicted - target).square().mean()


def complex_dtype_of(model: torch.nn.Module) -> torch.dtype:
    """The complex dtype matching the model's real parameters (complex64 for float32)."""
    return next(model.parameters()).dtype.to_complex()


def to_model(states: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    """States moved to the model's device and complex dtype (the data is generated on the CPU in complex128)."""
    return states.to(device=next(model.parameters()).device, dtype=complex_dtype_of(model))


def validation_loss(model: DynamicsPredictor, spec: SequenceSpec, *, batch_size: int = 32, split: str = "validation",
                    cached: Optional[dict] = None) -> float:
    """Teacher-forced MSE over a split, weighted by batch size (each rank scores its shard of every batch)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for _, batch in batches(spec, split, batch_size, shuffle=False, cached=cached):
            local, factor = distributed.local_items(batch)
            local = to_model(local, model)
            predicted, _ = model(local[:, :-1])
            weight = local.shape[0] if factor else 0
            total += float(_mse(predicted, local[:, 1:])) * weight
            count += weight
    model.train(was_training)
    return distributed.all_sum(total) / max(distributed.all_sum(count), 1)


def load_checkpoint(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint written by :func:`train_predictor` (tensors and plain containers only), loaded onto ``map_location``."""
    return torch.load(path, weights_only=True, map_location=map_location)


def train_predictor(model: DynamicsPredictor, spec: SequenceSpec, *, epochs: int = 10, batch_size: int = 32,
                    lr: float = 1e-3, decay: float = 0.95, min_lr: float = 5e-5, seed: int = 0,
                    checkpoint: Optional[Path] = None, resume: bool = False, progress: bool = False,
                    cached: Optional[dict] = None) -> TrainHistory:
    """Train in place and load the best-validation weights at the end; returns the history.

    Under ``torchrun`` (a process group set up with :func:`ornn.distributed.setup`) every rank
    trains on its shard of each global batch of ``batch_size`` sequences, gradients are
    all-reduced by ``DistributedDataParallel``, and rank 0 alone writes the checkpoint. The
    result equals the one-process run to round-off, and a checkpoint resumes under any
    number of processes.
    """
    epochs = _checks.positive_int("epochs", epochs)
    _checks.positive_float("lr", lr)
    if not 0 < decay <= 1:
        raise ValueError(f"decay: expected a number in (0, 1], got {decay!r}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = TrainHistory()
    best_state, best = None, math.inf
    start = 0
    if resume:
        if checkpoint is None or not Path(checkpoint).exists():
            raise FileNotFoundError(f"checkpoint: resume=True needs an existing checkpoint, got {checkpoint}")
        saved = load_checkpoint(checkpoint, map_location=next(model.parameters()).device)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        history = TrainHistory(**saved["history"])
        best_state, best, start = saved["best_state"], saved["best"], saved["epoch"] + 1
    if cached is None:  # generate the data once, not once per epoch
        cached = materialise(spec)
    net = distributed.wrap(model)
    bar = None
    if progress and distributed.is_main():
        from tqdm import tqdm

        bar = tqdm(total=epochs, initial=start, desc=f"training {model.cell_name} predictor", unit="epoch")
    for epoch in range(start, epochs):
        current_lr = max(lr * decay**epoch, min(lr, min_lr))  # decays until it reaches min_lr
        for group in optimizer.param_groups:
            group["lr"] = current_lr
        model.train()
        total, count = 0.0, 0
        for _, batch in batches(spec, "train", batch_size, seed=seed * 100_003 + epoch, cached=cached):
            local, factor = distributed.local_items(batch)  # the same global batch on every rank, sharded
            local = to_model(local, model)
            predicted, _ = net(local[:, :-1])
            loss = _mse(predicted, local[:, 1:])
            optimizer.zero_grad(set_to_none=True)
            (loss * factor).backward()
            optimizer.step()
            total += float(loss.detach()) * (local.shape[0] if factor else 0)
            count += local.shape[0] if factor else 0
        val = validation_loss(model, spec, batch_size=batch_size, cached=cached)
        history.train_loss.append(distributed.all_sum(total) / max(distributed.all_sum(count), 1))
        history.val_loss.append(val)
        history.lr.append(current_lr)
        if val < best:
            best, history.best_epoch = val, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if checkpoint is not None and distributed.is_main():
            _io.save_torch(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                                        "history": asdict(history), "best_state": best_state, "best": best,
                                        "config": model.config, "spec": asdict(spec)})
        distributed.barrier()  # no rank runs ahead of the checkpoint it could be resumed from
        if bar is not None:
            bar.set_postfix(train=f"{history.train_loss[-1]:.2e}", val=f"{val:.2e}")
            bar.update(1)
    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def evaluate_predictor(model: DynamicsPredictor, spec: SequenceSpec, *, steps: Optional[int] = None, count: Optional[int] = None,
                       split: str = "test", cached: Optional[dict] = None) -> dict[int, dict[str, dict[str, list[float]]]]:
    """Per N: per-step metrics of the autoregressive rollout and of persistence on ``count`` held-out sequences.

    Returns {N: {"predictor": {metric: [per step]}, "persistence": {...}}}, steps 0..steps.
    """
    steps = spec.steps if steps is None else _checks.positive_int("steps", steps)
    if steps > spec.steps:
        raise ValueError(f"steps: expected at most the data's {spec.steps} steps, got {steps}")
    indices = spec.split_range(split)
    if count is not None:
        indices = range(indices.start, min(indices.stop, indices.start + _checks.positive_int("count", count)))
    out = {}
    for n in spec.spins:
        if n > model.max_spins:
            raise ValueError(f"spec: {n} spins exceed the model's max_spins {model.max_spins}")
        exact = to_model(sequences(spec, n, indices, cached=cached)[:, : steps + 1], model)
        predicted = model.rollout(exact[:, 0], steps)
        persistence = exact[:, :1].expand_as(exact)
        out[n] = {name: {k: v.double().tolist() for k, v in evaluate_sequences(pred, exact).items()}
                  for name, pred in (("predictor", predicted), ("persistence", persistence))}
    return out
