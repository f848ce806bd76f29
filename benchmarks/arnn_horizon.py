"""Where the n-ARNN round trip loses reversibility: scheme, step size or nonlinearity.

    python benchmarks/arnn_horizon.py [--steps 2000] [--seeds 3]

For the 1-ARNN (symplectic Euler) and the 2-ARNN (leapfrog), input 4, hidden 8, float64,
standard-normal inputs (batch 2), and every step size h in {0.025, 0.05, 0.1, 0.2, 0.4}:
the round-trip error ``ornn.stability.round_trip_error`` at T = steps/4, steps/2, steps,
its fitted growth rate lambda (log error per step above the 1e-15 floor), the horizon at
which it crosses 1e-9, and the forward finite-time Lyapunov exponent of the same trajectory
(``ornn.stability.lyapunov_exponents``, largest). The identity activation is the control: its
round trip stays at round-off at every h, so the inverse steps are exact and any growth
comes from the nonlinearity amplifying round-off. The worst seed is reported.
"""

from __future__ import annotations

import argparse
import math

import torch

import cells
import ornn
from ornn import stability, tables
from proofs.theorem2 import _growth

STEP_SIZES = (0.025, 0.05, 0.1, 0.2, 0.4)
SCHEMES = (("1-ARNN", "symplectic_euler"), ("2-ARNN", "leapfrog"))


def measure(scheme: str, step_size: float, activation, steps: int, seed: int) -> dict:
    torch.manual_seed(seed)
    cell = cells.ARNN(4, 8, scheme=scheme, step_size=step_size, activation=activation).double()
    x = torch.randn(steps, 2, 4, dtype=torch.float64)
    start = tuple(torch.randn_like(s) for s in cell.initial_state(2))
    horizons = (steps // 4, steps // 2, steps)
    errors = {t: stability.round_trip_error(cell, x[:t], start) for t in horizons}
    rate, reach = _growth(errors)
    lyap = float(stability.lyapunov_exponents(cell, x[: min(steps, 500)], start, k=1).max())
    return {"errors": errors, "rate": rate, "reach": reach, "lyapunov": lyap}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="the longest round trip (default 2000)")
    parser.add_argument("--seeds", type=int, default=3, help="cells drawn per setting; the worst is reported")
    args = parser.parse_args()
    rows = []
    for label, scheme in SCHEMES:
        for name, activation in (("identity", ornn.identity), ("tanh", torch.tanh)):
            for h in STEP_SIZES:
                runs = [measure(scheme, h, activation, args.steps, s) for s in range(args.seeds)]
                worst = max(runs, key=lambda r: r["errors"][args.steps])
                rows.append(
                    {
                        "cell": label,
                        "activation": name,
                        "h": h,
                        **{f"error @ {t}": e for t, e in worst["errors"].items()},
                        "lambda (per step)": worst["rate"],
                        "lambda / h": worst["rate"] / h,
                        "T below 1e-9": worst["reach"] if math.isfinite(worst["reach"]) else f"> {args.steps}",
                        "Lyapunov (forward)": worst["lyapunov"],
                    }
                )
                print(rows[-1], flush=True)
    print(tables.format_table(rows, style="markdown"))


if __name__ == "__main__":
    main()
