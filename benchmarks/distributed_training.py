"""Training throughput at 1 and 2 data-parallel processes (torchrun, gloo on CPU, nccl on CUDA), in the same run.

    python benchmarks/distributed_training.py [--nproc 1 2] [--epochs 2] [--device cpu] [--scale demo|seed]

Two jobs, each timed with the same global batch at every process count:

* dynamics: ``train_predictor`` on the Zhang et al. architecture. ``--scale demo``: width 64, 2 SRU
  layers, N = 2..4, 100 sequences per N of 100 steps, batch 32. ``--scale seed``: Table B1
  (width 512, 4 SRU layers), N = 2..7, batch 32; meant for a GPU.
* qaoa: ``meta_train`` of an LSTM (hidden 20) on 3-regular MaxCut, p = 2, T = 6, batch 8.
  ``--scale demo``: n = 8..10. ``--scale seed``: n = 16..20.

Samples per second = training sequences (dynamics) or problems (qaoa) per second of
training, epochs after the first (warm-up) only; validation is included, as a user sees it.
On the CPU, one process uses every core through intra-op threads, while torchrun gives each of
several processes one thread (OMP_NUM_THREADS=1), so the 2-process column measures data
parallelism against intra-op parallelism on the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ornn import distributed  # noqa: E402

SCALES = {
    "demo": {"dynamics": dict(spins=(2, 3, 4), per_spin=100, width=64, layers=2), "qaoa": dict(sizes=(8, 10))},
    "seed": {
        "dynamics": dict(spins=(2, 3, 4, 5, 6, 7), per_spin=200, width=512, layers=4),
        "qaoa": dict(sizes=(16, 18, 20)),
    },
}


def dynamics_job(scale: str, epochs: int, device: torch.device) -> tuple[float, int]:
    """(seconds per epoch after the first, training sequences per epoch)."""
    from applications import dynamics

    cfg = SCALES[scale]["dynamics"]
    spec = dynamics.SequenceSpec(spins=cfg["spins"], per_spin=cfg["per_spin"], steps=100, seed=0)
    from applications.dynamics.data import materialise

    data = materialise(spec)
    torch.manual_seed(0)
    model = dynamics.DynamicsPredictor(
        max_spins=max(cfg["spins"]), width=cfg["width"], cell="sru", num_layers=cfg["layers"]
    ).to(device)
    dynamics.train_predictor(model, spec, epochs=1, batch_size=32, lr=1e-3, cached=data)  # warm-up epoch
    distributed.barrier()
    start = time.perf_counter()
    dynamics.train_predictor(model, spec, epochs=epochs, batch_size=32, lr=1e-3, cached=data)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / epochs
    return seconds, len(spec.split_range("train")) * len(cfg["spins"])


def qaoa_job(scale: str, epochs: int, device: torch.device) -> tuple[float, int]:
    from applications import qaoa

    sizes = SCALES[scale]["qaoa"]["sizes"]
    torch.manual_seed(0)
    meta = qaoa.MetaOptimizer("lstm", 4, hidden_size=20).double().to(device)
    distribution = qaoa.ProblemDistribution("3-regular", sizes)
    kwargs = dict(p=2, steps=6, batches_per_epoch=4, batch_size=8, validation_size=8, patience=100, seed=0)
    qaoa.meta_train(meta, distribution, epochs=1, **kwargs)  # warm-up
    distributed.barrier()
    start = time.perf_counter()
    qaoa.meta_train(meta, distribution, epochs=epochs, **kwargs)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / epochs, kwargs["batches_per_epoch"] * kwargs["batch_size"]


def worker(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    distributed.setup(device)
    if device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    job = dynamics_job if args.job == "dynamics" else qaoa_job
    seconds, samples = job(args.scale, args.epochs, device)
    if distributed.is_main():
        Path(args.result).write_text(
            json.dumps(
                {
                    "seconds_per_epoch": seconds,
                    "samples_per_epoch": samples,
                    "world": distributed.world_size(),
                    "threads": torch.get_num_threads(),
                }
            )
        )
    distributed.teardown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up epoch (default 2)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--jobs", nargs="+", choices=["dynamics", "qaoa"], default=["dynamics", "qaoa"])
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:  # launched by torchrun
        worker(args)
        return
    print(
        f"torch {torch.__version__}, {os.cpu_count()} cores, device {args.device}, scale {args.scale}, "
        f"{args.epochs} timed epochs after a warm-up"
    )
    header = f"{'job':<9} {'procs':>5} {'threads/proc':>12} {'s/epoch':>8} {'samples/s':>10} {'vs 1 proc':>9}"
    print(header)
    print("-" * len(header))
    for job in args.jobs:
        base = None
        for nproc in args.nproc:
            with tempfile.TemporaryDirectory() as tmp:
                result = Path(tmp) / "result.json"
                command = [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--standalone",
                    f"--nproc_per_node={nproc}",
                    __file__,
                    "--job",
                    job,
                    "--result",
                    str(result),
                    "--epochs",
                    str(args.epochs),
                    "--device",
                    args.device,
                    "--scale",
                    args.scale,
                ]
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"{job:<9} {nproc:>5} failed:\n{done.stderr[-2000:]}")
                    continue
                figures = json.loads(result.read_text())
            rate = figures["samples_per_epoch"] / figures["seconds_per_epoch"]
            base = rate if base is None else base
            print(
                f"{job:<9} {nproc:>5} {figures['threads']:>12} {figures['seconds_per_epoch']:>8.2f} {rate:>10.1f} "
                f"{rate / base:>8.2f}x"
            )


if __name__ == "__main__":
    main()
