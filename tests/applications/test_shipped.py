"""The pretrained initialisers shipped in applications/qaoa/weights and the recipes behind them."""

import pytest
import torch

from applications.qaoa import MetaOptimizer, parameter_count, pretrained, shipped

from ..helpers import assert_refusals


def _same_bits(a: MetaOptimizer, b: MetaOptimizer) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def one_epoch() -> MetaOptimizer:
    """The 3-regular p = 1 recipe shortened to one epoch (several seconds: one build serves three tests)."""
    return shipped.build("3-regular", 1, epochs=1)


def test_a_shortened_recipe_rebuilds_bit_for_bit(one_epoch):
    first = one_epoch
    second = shipped.build("3-regular", 1, epochs=1)
    assert _same_bits(first, second)
    assert first.notes == {**shipped.recipe("3-regular", 1), "epochs": 1, "train_sizes": [8, 10]}
    assert first.steps == 6
    # the recipe trains: one epoch moves the weights away from those of a fresh model of the same seed
    torch.manual_seed(0)
    fresh = shipped.build_meta("lstm", p=1).state_dict()
    assert any(not torch.equal(value, first.state_dict()[key]) for key, value in fresh.items())


def test_the_train_command_with_the_recipes_flags_trains_the_same_bits(tmp_path, one_epoch):
    """A user reproducing a shipped initialiser from the command line: every recipe setting has a flag."""
    from ornn_cli.main import main

    settings = shipped.recipe("3-regular", 1)
    # a recipe key without a flag below fails here (dc is False: the --dc switch stays off)
    assert set(settings) == {
        "kind", "p", "dc", "steps", "cell", "hidden_size", "proposal", "batches_per_epoch", "lr", "seed", "epochs",
        "train_sizes",
    }  # fmt: skip
    flags = {
        "--kind": settings["kind"],
        "--p": settings["p"],
        "--steps": settings["steps"],
        "--cell": settings["cell"],
        "--hidden": settings["hidden_size"],
        "--proposal": settings["proposal"],
        "--batches-per-epoch": settings["batches_per_epoch"],
        "--lr": settings["lr"],
        "--seed": settings["seed"],
        "--epochs": 1,
    }
    argv = ["qaoa", "train", *(str(x) for pair in flags.items() for x in pair), "--out", str(tmp_path / "run")]
    assert main([*argv, "--train-sizes", *(str(n) for n in settings["train_sizes"])]) == 0
    assert _same_bits(MetaOptimizer.load(tmp_path / "run" / "meta.pt"), one_epoch)


def test_build_takes_another_seed_and_records_it(one_epoch):
    """The seed spread of the benchmarks: another seed draws other weights and problems, and the notes say which."""
    other = shipped.build("3-regular", 1, epochs=1, seed=1)
    assert other.notes["seed"] == 1
    assert not _same_bits(other, one_epoch)
    with pytest.raises(ValueError, match=r"seed: expected an integer >= 0, got -1"):
        shipped.build("3-regular", 1, epochs=1, seed=-1)
    with pytest.raises(TypeError, match=r"epochs: expected an integer >= 1, got 1.5"):
        shipped.build("3-regular", 1, epochs=1.5)


def test_build_hands_its_recipe_to_the_trainer(monkeypatch):
    """build with the trainer stubbed: the model is build_meta's for the recipe's cell and width, drawn under
    torch.manual_seed(seed); meta_train gets the recipe's family, sizes, depth, horizon, epochs, lr and seed;
    ``epochs`` and ``seed`` override the recipe and are checked; .steps and .notes record what was used."""
    calls = []
    monkeypatch.setattr(shipped, "meta_train", lambda meta, problems, **kw: calls.append((meta, problems, kw)))
    monkeypatch.setattr(shipped, "fit_start_rules", lambda meta, *args, **kw: calls.append(("fit", meta, kw)))
    monkeypatch.setattr(
        shipped, "_phase_one_error", lambda meta, *args: {"residual": 0.2, "incumbent": 0.1}[meta.proposal]
    )
    meta = shipped.build("3-regular", 2, dc=True, cell="gru", epochs=3, seed=5)
    # DC-QAOA fits the start rules once, trains one optimiser per rule and keeps the one of least Phase I error
    fit, *calls = calls
    assert fit[0] == "fit" and fit[1].proposal == "residual" and fit[2] == {"p": 2, "dc": True, "seed": 5}
    assert [trained.proposal for trained, _, _ in calls] == ["residual", "incumbent"] and calls[1][0] is meta
    for trained, problems, settings in calls:
        assert (problems.kind, problems.sizes) == ("3-regular", (8, 10))
        assert settings == {"p": 2, "dc": True, "steps": 6, "epochs": 3, "batches_per_epoch": 16, "lr": 0.01, "seed": 5}
        torch.manual_seed(5)
        fresh = shipped.build_meta("gru", p=2, dc=True, hidden_size=20, proposal=trained.proposal)
        assert _same_bits(trained, fresh)
    assert shipped.build("3-regular", 3, epochs=1).proposal == "incumbent"  # plain QAOA: one rule
    assert meta.steps == 6 and meta.notes == {
        "cell": "gru",
        "hidden_size": 20,
        "proposal": "incumbent",
        "selection": {"residual": 0.2, "incumbent": 0.1},
        "epochs": 3,
        "batches_per_epoch": 16,
        "lr": 0.01,
        "seed": 5,
        "kind": "3-regular",
        "p": 2,
        "dc": True,
        "train_sizes": [8, 10],
        "steps": 6,
    }
    calls.clear()
    default = shipped.build("erdos-renyi", 1)
    ((_, problems, settings),) = calls
    assert (problems.kind, problems.sizes) == ("erdos-renyi", (6, 7, 8, 9))
    assert settings == {"p": 1, "dc": False, "steps": 10, "epochs": 20, "batches_per_epoch": 8, "lr": 0.01, "seed": 0}
    torch.manual_seed(0)
    assert _same_bits(default, shipped.build_meta("lstm", p=1, hidden_size=20)) and default.steps == 10
    assert default.proposal == "residual" and default.notes["proposal"] == "residual"
    # the 3-regular recipes see twice the default problems per epoch up to p = 4, and four times at p = 5
    for p, batches in ((4, 16), (5, 32)):
        calls.clear()
        deep = shipped.build("3-regular", p)
        ((_, _, settings),) = calls
        assert settings["batches_per_epoch"] == batches and deep.notes["batches_per_epoch"] == batches
    assert_refusals(
        [
            (lambda: shipped.build("3-regular", 1, epochs=0), ValueError, "epochs: expected an integer >= 1, got 0"),
            (lambda: shipped.build("3-regular", 1, seed=-1), ValueError, "seed: expected an integer >= 0, got -1"),
            (lambda: shipped.build("3-regular", 1, seed="1"), TypeError, "seed: expected an integer >= 0, got '1'"),
        ]
    )
    assert shipped.build("3-regular", 1, seed=0).notes["seed"] == 0  # seed 0 is admitted


def test_a_recipe_of_several_rules_fits_the_start_once_and_keeps_the_first_on_a_tie(monkeypatch):
    """The second rule's optimiser starts from the first's fitted start rules and probe (meta_train then skips its
    own fit), so each candidate is the build of its rule alone; on equal scores the recipe's first rule is kept."""
    entered_fitted = []

    def fake_fit(meta, distribution, *, p, dc, seed):  # what the fit leaves: seed-dependent rules and a probe
        with torch.no_grad():
            meta.start_bias.fill_(0.25 + seed)
            meta.impulse_bias.fill_(-0.5)
            meta.start_fitted.fill_(True)
            meta.impulse_fitted.fill_(True)

    def fake_train(meta, problems, **kw):
        entered_fitted.append(bool(meta.start_fitted))
        with torch.no_grad():
            meta.start_bias.add_(1.0 if meta.proposal == "residual" else 2.0)  # training moves the start rule

    monkeypatch.setattr(shipped, "fit_start_rules", fake_fit)
    monkeypatch.setattr(shipped, "meta_train", fake_train)
    scored = []
    monkeypatch.setattr(shipped, "_phase_one_error", lambda meta, *args: scored.append(meta) or 0.125)
    meta = shipped.build("3-regular", 2, dc=True, epochs=1, seed=1)
    assert entered_fitted == [True, True]  # meta_train gets fitted optimisers and so skips its own fit
    first, second = scored
    assert meta is first and meta.proposal == "residual" and meta.notes["proposal"] == "residual"
    assert meta.notes["selection"] == {"residual": 0.125, "incumbent": 0.125}
    # the second trains from the fit, not from the first's trained start rule
    assert float(first.start_bias.detach()[0]) == 2.25 and float(second.start_bias.detach()[0]) == 3.25
    for name in ("impulse_bias", "impulse_fitted", "start_fitted", "start_slope", "second_bias"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert float(second.impulse_bias[0]) == -0.5


def test_the_selection_score_is_phase_ones_mean_relative_error():
    """The score is the mean over the problems of (F - E_0) / |E_0| at the best of T + 1 evaluations."""
    from applications.qaoa import ProblemDistribution, make_ansatz, relative_error

    torch.manual_seed(0)
    meta = shipped.build_meta("gru", p=1)
    problems = ProblemDistribution("3-regular", (6,)).sample(3, seed=2)
    with torch.no_grad():
        best = meta([make_ansatz(q, 1) for q in problems], 2).best_energies
    expected = sum(float(relative_error(q, e)) for q, e in zip(problems, best)) / 3
    assert shipped._phase_one_error(meta, problems, 1, False, 2) == pytest.approx(expected, rel=1e-12)


def test_recipe_and_weights_path_defaults_and_the_shipped_list_in_refusals():
    """Defaults: plain QAOA, the LSTM; the file name spells kind, depth, DC and cell; an unknown recipe is refused
    with the whole list of shipped ones."""
    assert shipped.recipe("3-regular", 2) == {
        "cell": "lstm",
        "hidden_size": 20,
        "proposal": "incumbent",
        "epochs": 20,
        "batches_per_epoch": 16,
        "lr": 0.01,
        "seed": 0,
        "kind": "3-regular",
        "p": 2,
        "dc": False,
        "train_sizes": (8, 10),
        "steps": 6,
    }
    assert shipped.weights_path("3-regular", 2) == shipped.WEIGHTS / "3-regular-p2-lstm.pt"
    assert shipped.weights_path("3-regular", 2, dc=True, cell="gru") == shipped.WEIGHTS / "3-regular-p2-dc-gru.pt"
    shipped_list = (
        "('erdos-renyi', p=1), ('3-regular', p=1), ('3-regular', p=2), ('3-regular', p=3), ('3-regular', p=4), "
        "('3-regular', p=5), ('3-regular', p=2, dc=True)"
    )
    assert_refusals(
        [
            (
                lambda: shipped.recipe("sk", 1),
                f"(kind, p, dc): expected one of {shipped_list}, got ('sk', p=1, dc=False)",
            )
        ],
        ValueError,
    )


def test_available_and_pretrained_read_the_weights_folder(tmp_path, monkeypatch):
    """With only a plain p = 2 file and a DC file of another cell present: the plain recipe lists its cell and not
    the DC file's, the DC recipe lists only its own, and the refusal of a missing cell names the cells of the
    recipe asked for."""
    for name in ("3-regular-p2-lstm.pt", "3-regular-p2-dc-gru.pt"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(shipped, "WEIGHTS", tmp_path)
    assert shipped.available() == [
        {"kind": "3-regular", "p": 2, "dc": False, "cell": "lstm"},
        {"kind": "3-regular", "p": 2, "dc": True, "cell": "gru"},
    ]
    assert_refusals(
        [
            (
                lambda: pretrained("3-regular", 2, dc=True),
                "cell: expected one of ['gru'] for ('3-regular', p=2, dc=True), got None",
            )
        ],
        ValueError,
    )


def test_the_rebuild_script_writes_every_recipe(tmp_path, monkeypatch, capsys):
    """``python -m applications.qaoa.shipped`` with the training stubbed: one file per recipe, named by
    weights_path, in --out (default the package's weights folder) for --cell (default lstm), each loading with
    the horizon and notes build gave it, and one "wrote" line per file."""
    built = []

    def fake_build(kind, p, *, dc, cell):
        meta = shipped.build_meta(cell, p=p, dc=dc, hidden_size=2)
        meta.steps, meta.notes = p + 1, {"kind": kind, "dc": dc}
        built.append((kind, p, dc, cell))
        return meta

    monkeypatch.setattr(shipped, "build", fake_build)
    assert shipped.main(["--cell", "gru", "--out", str(tmp_path)]) == 0
    assert built == [(kind, p, dc, "gru") for kind, p, dc in shipped.RECIPES]
    names = [shipped.weights_path(kind, p, dc=dc, cell="gru").name for kind, p, dc in shipped.RECIPES]
    assert capsys.readouterr().out.splitlines() == [f"wrote {tmp_path / name}" for name in names]
    for (kind, p, dc), name in zip(shipped.RECIPES, names):
        loaded = MetaOptimizer.load(tmp_path / name)
        assert (loaded.steps, loaded.notes, loaded.num_params) == (
            p + 1,
            {"kind": kind, "dc": dc},
            parameter_count(p, dc=dc),
        )
    default_folder = tmp_path / "default"
    default_folder.mkdir()
    monkeypatch.setattr(shipped, "WEIGHTS", default_folder)
    built.clear()
    assert shipped.main([]) == 0
    assert {cell for *_, cell in built} == {"lstm"} and len(list(default_folder.glob("*-lstm.pt"))) == len(names)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        shipped.main(["--help"])
    text = "".join(capsys.readouterr().out.split())  # argparse wraps lines at spaces and hyphens

    def squeezed(phrase):
        return "".join(phrase.split())

    description = squeezed("[--out OUT] Rebuild the shipped QAOA initialisers from their recipes.")
    assert stopped.value.code == 0 and (description + "options:" in text or description + "optionalarguments:" in text)
    assert squeezed("--cell CELL registered cell name (default lstm)") in text
    assert squeezed(f"--out OUT folder to write (default {default_folder})") in text


@pytest.mark.parametrize("kind, p, dc", list(shipped.RECIPES))
def test_every_recipe_ships_an_lstm_that_loads_with_its_recipe(kind, p, dc):
    meta = pretrained(kind, p, dc=dc)
    assert isinstance(meta, MetaOptimizer)
    assert meta.num_params == parameter_count(p, dc=dc)
    full = shipped.recipe(kind, p, dc=dc)
    notes = {**full, "train_sizes": list(full["train_sizes"])}
    if not isinstance(full["proposal"], str):  # a recipe that picks among rules records the pick and the scores
        scores = meta.notes["selection"]
        assert list(scores) == list(full["proposal"]) and meta.notes["proposal"] == min(scores, key=scores.get)
        notes.update(proposal=meta.notes["proposal"], selection=scores)
    assert meta.proposal == notes["proposal"] and meta.notes == notes
    assert meta.steps == full["steps"]
    assert next(meta.parameters()).dtype == torch.float64
    assert {"kind": kind, "p": p, "dc": dc, "cell": "lstm"} in shipped.available()


def test_pretrained_refuses_what_is_not_shipped_by_name():
    with pytest.raises(ValueError, match=r"\(kind, p, dc\): expected one of .*got \('sk', p=1, dc=False\)"):
        pretrained("sk", 1)
    with pytest.raises(ValueError, match=r"\(kind, p, dc\): expected one of .*got \('3-regular', p=6, dc=False\)"):
        pretrained("3-regular", 6)
    with pytest.raises(
        ValueError, match=r"cell: expected one of \['lstm'\] for \('3-regular', p=2, dc=False\), got 'gru'"
    ):
        pretrained("3-regular", 2, cell="gru")
    with pytest.raises(TypeError, match=r"dc: expected a bool, got 1"):
        pretrained("3-regular", 2, dc=1)
    with pytest.raises(TypeError, match=r"cell: expected a registered cell name \(a str\), got 3"):
        pretrained("3-regular", 2, cell=3)
    with pytest.raises(TypeError, match=r"cell: expected a registered cell name \(a str\), got None"):
        shipped.recipe("3-regular", 2, cell=None)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # alone on 2 cores the DC-QAOA recipe takes about 3 minutes, p = 5 about 3 to 6
@pytest.mark.parametrize("kind, p, dc", list(shipped.RECIPES))
def test_the_full_recipe_reproduces_the_shipped_file(kind, p, dc):
    """Minutes per recipe: run with -m slow on the machine that wrote the files."""
    assert _same_bits(shipped.build(kind, p, dc=dc), pretrained(kind, p, dc=dc))


def test_the_shipped_3_regular_p2_start_beats_the_fixed_angles_on_unseen_graphs():
    """Its Phase I (T = 6) against Wurtz & Lykov's fixed angles, the best zero-query start, on graphs it never saw."""
    from applications.qaoa import QAOA, approximation_ratio, fixed_angles, random_regular_maxcut

    meta = pretrained("3-regular", 2)
    problems = [random_regular_maxcut(10, seed=500 + i) for i in range(6)]
    ansatzes = [QAOA(problem, 2) for problem in problems]
    with torch.no_grad():
        learned = meta(ansatzes, steps=meta.steps).best_energies
        fixed = torch.stack([a.energy(fixed_angles(a)) for a in ansatzes])
    learned_ratio = torch.stack([approximation_ratio(pr, e) for pr, e in zip(problems, learned)]).mean()
    fixed_ratio = torch.stack([approximation_ratio(pr, e) for pr, e in zip(problems, fixed)]).mean()
    assert learned_ratio > fixed_ratio
