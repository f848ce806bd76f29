"""ornn.training: the one loop (schedule, early stopping, best state, resume), its checkpoint format and RNG states."""

import random
import re

import numpy as np
import pytest
import torch
from torch import nn

from ornn import training


def toy(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.3), nn.Linear(8, 1)).double()


DATA = torch.randn(32, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
TARGET = DATA.sum(1, keepdim=True)


def run(model, checkpoint=None, *, epochs=5, resume=False, **kwargs):
    optimizer = training.make_optimizer("adam", model.parameters(), 0.05)

    def train_epoch(net, epoch):
        optimizer.zero_grad()
        loss = (net(DATA) - TARGET).square().mean()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def validate():
        return float((model(DATA) - TARGET).square().mean())

    return training.fit(
        model, train_epoch, validate, optimizer=optimizer, epochs=epochs, checkpoint=checkpoint, resume=resume, **kwargs
    )


def test_resume_equals_an_uninterrupted_run_bit_for_bit(tmp_path):
    straight = toy()
    full = run(straight, tmp_path / "a.pt", epochs=6)
    run(toy(), tmp_path / "b.pt", epochs=3)
    torch.manual_seed(123)
    resumed = toy(seed=5)  # other weights and another generator state: the checkpoint restores both
    history = run(resumed, tmp_path / "b.pt", epochs=6, resume=True)
    assert history.train_loss == full.train_loss and history.val_loss == full.val_loss
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()))
    saved = training.load_checkpoint(tmp_path / "b.pt")
    assert saved["format"] == training.CHECKPOINT_FORMAT and saved["epoch"] == 5


def test_the_model_ends_at_its_best_validation_state_and_patience_stops(tmp_path):
    model = toy()
    optimizer = training.make_optimizer("sgd", model.parameters(), 0.1)
    scores = iter([3.0, 1.0, 2.0, 2.5, 0.5, 9.0])
    states = []

    def train_epoch(net, epoch):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        return 0.0

    history = training.fit(
        model,
        train_epoch,
        lambda: next(scores),
        optimizer=optimizer,
        epochs=6,
        patience=2,
        checkpoint=tmp_path / "c.pt",
    )
    assert history.val_loss == [3.0, 1.0, 2.0, 2.5] and history.stopped_early and history.best_epoch == 1
    assert all(torch.equal(v, states[1][k]) for k, v in model.state_dict().items())
    again = toy()
    resumed = training.fit(
        again,
        train_epoch,
        lambda: 0.0,
        optimizer=training.make_optimizer("sgd", again.parameters(), 0.1),
        epochs=6,
        patience=2,
        checkpoint=tmp_path / "c.pt",
        resume=True,
    )
    assert resumed.val_loss == history.val_loss  # a stopped run stays stopped; its best state is restored
    assert all(torch.equal(v, states[1][k]) for k, v in again.state_dict().items())


def test_learning_rate_schedule_is_applied_and_recorded():
    history = run(toy(), epochs=4, lr_at=lambda epoch: 0.1 * 0.5**epoch)
    assert history.lr == [0.1, 0.05, 0.025, 0.0125]


def test_rng_state_round_trip_covers_torch_numpy_and_python_with_their_cached_gaussians(tmp_path):
    np.random.seed(5)
    random.seed(5)
    np.random.standard_normal()  # an odd count: numpy now holds a cached gaussian
    random.gauss(0.0, 1.0)  # python's gauss keeps its second value as well
    state = training.rng_state()
    assert state["numpy"]["name"] == "MT19937" and state["numpy"]["has_gauss"] == 1
    assert state["numpy"]["keys"].dtype == torch.int64  # uint32 words kept exactly in the stored format
    assert state["python"]["gauss"] is not None and state["python"]["state"].dtype == torch.int64
    if not torch.cuda.is_available():
        assert state["cuda"] == []
    torch.save(state, tmp_path / "rng.pt")  # it must survive a weights-only load, as in a checkpoint
    state = torch.load(tmp_path / "rng.pt", weights_only=True)

    def draw():
        return torch.rand(3), np.random.standard_normal(3), np.random.rand(2), random.gauss(0.0, 1.0), random.random()

    drawn = draw()
    torch.manual_seed(1)  # move every generator elsewhere, caches included
    np.random.seed(1)
    random.seed(1)
    draw()
    training.set_rng_state(state)
    again = draw()
    assert torch.equal(drawn[0], again[0])
    assert np.array_equal(drawn[1], again[1]) and np.array_equal(drawn[2], again[2])
    assert drawn[3] == again[3] and drawn[4] == again[4]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is not a readable checkpoint"),
        (b"garbage bytes", "is not a readable checkpoint"),
    ],
)
def test_damaged_checkpoints_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"checkpoint: .*{message}"):
        training.load_checkpoint(path)


def test_foreign_and_missing_checkpoints_are_refused(tmp_path):
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"is not a ornn.training/1 checkpoint \(expected the keys format, epoch"):
        training.load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="checkpoint: expected a checkpoint file"):
        run(toy(), tmp_path / "missing.pt", resume=True)
    with pytest.raises(ValueError) as err:
        run(toy(), None, resume=True)
    assert str(err.value) == "checkpoint: resume=True needs the checkpoint path to continue from, got None"


def test_bad_arguments():
    model = toy()
    with pytest.raises(ValueError, match="optimizer: expected one of sgd, adam, adagrad, rmsprop, lbfgs, got 'nadam'"):
        training.make_optimizer("nadam", model.parameters(), 0.1)
    with pytest.raises(ValueError, match="lr: expected a positive finite number"):
        training.make_optimizer("adam", model.parameters(), float("inf"))
    with pytest.raises(TypeError, match=r"^optimizer: expected a torch\.optim\.Optimizer, got 'adam'$"):
        training.fit(model, lambda net, e: 0.0, lambda: 0.0, optimizer="adam", epochs=1)
    with pytest.raises(ValueError, match=r"^patience: expected an integer >= 1, got 0$"):
        training.fit(
            model,
            lambda net, e: 0.0,
            lambda: 0.0,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1,
            patience=0,
        )
    with pytest.raises(ValueError, match="epochs: expected an integer >= 1, got 0"):
        training.fit(
            model, lambda net, e: 0.0, lambda: 0.0, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=0
        )


def test_unreadable_weights_and_checkpoints_name_the_file_and_the_first_line_of_the_cause(tmp_path):
    model = nn.Linear(2, 1)
    garbage = tmp_path / "best.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError) as err:
        training.load_weights(model, garbage, what="best.pt of the run")
    message = str(err.value)
    assert message.startswith(f"best.pt of the run: {garbage} is not a readable weights file (damaged, truncated")
    assert message.endswith(")") and "\n" not in message and "UnpicklingError" in message
    with pytest.raises(ValueError, match=r"checkpoint: .* is not a readable checkpoint \(damaged"):
        training.load_checkpoint(garbage)
    with pytest.raises(FileNotFoundError, match="best.pt of the run: expected .*missing.pt, which does not exist"):
        training.load_weights(model, tmp_path / "missing.pt", what="best.pt of the run")
    torch.save(nn.Linear(3, 1).state_dict(), tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"do not fit the model .*\(size mismatch for weight: copying a param"):
        training.load_weights(model, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="weights: expected a state dict of tensors, got 3"):
        training.restore(model, 3, "weights")
    torch.save(model.state_dict(), tmp_path / "good.pt")
    assert training.load_weights(nn.Linear(2, 1), tmp_path / "good.pt").weight.equal(model.weight)


def test_first_line_keeps_the_type_and_the_first_sentence():
    assert training._first_line(RuntimeError("first. second\nthird")) == "RuntimeError: first"
    assert training._first_line(EOFError()) == "EOFError"
    assert training._first_line(KeyError(101)) == "KeyError: 101"


class _NotWeights:
    """A picklable object that is no tensor: a weights-only load must refuse it."""


def test_load_weights_loads_tensors_only_and_words_its_default_refusals(tmp_path):
    model = nn.Linear(2, 1)
    with pytest.raises(FileNotFoundError, match=r"^weights: expected .*nothing\.pt, which does not exist$"):
        training.load_weights(model, tmp_path / "nothing.pt")
    pickled = tmp_path / "pickled.pt"
    torch.save({"weight": _NotWeights()}, pickled)  # torch.load without weights_only would build the object
    with pytest.raises(ValueError) as err:
        training.load_weights(model, pickled)
    assert str(err.value).startswith(f"weights: {pickled} is not a readable weights file (damaged, truncated")
    assert err.value.__cause__ is None and err.value.__suppress_context__  # one line, no chained traceback
    torch.save(nn.Linear(3, 1).state_dict(), tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"^weights \(" + re.escape(str(tmp_path / "other.pt")) + r"\): "):
        training.load_weights(model, tmp_path / "other.pt")


def test_load_weights_into_modules_without_parameters(tmp_path):
    """A buffers-only module and an empty one load too: the weights go where the module's tensors are (the CPU)."""
    saved = nn.BatchNorm1d(3, affine=False)
    saved.running_mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
    torch.save(saved.state_dict(), tmp_path / "buffers.pt")
    loaded = training.load_weights(nn.BatchNorm1d(3, affine=False), tmp_path / "buffers.pt")
    assert torch.equal(loaded.running_mean, torch.tensor([1.0, 2.0, 3.0]))
    assert loaded.running_mean.device == torch.device("cpu")
    torch.save({}, tmp_path / "empty.pt")
    assert isinstance(training.load_weights(nn.Identity(), tmp_path / "empty.pt"), nn.Identity)


def test_check_step_refuses_a_non_finite_loss_or_gradient_and_passes_a_finite_step():
    weight = nn.Parameter(torch.ones(2))
    training.check_step(torch.tensor(0.5), [weight], epoch=0, batch=0)  # no gradient yet: nothing to refuse
    weight.grad = torch.tensor([1.0, -2.0])
    training.check_step(torch.tensor(0.5), [weight, nn.Parameter(torch.ones(1))], epoch=0, batch=0)
    with pytest.raises(
        training.NonFiniteLossError,
        match=r"^training: loss nan at epoch 3, batch 7; lower the learning rate or check the data "
        r"\(the checkpoint of the previous epoch is kept\)$",
    ):
        training.check_step(torch.tensor(float("nan")), [weight], epoch=3, batch=7)
    weight.grad = torch.tensor([1.0, float("inf")])
    with pytest.raises(
        training.NonFiniteLossError, match=r"^training: a non-finite gradient \(loss 0\.5\) at epoch 1, batch 2;"
    ):
        training.check_step(torch.tensor(0.5), [weight], epoch=1, batch=2)


def test_fit_calls_in_the_right_modes_stores_what_it_says_and_words_a_non_finite_epoch(tmp_path, capsys):
    """Train mode for ``train_epoch`` (with the epoch index), eval mode without autograd for ``validate``,
    train mode at the end; ties are not improvements; the checkpoint holds ``extra`` and the best loss;
    a non-finite epoch is refused by name and leaves the previous epoch's checkpoint in place."""
    model = toy()
    optimizer = training.make_optimizer("sgd", model.parameters(), 0.1)
    seen = []

    def train_epoch(net, epoch):
        seen.append(("train", epoch, net is model, model.training, torch.is_grad_enabled()))
        return 0.25 * (epoch + 1)

    def validate():
        seen.append(("validate", model.training, torch.is_grad_enabled()))
        return 1.0  # the same every epoch: only the first is the best

    extra = {"config": {"width": 3}}
    history = training.fit(
        model,
        train_epoch,
        validate,
        optimizer=optimizer,
        epochs=3,
        checkpoint=tmp_path / "t.pt",
        extra=extra,
        progress="toy run",
    )
    assert seen[0::2] == [("train", e, True, True, True) for e in range(3)]
    assert seen[1::2] == [("validate", False, False)] * 3
    assert model.training and history.best_epoch == 0 and history.train_loss == [0.25, 0.5, 0.75]
    assert history.lr == [0.1, 0.1, 0.1] and not history.stopped_early
    saved = training.load_checkpoint(tmp_path / "t.pt")
    assert saved["extra"] == extra and saved["best_val"] == 1.0 and saved["epoch"] == 2
    assert saved["history"]["best_epoch"] == 0 and saved["history"]["val_loss"] == [1.0, 1.0, 1.0]
    bar = capsys.readouterr().err
    assert "toy run" in bar and "3/3" in bar and "val=1.000e+00" in bar and "train=7.500e-01" in bar

    losses = iter([0.5, float("nan")])
    with pytest.raises(
        training.NonFiniteLossError,
        match=r"^training: epoch 4 ended with training loss 1\.0 and validation loss nan; lower the learning rate "
        r"or check the data \(the checkpoint of the previous epoch is kept\)$",
    ):
        training.fit(
            model,
            lambda net, e: 1.0,
            lambda: next(losses),
            optimizer=optimizer,
            epochs=6,
            checkpoint=tmp_path / "t.pt",
            resume=True,
        )
    assert training.load_checkpoint(tmp_path / "t.pt")["epoch"] == 3  # epoch 4 wrote nothing
    with pytest.raises(ValueError, match=r"^checkpoint \(.*t\.pt\): the optimiser state does not fit \("):
        training.fit(
            model,
            lambda net, e: 1.0,
            lambda: 1.0,
            optimizer=torch.optim.Adam([nn.Parameter(torch.ones(1))]),
            epochs=6,
            checkpoint=tmp_path / "t.pt",
            resume=True,
        )


def test_checkpoint_and_state_refusals_worded_whole(tmp_path):
    """Each refusal of load_checkpoint and restore, matched from start to end against text written here."""
    missing = tmp_path / "missing.pt"
    with pytest.raises(FileNotFoundError) as err:
        training.load_checkpoint(missing)
    assert str(err.value) == (
        f"checkpoint: expected a checkpoint file written by ornn.training.fit, got {str(missing)!r}, which does not exist"
    )
    keys = "format, epoch, model, optimizer, history, best_state, best_val, rng, extra"
    partial = {"format": training.CHECKPOINT_FORMAT, "epoch": 0, "model": {}}  # the right format, entries missing
    torch.save(partial, tmp_path / "partial.pt")
    with pytest.raises(ValueError) as err:
        training.load_checkpoint(tmp_path / "partial.pt")
    assert str(err.value) == (
        f"checkpoint: {tmp_path / 'partial.pt'} is not a ornn.training/1 checkpoint (expected the keys {keys}, "
        "got ['epoch', 'format', 'model'])"
    )
    torch.save(torch.zeros(2), tmp_path / "tensor.pt")
    with pytest.raises(ValueError) as err:
        training.load_checkpoint(tmp_path / "tensor.pt")
    assert str(err.value).endswith(f"(expected the keys {keys}, got Tensor)")
    torch.save({k: _NotWeights() for k in keys.split(", ")}, tmp_path / "pickled.pt")
    with pytest.raises(ValueError) as err:
        training.load_checkpoint(tmp_path / "pickled.pt")  # loaded weights-only: no object is built
    assert str(err.value) == (
        f"checkpoint: {tmp_path / 'pickled.pt'} is not a readable checkpoint (damaged, truncated or not a torch.save "
        "file: UnpicklingError: Weights only load failed)"  # the type and first sentence of torch's refusal
    )

    model = nn.Linear(2, 1)
    with pytest.raises(ValueError) as err:
        training.restore(model, nn.Linear(3, 1).state_dict(), "run")
    assert str(err.value) == (
        "run: the saved weights do not fit the model built from the run's settings (size mismatch for weight: "
        "copying a param with shape torch.Size([1, 3]) from checkpoint, the shape in current model is "
        "torch.Size([1, 2]))"
    )
    with pytest.raises(ValueError) as err:
        training.restore(model, {"weight": torch.zeros(1, 2)}, "run")
    assert str(err.value) == (
        "run: the saved weights do not fit the model built from the run's settings "
        '(Missing key(s) in state_dict: "bias")'
    )
    with pytest.raises(ValueError, match=r"^run: expected a state dict of tensors, got "):
        training.restore(model, {"weight": 1.0}, "run")
    with pytest.raises(ValueError, match=r"^run: expected a state dict of tensors, got "):
        training.restore(model, [torch.zeros(1)], "run")


def test_resume_shows_the_whole_run_in_its_bar_and_refuses_another_model_by_name(tmp_path, capsys):
    run(toy(), tmp_path / "r.pt", epochs=3)
    assert capsys.readouterr().err == ""  # no progress title: no bar
    run(toy(), tmp_path / "r.pt", epochs=6, resume=True, progress="again")
    bar = capsys.readouterr().err
    assert "again" in bar and "6/6" in bar and "epoch/s" in bar  # it counts from the resumed epoch
    other = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.3), nn.Linear(4, 1)).double()
    with pytest.raises(ValueError) as err:
        run(other, tmp_path / "r.pt", epochs=6, resume=True)
    assert str(err.value).startswith(
        f"checkpoint ({tmp_path / 'r.pt'}): the saved weights do not fit the model built from the run's settings "
        "(size mismatch for 0.weight"
    )
