r"""Teacher-forced training of a :class:`DynamicsPredictor`, and evaluation against exact evolution.

:func:`train_predictor` follows Zhang et al. Appendix B: MSE between predicted and exact
states at every step, Adam from lr 1e-3 decayed by 0.95 per epoch while above 5e-5, the
best-validation model kept. The loop is :func:`ornn.training.fit`: a checkpoint (model,
optimiser, history, best state, RNG states) after every epoch, and ``resume=True``
continues from it; as each epoch's shuffle is seeded by (seed, epoch) and the dropout
generator is restored, a resumed run equals an uninterrupted one bit for bit. Without a
disk cache the sequences are generated once, in memory, at the start.

:func:`evaluate_predictor` rolls the model out autoregressively from held-out initial
states and scores it per time step against the exact evolution, next to the persistence
baseline (the initial state repeated), which a useful predictor must beat.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from ornn import _checks, distributed
from ornn.training import History, check_step, fit, make_optimizer

from .data import SequenceSpec, batches, materialise, sequences
from .exact import as_state_tensor, check_states, evolve_exact
from .metrics import evaluate_sequences
from .model import DynamicsPredictor

__all__ = [
    "train_predictor",
    "validation_loss",
    "evaluate_predictor",
    "evaluate_states",
    "rollout_loss",
    "rollout_horizon",
    "DEFAULT_ROLLOUT",
    "RECIPE",
    "default_width",
    "to_model",
]


def _mse(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over real and imaginary parts."""
    return torch.view_as_real(predicted - target).square().mean()


def _persistence_mse(sequences_: torch.Tensor) -> torch.Tensor:
    """The one-step MSE of persistence on (B, T + 1, 2^N) sequences: the scale that ``relative`` losses divide by."""
    return _mse(sequences_[:, :-1], sequences_[:, 1:])


#: the rollout horizon ``ornn dynamics train`` and the tour use by default: at the CLI's default sizes it cut the
#: step-100 MRE for N = 2, 3, 4 from 0.0145, 0.043, 0.068 (teacher-forced) to 0.0008, 0.0065, 0.042 (RESULTS.md)
DEFAULT_ROLLOUT = 16

#: the default recipe of ``ornn dynamics train`` (and of the transfer's base model), chosen by measurement on
#: one model for N = 2..7 (benchmarks/RESULTS.md, "The N = 2..7 recipe"); the width is :func:`default_width`
RECIPE = {"per_spin": 500, "epochs": 60, "lr": 1e-3, "decay": 0.97, "rollout": DEFAULT_ROLLOUT, "relative": True}


def default_width(spins: Sequence[int]) -> int:
    """The recipe's feature width for chains of ``spins``: max(64, 2^(N_max + 1)).

    A :class:`DynamicsPredictor` decodes the real (imaginary) amplitudes from width / 2 features, so its
    predictions span at most width / 2 directions of the 2^N-dimensional space: width 64 cannot represent a
    general step at N >= 6. Width 2^(N_max + 1) is the least that can (256 for N = 7).
    """
    largest = max(_checks.positive_int("spins", n) for n in spins)
    return max(64, 2 ** (largest + 1))


def rollout_loss(net: torch.nn.Module, sequences_: torch.Tensor, steps: int, start: int = 0) -> torch.Tensor:
    r"""The mean squared error of a free-running rollout, the error the model makes at evaluation.

    The model reads the exact states psi_0 .. psi_start (teacher-forced), then predicts ``steps`` states,
    each from its own previous prediction::

        L = (1 / k) sum_{j=1..k} mean_b,x |psi_hat_{start+j} - psi_{start+j}|^2      (k = steps)

    with psi_hat_{start+1} = f(psi_start; memory of psi_0 .. psi_{start-1}) and psi_hat_{s+1} = f(psi_hat_s).
    Gradients flow through the whole rollout (backpropagation through the k fed-back predictions).
    """
    steps = _checks.positive_int("steps", steps)
    if not 0 <= start or start + steps >= sequences_.shape[1]:
        raise ValueError(
            f"start: expected 0 <= start and start + steps < {sequences_.shape[1]} (the sequence length), "
            f"got start {start} and steps {steps}"
        )
    memory = net(sequences_[:, :start])[1] if start > 0 else None
    current, losses = sequences_[:, start : start + 1], []
    for j in range(1, steps + 1):
        current, memory = net(current, memory)
        losses.append(_mse(current, sequences_[:, start + j : start + j + 1]))
    return torch.stack(losses).mean()


def rollout_horizon(epoch: int, rollout: int) -> int:
    """The curriculum on k: 1 at epoch 0, doubling every epoch up to ``rollout`` (0: no rollout loss).

    It depends on the epoch alone, so a run stopped and resumed with more ``--epochs`` trains as one that ran through.
    """
    if rollout <= 0:
        return 0
    return min(rollout, 2 ** min(epoch, 30))


def complex_dtype_of(model: torch.nn.Module) -> torch.dtype:
    """The complex dtype matching the model's real parameters (complex64 for float32)."""
    return next(model.parameters()).dtype.to_complex()


def to_model(states: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    """States moved to the model's device and complex dtype (the data is generated on the CPU in complex128)."""
    return states.to(device=next(model.parameters()).device, dtype=complex_dtype_of(model))


def validation_loss(
    model: DynamicsPredictor,
    spec: SequenceSpec,
    *,
    batch_size: int = 32,
    split: str = "validation",
    cached: Optional[dict] = None,
    relative: bool = False,
) -> float:
    """Teacher-forced MSE over a split, weighted by batch size (each rank scores its shard of every batch).

    ``relative``: each batch's MSE divided by that of persistence on the same batch (predicting psi_{t+1} = psi_t),
    so 1 means "no better than repeating the input" for every N alike. Every batch holds one chain length, and
    the raw MSE shrinks with N (amplitudes of size 2^(-N/2)), so the absolute loss is ruled by the short chains.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for _, batch in batches(spec, split, batch_size, shuffle=False, cached=cached):
            local, factor = distributed.local_items(batch)
            local = to_model(local, model)
            predicted, _ = model(local[:, :-1])
            weight = local.shape[0] if factor else 0
            loss = _mse(predicted, local[:, 1:])
            if relative:
                loss = loss / _persistence_mse(local)
            total += float(loss) * weight
            count += weight
    model.train(was_training)
    return distributed.all_sum(total) / max(distributed.all_sum(count), 1)


def train_predictor(
    model: DynamicsPredictor,
    spec: SequenceSpec,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    decay: float = 0.95,
    min_lr: float = 5e-5,
    seed: int = 0,
    checkpoint: Optional[Path] = None,
    resume: bool = False,
    progress: bool = False,
    cached: Optional[dict] = None,
    rollout: int = 0,
    rollout_weight: float = 1.0,
    relative: bool = False,
) -> History:
    """Train in place through :func:`ornn.training.fit` and load the best-validation weights; returns the history.

    The loss is the teacher-forced MSE, plus ``rollout_weight`` times :func:`rollout_loss` over k steps from a
    seeded random start in each batch, k following :func:`rollout_horizon` (1, 2, 4, ...) up to ``rollout`` (0: teacher-forced only).
    ``relative`` divides each batch's loss, and the validation loss, by persistence's one-step MSE on that batch
    (see :func:`validation_loss`): every N then weighs alike, and losses of order 1 keep Adam away from its eps.

    Under ``torchrun`` (a process group set up with :func:`ornn.distributed.setup`) every rank
    trains on its shard of each global batch of ``batch_size`` sequences, gradients are
    all-reduced by ``DistributedDataParallel``, and rank 0 alone writes the checkpoint. The
    result equals the one-process run to round-off, and a checkpoint resumes under any
    number of processes.
    """
    _checks.positive_float("lr", lr)
    batch_size = _checks.positive_int("batch_size", batch_size)
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise ValueError(f"decay: expected a number in (0, 1], got {decay!r}")
    rollout = _checks.positive_int("rollout", rollout, minimum=0)
    rollout_weight = _checks.positive_float("rollout_weight", rollout_weight)
    if rollout >= spec.steps:
        raise ValueError(f"rollout: expected fewer steps than the data's {spec.steps}, got {rollout}")
    optimizer = make_optimizer("adam", model.parameters(), lr)
    if cached is None:  # generate the data once, not once per epoch
        cached = materialise(spec)

    def train_epoch(net: torch.nn.Module, epoch: int) -> float:
        total, count = 0.0, 0
        for b, (_, batch) in enumerate(batches(spec, "train", batch_size, seed=seed * 100_003 + epoch, cached=cached)):
            local, factor = distributed.local_items(batch)  # the same global batch on every rank, sharded
            local = to_model(local, model)
            predicted, _ = net(local[:, :-1])
            loss = _mse(predicted, local[:, 1:])
            k = rollout_horizon(epoch, rollout)
            if k:
                draw = torch.Generator().manual_seed(seed * 100_003 + epoch * 10_007 + b)  # the same on every rank
                start = int(torch.randint(0, spec.steps - k, (1,), generator=draw))
                loss = loss + rollout_weight * rollout_loss(net, local, k, start)
            if relative:
                loss = loss / _persistence_mse(local)
            optimizer.zero_grad(set_to_none=True)
            (loss * factor).backward()
            check_step(loss, model.parameters(), epoch=epoch, batch=b)
            optimizer.step()
            total += float(loss.detach()) * (local.shape[0] if factor else 0)
            count += local.shape[0] if factor else 0
        return distributed.all_sum(total) / max(distributed.all_sum(count), 1)

    return fit(
        model,
        train_epoch,
        lambda: validation_loss(model, spec, batch_size=batch_size, cached=cached, relative=relative),
        optimizer=optimizer,
        epochs=epochs,
        lr_at=lambda epoch: max(lr * decay**epoch, min(lr, min_lr)),
        checkpoint=checkpoint,
        resume=resume,
        extra={"config": model.config, "spec": asdict(spec)},
        progress=f"training {model.cell_name} predictor" if progress else None,
    )


def evaluate_predictor(
    model: DynamicsPredictor,
    spec: SequenceSpec,
    *,
    steps: Optional[int] = None,
    count: Optional[int] = None,
    split: str = "test",
    cached: Optional[dict] = None,
) -> dict[int, dict[str, dict[str, list[float]]]]:
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
        out[n] = _score(model, exact)
    return out


def _score(model: torch.nn.Module, exact: torch.Tensor) -> dict[str, dict[str, list[float]]]:
    """Per-step metrics of the model's rollout from exact[:, 0] and of persistence, against ``exact`` (B, T + 1, 2^N)."""
    predicted = model.rollout(exact[:, 0], exact.shape[1] - 1)
    persistence = exact[:, :1].expand_as(exact)
    return {
        name: {k: v.double().tolist() for k, v in evaluate_sequences(pred, exact).items()}
        for name, pred in (("predictor", predicted), ("persistence", persistence))
    }


def evaluate_states(
    model: torch.nn.Module,
    states: Any,
    steps: int,
    *,
    dt: float = 0.002,
    g: float = -1.05,
    h: float = 0.5,
) -> dict[str, Any]:
    """Roll the model out from the user's own initial states and score it against exact evolution and persistence.

    ``states``: a complex tensor or numpy array (B, 2^N) or one state (2^N,), a QuTiP ket or a list of kets,
    each of unit norm; N is read off 2^N. ``dt``, ``g`` and ``h`` must be those the model was trained on
    (a run folder's spec). Returns ``{"N": N, "count": B, "steps": steps, "predictor": {metric: [per step]},
    "persistence": {...}}`` with the metrics of :func:`~applications.dynamics.metrics.evaluate_sequences`.
    """
    psi0 = as_state_tensor("states", states)
    if psi0.dim() not in (1, 2) or psi0.shape[-1] < 2 or psi0.shape[-1] & (psi0.shape[-1] - 1):
        raise ValueError(f"states: expected shape (batch, 2**N) or (2**N,), got {tuple(psi0.shape)}")
    n = psi0.shape[-1].bit_length() - 1
    if n > model.max_spins:
        raise ValueError(f"states: {n} spins exceed the model's max_spins {model.max_spins}")
    spins = getattr(model, "spins", None)
    if spins is not None and n not in spins:
        raise ValueError(f"states: the model predicts chains of {sorted(spins)} spins, got states of {n}")
    steps = _checks.positive_int("steps", steps)
    batched = check_states(psi0, n).to(torch.complex128)  # complex64 states widen; real ones are refused
    exact = to_model(evolve_exact(batched, n, steps, dt, g, h), model)
    with torch.no_grad():
        scores = _score(model, exact)
    return {"N": n, "count": batched.shape[0], "steps": steps, **scores}
