"""``train_predictor`` and ``validation_loss`` against loops written here.

Each expected value is computed in the test from the data and the documented recipe (Zhang et al., Appendix B,
plus the rollout loss and the relative scaling of ``applications.dynamics.train``), not by calling the code under
test: the optimiser steps, the per-epoch learning rate, the shuffle and rollout-start seeds, the best-epoch
selection and the batch weighting. All runs are float64, so the loop here and the library's agree to round-off.
"""

import copy
import math

import pytest
import torch
from torch import nn

from applications.dynamics import DynamicsPredictor, SequenceSpec, sequences, train_predictor
from applications.dynamics.data import batches
from applications.dynamics.train import to_model, validation_loss
from ornn import distributed

from ..helpers import assert_refusals

TOLERANCE = 1e-10  # float64; only the order of a few sums may differ between the two loops


def mse(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The mean over every real and imaginary part of |predicted - target|^2 (Appendix B's loss)."""
    difference = predicted - target
    return (difference.real.square().sum() + difference.imag.square().sum()) / (2 * difference.numel())


def fresh_model() -> DynamicsPredictor:
    torch.manual_seed(0)
    return DynamicsPredictor(max_spins=2, width=4, num_layers=1, dropout=0.0).double()


def hand_validation(model: nn.Module, spec: SequenceSpec, batch_size: int, relative: bool) -> float:
    """Unshuffled batches of each N in index order, each batch's (relative) MSE weighted by its size."""
    total, count = 0.0, 0
    with torch.no_grad():
        for n in spec.spins:
            pool = sequences(spec, n, spec.split_range("validation"))
            for i in range(0, pool.shape[0], batch_size):
                batch = pool[i : i + batch_size]
                loss = mse(model(batch[:, :-1])[0], batch[:, 1:])
                if relative:
                    loss = loss / mse(batch[:, :-1], batch[:, 1:])
                total += float(loss) * batch.shape[0]
                count += batch.shape[0]
    return total / count


def hand_trained(spec: SequenceSpec, *, epochs, batch_size, lr, decay, min_lr, seed, rollout, rollout_weight, relative):
    """The recipe written out: Adam, lr max(lr decay^e, min(lr, min_lr)), the documented seeds, best-val weights.

    Epoch e shuffles with seed * 100_003 + e; batch b of epoch e draws its rollout start with a generator seeded
    seed * 100_003 + e * 10_007 + b, uniformly in [0, steps - k), k = min(rollout, 2^e); the rollout reads the exact
    states up to the start, then feeds back its own k predictions.
    """
    model = fresh_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best_val, best_state, history = math.inf, None, {"train": [], "val": [], "lr": [], "best": None}
    for epoch in range(epochs):
        rate = max(lr * decay**epoch, min(lr, min_lr))
        for group in optimizer.param_groups:
            group["lr"] = rate
        model.train()
        total, count = 0.0, 0
        for b, (_, batch) in enumerate(batches(spec, "train", batch_size, seed=seed * 100_003 + epoch)):
            loss = mse(model(batch[:, :-1])[0], batch[:, 1:])
            k = min(rollout, 2**epoch) if rollout else 0
            if k:
                draw = torch.Generator().manual_seed(seed * 100_003 + epoch * 10_007 + b)
                start = int(torch.randint(0, spec.steps - k, (1,), generator=draw))
                memory = model(batch[:, :start])[1] if start else None
                current, errors = batch[:, start : start + 1], []
                for j in range(1, k + 1):
                    current, memory = model(current, memory)
                    errors.append(mse(current, batch[:, start + j : start + j + 1]))
                loss = loss + rollout_weight * sum(errors) / k
            if relative:
                loss = loss / mse(batch[:, :-1], batch[:, 1:])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * batch.shape[0]
            count += batch.shape[0]
        model.eval()
        val = hand_validation(model, spec, batch_size, relative)
        history["train"].append(total / count)
        history["val"].append(val)
        history["lr"].append(rate)
        if val < best_val:
            best_val, best_state, history["best"] = val, copy.deepcopy(model.state_dict()), epoch
    model.load_state_dict(best_state)
    return model, history


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    worst = max((x - y).abs().max().item() for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert worst <= TOLERANCE, f"largest weight difference {worst:.3e}"


def test_train_predictor_equals_the_recipe_written_out_with_rollout_relative_and_a_clamped_decay(tmp_path):
    # per N: 32 training sequences in batches of 3 (the last of 2) and 4 validation ones (3 + 1, so the
    # validation batch size shows); lr 0.01, 0.005, then clamped at min_lr 0.003
    spec = SequenceSpec(spins=(1, 2), per_spin=40, steps=5)
    recipe = dict(
        epochs=3, batch_size=3, lr=0.01, decay=0.5, min_lr=0.003, seed=3, rollout=3, rollout_weight=0.7, relative=True
    )
    expected, hand = hand_trained(spec, **recipe)
    model = fresh_model()
    history = train_predictor(model, spec, checkpoint=tmp_path / "run.pt", **recipe)
    assert history.lr == pytest.approx([0.01, 0.005, 0.003], rel=1e-15)
    assert history.train_loss == pytest.approx(hand["train"], rel=TOLERANCE)
    assert history.val_loss == pytest.approx(hand["val"], rel=TOLERANCE)
    assert history.best_epoch == hand["best"]
    assert_same_weights(model, expected)
    saved = torch.load(tmp_path / "run.pt", weights_only=True)
    assert saved["extra"]["spec"] == {
        "spins": (1, 2),
        "per_spin": 40,
        "steps": 5,
        "dt": 0.002,
        "g": -1.05,
        "h": 0.5,
        "seed": 0,
        "chunk": 64,
    }
    assert saved["extra"]["config"] == model.config


def test_train_predictor_defaults_are_the_documented_recipe(capsys):
    """epochs 10, batch 32, lr 1e-3 x 0.95^e down to 5e-5, seed 0, rollout weight 1, absolute loss, no progress bar."""
    spec = SequenceSpec(spins=(1, 2), per_spin=50, steps=4)  # 40 training sequences per N: batches of 32 and 8
    model = fresh_model()
    history = train_predictor(model, spec, rollout=2)
    assert capsys.readouterr().err == ""
    documented = dict(
        epochs=10,
        batch_size=32,
        lr=1e-3,
        decay=0.95,
        min_lr=5e-5,
        seed=0,
        rollout=2,
        rollout_weight=1.0,
        relative=False,
    )
    expected, hand = hand_trained(spec, **documented)
    assert history.train_loss == pytest.approx(hand["train"], rel=TOLERANCE)
    assert history.val_loss == pytest.approx(hand["val"], rel=TOLERANCE)
    assert_same_weights(model, expected)


def test_validation_loss_defaults_batch_32_unshuffled_and_weights_batches_by_size():
    spec = SequenceSpec(spins=(1, 2), per_spin=400, steps=3)  # 40 validation sequences per N: batches 32 and 8
    model = fresh_model()
    for relative in (False, True):
        expected = hand_validation(model, spec, 32, relative)
        assert validation_loss(model, spec, relative=relative) == pytest.approx(expected, rel=TOLERANCE)
    assert validation_loss(model, spec, batch_size=7, relative=True) == pytest.approx(
        hand_validation(model, spec, 7, True), rel=TOLERANCE
    )
    assert model.training  # the mode it came in with is restored
    model.eval()
    validation_loss(model, spec)
    assert not model.training


class ZeroPredictor(nn.Module):
    """Predicts psi_{t+1} = 0: its MSE on unit-norm states of N spins is 1 / (2 * 2^N), known without the data."""

    config: dict = {}
    cell_name = "zero"

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros((), dtype=torch.float64))  # the data's dtype, and a gradient path

    def forward(self, states, memory=None):
        return torch.zeros_like(states) + 0 * self.anchor, None


def test_a_rank_whose_shard_is_empty_adds_no_gradient_and_no_count(monkeypatch):
    """Two-process training hands an empty shard the first item with loss factor 0 (``distributed.local_items``).

    Here every N = 2 batch plays that empty shard: the mean losses must count the N = 1 batches alone
    (1 / (2 * 2^1) = 1/4 each), and the zero factor must keep the N = 2 gradients out (a finite step).
    """
    real = distributed.local_items

    def n2_shards_are_empty(items):
        return (items[:1], 0.0) if items.shape[-1] == 4 else real(items)

    monkeypatch.setattr(distributed, "local_items", n2_shards_are_empty)
    spec = SequenceSpec(spins=(1, 2), per_spin=20, steps=3)
    history = train_predictor(ZeroPredictor(), spec, epochs=1, batch_size=4)
    assert history.train_loss == [pytest.approx(0.25, rel=1e-12)]
    assert validation_loss(ZeroPredictor(), spec, batch_size=4) == pytest.approx(0.25, rel=1e-12)


def test_to_model_and_user_states_take_the_models_dtype_and_the_given_field():
    from applications.dynamics import evaluate_states, evolve_exact, metrics

    psi = sequences(SequenceSpec(spins=(2,), per_spin=10, steps=1), 2, range(3))[:, 0]
    assert to_model(psi, fresh_model().float()).dtype == torch.complex64
    assert to_model(psi.to(torch.complex64), fresh_model()).dtype == torch.complex128
    # complex64 user states are widened before the exact evolution, so they score as their complex128 copies
    model = fresh_model()
    narrow = psi.to(torch.complex64)
    wide = narrow.to(torch.complex128)
    assert evaluate_states(model, narrow, 3, g=-0.7, h=0.3) == evaluate_states(model, wide, 3, g=-0.7, h=0.3)
    # the field h reaches the exact evolution: persistence's error is that of the states evolved with it
    scored = evaluate_states(model, wide, 3, dt=0.05, g=-0.7, h=0.3)
    exact = evolve_exact(wide, 2, 3, 0.05, -0.7, 0.3)
    expected = metrics.evaluate_sequences(exact[:, :1].expand_as(exact), exact)
    for name, values in expected.items():
        assert scored["persistence"][name] == pytest.approx(values.double().tolist(), rel=1e-12, abs=1e-15)


def test_train_predictor_refusals_name_the_argument_and_what_came():
    spec = SequenceSpec(spins=(1,), per_spin=10, steps=3)

    def call(**kwargs):
        return lambda: train_predictor(fresh_model(), spec, **kwargs)

    assert_refusals(
        [
            (call(lr=0.0), ValueError, "lr: expected a positive finite number, got 0.0"),
            (call(batch_size=0), ValueError, "batch_size: expected an integer >= 1, got 0"),
            (call(decay=True), ValueError, "decay: expected a number in (0, 1], got True"),
            (call(decay="0.5"), ValueError, "decay: expected a number in (0, 1], got '0.5'"),
            (call(decay=0), ValueError, "decay: expected a number in (0, 1], got 0"),
            (call(decay=1.5), ValueError, "decay: expected a number in (0, 1], got 1.5"),
            (call(rollout=-1), ValueError, "rollout: expected an integer >= 0, got -1"),
            (call(rollout_weight=0.0), ValueError, "rollout_weight: expected a positive finite number, got 0.0"),
        ]
    )
