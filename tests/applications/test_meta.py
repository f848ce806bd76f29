"""The meta-optimiser's mechanics on tiny problems: shapes, losses, checkpoints, resume, two phases."""

import math

import pytest
import torch

import cells
from applications import qaoa
from applications.qaoa import MetaOptimizer, ProblemDistribution
from ornn.training import load_checkpoint


def tiny_batch(count=3, n=6, p=1):
    return [qaoa.QAOA(problem, p) for problem in ProblemDistribution("3-regular", (n,)).sample(count, seed=1)]


@pytest.mark.parametrize("cell", ["lstm", "gru", "sru", "arnn", "qunn", "qlstm", "qk_lstm", "qfwp"])
def test_any_registered_cell_unrolls_to_the_right_shapes(cell):
    torch.manual_seed(0)
    meta = MetaOptimizer(cell, num_params=2, hidden_size=6).double()
    trajectory = meta(tiny_batch(), steps=4, start=torch.tensor([0.1, 0.1]))
    assert trajectory.params.shape == (5, 3, 2) and trajectory.energies.shape == (5, 3)
    assert bool((trajectory.params[1:].abs() <= math.pi).all())
    scales = torch.tensor([sum(w for *_, w in a.problem.terms) for a in tiny_batch()], dtype=torch.float64)
    assert torch.allclose(trajectory.scaled, trajectory.energies / scales)
    assert torch.allclose(
        trajectory.energies[0], qaoa.batch_energy(tiny_batch(), torch.tensor([0.1, 0.1]).expand(3, 2))
    )


def test_losses_on_hand_computed_trajectories():
    scaled = torch.tensor([[-0.5], [-0.6], [-0.55], [-0.7]], dtype=torch.float64)
    assert float(qaoa.weighted_cost_loss(scaled)) == pytest.approx(-0.6 - 0.55 - 0.7)
    assert float(qaoa.weighted_cost_loss(scaled, [0.0, 0.0, 2.0])) == pytest.approx(-1.4)
    # improvements over the best so far: -0.1, 0 (worse than -0.6), -0.1
    assert float(qaoa.observed_improvement_loss(scaled)) == pytest.approx(-0.2)
    with pytest.raises(ValueError, match=r"weights: expected 3 weights \(one per step\), got shape \(2,\)"):
        qaoa.weighted_cost_loss(scaled, [1.0, 1.0])


def test_training_lowers_the_validation_loss():
    torch.manual_seed(1)
    meta = MetaOptimizer("gru", num_params=2, hidden_size=8).double()
    history = qaoa.meta_train(
        meta,
        ProblemDistribution("3-regular", (6,)),
        p=1,
        steps=4,
        epochs=6,
        batches_per_epoch=2,
        batch_size=4,
        validation_size=4,
        lr=0.03,
        patience=10,
    )
    assert len(history.val_loss) == 6
    assert min(history.val_loss) < history.val_loss[0]


class DroppedGRU(cells.GRU):
    """A GRU whose input passes through dropout, so training draws from torch's global generator."""

    def forward_unchecked(self, x, state):
        return super().forward_unchecked(torch.nn.functional.dropout(x, 0.3, self.training), state)


def test_resume_reproduces_an_uninterrupted_run_bit_for_bit_with_dropout(tmp_path):
    options = dict(
        p=1, steps=3, epochs=4, batches_per_epoch=2, batch_size=3, validation_size=3, lr=0.02, patience=10, seed=7
    )
    dist = ProblemDistribution("erdos-renyi", (5, 6))

    def fresh():
        torch.manual_seed(2)
        return MetaOptimizer(DroppedGRU(6, 5), num_params=2).double()

    straight = fresh()
    full = qaoa.meta_train(straight, dist, **options)
    checkpoint = tmp_path / "meta.pt"
    qaoa.meta_train(fresh(), dist, **{**options, "epochs": 2}, checkpoint=checkpoint)
    assert checkpoint.exists() and not list(tmp_path.glob(".*.tmp"))
    saved = torch.load(
        checkpoint, weights_only=True
    )  # after epoch 1 (the resume below writes epochs 2 and 3 to the same file)
    torch.manual_seed(99)  # whatever the generator holds now, resuming restores the checkpoint's
    again = MetaOptimizer(DroppedGRU(6, 5), num_params=2).double()
    history = qaoa.meta_train(again, dist, **options, checkpoint=checkpoint, resume=True)
    assert history.val_loss == full.val_loss and history.train_loss == full.train_loss
    assert history.best_epoch == full.best_epoch
    for (name, a), b in zip(again.state_dict().items(), straight.state_dict().values()):
        assert torch.equal(a, b), name
    torch.manual_seed(2)
    without_rng = fresh()  # the same resume with the generator state dropped from the checkpoint differs
    saved["rng"]["torch"] = torch.Generator().manual_seed(12345).get_state()
    torch.save(saved, tmp_path / "no-rng.pt")
    other = qaoa.meta_train(without_rng, dist, **options, checkpoint=tmp_path / "no-rng.pt", resume=True)
    assert other.train_loss[2:] != full.train_loss[2:]


def test_checkpoint_round_trip_restores_the_best_state(tmp_path):
    torch.manual_seed(3)
    meta = MetaOptimizer("sru", num_params=2, hidden_size=4).double()
    checkpoint = tmp_path / "ck.pt"
    qaoa.meta_train(
        meta,
        ProblemDistribution("sk", (4, 5)),
        steps=2,
        epochs=2,
        batches_per_epoch=1,
        batch_size=2,
        validation_size=2,
        checkpoint=checkpoint,
    )
    saved = load_checkpoint(checkpoint)
    assert saved["epoch"] == 1 and len(saved["history"]["val_loss"]) == 2
    for k, v in meta.state_dict().items():  # the returned model is the best validation state
        assert torch.equal(v, saved["best_state"][k])


def test_two_phase_protocol_for_the_meta_optimiser_and_a_baseline():
    torch.manual_seed(4)
    meta = MetaOptimizer("lstm", num_params=4, hidden_size=6).double()
    test = [qaoa.QAOA(problem, 2) for problem in ProblemDistribution("3-regular", (8,)).sample(2, seed=9)]
    run = qaoa.two_phase(test, meta, steps=5, phase_two_steps=20, lr=0.05)
    assert run.phase_one.energies.shape == (6, 2) and run.phase_two.energies.shape[1] == 2
    assert run.phase_one.evaluations == 6
    # Phase II starts from the best Phase I point, not the last proposal
    assert torch.equal(run.phase_two.params[0], run.phase_one.best_params)
    assert torch.allclose(run.phase_two.energies[0], run.phase_one.energies.min(0).values)
    assert run.path.shape == (6 + 20, 2) and bool((run.path[1:6] <= run.path[:5]).all())
    ramp = torch.stack([qaoa.linear_ramp(a) for a in test])
    base = qaoa.two_phase(test, ramp, phase_two_steps=20, lr=0.05)
    assert base.phase_one.energies.shape == (1, 2) and base.phase_one.evaluations == 1
    assert bool((base.final_energies <= base.phase_two.energies[0] + 1e-12).all())
    assert bool((base.phase_two_steps <= 20).all())


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: MetaOptimizer("nope", 2), ValueError, r"name: unknown cell 'nope'"),
        (
            lambda: MetaOptimizer(cells.LSTM(3, 4), 2),
            ValueError,
            r"cell: expected input_size 6 for the residual rule with P = 2, the cost change, got 3",
        ),
        (
            lambda: MetaOptimizer(torch.nn.Linear(2, 2), 2),
            TypeError,
            r"cell: expected a registered cell name or a cell module",
        ),
        (
            lambda: MetaOptimizer("gru", 2)(tiny_batch(p=2), 3, torch.zeros(2)),
            ValueError,
            r"ansatzes: expected 2 parameters per ansatz, got 4",
        ),
        (
            lambda: ProblemDistribution("ring", (4,)),
            ValueError,
            r"kind: expected one of erdos-renyi, 3-regular, complete-weighted, sk, got .ring.",
        ),
        (lambda: ProblemDistribution("3-regular", (5,)), ValueError, r"sizes: 3-regular graphs need even n >= 4"),
        (
            lambda: qaoa.meta_train(MetaOptimizer("gru", 2), ProblemDistribution("sk", (4,)), loss="mse"),
            ValueError,
            r"loss: expected one of best, weighted, improvement",
        ),
        (
            lambda: qaoa.meta_train(MetaOptimizer("gru", 2), ProblemDistribution("sk", (4,)), resume=True),
            ValueError,
            r"checkpoint: resume=True needs the checkpoint path",
        ),
        (
            lambda: qaoa.meta_train(MetaOptimizer("gru", 2), ProblemDistribution("sk", (4,)), optimizer="lbfgs"),
            ValueError,
            r"optimizer: meta_train steps once per batch",
        ),
        (
            lambda: qaoa.two_phase(tiny_batch(), "ramp"),
            TypeError,
            r"phase_one: expected a MetaOptimizer or a \(batch, num_params\) start tensor",
        ),
        (
            lambda: qaoa.two_phase(tiny_batch(), torch.zeros(2, 2)),
            ValueError,
            r"phase_one: expected shape \(3, 2\), got \(2, 2\)",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_optional_inputs_change_the_input_size():
    assert MetaOptimizer("gru", 2, use_delta=False).input_size == 5
    assert MetaOptimizer("gru", 2, problem_features=True).input_size == 8
    assert MetaOptimizer("gru", 2, proposal="absolute", use_delta=False).input_size == 3
    assert MetaOptimizer("gru", 2, proposal="absolute", problem_features=True).input_size == 6
    meta = MetaOptimizer("gru", 2, hidden_size=4, use_delta=False, problem_features=True).double()
    assert meta(tiny_batch(), 2, torch.zeros(2)).params.shape == (3, 3, 2)


def test_qaoa_cli_train_resume_evaluate_and_compare(tmp_path, capsys):
    from ornn_cli.main import main

    run = tmp_path / "gru"
    common = ["--kind", "3-regular", "--train-sizes", "6", "--steps", "3"]
    assert main(["qaoa", "train", "--cell", "gru", "--hidden", "4", "--epochs", "1", "--out", str(run), *common]) == 0
    assert (
        main(
            ["qaoa", "train", "--cell", "gru", "--hidden", "4", "--epochs", "2", "--out", str(run), "--resume", *common]
        )
        == 0
    )
    metrics = __import__("json").loads((run / "metrics.json").read_text())
    assert len(metrics["val_loss"]) == 2
    assert main(["qaoa", "evaluate", "--run", str(run), "--test-sizes", "8", "--per-size", "2"]) == 0
    assert "ratio after Phase I" in capsys.readouterr().out
    out = tmp_path / "cmp"
    assert (
        main(
            [
                "qaoa",
                "compare",
                "--quick",
                "--kind",
                "3-regular",
                "--cells",
                "gru",
                "--train-sizes",
                "6",
                "--test-sizes",
                "8",
                "--steps",
                "3",
                "--hidden",
                "5",
                "--no-delta",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    for name in ("report.md", "metrics.json", "config.json", "relative_error.png"):
        assert (out / name).stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "learned (gru)" in report and "fixed angles" in report and "degree rule" in report
    config = __import__("json").loads((out / "config.json").read_text())
    assert config["hidden_size"] == 5 and config["use_delta"] is False
    assert main(["qaoa", "train", "--cell", "nope", "--out", str(tmp_path / "x")]) == 2


def test_compare_with_reference_optimum_and_transfer(tmp_path):
    from applications.qaoa.experiment import CompareConfig, run_compare

    config = CompareConfig(
        kind="3-regular",
        train_sizes=(6,),
        test_sizes=(8,),
        test_per_size=2,
        p=1,
        steps=3,
        cells=("gru",),
        hidden_size=4,
        epochs=1,
        batches_per_epoch=1,
        batch_size=2,
        phase_two_steps=5,
        reference_optimum=True,
        transfer_sizes=(10,),
    )
    metrics = run_compare(config, tmp_path / "run", progress=False, echo=lambda *a: None)
    reference = metrics["results"]["ansatz optimum (multi-start L-BFGS)"][8]["ratio_phase_one_mean"]
    for method, per_n in metrics["results"].items():
        assert per_n[8]["ratio_phase_two_mean"] <= reference + 1e-6, method
    assert set(metrics["transfer"]) >= {"learned (gru)", "fixed angles"} and 10 in metrics["transfer"]["fixed angles"]
    assert "## Transfer" in (tmp_path / "run" / "report.md").read_text()


@pytest.mark.parametrize("cell", ["qlstm", "qk_lstm", "qfwp"])
def test_quantum_cells_at_sequence_model_input_size_train_their_circuit_parameters(cell):
    """The sequence-model paper's optimiser input (gamma, beta, cost): gradients of the meta-loss reach the circuit parameters."""
    torch.manual_seed(0)
    meta = MetaOptimizer(cell, num_params=2, hidden_size=4, proposal="absolute", use_delta=False).double()
    assert meta.cell.input_size == 3
    trajectory = meta(tiny_batch(), steps=3, start=torch.tensor([0.1, 0.1]))
    qaoa.weighted_cost_loss(trajectory.scaled).backward()
    quantum = {"qlstm": "circuit_weights", "qk_lstm": "references", "qfwp": "slow.weight"}[cell]
    grad = dict(meta.cell.named_parameters())[quantum].grad
    assert grad is not None and grad.abs().max() > 1e-8


def test_parameters_on_another_device_are_refused_not_moved():
    from applications.qaoa import QAOA, random_regular_maxcut

    ansatz = QAOA(random_regular_maxcut(4, seed=0), 1)
    assert ansatz.device == torch.device("cpu")
    with pytest.raises(ValueError, match=r"params: expected a tensor on the ansatz's device cpu, got one on meta"):
        ansatz.energy(torch.zeros(2, device="meta"))


def test_devices_are_checked_where_they_are_given():
    from applications.qaoa import QAOA, random_regular_maxcut
    from applications.qaoa.experiment import CompareConfig, run_compare

    problem = random_regular_maxcut(4, seed=0)
    with pytest.raises(ValueError, match=r"device: expected a device such as 'cpu'"):
        QAOA(problem, 1, device="gpu0")
    with pytest.raises(ValueError, match=r"device: expected a device such as 'cpu'"):
        QAOA(problem, 1).to("nowhere")
    with pytest.raises(ValueError, match=r"config.device: expected a device such as 'cpu'"):
        run_compare(CompareConfig(device="nowhere"), None)
