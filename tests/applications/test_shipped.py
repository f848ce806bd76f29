"""The pretrained initialisers shipped in applications/qaoa/weights and the recipes behind them."""

import pytest
import torch

from applications.qaoa import MetaOptimizer, parameter_count, pretrained, shipped


def _same_bits(a: MetaOptimizer, b: MetaOptimizer) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_shortened_recipe_rebuilds_bit_for_bit():
    first = shipped.build("3-regular", 1, epochs=1)
    second = shipped.build("3-regular", 1, epochs=1)
    assert _same_bits(first, second)
    assert first.notes == {**shipped.recipe("3-regular", 1), "epochs": 1, "train_sizes": [8, 10]}
    assert first.steps == 6
    # the recipe trains: one epoch moves the weights away from those of a fresh model of the same seed
    torch.manual_seed(0)
    fresh = shipped.build_meta("lstm", p=1).state_dict()
    assert any(not torch.equal(value, first.state_dict()[key]) for key, value in fresh.items())


def test_build_takes_another_seed_and_records_it():
    """The seed spread of the benchmarks: another seed draws other weights and problems, and the notes say which."""
    other = shipped.build("3-regular", 1, epochs=1, seed=1)
    assert other.notes["seed"] == 1
    torch.manual_seed(0)
    reference = shipped.build("3-regular", 1, epochs=1)
    assert not _same_bits(other, reference)
    with pytest.raises(ValueError, match=r"seed: expected an integer >= 0, got -1"):
        shipped.build("3-regular", 1, epochs=1, seed=-1)
    with pytest.raises(TypeError, match=r"epochs: expected an integer >= 1, got 1.5"):
        shipped.build("3-regular", 1, epochs=1.5)


@pytest.mark.parametrize("kind, p, dc", list(shipped.RECIPES))
def test_every_recipe_ships_an_lstm_that_loads_with_its_recipe(kind, p, dc):
    meta = pretrained(kind, p, dc=dc)
    assert isinstance(meta, MetaOptimizer)
    assert meta.num_params == parameter_count(p, dc=dc)
    full = shipped.recipe(kind, p, dc=dc)
    assert meta.notes == {**full, "train_sizes": list(full["train_sizes"])}
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
