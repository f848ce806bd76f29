"""ODECell against torchdiffeq on the same fixed grid.

    python benchmarks/ode_cells.py [--steps 1000] [--dim 256] [--batch 1] [--repeats 7] [--device cpu]

dy/dt = tanh(W y + b) with a 256-dimensional state, 1,000 steps of size 0.01,
integrated by ``ornn.ODECell(f, tableau=..., step_size=0.01).solve(y0, 1000)``
and by ``torchdiffeq.odeint(f, y0, t, method=...)`` on the grid t = 0, 0.01, ..., 10,
for float32 and float64, forward only (no_grad) and forward + backward.
Both are timed in the same run, interleaved, median of ``--repeats``; the ratio
is ornn / torchdiffeq (<= 1.0 means ornn is no slower). Pairs: ornn ``rk4_38`` vs
torchdiffeq ``rk4`` (the same 3/8 tableau), and ornn's classic ``rk4`` vs the same
torchdiffeq ``rk4`` (same cost: four evaluations of f per step).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from _timing import median_seconds
from torchdiffeq import odeint

import ornn


def run(steps: int, dim: int, batch: int, repeats: int, device: torch.device) -> list[dict]:
    rows = []
    for dtype in (torch.float32, torch.float64):
        generator = torch.Generator().manual_seed(0)
        mlp = torch.nn.Linear(dim, dim).to(device=device, dtype=dtype)
        with torch.no_grad():
            mlp.weight.copy_(torch.randn(dim, dim, generator=generator, dtype=dtype) / dim**0.5)

        def f(y: torch.Tensor) -> torch.Tensor:
            return torch.tanh(mlp(y))

        y0 = torch.randn(batch, dim, generator=generator, dtype=dtype).to(device)
        h = 0.01
        for ours, theirs in (("rk4_38", "rk4"), ("rk4", "rk4")):
            cell = ornn.ODECell(f, tableau=ours, step_size=h)
            grid = cell.times(steps, dtype=dtype, device=device)
            for mode in ("forward", "forward+backward"):

                def ornn_run():
                    if mode == "forward":
                        with torch.no_grad():
                            cell.solve(y0, steps)
                    else:
                        y = y0.clone().requires_grad_(True)
                        cell.solve(y, steps)[-1].sum().backward()

                def peer_run():
                    if mode == "forward":
                        with torch.no_grad():
                            odeint(lambda t, y: f(y), y0, grid, method=theirs)
                    else:
                        y = y0.clone().requires_grad_(True)
                        odeint(lambda t, y: f(y), y, grid, method=theirs)[-1].sum().backward()

                ornn_run(), peer_run()  # warm-up
                ours_s, peer_s = [], []
                for _ in range(repeats):  # interleave so drifts in machine load hit both alike
                    ours_s.append(median_seconds(ornn_run, 1, warmup=False, device=device))
                    peer_s.append(median_seconds(peer_run, 1, warmup=False, device=device))
                o, p = statistics.median(ours_s), statistics.median(peer_s)
                rows.append(
                    {
                        "dtype": str(dtype).replace("torch.", ""),
                        "ornn": ours,
                        "torchdiffeq": theirs,
                        "mode": mode,
                        "ornn_ms": 1e3 * o,
                        "torchdiffeq_ms": 1e3 * p,
                        "ratio": o / p,
                    }
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"ornn {ornn.__version__}, torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, "
        f"state {args.dim}, batch {args.batch}, {args.steps} steps, median of {args.repeats}"
    )
    rows = run(args.steps, args.dim, args.batch, args.repeats, device)
    header = f"{'dtype':<8} {'ornn':<7} {'torchdiffeq':<11} {'mode':<17} {'ornn ms':>9} {'tdq ms':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['dtype']:<8} {r['ornn']:<7} {r['torchdiffeq']:<11} {r['mode']:<17} "
            f"{r['ornn_ms']:>9.1f} {r['torchdiffeq_ms']:>9.1f} {r['ratio']:>6.2f}"
        )
    worst = max(r["ratio"] for r in rows)
    print(f"worst ratio {worst:.2f} (goal <= 1.0: {'met' if worst <= 1.0 else 'NOT met'})")


if __name__ == "__main__":
    main()
