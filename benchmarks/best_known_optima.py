"""Best known ansatz optima of the test graphs of ``qaoa_pretrained.py``, searched far harder than the benchmark can.

    cd benchmarks && python best_known_optima.py                  # QAOA p = 1..5 and DC-QAOA p = 2
    cd benchmarks && python best_known_optima.py --p 5 --dc-p     # one depth

Every gap and every "Phase II reached" of ``qaoa_pretrained.py`` is measured against an ansatz optimum.
Its own search (``ansatz_optimum``: L-BFGS from 16 random starts, the linear ramp and the fixed angles)
can stop in a local optimum: on one DC-QAOA graph 64 starts found an optimum 0.41 points lower. This
script searches each test graph (both sets, n = 10) with

- ``ansatz_optimum`` with ``--starts`` (128; DC-QAOA ``--dc-starts``, 64) random starts, seed 1, a draw
  independent of the benchmark's seed 0,
- and, for QAOA p >= 2, L-BFGS from the INTERP extension of the stored depth p - 1 optimum (Zhou, Wang, Choi,
  Pichler & Lukin, "Quantum Approximate Optimization Algorithm: Performance, Mechanism, and Implementation on
  Near-Term Devices", PRX 10, 021067 (2020)), which follows an optimum from one depth to the next,

and records per graph the benchmark's own reference (16 starts, seed 0), the best energy found, its parameters
and the searches made, in ``best_known_optima.json`` next to this file. The file is written after every graph,
so an interrupted run resumes where it stopped (entries whose graph fingerprint still matches are kept;
``--fresh`` forgets them, ``--again`` searches once more and keeps the lower of the two). ``qaoa_pretrained.py``
and ``qaoa_dc_basins.py`` read each graph's reference from this file and search only graphs it lacks.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from _qaoa_test_graphs import OPTIMA_FILE, ansatz_key, fingerprint, graph_sets, load_optima, stored_entry

from applications.qaoa import ansatz_optimum, make_ansatz, optimize, relative_error
from ornn import _io, tables

#: the benchmark's own search; recorded beside the best value so the file shows how often it falls short
BENCHMARK_STARTS, BENCHMARK_SEED, SURVEY_SEED = 16, 0, 1
#: energies closer than this are one optimum (L-BFGS stops at a change below 1e-10)
TIE = 1e-8


def interp(params: torch.Tensor, layer_size: int) -> torch.Tensor:
    """INTERP: a depth p + 1 start from depth p parameters (layer-major), each angle sequence linearly stretched.

    x^{p+1}_i = (i - 1)/p x^p_{i-1} + (p - i + 1)/p x^p_i for i = 1..p+1, with x^p_0 = x^p_{p+1} = 0.
    """
    x = params.reshape(-1, layer_size)
    p = x.shape[0]
    padded = torch.cat([x.new_zeros(1, layer_size), x, x.new_zeros(1, layer_size)])
    i = torch.arange(1, p + 2, dtype=x.dtype)[:, None]
    return ((i - 1) / p * padded[:-1] + (p - i + 1) / p * padded[1:]).reshape(-1)


def search(
    problem, p: int, dc: bool, starts: int, previous: list | None, benchmark_energy: float | None = None
) -> dict:
    """One graph's entry: the best of the benchmark's own search, ``starts`` more random L-BFGS starts and, with
    ``previous`` (the stored depth p - 1 optimum), L-BFGS from its INTERP extension; a tie keeps the benchmark's.

    ``benchmark_energy``, the benchmark's search's energy already on record (``--again``), spares that search,
    which is deterministic: the entry is then the best of the new searches alone, and the caller keeps the lower
    of it and the stored entry (which is never above the benchmark's energy)."""
    ansatz = make_ansatz(problem, p, dc=dc)
    begin = time.perf_counter()
    default = None
    if benchmark_energy is None:
        default = ansatz_optimum(ansatz, starts=BENCHMARK_STARTS, seed=BENCHMARK_SEED)
        benchmark_energy = default[0]
    candidates = {f"{starts} random starts": ansatz_optimum(ansatz, starts=starts, seed=SURVEY_SEED)}
    if previous is not None:
        start = interp(torch.tensor(previous, dtype=torch.float64), ansatz.layer_size)
        result = optimize(ansatz, start[None], optimizer="lbfgs", lr=1.0, steps=100, tol=1e-10)
        candidates["INTERP"] = (float(result.final_energies[0]), result.final_params[0])
    searched = [f"{BENCHMARK_STARTS} starts (seed {BENCHMARK_SEED})"] if default is not None else []
    searched += [f"{starts} starts (seed {SURVEY_SEED})"] + (["INTERP"] if previous is not None else [])
    found_by = min(candidates, key=lambda name: candidates[name][0])
    energy, params = candidates[found_by]
    if default is not None and energy > default[0] - TIE:  # no better than the benchmark's own search: keep its point
        (energy, params), found_by = default, "the benchmark's search"
    return {
        "fingerprint": fingerprint(problem),
        "energy": energy,
        "params": params.tolist(),
        "found_by": found_by,
        "searched": ", ".join(searched),
        "benchmark_energy": benchmark_energy,
        "points_below_benchmark": float(
            100 * (relative_error(problem, benchmark_energy) - relative_error(problem, energy))
        ),
        "seconds": time.perf_counter() - begin,
    }


def _positive(text: str) -> int:
    """argparse type: an integer >= 1 (argparse names the flag in its one-line error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--p", type=int, nargs="*", default=[1, 2, 3, 4, 5], help="QAOA depths, searched in order")
    parser.add_argument("--dc-p", type=int, nargs="*", default=[2], help="DC-QAOA depths")
    parser.add_argument("--starts", type=_positive, default=128, help="random L-BFGS starts per graph (QAOA)")
    parser.add_argument("--dc-starts", type=_positive, default=64, help="random L-BFGS starts per graph (DC-QAOA)")
    parser.add_argument("--graphs", type=_positive, default=16, help="unseen graphs (as qaoa_pretrained.py's --graphs)")
    parser.add_argument("--fresh", action="store_true", help="forget the stored entries and search every graph")
    parser.add_argument("--again", action="store_true", help="search stored graphs again and keep the lower")
    parser.add_argument("--out", type=Path, default=OPTIMA_FILE)
    args = parser.parse_args()

    optima = {} if args.fresh else load_optima(args.out)
    rows = []
    for p, dc in [(p, False) for p in sorted(args.p)] + [(p, True) for p in args.dc_p]:
        entries = optima.setdefault(ansatz_key(p, dc), {})
        for label, problems in graph_sets(args.graphs).items():
            for index, problem in enumerate(problems):
                name = f"{label}/{index}"
                stored = stored_entry(optima, p, dc, label, index, problem)
                if stored is not None and not args.again:
                    continue
                below = None if dc else stored_entry(optima, p - 1, dc, label, index, problem)
                previous = None if below is None else below["params"]
                starts = args.dc_starts if dc else args.starts
                recorded = None if stored is None else stored["benchmark_energy"]
                entry = search(problem, p, dc, starts, previous, benchmark_energy=recorded)
                if stored is not None:  # --again: the lower of the two, and both searches on record
                    kept = entry if entry["energy"] < stored["energy"] - TIE else stored
                    searched, seconds = (
                        f"{stored['searched']}; {entry['searched']}",
                        stored["seconds"] + entry["seconds"],
                    )
                    entry = {**kept, "searched": searched, "seconds": seconds}
                entries[name] = entry
                _io.write_json(args.out, optima)
                rows.append(
                    {
                        "ansatz": ansatz_key(p, dc),
                        "graph": name,
                        "benchmark E": f"{entry['benchmark_energy']:.6f}",
                        "best E": f"{entry['energy']:.6f}",
                        "pts below": f"{entry['points_below_benchmark']:.3f}",
                        "found by": entry["found_by"],
                        "s": f"{entry['seconds']:.0f}",
                    }
                )
                print(tables.format_table(rows[-1:]), flush=True)
    print("\n" + tables.format_table(rows) if rows else "every entry was already stored")


if __name__ == "__main__":
    main()
