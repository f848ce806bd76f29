"""Shared timing for the benchmark scripts: the median of repeated runs, CUDA-synchronised."""

from __future__ import annotations

import statistics
import time
from typing import Callable, Optional

import torch


def sample_seconds(
    fn: Callable[[], object], repeats: int, *, warmup: bool = True, device: Optional[torch.device] = None
) -> list[float]:
    """Wall times of ``repeats`` calls of ``fn`` (after one untimed call when ``warmup``)."""
    sync = device is not None and device.type == "cuda"
    if warmup:
        fn()
    samples = []
    for _ in range(repeats):
        if sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    return samples


def median_seconds(
    fn: Callable[[], object], repeats: int, *, warmup: bool = True, device: Optional[torch.device] = None
) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` (after one untimed call when ``warmup``)."""
    return statistics.median(sample_seconds(fn, repeats, warmup=warmup, device=device))


def interleaved_medians(
    runs: dict[str, Callable[[], object]], repeats: int, *, device: Optional[torch.device] = None
) -> dict[str, float]:
    """Median wall time in seconds of each of ``runs``, timed round-robin after one warm-up call each.

    Interleaving puts drifts in machine load (the other core, the allocator's state) on every
    contender alike, so the ratios of the medians are what a comparison should read.
    """
    for run in runs.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(median_seconds(run, 1, warmup=False, device=device))
    return {name: statistics.median(values) for name, values in samples.items()}
