"""Exact evolution and predictor inference against per-state QuTiP ``sesolve`` (Zhang et al. Table I, done honestly).

    python benchmarks/dynamics_speed.py [--spins 2 12] [--batches 1 64 256] [--steps 100] [--qutip-states 8]

For every N and batch size B, in the same run:
- QuTiP: ``qutip.sesolve`` once per initial state with its default options (what a typical
  user writes); timed on min(B, --qutip-states) states and scaled to B (per-state cost is
  independent of B);
- ``evolve_exact`` (``method="auto"``: eigendecomposition up to 8 spins, batched Lanczos
  above, truncation tolerance --tol), warm: the eigenbasis path caches, per chain and time
  grid, the eigendecomposition and its phase or propagator table; the first call (cold caches,
  one state) is reported in its own column;
- predictor inference: the Zhang et al. architecture at demo size (width 64, 2 SRU layers)
  and the norm-preserving 1-ARNN predictor, rolled out autoregressively (inference cost
  does not depend on the weights, so untrained models are timed).
- the floor of the dense path (N <= 8): one complex (B (steps + 1), 2^N) x (2^N, 2^N) product
  with a real matrix, the last and largest step of ``evolve_exact``'s eigenbasis path, timed
  on contiguous random inputs of the same shapes in the same run (goal: ours within 1.3x), and
  ``check_states`` alone (the input check every call makes: at one state and small N, a fixed cost of the
  same order as the floor itself);
The max |evolve_exact - sesolve| over the timed states is printed as the accuracy check
(sesolve's default atol 1e-8 / rtol 1e-6 leave ~1e-6; ours is below that at --tol 1e-7).
Timings are medians of --repeats runs; ours and the floor are timed interleaved.
"""

from __future__ import annotations

import argparse
import time

import torch
from _timing import interleaved_medians, median_seconds

from applications.dynamics import DynamicsPredictor, evolve_exact, evolve_qutip, exact, haar_states
from applications.dynamics.exact import DENSE_MAX_SPINS
from applications.dynamics.physics import NormPreservingPredictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spins", type=int, nargs=2, default=[2, 12], metavar=("FIRST", "LAST"))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--qutip-states", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--tol",
        type=float,
        default=1e-7,
        help="Krylov truncation tolerance (default 1e-7: below the ~1e-6 error of sesolve's defaults)",
    )
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; {args.steps} steps of dt = 0.002, complex128")
    header = (
        f"{'N':>3} {'B':>5} {'sesolve s':>10} {'ours s':>9} {'path':>7} {'1st call s':>10} {'sesolve/ours':>13} "
        f"{'max |diff|':>10} {'floor s':>9} {'ours/floor':>10} {'check s':>9} {'SRU pred s':>11} {'ARNN pred s':>12}"
    )
    floor_ratios: dict[tuple[int, int], float] = {}
    print(header)
    torch.manual_seed(0)
    for n in range(args.spins[0], args.spins[1] + 1):
        first_call = float("nan")
        if n <= DENSE_MAX_SPINS:
            for cache in (exact._eigensystem, exact._propagator_table, exact._rotation_tables):
                cache.cache_clear()
            one = haar_states(n, 1, generator=torch.Generator().manual_seed(n))
            start = time.perf_counter()
            evolve_exact(one, n, args.steps)
            first_call = time.perf_counter() - start
        recurrent_stack = DynamicsPredictor(max_spins=n, width=64, num_layers=2).eval()
        physics = NormPreservingPredictor((n,)).eval()
        for batch in args.batches:
            psi0 = haar_states(n, batch, generator=torch.Generator().manual_seed(n * 1000 + batch))
            sample = psi0[: min(batch, args.qutip_states)]
            start = time.perf_counter()
            reference = evolve_qutip(sample, n, args.steps, atol=1e-8, rtol=1e-6)  # QuTiP's default tolerances
            qutip_s = (time.perf_counter() - start) / sample.shape[0] * batch
            path = "eig" if n <= DENSE_MAX_SPINS else "krylov"
            runs = {"ours": lambda: evolve_exact(psi0, n, args.steps, tol=args.tol)}
            if path == "eig":
                rows, dim = batch * (args.steps + 1), 2**n
                re, im = torch.randn(rows, dim, dtype=torch.float64), torch.randn(rows, dim, dtype=torch.float64)
                basis = torch.linalg.qr(torch.randn(dim, dim, dtype=torch.float64))[0]
                runs["floor"] = lambda: torch.complex(re @ basis, im @ basis)
                runs["check"] = lambda: exact.check_states(psi0, n)  # the input check, part of every call
            timed = interleaved_medians(runs, args.repeats)
            ours, floor, check = timed["ours"], timed.get("floor", float("nan")), timed.get("check", float("nan"))
            if path == "eig":
                floor_ratios[(n, batch)] = ours / floor
            diff = float((evolve_exact(sample, n, args.steps, tol=args.tol) - reference).abs().max())
            small = psi0.to(torch.complex64)
            sru = median_seconds(lambda: recurrent_stack.rollout(small, args.steps), 1, warmup=False)
            arnn = median_seconds(lambda: physics.rollout(small, args.steps), 1, warmup=False)
            print(
                f"{n:>3} {batch:>5} {qutip_s:>10.4f} {ours:>9.4f} {path:>7} {first_call:>10.4f} {qutip_s / ours:>13.1f} "
                f"{diff:>10.1e} {floor:>9.4f} {ours / floor:>10.2f} {check:>9.6f} {sru:>11.4f} {arnn:>12.4f}",
                flush=True,
            )
    largest = max(args.batches)
    for label, keys in (
        ("every B", list(floor_ratios)),
        (f"B = {largest}", [k for k in floor_ratios if k[1] == largest]),
    ):
        if keys:
            worst = max(keys, key=floor_ratios.get)
            ratio = floor_ratios[worst]
            print(
                f"dense path against its floor, worst over N <= {DENSE_MAX_SPINS} at {label}: {ratio:.2f} at "
                f"N = {worst[0]}, B = {worst[1]} (goal <= 1.3): {'met' if ratio <= 1.3 else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
