"""One variant of the Ising-predictor recipe, trained and scored at step 100: the ablations behind the default.

    python benchmarks/dynamics_ablation.py --lr 1e-3 --loss absolute          # one line of JSON
    python benchmarks/dynamics_ablation.py --lr 1e-3 --increment-init 0.01 --fixed-gain

One :class:`~applications.dynamics.DynamicsPredictor` (SRU stack) for every N of ``--spins``, trained by
:func:`~applications.dynamics.train_predictor` on seeded Haar-random data, then rolled out for 100 steps
from ``--count`` held-out states per N and from the Appendix C state of each N (Zhang et al.,
arXiv:1905.09168). Beyond the command's flags it can switch off the rollout curriculum (k = ``--rollout``
from the first epoch) and freeze the increment's gain, which ``ornn dynamics train`` does not offer.
Prints one JSON object: the training time, the loss curves, and per N the predictor's and persistence's
MRE, the fidelity and the norm drift at step 100.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import applications.dynamics.train as training
from applications.dynamics import DynamicsPredictor, SequenceSpec, appendix_c_state, evaluate_states
from applications.dynamics.data import materialise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spins", type=int, nargs="+", default=[2, 3, 4, 5, 6, 7])
    parser.add_argument("--per-spin", type=int, default=200)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--decay", type=float, default=0.9)
    parser.add_argument("--rollout", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loss", choices=("relative", "absolute"), default="relative")
    parser.add_argument("--increment-init", type=float, default=0.002)
    parser.add_argument("--fixed-gain", action="store_true", help="freeze the increment's gain at its initial value")
    parser.add_argument("--no-curriculum", action="store_true", help="rollouts of --rollout steps from epoch 0")
    parser.add_argument("--count", type=int, default=20, help="held-out states per N (default 20)")
    args = parser.parse_args()
    if args.no_curriculum:
        training.rollout_horizon = lambda epoch, rollout: rollout
    spec = SequenceSpec(spins=tuple(args.spins), per_spin=args.per_spin, steps=100, seed=args.seed)
    data = materialise(spec)
    torch.manual_seed(args.seed)
    model = DynamicsPredictor(
        max_spins=max(args.spins), width=args.width, num_layers=args.layers, increment_init=args.increment_init
    )
    model.increment_log_gain.requires_grad_(not args.fixed_gain)
    start = time.perf_counter()
    history = training.train_predictor(
        model,
        spec,
        epochs=args.epochs,
        batch_size=args.batch,
        lr=args.lr,
        decay=args.decay,
        seed=args.seed,
        cached=data,
        rollout=args.rollout,
        relative=args.loss == "relative",
    )
    seconds = time.perf_counter() - start
    evaluation = training.evaluate_predictor(model, spec, count=args.count, cached=data)
    per_n = {}
    for n, per in evaluation.items():
        paper = evaluate_states(model, appendix_c_state(n), 100)
        per_n[n] = {
            "mre": per["predictor"]["mre"][100],
            "persistence": per["persistence"]["mre"][100],
            "fidelity": per["predictor"]["fidelity"][100],
            "norm_drift": per["predictor"]["norm_drift"][100],
            "appendix_c_mre": paper["predictor"]["mre"][100],
            "appendix_c_persistence": paper["persistence"]["mre"][100],
            "appendix_c_fidelity": paper["predictor"]["fidelity"][100],
        }
    print(
        json.dumps(
            {
                "args": vars(args),
                "train_seconds": seconds,
                "train_loss": history.train_loss,
                "val_loss": history.val_loss,
                "best_epoch": history.best_epoch,
                "at_step_100": per_n,
            }
        )
    )


if __name__ == "__main__":
    main()
