"""What ``meta_train`` hands to each piece it drives, recorded call by call.

``ornn.training.fit`` (tested on its own) is replaced by a stand-in that runs one training epoch and one
validation, so each test sees, at the cost of one batch: the problems drawn and their documented seeds, the
ansatzes and the start the meta-optimiser unrolls from, the loss, the gradient clipping, the optimiser and the
settings passed to ``fit``. The epoch's loss is checked against the batch losses recorded on the way.
"""

import pytest
import torch
from torch import nn

from applications.qaoa import meta as meta_module
from applications.qaoa.ansatz import DCQAOA, QAOA
from applications.qaoa.meta import LOSSES, MetaOptimizer, ProblemDistribution, meta_train
from ornn.training import History

from ..helpers import assert_refusals, spy


def record_one_epoch(monkeypatch, epochs_to_run=(0,)):
    """Replace ``fit`` by one that runs the given training epochs and one validation, recording everything."""
    recorded = {"fit": [], "epoch_losses": [], "validation": [], "losses": []}

    def one_epoch_fit(model, train_epoch, validate, **options):
        recorded["fit"].append(options)
        for epoch in epochs_to_run:
            model.train()
            recorded["epoch_losses"].append(train_epoch(model, epoch))
        model.eval()
        with torch.no_grad():
            recorded["validation"].append(validate())
        return History()

    monkeypatch.setattr(meta_module, "fit", one_epoch_fit)
    for name, original in list(LOSSES.items()):

        def recording(scaled, original=original, name=name):
            value = original(scaled)
            recorded["losses"].append((name, float(value.detach())))
            return value

        monkeypatch.setitem(LOSSES, name, recording)
    recorded["samples"] = spy(monkeypatch, ProblemDistribution, "sample")
    recorded["forward"] = spy(monkeypatch, MetaOptimizer, "forward")
    recorded["clip"] = spy(monkeypatch, nn.utils, "clip_grad_norm_")
    recorded["optimizer"] = spy(monkeypatch, meta_module, "make_optimizer")
    recorded["check_step"] = spy(monkeypatch, meta_module, "check_step")
    return recorded


def test_meta_train_defaults_are_the_documented_settings(monkeypatch):
    """p 1, T 10, 20 epochs of 8 batches of 8, 16 validation problems, the best-so-far loss, Adam lr 0.01, clip 1,
    patience 10, seed 0, no checkpoint and no progress bar."""
    recorded = record_one_epoch(monkeypatch)
    torch.manual_seed(0)
    meta = MetaOptimizer("gru", 2, hidden_size=3, proposal="absolute").double()
    meta_train(meta, ProblemDistribution("3-regular", (4,)))
    (options,) = recorded["fit"]
    optimizer = options.pop("optimizer")
    assert options == {"epochs": 20, "patience": 10, "checkpoint": None, "resume": False, "progress": None}
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.defaults["lr"] == 0.01
    assert [(args[0], args[2]) for args, _ in recorded["optimizer"]] == [("adam", 0.01)]
    # validation from seed 0 * 1_000_003 + 999_983, then epoch 0's eight batches from seeds 0 * 1_000_003 + 0 * 8 + b
    assert [(args[1], kwargs["seed"]) for args, kwargs in recorded["samples"]] == [(16, 999_983)] + [
        (8, b) for b in range(8)
    ]
    unrolls = [(len(args[1]), args[2], args[3]) for args, _ in recorded["forward"]]
    assert unrolls == [(8, 10, None)] * 8 + [(16, 10, None)]
    assert all(type(a) is QAOA and a.p == 1 for args, _ in recorded["forward"] for a in args[1])
    assert [args[1] for args, _ in recorded["clip"]] == [1.0] * 8
    names = [name for name, _ in recorded["losses"]]
    values = [value for _, value in recorded["losses"]]
    assert names == ["best"] * 9
    assert recorded["epoch_losses"] == [pytest.approx(sum(values[:8]) / 8, rel=1e-12)]
    assert recorded["validation"] == [pytest.approx(values[8], rel=1e-12)]
    assert meta.steps == 10  # the horizon propose() defaults to


def test_meta_train_passes_its_arguments_to_every_piece(monkeypatch, tmp_path):
    recorded = record_one_epoch(monkeypatch, epochs_to_run=(0, 1))
    torch.manual_seed(0)
    meta = MetaOptimizer("gru", 6, hidden_size=3, proposal="absolute").double()
    start = torch.full((6,), 0.1, dtype=torch.float64)
    meta_train(
        meta,
        ProblemDistribution("3-regular", (4, 6)),
        p=2,
        dc=True,
        steps=3,
        epochs=5,
        batches_per_epoch=2,
        batch_size=3,
        validation_size=5,
        loss="weighted",
        optimizer="sgd",
        lr=0.03,
        grad_clip=0.25,
        patience=4,
        start=start,
        seed=2,
        checkpoint=tmp_path / "meta.pt",
        progress=True,
    )
    (options,) = recorded["fit"]
    optimizer = options.pop("optimizer")
    assert options == {
        "epochs": 5,
        "patience": 4,
        "checkpoint": tmp_path / "meta.pt",
        "resume": False,
        "progress": "meta-training gru",
    }
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["lr"] == 0.03
    # seeds: validation 2 * 1_000_003 + 999_983; batch b of epoch e: 2 * 1_000_003 + e * 2 + b
    assert [(args[1], kwargs["seed"]) for args, kwargs in recorded["samples"]] == [(5, 2_000_006 + 999_983)] + [
        (3, 2_000_006 + e * 2 + b) for e in (0, 1) for b in (0, 1)
    ]
    unrolls = [(len(args[1]), args[2]) for args, _ in recorded["forward"]]
    assert unrolls == [(3, 3)] * 4 + [(5, 3)]
    assert all(args[3] is start for args, _ in recorded["forward"])
    assert all(isinstance(a, DCQAOA) and a.p == 2 for args, _ in recorded["forward"] for a in args[1])
    assert [args[1] for args, _ in recorded["clip"]] == [0.25] * 4
    # each step's check names its epoch and batch (the message of a non-finite gradient)
    assert [kwargs for _, kwargs in recorded["check_step"]] == [
        {"epoch": e, "batch": b} for e in (0, 1) for b in (0, 1)
    ]
    values = [value for name, value in recorded["losses"] if name == "weighted"]
    assert len(values) == 5 == len(recorded["losses"])
    assert recorded["epoch_losses"] == [
        pytest.approx(sum(values[:2]) / 2, rel=1e-12),
        pytest.approx(sum(values[2:4]) / 2, rel=1e-12),
    ]
    assert recorded["validation"] == [pytest.approx(values[4], rel=1e-12)]
    assert meta.steps == 3


def test_meta_train_without_clipping_and_its_refusals_name_the_argument(monkeypatch):
    distribution = ProblemDistribution("3-regular", (4,))
    recorded = record_one_epoch(monkeypatch)
    meta_train(MetaOptimizer("gru", 2, hidden_size=3, proposal="absolute"), distribution, grad_clip=None)
    assert recorded["clip"] == [] and len(recorded["epoch_losses"]) == 1

    def call(meta=None, **kwargs):
        return lambda: meta_train(MetaOptimizer("gru", 2) if meta is None else meta, distribution, **kwargs)

    assert_refusals(
        [
            (call(meta="gru"), TypeError, "meta: expected a MetaOptimizer, got 'gru'"),
            (
                call(optimizer="lbfgs"),
                ValueError,
                "optimizer: meta_train steps once per batch; expected one of sgd, adam, adagrad, rmsprop, got 'lbfgs'",
            ),
            (call(batch_size=0), ValueError, "batch_size: expected an integer >= 1, got 0"),
            (call(batches_per_epoch=0), ValueError, "batches_per_epoch: expected an integer >= 1, got 0"),
            (call(validation_size=0), ValueError, "validation_size: expected an integer >= 1, got 0"),
            (call(steps=0), ValueError, "steps: expected an integer >= 1, got 0"),
            (call(grad_clip=0.0), ValueError, "grad_clip: expected a positive finite number, got 0.0"),
        ]
    )


def test_coupling_scales_are_one_per_ansatz_in_the_asked_dtype():
    from applications.qaoa import make_ansatz
    from applications.qaoa.meta import coupling_scale, coupling_scales

    problems = ProblemDistribution("sk", (3, 5)).sample(3, seed=1)
    ansatzes = [make_ansatz(problem, 1) for problem in problems]
    for dtype in (torch.float32, torch.float64):
        scales = coupling_scales(ansatzes, dtype, "cpu")
        assert scales.dtype == dtype
        assert scales.tolist() == pytest.approx([coupling_scale(problem) for problem in problems], rel=1e-6)


def test_meta_train_fits_a_residual_start_rule_only_when_nothing_else_gives_the_start(monkeypatch, tmp_path):
    """Fitted once, on 16 problems drawn from seed * 1_000_003 + 999_979, for a residual rule that is not fitted
    yet, with no start given and no resume; never for the absolute rule (the paper's start is fixed). For DC-QAOA
    the impulse probe is fitted right after, on 128 problems drawn from seed * 1_000_003 + 999_973."""
    recorded = record_one_epoch(monkeypatch)
    fits = []

    def fake_fit_start(self, problems, p, *, dc=False, steps=150):
        fits.append((len(problems), p, dc))
        self.start_fitted.fill_(True)
        return self

    def fake_fit_impulse(self, problems, p, *, steps=150):
        fits.append(("impulse", len(problems), p))
        return self

    monkeypatch.setattr(MetaOptimizer, "fit_start", fake_fit_start)
    monkeypatch.setattr(MetaOptimizer, "fit_impulse", fake_fit_impulse)
    distribution = ProblemDistribution("3-regular", (4,))
    meta = MetaOptimizer("gru", 6, hidden_size=3)
    meta_train(meta, distribution, p=2, dc=True, seed=1, epochs=1)
    assert fits == [(16, 2, True), ("impulse", 128, 2)]
    assert [(args[1], kwargs["seed"]) for args, kwargs in recorded["samples"]][:2] == [
        (16, 1_000_003 + 999_979),
        (128, 1_000_003 + 999_973),
    ]
    meta_train(meta, distribution, p=2, dc=True, epochs=1)  # fitted already
    meta_train(MetaOptimizer("gru", 2, hidden_size=3), distribution, start=torch.zeros(2), epochs=1)
    meta_train(MetaOptimizer("gru", 2, hidden_size=3), distribution, resume=True, checkpoint=tmp_path / "m.pt")
    meta_train(MetaOptimizer("gru", 2, hidden_size=3, proposal="absolute"), distribution, epochs=1)
    meta_train(MetaOptimizer("gru", 2, hidden_size=3), distribution, p=1, epochs=1)  # plain QAOA: no probe
    meta_train(MetaOptimizer("gru", 6, hidden_size=3), distribution, p=2, dc=True, epochs=1, impulse_problems=0)
    assert fits == [(16, 2, True), ("impulse", 128, 2), (16, 1, False), (16, 2, True)]
    with pytest.raises(ValueError, match=r"impulse_problems: expected an integer >= 0, got -1"):
        meta_train(MetaOptimizer("gru", 6, hidden_size=3), distribution, p=2, dc=True, impulse_problems=-1)


def test_the_three_losses_on_two_problems_by_hand():
    """scaled rows t = 0, 1, 2 for two problems: (0.5, -1.0), (0.2, -0.5), (0.7, -2.0).

    best: per problem mean_{t>=1} running min + last running min + mean_{t>=1} F~_t: 0.2 + 0.2 + 0.45 = 0.85 and
    -1.5 - 2 - 1.25 = -4.75, mean -1.95. weighted (1, 3): 0.2 + 2.1 = 2.3 and -0.5 - 6 = -6.5, mean -2.1; unit
    weights: 0.9 and -2.5, mean -0.8. improvement: min(F~_t - best before t, 0) summed: -0.3 and -1, mean -0.65.
    """
    from applications.qaoa.meta import best_so_far_loss, observed_improvement_loss, weighted_cost_loss

    scaled = torch.tensor([[0.5, -1.0], [0.2, -0.5], [0.7, -2.0]], dtype=torch.float64)
    assert float(best_so_far_loss(scaled)) == pytest.approx(-1.95, rel=1e-12)
    assert float(weighted_cost_loss(scaled, [1.0, 3.0])) == pytest.approx(-2.1, rel=1e-12)
    assert float(weighted_cost_loss(scaled)) == pytest.approx(-0.8, rel=1e-12)
    # weights that float32 cannot hold, taken in the costs' float64: 0.02 + 0.21 and -0.05 - 0.6, mean -0.21
    assert float(weighted_cost_loss(scaled, [0.1, 0.3])) == pytest.approx(-0.21, rel=1e-14)
    assert float(observed_improvement_loss(scaled)) == pytest.approx(-0.65, rel=1e-12)
    assert_refusals(
        [
            (
                lambda: weighted_cost_loss(scaled, [1.0]),
                ValueError,
                "weights: expected 2 weights (one per step), got shape (1,)",
            )
        ]
    )


def test_a_rank_scales_its_gradient_and_loss_by_its_shard_factor_and_an_empty_validation_shard_counts_zero(
    monkeypatch,
):
    """Rank 0 of two, as ``distributed.local_items`` shards them: 2 of a batch of 3 problems (factor 2 * 2 / 3)
    and an empty validation shard (the first problem, factor 0). With plain SGD, lr 0.1 and no clipping, the step
    is -0.1 * 4/3 * the gradient of the loss on its 2 problems; the epoch's loss is that loss * 4/3 over 2 ranks
    times 1 batch, the other rank's sum being 0 here; the validation adds nothing."""
    from ornn import distributed

    factor = 4 / 3

    def rank_zero_of_two(items):
        return (items[:2], factor) if len(items) == 3 else (items[:1], 0.0)

    monkeypatch.setattr(distributed, "local_items", rank_zero_of_two)
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    monkeypatch.setattr(distributed, "all_sum", float)  # the other rank's sums are 0
    recorded = record_one_epoch(monkeypatch)
    torch.manual_seed(0)
    meta = MetaOptimizer("gru", 2, hidden_size=3, proposal="absolute").double()
    reference = MetaOptimizer("gru", 2, hidden_size=3, proposal="absolute").double()
    reference.load_state_dict(meta.state_dict())
    distribution = ProblemDistribution("3-regular", (4, 6))
    local = distribution.sample(3, seed=0)[:2]  # epoch 0, batch 0: seed 0 * 1_000_003 + 0 * 1 + 0
    loss = LOSSES["best"](reference([QAOA(q, 1) for q in local], 2).scaled)
    loss.backward()
    expected = {  # the absolute rule's start is frozen: no gradient, no step
        name: q.detach() - 0.1 * factor * q.grad if q.requires_grad else q.detach()
        for name, q in reference.named_parameters()
    }
    meta_train(
        meta,
        distribution,
        steps=2,
        batches_per_epoch=1,
        batch_size=3,
        validation_size=2,
        optimizer="sgd",
        lr=0.1,
        grad_clip=None,
    )
    for name, q in meta.named_parameters():
        assert torch.allclose(q, expected[name], rtol=0, atol=1e-12), name
    assert recorded["epoch_losses"] == [pytest.approx(float(loss.detach()) * factor / 2, rel=1e-12)]
    assert recorded["validation"] == [0.0]


def test_a_cell_gone_non_finite_in_training_is_named_with_its_epoch_and_batch(monkeypatch):
    class TurnsNaN(nn.Module):
        """Outputs zeros, then NaN from its third call on: with T = 1, the third unroll is epoch 1's batch 0."""

        input_size, hidden_size, calls = 4, 3, 0

        def initial_state(self, batch_size=None, *, dtype=None, device=None):
            return torch.zeros(batch_size, 3, dtype=dtype)

        def forward(self, x, state):
            self.calls += 1
            return state + (float("nan") if self.calls >= 3 else 0.0), state

    record_one_epoch(monkeypatch, epochs_to_run=(0, 1))
    meta = MetaOptimizer(TurnsNaN(), 2, proposal="absolute").double()
    distribution = ProblemDistribution("3-regular", (4,))
    assert_refusals(
        [
            (
                lambda: meta_train(meta, distribution, steps=1, batches_per_epoch=2, batch_size=1),
                ValueError,
                "training: at epoch 1, batch 0: meta: the cell proposed non-finite parameters at Phase I step 1 of 1 "
                "(its weights or state are no longer finite)",
            )
        ]
    )
