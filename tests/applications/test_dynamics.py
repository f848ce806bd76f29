"""Ising dynamics: exact evolution against QuTiP, metric definitions, data, predictor, checkpoints.

Exactness: complex128; QuTiP's sesolve runs at atol 1e-12 / rtol 1e-10, which leaves
~5e-10 of integration error over 40 steps, so 1e-8 is the bound (the issue's).
"""

import json
import math
import re
import time
from dataclasses import replace

import pytest
import torch

from applications import dynamics
from applications.dynamics import data, metrics
from applications.dynamics.model import DynamicsPredictor
from applications.dynamics.train import evaluate_predictor, train_predictor
from ornn.training import load_checkpoint

from ..helpers import capture_figures, saved_figure, spy


def random_states(n, count, seed=0):
    return data.haar_states(n, count, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("n", range(2, 9))
def test_evolve_exact_equals_qutip_sesolve(n):
    psi0 = random_states(n, 2, seed=n)
    reference = dynamics.evolve_qutip(psi0, n, 40)
    for method in ("eig", "krylov"):
        got = dynamics.evolve_exact(psi0, n, 40, method=method)
        assert got.shape == (2, 41, 2**n) and got.dtype == torch.complex128
        assert (got - reference).abs().max() < 1e-8, method


def _matrix_exponential_path(psi0, n, steps, dt):
    """psi(k dt) = expm(-i H k dt) psi0 through torch.linalg.matrix_exp: no eigendecomposition, no cache."""
    hamiltonian = dynamics.ising_matrix(n).to(torch.complex128)
    return torch.stack([psi0 @ torch.linalg.matrix_exp(-1j * dt * k * hamiltonian).T for k in range(steps + 1)], dim=1)


@pytest.mark.parametrize(
    ("table_max_dim", "block", "batch", "steps"),
    [
        (64, 2**19, 5, 10),  # the propagator table (2^3 <= 64)
        (0, 2 * 11 * 8 * 2, 5, 10),  # blocks of 2 whole trajectories, the last one short
        (0, 2 * 8 * 4, 3, 10),  # blocks of 4 steps of one trajectory, the last one short
        (0, 2**19, 5, 0),  # a single frame
    ],
)
def test_every_eigenbasis_path_equals_the_matrix_exponential(monkeypatch, table_max_dim, block, batch, steps):
    from applications.dynamics import exact

    monkeypatch.setattr(exact, "PROPAGATOR_MAX_DIM", table_max_dim)
    monkeypatch.setattr(exact, "EIG_BLOCK", block)
    psi0 = random_states(3, batch, seed=7)
    expected = _matrix_exponential_path(psi0, 3, steps, 0.05)
    got = dynamics.evolve_exact(psi0, 3, steps, dt=0.05, method="eig")
    assert got.shape == (batch, steps + 1, 8) and got.dtype == torch.complex128
    assert (got - expected).abs().max() < 1e-12  # float64 round-off of an 8 x 8 eigendecomposition
    single = dynamics.evolve_exact(psi0.to(torch.complex64), 3, steps, dt=0.05, method="eig")
    assert single.dtype == torch.complex64
    assert (single.to(torch.complex128) - expected).abs().max() < 1e-5  # float32 products over 8 terms


def test_the_propagator_table_is_built_only_for_a_batch_that_amortises_it(monkeypatch):
    """Reading the table costs (steps + 1) 4^N entries, whatever the batch: a batch too small to amortise that
    takes the rotation path (and equals the table's result), a larger one takes the table."""
    from applications.dynamics import exact

    monkeypatch.setattr(exact, "PROPAGATOR_ENTRIES_PER_STATE", 11 * 64 // 4)  # N = 3, 10 steps: 4 states or more
    exact._propagator_table.cache_clear()
    psi0 = random_states(3, 4, seed=3)
    rotated = torch.cat(
        [dynamics.evolve_exact(psi0[:3], 3, 10, dt=0.05), dynamics.evolve_exact(psi0[3], 3, 10, dt=0.05)[None]]
    )
    assert exact._propagator_table.cache_info().currsize == 0
    tabled = dynamics.evolve_exact(psi0, 3, 10, dt=0.05)
    assert exact._propagator_table.cache_info().currsize == 1
    assert (rotated - tabled).abs().max() < 1e-13  # two orders of float64 products over 8 terms


def test_the_cached_propagator_table_is_not_reachable_through_a_result():
    psi0 = random_states(2, 3)
    first = dynamics.evolve_exact(psi0, 2, 6)
    expected = first.clone()
    first.zero_()  # a caller writing into its result must not change the next call's
    assert torch.equal(dynamics.evolve_exact(psi0, 2, 6), expected)
    assert (dynamics.evolve_exact(psi0, 2, 6, dt=0.004)[:, 3] - expected[:, 6]).abs().max() < 1e-12  # the grid keys it


@pytest.mark.parametrize("n", [1, 3, 6])
def test_torch_hamiltonian_equals_qutip_operator_dense_and_sparse(n):
    expected = torch.from_numpy(dynamics.ising_qobj(n, g=0.3, h=-0.7).full())
    # the same terms summed in another order: equal to round-off
    assert (dynamics.ising_matrix(n, g=0.3, h=-0.7).to(torch.complex128) - expected).abs().max() < 1e-14
    assert (
        dynamics.ising_matrix(n, g=0.3, h=-0.7, sparse=True).to_dense().to(torch.complex128) - expected
    ).abs().max() < 1e-14


def test_evolution_keeps_the_norm_and_uses_the_fields():
    psi0 = random_states(3, 2)
    out = dynamics.evolve_exact(psi0, 3, 500, dt=0.01)
    assert torch.allclose(torch.linalg.vector_norm(out, dim=-1), torch.ones(2, 501, dtype=torch.float64), atol=1e-12)
    other = dynamics.evolve_exact(psi0, 3, 500, dt=0.01, g=0.4)
    assert (out[:, -1] - other[:, -1]).abs().max() > 1e-2


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: dynamics.evolve_exact(torch.ones(4, dtype=torch.complex128), 2, 3),
            ValueError,
            r"psi0: expected unit-norm states",
        ),
        (
            lambda: dynamics.evolve_exact(random_states(2, 1), 3, 3),
            ValueError,
            r"psi0: expected shape \(batch, 8\) or \(8,\) for 3 spins, got \(1, 4\)",
        ),
        (
            lambda: dynamics.evolve_exact(random_states(2, 1), 17, 3),
            ValueError,
            r"n_spins: expected an integer in \[1, 16\], got 17",
        ),
        (lambda: dynamics.evolve_exact(random_states(2, 1), 2, -1), ValueError, r"steps"),
        (
            lambda: dynamics.evolve_exact(torch.full((4,), float("nan"), dtype=torch.complex128), 2, 3),
            ValueError,
            r"psi0: expected finite amplitudes",
        ),
        (
            lambda: dynamics.evolve_exact(torch.ones(4) / 2, 2, 3),
            TypeError,
            r"psi0: expected a complex64 or complex128 tensor, got torch.float32",
        ),
        (
            lambda: dynamics.evolve_exact(random_states(2, 1), 2, 3, method="rk4"),
            ValueError,
            r"method: expected 'auto', 'eig' or 'krylov'",
        ),
        (
            lambda: dynamics.evolve_exact(random_states(2, 1), 2, 3, g=float("inf")),
            ValueError,
            r"g: expected a finite number",
        ),
    ],
)
def test_bad_input_is_refused_with_a_named_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("batch", [1, 8, 9, 64])  # the norms are read one by one up to 8 states, reduced above
@pytest.mark.parametrize(
    "bad, message",
    [
        (1.0 + 1e-4, r"psi0: expected unit-norm states \(\|norm - 1\| <= 1e-06\), got a deviation of 0.0001"),
        (1.0 - 1e-4, r"psi0: expected unit-norm states \(\|norm - 1\| <= 1e-06\), got a deviation of 0.0001"),
        (float("nan"), r"psi0: expected finite amplitudes"),
        (float("inf"), r"psi0: expected finite amplitudes"),
    ],
)
def test_one_bad_state_in_a_batch_is_found_wherever_it_sits(batch, bad, message):
    states = random_states(2, batch)
    dynamics.evolve_exact(states, 2, 1)  # the good batch passes
    for position in {0, batch // 2, batch - 1}:
        spoiled = states.clone()
        spoiled[position] *= bad
        with pytest.raises(ValueError, match=message):
            dynamics.evolve_exact(spoiled, 2, 1)


# --------------------------------------------------------------------------- metrics on hand-computed cases
def as_sequence(*states):
    return torch.tensor([list(states)], dtype=torch.complex128)  # (1, T, 2^N)


def test_mean_relative_entropy_uses_normalised_absolute_coefficients():
    exact = as_sequence([1.0, 1.0])  # P = (1/2, 1/2), whatever the norm
    predicted = as_sequence([1.0, 3.0j])  # Q = (1/4, 3/4): phases do not matter, |.| does
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert abs(metrics.mean_relative_entropy(predicted, exact).item() - expected) < 1e-15
    born = 0.5 * math.log(0.5 / 0.1) + 0.5 * math.log(0.5 / 0.9)  # |.|^2: (1/10, 9/10)
    assert abs(metrics.born_kl(predicted, exact).item() - born) < 1e-15
    assert metrics.mean_relative_entropy(exact, exact).item() == 0.0
    assert metrics.mean_relative_entropy(as_sequence([0.0, 1.0]), as_sequence([1.0, 0.0])).item() == math.inf


def test_magnetisation_fidelity_and_norm_drift():
    up_up, down_down, up_down = [1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0]
    m = metrics.magnetisation(as_sequence(up_up, down_down, up_down, [2, 0, 0, 0]))
    assert m.tolist() == [[1.0, -1.0, 0.0, 1.0]]
    plus = [0.5, 0.5, 0.5, 0.5]
    assert metrics.fidelity(as_sequence(up_up), as_sequence(down_down)).item() == 0.0
    assert abs(metrics.fidelity(as_sequence([2 * x for x in plus]), as_sequence(plus)).item() - 1.0) < 1e-15
    assert abs(metrics.fidelity(as_sequence(up_up), as_sequence(plus)).item() - 0.25) < 1e-15
    assert abs(metrics.norm_drift(as_sequence([2, 0, 0, 0])).item() - 3.0) < 1e-15
    with pytest.raises(ValueError, match=r"predicted: expected the shape of exact \(1, 1, 4\), got \(1, 2, 4\)"):
        metrics.fidelity(as_sequence(plus, plus), as_sequence(plus))


# --------------------------------------------------------------------------- data
def test_haar_states_are_normalised_and_seeded():
    a = random_states(3, 5, seed=1)
    assert torch.allclose(torch.linalg.vector_norm(a, dim=1), torch.ones(5, dtype=torch.float64), atol=1e-14)
    assert torch.equal(a, random_states(3, 5, seed=1)) and not torch.equal(a, random_states(3, 5, seed=2))


def test_splits_are_80_10_10_and_streamed_data_equals_the_cache(tmp_path):
    spec = data.SequenceSpec(spins=(2, 3), per_spin=20, steps=5, chunk=7)
    assert [len(spec.split_range(s)) for s in ("train", "validation", "test")] == [16, 2, 2]
    streamed = data.sequences(spec, 3, range(5, 12))
    whole = data.sequences(spec, 3, range(20))
    assert torch.equal(streamed, whole[5:12])
    assert torch.allclose(whole[:, 3], dynamics.evolve_exact(whole[:, 0], 3, 5)[:, 3], atol=1e-12)
    data.cache(spec, tmp_path / "cache")
    loaded_spec, cached = data.load_cached(tmp_path / "cache")
    assert loaded_spec == spec and torch.equal(cached[3], whole)
    sizes = sorted(b.shape[0] for n, b in data.batches(spec, "train", 5, cached=cached) if n == 2)
    assert sizes == [1, 5, 5, 5]
    (tmp_path / "cache" / "spins-2.pt").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.load_cached(tmp_path / "cache")


# --------------------------------------------------------------------------- predictor
@pytest.mark.parametrize("cell", ["sru", "lstm", "arnn"])
def test_predictor_shapes_and_rollout_with_any_cell(cell):
    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=3, width=8, cell=cell, num_layers=2).double()
    states = random_states(3, 4)[:, None, :].expand(4, 6, 8).contiguous()
    out, _ = model(states)
    assert out.shape == (4, 6, 8) and out.dtype == torch.complex128
    small, _ = model(random_states(2, 4)[:, None, :])
    assert small.shape == (4, 1, 4)  # the first 2^N rows of the same tables
    path = model.rollout(states[:, 0], 5)
    assert path.shape == (4, 6, 8) and torch.equal(path[:, 0], states[:, 0])
    with pytest.raises(ValueError, match=r"states: expected complex amplitudes over 2\^N entries with 1 <= N <= 3"):
        model(torch.zeros(1, 2, 16, dtype=torch.complex128))


def test_rollout_step_by_step_equals_teacher_forcing_on_its_own_predictions():
    torch.manual_seed(1)
    model = DynamicsPredictor(max_spins=2, width=8, num_layers=2, dropout=0.0).double().eval()
    path = model.rollout(random_states(2, 3), 4)
    forced, _ = model(path[:, :-1])
    assert torch.allclose(forced, path[:, 1:], atol=1e-12)


def test_checkpoint_resume_reproduces_an_uninterrupted_run_bit_for_bit_with_dropout(tmp_path):
    spec = data.SequenceSpec(spins=(2,), per_spin=20, steps=4)

    def fresh():
        torch.manual_seed(3)
        return DynamicsPredictor(max_spins=2, width=8, num_layers=2, dropout=0.2).double()

    straight = fresh()
    history = train_predictor(straight, spec, epochs=4, batch_size=8, checkpoint=tmp_path / "a.pt")
    train_predictor(fresh(), spec, epochs=2, batch_size=8, checkpoint=tmp_path / "b.pt")
    torch.manual_seed(77)  # resuming restores the generators whatever they hold now
    resumed = DynamicsPredictor(max_spins=2, width=8, num_layers=2, dropout=0.2).double()
    history_b = train_predictor(resumed, spec, epochs=4, batch_size=8, checkpoint=tmp_path / "b.pt", resume=True)
    assert (
        history_b.val_loss == history.val_loss
        and history_b.train_loss == history.train_loss
        and history_b.lr == history.lr
    )
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()):
        assert torch.equal(a, b)
    saved = load_checkpoint(tmp_path / "a.pt")
    assert saved["epoch"] == 3 and saved["extra"]["config"]["width"] == 8
    round_trip = fresh()
    round_trip.load_state_dict(saved["best_state"])
    for a, b in zip(round_trip.state_dict().values(), straight.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(FileNotFoundError, match="checkpoint: expected a checkpoint file written by ornn.training.fit"):
        train_predictor(fresh(), spec, epochs=1, checkpoint=tmp_path / "missing.pt", resume=True)


def test_evaluation_reports_predictor_and_persistence_per_step():
    spec = data.SequenceSpec(spins=(2, 3), per_spin=10, steps=6)
    model = DynamicsPredictor(max_spins=3, width=8, num_layers=1).double()
    report = evaluate_predictor(model, spec, steps=4)
    assert set(report) == {2, 3}
    for per_n in report.values():
        assert set(per_n) == {"predictor", "persistence"}
        assert len(per_n["persistence"]["mre"]) == 5 and per_n["persistence"]["mre"][0] == 0.0
        assert per_n["persistence"]["fidelity"][0] == pytest.approx(1.0)


def test_dynamics_cli_generate_train_resume_evaluate(tmp_path, capsys):
    from ornn_cli.main import main

    cache_dir, run = tmp_path / "data", tmp_path / "run"
    tiny = ["--spins", "2", "3", "--per-spin", "10", "--steps", "6"]
    assert main(["dynamics", "generate", *tiny, "--out", str(cache_dir)]) == 0
    assert (cache_dir / "metadata.json").exists()
    train = [
        "dynamics",
        "train",
        "--data",
        str(cache_dir),
        "--width",
        "8",
        "--layers",
        "1",
        "--batch",
        "4",
        "--out",
        str(run),
    ]
    assert main([*train, "--epochs", "1"]) == 0
    assert main([*train, "--epochs", "2"]) == 2  # refuses to overwrite a run silently
    assert "pass --resume to continue it or --overwrite" in capsys.readouterr().err
    assert main([*train, "--epochs", "2", "--resume"]) == 0
    history = __import__("json").loads((run / "metrics.json").read_text())
    assert len(history["val_loss"]) == 2
    with pytest.raises(SystemExit) as exit_info:  # refused at parse time, not read as "the default"
        main(["dynamics", "evaluate", "--run", str(run), "--steps", "0"])
    assert exit_info.value.code == 2
    assert "argument --steps: expected a positive integer, got 0" in capsys.readouterr().err
    assert main(["dynamics", "evaluate", "--run", str(run), "--steps", "4"]) == 0
    for name in (
        "report.md",
        "evaluation.json",
        "mre.png",
        "magnetisation.png",
        "magnetisation_error.png",
        "amplitudes.png",
        "best.pt",
    ):
        assert (run / name).stat().st_size > 0
    assert "beats persistence" in (run / "report.md").read_text()
    from applications.dynamics.runs import evaluate_run

    result = evaluate_run(run, steps=100, count=1)  # past the data's 6 steps: the same seeds, evolved longer
    assert [row["N"] for row in result["growth"]] == [2, 3] == [row["N"] for row in result["appendix_c"]]
    for row in result["growth"]:
        per = result["evaluation"][row["N"]]
        assert row["MRE @ 100"] == per["predictor"]["mre"][100]
        assert row["persistence @ 100"] == per["persistence"]["mre"][100]
        assert row["norm drift @ 100"] == per["predictor"]["norm_drift"][100]
    assert "norm drift @ 100" in (run / "report.md").read_text()


# --------------------------------------------------------------------------- norm-preserving predictor
def test_norm_preserving_step_is_eq14_and_keeps_the_norm_bounded():
    from applications.dynamics.physics import NormPreservingPredictor

    torch.manual_seed(4)
    model = NormPreservingPredictor((3,), dt=0.01).double()
    a = model.cores["3"].weight_a
    psi = random_states(3, 2)
    p, c = psi.real, psi.imag
    p_next = p + 0.01 * c @ a.T
    c_next = c - 0.01 * p_next @ a
    assert torch.allclose(model.step(psi), torch.complex(p_next, c_next), atol=1e-14)
    path = model.rollout(psi, 1000)
    norms = torch.linalg.vector_norm(path, dim=-1)
    assert (norms - 1).abs().max() < 0.05  # symplectic: O(dt ||A||) around 1, no drift
    with pytest.raises(
        ValueError, match=r"states: expected complex amplitudes of one of the trained chain lengths \(3,\)"
    ):
        model.step(random_states(2, 1))


def test_norm_preserving_predictor_learns_the_hamiltonian():
    from applications.dynamics.physics import NormPreservingPredictor

    spec = data.SequenceSpec(spins=(2,), per_spin=40, steps=50)
    torch.manual_seed(5)
    model = NormPreservingPredictor((2,)).double()
    before = (model.cores["2"].weight_a - dynamics.ising_matrix(2)).norm()
    train_predictor(model, spec, epochs=30, batch_size=8, lr=0.3, decay=0.95)
    after = (model.cores["2"].weight_a - dynamics.ising_matrix(2)).norm()
    assert after < 0.05 * before
    report = evaluate_predictor(model, spec, steps=50)
    assert report[2]["predictor"]["mre"][50] < 1e-3 < report[2]["persistence"]["mre"][50]


def test_transfer_writes_curves_for_both_models(tmp_path, monkeypatch, capsys):
    """The run folder (config, metrics, figure, report), the curves, the epochs to the scratch loss, silence by
    default, the data of each chain generated once from the config's spec (N = 3 is shared by both trainings and
    the three evaluations on 20 test sequences), and the model width as configured or by the recipe's rule."""
    from dataclasses import asdict

    from applications.dynamics import transfer
    from applications.dynamics.transfer import TransferConfig, run_transfer

    chunks = spy(monkeypatch, data, "_chunk")
    evaluated = spy(monkeypatch, transfer, "evaluate_predictor")
    trained = spy(monkeypatch, transfer, "train_predictor")
    plotted = spy(monkeypatch, transfer, "_plot")
    config = TransferConfig(
        base_spins=(2,),
        target=3,
        per_spin=10,
        steps=4,
        width=8,
        layers=1,
        cell="gru",
        base_epochs=1,
        epochs=2,
        seed=1,
        base_lr=2e-3,
        base_decay=0.9,
        transfer_lr=3e-4,
        transfer_decay=0.8,
    )
    started = time.perf_counter()
    metrics = run_transfer(config, tmp_path / "t")
    elapsed = time.perf_counter() - started
    assert capsys.readouterr() == ("", "")  # progress is off unless asked for
    # one chunk of 10 sequences for N = 3 (generated first, for both trainings) and one for N = 2
    assert [(spec.spins, spec.per_spin, spec.steps, spec.seed, n, index) for (spec, n, index), _ in chunks] == [
        ((3,), 10, 4, 1, 3, 0),
        ((2,), 10, 4, 1, 2, 0),
    ]
    assert [(model.width, spec.spins, kw["count"]) for (model, spec), kw in evaluated] == [(8, (3,), 20)] * 3
    assert [args[1:] for args, _ in plotted] == [(tmp_path / "t" / "transfer.png", 3)]
    assert set(metrics) == {
        "config",
        "curves",
        "base_val_loss",
        "base_seconds",
        "rows",
        "epochs_to_scratch_loss",
        "verdict",
    }
    assert metrics["config"] == asdict(config) and len(metrics["base_val_loss"]) == 1
    assert 0 < metrics["base_seconds"] < elapsed
    # the three trainings: the base on N = 2, then fine-tuning and from scratch on the shared N = 3 data
    ((base, _), _), ((tuned, _), _), ((scratch, _), _) = trained
    assert base.config == {**scratch.config, "max_spins": 3, "width": 8, "cell": "gru", "num_layers": 1}
    assert tuned is not base and tuned.spin_re.data_ptr() != base.spin_re.data_ptr()  # a deep copy of the base
    shared = trained[1][1]["cached"]
    assert set(shared) == {3} and trained[2][1]["cached"] is shared
    common = {"seed": 1, "progress": False, "rollout": 3, "relative": True}  # rollout min(16, steps - 1)
    assert [(spec.spins, kw) for (_, spec), kw in trained] == [
        ((2,), {"epochs": 1, "lr": 2e-3, "decay": 0.9, "cached": None, **common}),
        ((3,), {"epochs": 2, "lr": 3e-4, "decay": 0.8, "cached": shared, **common}),
        ((3,), {"epochs": 2, "lr": 2e-3, "decay": 0.9, "cached": shared, **common}),
    ]
    folder = tmp_path / "t"
    assert json.loads((folder / "config.json").read_text()) == json.loads(json.dumps(asdict(config)))
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert set(metrics["curves"]) == {"fine-tuned base", "from scratch"}
    assert all(len(v) == 2 for v in metrics["curves"].values())
    assert [row["model"] for row in metrics["rows"]] == ["fine-tuned base", "from scratch", "base, no fine-tuning"]
    assert [row["N"] for row in metrics["rows"]] == [3, 3, 3]
    report = (folder / "report.md").read_text()
    assert (folder / "transfer.png").stat().st_size > 0 and "Transfer to N = 3" in report
    assert "| model | N | MRE |" in report  # the rows as a markdown table
    needed = metrics["epochs_to_scratch_loss"]
    scratch_best = min(metrics["curves"]["from scratch"])
    assert needed["from scratch"] == 1 + metrics["curves"]["from scratch"].index(scratch_best)
    assert metrics["verdict"] in report
    with pytest.raises(ValueError, match=r"^target: expected a chain length outside base_spins \(2,\), got 2$"):
        run_transfer(TransferConfig(base_spins=(2,), target=2))
    evaluated.clear()
    trained.clear()
    capsys.readouterr()
    run_transfer(replace(config, base_spins=(1,), target=2, steps=2, width=None, epochs=1), progress=True)
    # width None: default_width((1, 2)) = max(64, 2^3)
    assert [(model.width, spec.spins, kw["count"]) for (model, spec), kw in evaluated] == [(64, (2,), 20)] * 3
    assert [kw["progress"] for _, kw in trained] == [True] * 3 and capsys.readouterr().err


def test_transfer_plot_draws_both_curves_by_epoch(tmp_path, monkeypatch):
    """The figure, read back before it is written: one line with markers per model, x from epoch 1, the log
    axis and labels, the figure's size and resolution, and the figure closed afterwards."""
    from applications.dynamics import transfer

    captured = capture_figures(monkeypatch)
    curves = {"fine-tuned base": [0.5, 0.2, 0.1], "from scratch": [0.9, 0.4]}
    transfer._plot(curves, tmp_path / "t.png", 7)
    figure = saved_figure(captured, tmp_path / "t.png")
    assert len(captured) == 1 and tuple(figure.get_size_inches()) == (6, 4)
    (ax,) = figure.axes
    assert (ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel()) == ("log", "epoch", "validation MSE")
    assert ax.get_title() == "N = 7: fine-tuning the base model against training from scratch"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == list(curves)
    assert [list(line.get_xdata()) for line in lines] == [[1, 2, 3], [1, 2]]
    assert [list(line.get_ydata()) for line in lines] == list(curves.values())
    assert [line.get_marker() for line in lines] == ["o", "o"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list(curves)


def test_transfer_verdict_counts_epochs_to_the_scratch_loss():
    from applications.dynamics.transfer import epochs_to_reach, transfer_verdict

    assert epochs_to_reach([3.0, 2.0, 1.0], 2.0) == 2 and epochs_to_reach([3.0], 2.0) is None
    faster = {"fine-tuned base": [1.0, 0.4, 0.3], "from scratch": [5.0, 1.0, 0.5]}
    assert transfer_verdict(faster) == (
        {"fine-tuned base": 2, "from scratch": 3},
        "Reproduced: fine-tuning reached the from-scratch validation loss 0.5 in 2 epoch(s), training from scratch in 3.",
    )
    epochs, sentence = transfer_verdict({"fine-tuned base": [2.0, 0.9], "from scratch": [0.9, 0.8]})
    assert epochs == {"fine-tuned base": None, "from scratch": 2} and sentence.startswith("**Not reproduced**")
    epochs, sentence = transfer_verdict({"fine-tuned base": [2.0, 0.5], "from scratch": [0.5, 0.6]})
    assert epochs == {"fine-tuned base": 2, "from scratch": 1} and "needed 2 epoch(s)" in sentence
    epochs, sentence = transfer_verdict({"fine-tuned base": [2.0, 0.5], "from scratch": [2.0, 0.5]})
    assert epochs == {"fine-tuned base": 2, "from scratch": 2} and sentence == (
        "**Not reproduced**: fine-tuning needed 2 epoch(s) to reach the from-scratch validation loss 0.5, "
        "training from scratch 2."
    )  # a tie is not faster


def test_training_generates_the_data_once_and_rollout_checks_its_start(monkeypatch):
    from applications.dynamics.physics import NormPreservingPredictor

    calls = spy(monkeypatch, data, "_chunk")
    spec = data.SequenceSpec(spins=(2,), per_spin=10, steps=3)
    model = NormPreservingPredictor((2,)).double()
    train_predictor(model, spec, epochs=3, batch_size=4)
    assert len(calls) == 1  # one chunk of 10 sequences, generated once for 3 epochs of training and validation
    with pytest.raises(ValueError, match=r"psi0: expected shape \(batch, 2\*\*N\), got \(4,\)"):
        model.rollout(random_states(2, 1)[0], 3)


@pytest.mark.parametrize("spins", [(), (0,), (13,), (True,), (2.0,), (2, 13)])
def test_norm_preserving_predictor_refuses_chain_lengths_outside_1_to_12(spins):
    with pytest.raises(
        ValueError, match=r"^spins: expected integers in \[1, 12\], got " + re.escape(repr(spins)) + "$"
    ):
        dynamics.NormPreservingPredictor(spins)


@pytest.mark.parametrize("dt, error", [(0.0, ValueError), (-0.002, ValueError), ("0.002", TypeError)])
def test_norm_preserving_predictor_refuses_a_bad_step_size(dt, error):
    with pytest.raises(error, match=r"^dt: expected a positive"):
        dynamics.NormPreservingPredictor((2,), dt=dt)


def test_norm_preserving_predictor_accepts_the_bounds_and_steps_with_its_dt():
    """N = 1 and N = 12 are the bounds; dt is the step size of every core (default 0.002)."""
    small = dynamics.NormPreservingPredictor((1, 3), dt=0.01)
    assert small.dt == 0.01 and small.spins == (1, 3) and small.max_spins == 3
    assert all(core.step_size == 0.01 for core in small.cores.values())
    assert dynamics.NormPreservingPredictor().dt == 0.002
    assert dynamics.NormPreservingPredictor((12,)).max_spins == 12


def test_train_command_defaults_to_the_relative_loss_and_the_width_of_the_largest_chain(tmp_path, monkeypatch):
    import applications.dynamics.train as train_module
    from ornn_cli.main import main

    seen = {}
    real = train_module.train_predictor

    def recording(model, spec, **kwargs):
        seen.update(kwargs, width=model.width)
        return real(model, spec, **kwargs)

    monkeypatch.setattr("ornn_cli.commands.dynamics.train_predictor", recording)
    tiny = ["dynamics", "train", "--spins", "2", "--per-spin", "10", "--steps", "4", "--layers", "1", "--epochs", "1"]
    assert main([*tiny, "--out", str(tmp_path / "a")]) == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert seen["relative"] is True and seen["width"] == 64 == config["model"]["width"]
    assert config["flags"]["loss"] == "relative" and config["flags"]["width"] == 64
    assert main([*tiny, "--spins", "6", "--loss", "absolute", "--out", str(tmp_path / "b")]) == 0
    assert seen["relative"] is False and seen["width"] == 128


def test_the_residual_increment_starts_at_increment_init_and_near_persistence():
    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=3, width=16, num_layers=1).double()
    assert model.config["increment_init"] == 0.002
    assert float(model.increment_gain.detach()) == pytest.approx(0.002, rel=1e-7)  # created in float32, then .double()
    psi = data.haar_states(3, 4, generator=torch.Generator().manual_seed(0))[:, None]
    step = (model(psi)[0].detach() - psi).abs().max()
    assert 0 < float(step) < 0.05  # 0.002 times an O(1) decoder output per amplitude
    assert float(DynamicsPredictor(max_spins=2, width=4, increment_init=0.5).increment_gain.detach()) == pytest.approx(
        0.5, rel=1e-6
    )  # exp(log(0.5)) in float32
    with pytest.raises(ValueError, match="increment_init: expected a positive"):
        DynamicsPredictor(max_spins=2, width=4, increment_init=0.0)


def test_the_increment_gain_stays_positive_under_adam_steps_that_push_it_to_zero():
    """Learned as a logarithm, the gain only shrinks towards 0 where a raw gain would cross it.

    The target psi_t itself (no motion) is best fitted by gain 0. Adam's first step moves a parameter by about
    lr whatever its gradient's size, so a raw gain of 0.002 at lr 0.01 changes sign on step one; the
    log-parameterised gain must stay positive and fall on every step.
    """
    torch.manual_seed(0)
    model = DynamicsPredictor(max_spins=2, width=8, num_layers=1, dropout=0.0).double()
    psi = data.haar_states(2, 8, generator=torch.Generator().manual_seed(1))[:, None]
    optimizer = torch.optim.Adam([model.increment_log_gain], lr=0.01)
    gains = [float(model.increment_gain.detach())]
    for _ in range(50):
        optimizer.zero_grad()
        ((model(psi)[0] - psi).abs() ** 2).mean().backward()
        optimizer.step()
        gains.append(float(model.increment_gain.detach()))
    assert all(0 < later < earlier for earlier, later in zip(gains, gains[1:]))
    assert gains[-1] < 0.002 * 0.7  # exp(-50 * 0.01) = 0.61: it did move


def test_a_checkpoint_with_the_former_linear_gain_loads_as_its_logarithm():
    model = DynamicsPredictor(max_spins=2, width=4, num_layers=1)
    state = {k: v for k, v in model.state_dict().items() if k != "increment_log_gain"}
    model.load_state_dict({**state, "increment_gain": torch.tensor(0.004)})
    assert float(model.increment_gain.detach()) == pytest.approx(0.004, rel=1e-6)
    with pytest.raises(ValueError, match="increment_gain: expected a positive gain"):
        model.load_state_dict({**state, "increment_gain": torch.tensor(-1e-4)})
