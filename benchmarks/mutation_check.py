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
* with ``--only-extra-tests``, runs only those: the quick way to learn which survivors of an earlier pass the
  tests written since kill (give it a results file holding that pass's kills only);
* forks a warm parent (torch and the package already imported), sets ``MUTANT_UNDER_TEST`` and runs
  pytest in the child with ``-x``; exit 1 is "killed", 0 "survived", and a child past ``--timeout`` is
  killed and reported as "timeout".

``--sample K`` checks a seeded uniform draw of K of the matching mutants instead of all of them: an estimate
of a large module's kill rate, printed with its 95% interval, when checking every mutant would take hours. The
draw is checked in the order drawn, so a run stopped early still holds a uniform sample of what it checked.

Results go to ``--out`` (JSON, name -> outcome, written atomically after every mutant, so an interrupted
run continues where it stopped) and a per-module summary is printed at the end. Run it from the
repository root; it changes into ``mutants/`` itself.
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


def run_one(name: str, tests: list[str], timeout: float) -> str:
    """Fork, run ``tests`` against mutant ``name`` in the child, and return its outcome."""
    import pytest
    import torch

    pid = os.fork()
    if pid == 0:  # the child: one thread, so that two checkers share 2 cores without oversubscription
        os.environ["MUTANT_UNDER_TEST"] = name
        torch.set_num_threads(1)
        code = pytest.main([*tests, "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-p", "no:warnings"])
        os._exit(int(code))
    start = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return OUTCOMES.get(code, f"error (pytest exit {code})")
        if time.monotonic() - start > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.05)


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

    stats = json.loads(Path("mutmut-stats.json").read_text())
    covering, duration = stats["tests_by_mangled_function_name"], stats["duration_by_test"]
    results = json.loads(out.read_text()) if out.is_file() else {}
    names = mutant_names(args.pattern)
    if args.sample is not None and args.sample < len(names):
        print(f"a draw of {args.sample} of the {len(names)} matching mutants (seed {args.sample_seed})", flush=True)
        names = draw(names, args.sample, args.sample_seed)
    print(
        f"{len(names)} mutants match {args.pattern!r}; {sum(n in results for n in names)} already checked", flush=True
    )
    start = time.monotonic()
    for k, name in enumerate(names, 1):
        if name in results:
            continue
        tests = covering.get(mangled_name_from_mutant_name(name.replace("__init__.", "")), [])
        tests = sorted((t for t in tests if duration.get(t, 0.0) <= args.max_test_s), key=lambda t: duration.get(t, 0))
        tests = args.extra_tests + [t for t in tests if not any(t.startswith(e) for e in args.extra_tests)]
        if args.only_extra_tests:
            tests = args.extra_tests
        results[name] = run_one(name, tests, args.timeout) if tests else "no tests"
        partial = out.with_suffix(".tmp")
        partial.write_text(json.dumps(results, indent=0))
        os.replace(partial, out)
        print(f"[{k}/{len(names)} {time.monotonic() - start:.0f} s] {name}: {results[name]}", flush=True)
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
