"""Shared timing for the benchmark scripts: the median of repeated runs, CUDA-synchronised."""

from __future__ import annotations

import statistics
import time
from typing import Callable, Optional

import torch


def median_seconds(
    fn: Callable[[], object], repeats: int, *, warmup: bool = True, device: Optional[torch.device] = None
) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` (after one untimed call when ``warmup``)."""
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
    return statistics.median(samples)
