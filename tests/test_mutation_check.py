"""``benchmarks/mutation_check.py``'s own logic: the sample's draw and interval, the order tests run in, and the
results file several checkers share (running mutmut's mutants is not done here)."""

import collections
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "mutation_check.py"


def load_checker():
    spec = importlib.util.spec_from_file_location("mutation_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "killed, total, low, high",
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat. Med. 17, Table I (Wilson)
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_newcombes_table(killed, total, low, high):
    interval = load_checker().wilson_interval(killed, total)
    assert interval == pytest.approx((low, high), abs=5e-5)  # the table's four decimals


def test_the_draw_is_seeded_uniform_without_replacement_and_all_when_asked_for_more():
    checker = load_checker()
    names = [f"m{k}" for k in range(50)]
    first = checker.draw(names, 10, seed=3)
    assert first == checker.draw(names, 10, seed=3) != checker.draw(names, 10, seed=4)
    assert len(set(first)) == 10 and set(first) <= set(names)
    assert checker.draw(names, 50, seed=0) == names == checker.draw(names, 80, seed=0)
    # uniform: over many seeds every name is drawn about 10 / 50 of the time
    counts = {name: 0 for name in names}
    for seed in range(2000):
        for name in checker.draw(names, 10, seed):
            counts[name] += 1
    assert max(abs(c / 2000 - 0.2) for c in counts.values()) < 0.035  # 4 standard deviations of a count's share


def test_tests_that_killed_siblings_run_first_most_kills_first_and_nothing_runs_twice():
    checker = load_checker()
    covering = ["tests/a.py::t1", "tests/b.py::t2", "tests/b.py::t3", "tests/c.py::t4", "tests/c.py::t40"]
    killers = collections.Counter({"tests/c.py::t4": 1, "tests/x.py::t9": 3})
    assert checker.order_tests(covering, [], collections.Counter()) == covering
    assert checker.order_tests(covering, ["tests/b.py"], collections.Counter()) == [
        "tests/b.py",
        "tests/a.py::t1",
        "tests/c.py::t4",
        "tests/c.py::t40",
    ]
    # t40 is not t4: a node id covers only itself and its parametrisations
    extra = ["tests/b.py::t2", "tests/b.py::t3", "tests/c.py::t4"]
    assert checker.order_tests(covering + ["tests/c.py::t4[x]"], extra, killers) == [
        "tests/x.py::t9",
        "tests/c.py::t4",
        "tests/b.py::t2",
        "tests/b.py::t3",
        "tests/a.py::t1",
        "tests/c.py::t40",
    ]


def test_checkers_sharing_a_results_file_add_to_it_and_never_overwrite_each_other(tmp_path):
    checker = load_checker()
    out = tmp_path / "results.json"
    assert checker.read_results(out) == {}
    checker.record(out, "m1", "killed")
    out.write_text('{"m1": "killed", "m2": "survived"}')  # another checker's outcome, written meanwhile
    checker.record(out, "m3", "killed")
    assert checker.read_results(out) == {"m1": "killed", "m2": "survived", "m3": "killed"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.json.lock"]  # no temporary left
