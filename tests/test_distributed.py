"""Data-parallel training with torch.distributed: 2 CPU processes (gloo on loopback) against 1.

The global batch is the same in both runs; each of the two ranks trains on its shard (5 items
split 3 + 2, so the weighting of uneven shards is exercised) and DDP all-reduces the
gradients. In float64 and without dropout, the trained weights and the validation losses
must equal the one-process run to round-off (1e-10). Resuming a 2-process checkpoint on one
process must give the uninterrupted result too. ``tests/distributed_worker.py`` holds the
training both sides run; one torchrun launch trains both jobs (a launch costs more than the trainings).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ornn import distributed
from tests.distributed_worker import EPOCHS, train

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-10  # float64: only the order of the gradient sums differs between the runs


def torchrun(nproc: int, *args: str) -> None:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "tests.distributed_worker",
        *args,
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    assert worst <= TOLERANCE, f"largest weight difference {worst:.3e}"


JOBS = ("dynamics", "qaoa")


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory) -> Path:
    """The folder where one 2-process launch left each job's full run, half run and its checkpoint."""
    folder = tmp_path_factory.mktemp("two-processes")
    torchrun(2, str(folder), *JOBS)
    return folder


@pytest.mark.parametrize("job", JOBS)
def test_two_processes_equal_one_and_resume_on_another_world_size(job, two_process_runs, tmp_path):
    torch.set_num_threads(1)
    reference_state, reference_val = train(job, EPOCHS, tmp_path / "one.ckpt")

    two = torch.load(two_process_runs / f"{job}-full.pt")
    assert two["world"] == 2
    assert_same_state(two["state"], reference_state)
    assert two["val_loss"] == pytest.approx(reference_val, rel=TOLERANCE)

    # one epoch on two processes, then its checkpoint resumed on one process for the remaining epochs
    checkpoint = two_process_runs / f"{job}-half.ckpt"
    assert checkpoint.exists() and not list(two_process_runs.glob(f".{job}-half.ckpt.*"))  # written once, atomically
    resumed = tmp_path / "resumed.ckpt"  # the launch's folder is shared by the jobs' tests: resume a copy
    resumed.write_bytes(checkpoint.read_bytes())
    resumed_state, resumed_val = train(job, EPOCHS, resumed, resume=True)
    assert_same_state(resumed_state, reference_state)
    assert resumed_val == pytest.approx(reference_val, rel=TOLERANCE)


def test_cli_nproc_launches_torchrun_and_rank_0_writes_the_run(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ornn_cli",
            "qaoa",
            "train",
            "--cell",
            "gru",
            "--hidden",
            "3",
            "--kind",
            "3-regular",
            "--train-sizes",
            "4",
            "--steps",
            "2",
            "--epochs",
            "1",
            "--batch",
            "4",
            "--nproc",
            "2",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("best validation loss") == 1  # printed by rank 0 only
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2
    assert "nproc" not in json.loads((out / "config.json").read_text())


def test_shards_cover_the_batch_once(monkeypatch):
    assert distributed.world_size() == 1 and distributed.shard(5) == slice(0, 5)
    for world in (2, 3, 4):
        for count in range(1, 9):
            seen = []
            for r in range(world):
                monkeypatch.setattr(distributed, "world_size", lambda: world)
                monkeypatch.setattr(distributed, "rank", lambda r=r: r)
                part = list(range(count))[distributed.shard(count)]
                assert len(part) in (count // world, count // world + 1)
                seen += part
                local, factor = distributed.local_items(list(range(count)))
                assert (local, factor) == ((part, world * len(part) / count) if part else ([0], 0.0))
            assert seen == list(range(count))
    monkeypatch.undo()
    assert distributed.local_items([1, 2, 3]) == ([1, 2, 3], 1.0)
    from ornn_cli._parsing import without_flag

    assert without_flag(["train", "--nproc", "2", "--out", "x", "--nproc=3"], "--nproc") == ["train", "--out", "x"]
