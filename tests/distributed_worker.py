"""Run by ``tests/test_distributed.py`` under torchrun: tiny float64 trainings on this rank's shards.

    python -m torch.distributed.run --standalone --nproc_per_node=2 -m tests.distributed_worker FOLDER JOB [JOB ...]

Each JOB is ``dynamics`` (train_predictor) or ``qaoa`` (meta_train). For each, the group trains
twice: ``EPOCHS`` epochs (rank 0 saves the state and the history to FOLDER/JOB-full.pt) and,
from scratch, one epoch (FOLDER/JOB-half.pt), whose checkpoint FOLDER/JOB-half.ckpt the test
resumes on one process. One launch serves every job: a torchrun start costs more than the
trainings. The same function runs the one-process reference in the test itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from ornn import distributed

DYNAMICS_SPEC = dict(spins=(2, 3), per_spin=20, steps=6, seed=0)
#: epochs of the full run (the half run trains one)
EPOCHS = 2


def train(job: str, epochs: int, checkpoint: Path, resume: bool = False) -> tuple[dict, list[float]]:
    """Train the tiny float64 model of ``job`` for ``epochs``; returns (state_dict, validation losses)."""
    torch.manual_seed(0)
    if job == "dynamics":
        from applications import dynamics

        spec = dynamics.SequenceSpec(**DYNAMICS_SPEC)
        model = dynamics.DynamicsPredictor(max_spins=3, width=8, cell="gru", num_layers=1, dropout=0.0).double()
        history = dynamics.train_predictor(
            model, spec, epochs=epochs, batch_size=5, lr=3e-3, seed=1, checkpoint=checkpoint, resume=resume
        )
        return model.state_dict(), history.val_loss
    from applications import qaoa

    model = qaoa.MetaOptimizer("gru", 2, hidden_size=4).double()
    history = qaoa.meta_train(
        model,
        qaoa.ProblemDistribution("3-regular", (4, 6)),
        p=1,
        steps=2,
        epochs=epochs,
        batches_per_epoch=2,
        batch_size=5,
        validation_size=3,
        patience=100,
        seed=1,
        checkpoint=checkpoint,
        resume=resume,
    )
    return model.state_dict(), history.val_loss


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("jobs", nargs="+", choices=["dynamics", "qaoa"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    distributed.setup()
    for job in args.jobs:
        for name, epochs in (("full", EPOCHS), ("half", 1)):
            out = args.folder / f"{job}-{name}.pt"
            state, val = train(job, epochs, out.with_suffix(".ckpt"))
            if distributed.is_main():
                torch.save({"state": state, "val_loss": val, "world": distributed.world_size()}, out)
            distributed.barrier()
    distributed.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
