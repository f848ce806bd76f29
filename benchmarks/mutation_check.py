"""A fast check of mutmut's mutants: one forked pytest per mutant, its covering tests fastest first, stop at the first failure.

    make mutation-check MUTANTS='ornn.training.*'                      # generate, then check one module
    python benchmarks/mutation_check.py 'applications.dynamics.metrics.*' --extra-tests tests/test_training.py

``make mutation`` (mutmut's own runner) spends most of its time on surviving mutants: each runs every
covering test, the long training tests included, until its CPU limit, and is then reported as a timeout.
This checker reads the same ``mutants/`` tree and mutmut's coverage stats (``mutants/mutmut-stats.json``,
written by ``mutmut run`` or by ``--generate``) and, per mutant:

* selects the tests mutmut recorded as reaching the mutated function, leaves out those whose recorded
  duration exceeds ``--max-test-s`` (so a survivor here is a candidate: a longer test may still kill it),
  and puts ``--extra-tests`` first (tests written after the stats were taken);
* puts first of all the tests that already killed other mutants of the same function in this run, most kills
  first: sibling mutants tend to fall to the same test, so a kill usually costs one test, not the dozen that
  pass before it (the order changes only the time, not the outcome: every selected test still runs). A test
  is promoted only after it has passed, alone, on the unmutated tree: a test that fails by itself (an order
  dependence, a broken test) would otherwise report every mutant as killed;
* with ``--only-extra-tests``, runs only those: the quick way to learn which survivors of an earlier pass the
  tests written since kill (give it a results file holding that pass's kills only);
* forks a warm parent (torch, the package, pytest's plugins and every test module already imported: a cold
  pytest spends over a second starting), sets ``MUTANT_UNDER_TEST`` and runs pytest in the child with ``-x``
  and no tracebacks (formatting one over a mutated module of megabytes takes seconds); exit 1 is "killed",
  0 "survived", and a child past ``--timeout`` is killed and reported as "timeout".

``--sample K`` checks a seeded uniform draw of K of the matching mutants instead of all of them: an estimate
of a large module's kill rate, printed with its 95% interval, when checking every mutant would take hours. The
draw is checked in the order drawn, so a run stopped early still holds a uniform sample of what it checked.

Results go to ``--out`` (JSON, name -> outcome, written atomically after every mutant, so an interrupted
run continues where it stopped) and a per-module summary is printed at the end. Several checkers may share one
``--out``: each re-reads it before a mutant, skips what another has checked, and adds its outcome under a lock.
Two of them, one with ``--reverse``, split a module between two cores without a plan (at most the mutant where
they meet is checked twice). Run it from the repository root; it changes into ``mutants/`` itself.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import json
import math
import os
import random
import signal
import sys
import time
from pathlib import Path

OUTCOMES = {0: "survived", 1: "killed"}


def generate() -> None:
    """Regenerate ``mutants/`` for the current sources and bring mutmut's coverage stats up to date."""
    from mutmut.__main__ import (
        collect_or_load_stats,
        copy_also_copy_files,
        copy_src_dir,
        create_mutants,
        setup_source_paths,
    )
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.workers.isolation import get_mutant_runner

    set_mutant_under_test("mutant_generation")
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    print(create_mutants(os.cpu_count() or 1), flush=True)
    collect_or_load_stats(get_mutant_runner(os.cpu_count() or 1), mutants_caught_by_type_checker={})
    set_mutant_under_test(None)
    os.environ.pop("MUTANT_UNDER_TEST", None)


def mutant_names(pattern: str) -> list[str]:
    """Every mutant in ``mutants/`` whose name matches the glob ``pattern``, sorted."""
    names = []
    for meta in Path(".").rglob("*.py.meta"):
        names += list(json.loads(meta.read_text())["exit_code_by_key"])
    return sorted(n for n in names if fnmatch.fnmatch(n, pattern))


def draw(names: list[str], count: int, seed: int) -> list[str]:
    """``count`` of ``names`` drawn uniformly without replacement from ``seed``, in the order drawn (all if fewer)."""
    return list(names) if count >= len(names) else random.Random(seed).sample(names, count)


def wilson_interval(killed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a kill rate estimated from ``killed`` of ``total`` sampled mutants."""
    if total == 0:
        return 0.0, 1.0
    rate = killed / total
    centre = (rate + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def order_tests(covering: list[str], extra: list[str], killers: collections.Counter) -> list[str]:
    """The order to run a mutant's tests in: ``killers`` (node ids, most kills first), ``extra``, then ``covering``.

    A test already named by an earlier entry (the same node id, or a file or test it belongs to) is not repeated.
    """

    def named_by(test: str, earlier: list[str]) -> bool:
        return any(test == e or test.startswith((e + "::", e + "[")) for e in earlier)

    first = [test for test, _ in killers.most_common()]
    ordered = first + [t for t in extra if not named_by(t, first)]
    return ordered + [t for t in covering if not named_by(t, ordered)]


class _FirstFailure:
    """A pytest plugin that writes the node id of the first failing test to a file descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd, self.written = fd, False

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed and not self.written:
            os.write(self.fd, report.nodeid.encode())
            self.written = True


_QUIET_PLUGINS = ["-p", "no:cacheprovider", "-p", "no:warnings", "-p", "no:unraisableexception"]


class _NodeIds:
    """A pytest plugin that keeps the node ids a collection found."""

    def __init__(self) -> None:
        self.node_ids: list[str] = []

    def pytest_collection_finish(self, session) -> None:
        self.node_ids = [item.nodeid for item in session.items]


def warm_pytest() -> dict[str, list[str]]:
    """Collect every test once in the parent, so that each forked child finds pytest and the tests imported.

    Returns each test file's node ids: a file named on pytest's command line swallows a node id of its own named
    before it (pytest drops an argument another one covers), so files are passed as their node ids.
    """
    import contextlib

    import pytest

    collected = _NodeIds()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        pytest.main(["--collect-only", "-q", *_QUIET_PLUGINS, "tests"], plugins=[collected])
    by_file = collections.defaultdict(list)
    for node_id in collected.node_ids:
        by_file[node_id.split("::")[0]].append(node_id)
    return by_file


def run_one(name: str, tests: list[str], timeout: float) -> tuple[str, str | None]:
    """Fork, run ``tests`` against mutant ``name`` in the child; return its outcome and the killing test's node id."""
    import pytest
    import torch

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one thread, so that two checkers share 2 cores without oversubscription
        os.close(read_end)
        os.environ["MUTANT_UNDER_TEST"] = name
        torch.set_num_threads(1)
        args = [*tests, "-x", "-q", "--tb=no", *_QUIET_PLUGINS, "--no-header"]
        code = pytest.main(args, plugins=[_FirstFailure(write_end)])
        os._exit(int(code))
    os.close(write_end)
    start = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            with os.fdopen(read_end, "rb") as pipe:
                killer = pipe.read().decode() or None
            return OUTCOMES.get(code, f"error (pytest exit {code})"), killer
        if time.monotonic() - start > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_end)
            return "timeout", None
        time.sleep(0.05)


_PASSING_UNMUTATED: dict[str, bool] = {}


def passes_unmutated(test: str, timeout: float) -> bool:
    """Whether ``test`` passes alone with no mutant active (checked once per node id)."""
    if test not in _PASSING_UNMUTATED:
        outcome, _ = run_one("no_mutant.none", [test], timeout)  # a module no mutant belongs to: originals run
        _PASSING_UNMUTATED[test] = outcome == "survived"
        if outcome != "survived":
            print(f"  {test} fails alone on the unmutated tree ({outcome}); not promoted", flush=True)
    return _PASSING_UNMUTATED[test]


def read_results(out: Path) -> dict[str, str]:
    """The outcomes recorded in ``out`` so far (none if it does not exist yet)."""
    return json.loads(out.read_text()) if out.is_file() else {}


def record(out: Path, name: str, outcome: str) -> None:
    """Add ``name``'s outcome to the results file, merged with what other checkers wrote there."""
    import fcntl

    with open(out.with_name(out.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        results = read_results(out)
        results[name] = outcome
        partial = out.with_name(out.name + f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(results, indent=0))
        os.replace(partial, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pattern", help="glob over mutant names, e.g. 'ornn.training.*'")
    parser.add_argument("--out", type=Path, default=Path("mutation-check.json"), help="results JSON (resumable)")
    parser.add_argument("--max-test-s", type=float, default=5.0, help="leave out covering tests slower than this")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds before a mutant's run is stopped")
    parser.add_argument("--extra-tests", nargs="*", default=[], help="tests (files or node ids) to run first")
    parser.add_argument(
        "--only-extra-tests",
        action="store_true",
        help="run only --extra-tests (do tests written since a pass kill its survivors?); checked mutants are skipped",
    )
    parser.add_argument("--generate", action="store_true", help="regenerate mutants/ and the stats first")
    parser.add_argument("--sample", type=int, default=None, help="check a seeded uniform draw of this many mutants")
    parser.add_argument("--sample-seed", type=int, default=0, help="the seed of --sample's draw")
    parser.add_argument(
        "--reverse", action="store_true", help="check the mutants last first (a second checker sharing --out)"
    )
    args = parser.parse_args()
    if args.sample is not None and args.sample < 1:
        parser.error(f"--sample: expected an integer >= 1, got {args.sample}")
    out = args.out.resolve()
    if args.generate:
        generate()  # from the repository root, where mutmut keeps mutants/
    if not Path("mutants", "mutmut-stats.json").is_file():
        parser.error("no mutants/mutmut-stats.json here: run from the repository root with --generate")
    os.chdir("mutants")
    sys.path.insert(0, os.getcwd())
    os.environ["PYTHONPATH"] = os.getcwd()  # subprocesses the tests start import the mutated tree too
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    import applications.dynamics  # noqa: F401  (warm the parent: every child starts with these imported)
    import applications.qaoa  # noqa: F401
    import ornn_cli  # noqa: F401

    node_ids = warm_pytest()
    extra_tests = [node_id for test in args.extra_tests for node_id in node_ids.get(test, [test])]

    stats = json.loads(Path("mutmut-stats.json").read_text())
    covering, duration = stats["tests_by_mangled_function_name"], stats["duration_by_test"]
    results = read_results(out)
    names = mutant_names(args.pattern)
    if args.sample is not None and args.sample < len(names):
        print(f"a draw of {args.sample} of the {len(names)} matching mutants (seed {args.sample_seed})", flush=True)
        names = draw(names, args.sample, args.sample_seed)
    order = list(reversed(names)) if args.reverse else names
    print(
        f"{len(names)} mutants match {args.pattern!r}; {sum(n in results for n in names)} already checked", flush=True
    )
    killers = collections.defaultdict(collections.Counter)  # function -> node ids that killed its mutants
    start = time.monotonic()
    for k, name in enumerate(order, 1):
        if name in read_results(out):  # checked earlier, or meanwhile by another checker
            continue
        function = mangled_name_from_mutant_name(name.replace("__init__.", ""))
        tests = covering.get(function, [])
        tests = sorted((t for t in tests if duration.get(t, 0.0) <= args.max_test_s), key=lambda t: duration.get(t, 0))
        tests = order_tests([] if args.only_extra_tests else tests, extra_tests, killers[function])
        outcome, killer = run_one(name, tests, args.timeout) if tests else ("no tests", None)
        if killer is not None and outcome == "killed" and passes_unmutated(killer, args.timeout):
            killers[function][killer] += 1
        record(out, name, outcome)
        print(f"[{k}/{len(names)} {time.monotonic() - start:.0f} s] {name}: {outcome}", flush=True)
    results = read_results(out)
    by_module = collections.defaultdict(collections.Counter)
    for name in names:
        by_module[name.rsplit(".", 1)[0]][results[name]] += 1
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        line = f"{module}: {total} mutants, {dict(counts)}, killed {counts['killed'] / total:.1%}"
        if args.sample is not None:
            low, high = wilson_interval(counts["killed"], total)
            line += f" (a sample: 95% interval {low:.1%} to {high:.1%})"
        print(line)


if __name__ == "__main__":
    main()
