r"""Data-parallel training with ``torch.distributed``: the few pieces the training loops share.

A training loop written against this module runs unchanged on one process and on many.
Launched by ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``), :func:`setup` joins the process group (gloo on the CPU, nccl on CUDA).
Every rank then draws the same global batch from the same seed. :func:`local_items` keeps
its contiguous share (:func:`shard`), and the model wrapped by :func:`wrap`
(``DistributedDataParallel``) all-reduces the gradients.

Equality with one process. DDP averages gradients over the ranks. If rank r computes the
mean loss of its n_r samples and scales it by the factor world * n_r / N that
:func:`local_items` returns, the averaged gradient is

    (1 / world) * sum_r world * n_r / N * grad(mean_r) = grad((1 / N) * sum over the batch),

the gradient of the one-process mean over the global batch of N, for uneven shards too. A
rank whose shard is empty (a last batch smaller than the world) runs the first item with a
factor of 0, so it still takes part in the all-reduce. Only the order of the floating-point
sums changes, so results agree to round-off.
:func:`all_sum` totals the validation losses, so every rank takes the same early-stopping
and best-model decisions. Only rank 0 writes files (:func:`is_main`), and every rank
waits at :func:`barrier` for them.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["setup", "teardown", "world_size", "rank", "is_main", "shard", "local_items", "all_sum", "barrier", "wrap"]


def setup(device: Optional[torch.device] = None) -> bool:
    """Join the process group torchrun describes in the environment; False when running alone.

    The backend is nccl for a CUDA ``device`` (each rank then uses GPU ``LOCAL_RANK``) and gloo otherwise.
    """
    if dist.is_available() and dist.is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if device is not None and torch.device(device).type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def teardown() -> None:
    """Leave the process group (if any)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """Whether this process writes files (rank 0, or the only process)."""
    return rank() == 0


def shard(count: int) -> slice:
    """This rank's contiguous share of ``count`` items; shares differ in size by at most one."""
    world, r = world_size(), rank()
    base, extra = divmod(count, world)
    start = r * base + min(r, extra)
    return slice(start, start + base + (1 if r < extra else 0))


def local_items(items: Any) -> tuple[Any, float]:
    """This rank's shard of a global batch (a tensor's first dimension, or a list) and its loss factor.

    The factor world * n_local / N makes DDP's gradient average equal the gradient of the
    mean over all N items. An empty shard is replaced by the first item with factor 0.
    """
    total = len(items)
    local = items[shard(total)]
    if len(local) == 0:
        return items[:1], 0.0
    return local, world_size() * len(local) / total


def all_sum(value: float) -> float:
    """The sum of ``value`` over all ranks (the value itself when running alone)."""
    if world_size() == 1:
        return float(value)
    total = torch.tensor([float(value)], dtype=torch.float64, device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(total)
    return float(total.item())


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def wrap(model: nn.Module) -> nn.Module:
    """``DistributedDataParallel(model)`` in a process group, the model itself otherwise.

    A model whose forward leaves some parameters out (the norm-preserving predictor runs one
    core per chain length) says so with ``uses_all_parameters = False``; DDP then looks for
    the unused ones every step.
    """
    if world_size() == 1:
        return model
    device = next(model.parameters()).device
    device_ids = (
        [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    )
    return nn.parallel.DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=not getattr(model, "uses_all_parameters", True)
    )
