r"""Transfer to a longer chain (Zhang et al. Fig. 7): fine-tune a base model against training from scratch.

The base model is trained on the smaller chains; its spin tables already have 2^max_spins
rows and its chain table a row for the target N, so the same network reads the longer
chain. Fine-tuning uses Zhang et al.'s transfer schedule (Adam from lr 1e-4, decay 0.97 per
epoch); the scratch model, identical in shape and seeded the same, uses the base
schedule. Both validation-loss curves and the rollout metrics at the final step are
reported.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Optional

import torch

from ornn import _io, tables

from .data import SequenceSpec, materialise
from .model import DynamicsPredictor
from .report import summary_rows
from .train import RECIPE, default_width, evaluate_predictor, train_predictor

__all__ = ["TransferConfig", "run_transfer", "epochs_to_reach", "transfer_verdict"]


@dataclass
class TransferConfig:
    base_spins: tuple[int, ...] = (2, 3, 4, 5, 6)  # Fig. 7: trained on N <= 6, fine-tuned to N = 7
    target: int = 7
    per_spin: int = RECIPE["per_spin"]
    steps: int = 100
    width: Optional[int] = None  # None: default_width of every chain involved (the recipe's rule)
    layers: int = 2
    cell: str = "sru"
    base_epochs: int = RECIPE["epochs"]
    epochs: int = 30
    base_lr: float = RECIPE["lr"]  # the base and scratch schedule: the recipe of ``ornn dynamics train``
    base_decay: float = RECIPE["decay"]
    transfer_lr: float = 1e-4  # Zhang et al. Appendix B
    transfer_decay: float = 0.97
    rollout: int = RECIPE["rollout"]  # as in ``ornn dynamics train``, for all three trainings
    relative: bool = RECIPE["relative"]
    seed: int = 0


def epochs_to_reach(curve: list[float], target: float) -> Optional[int]:
    """The first epoch (counted from 1) whose validation loss is at most ``target``; None when none is."""
    return next((epoch for epoch, value in enumerate(curve, start=1) if value <= target), None)


def transfer_verdict(curves: dict[str, list[float]]) -> tuple[dict[str, Optional[int]], str]:
    """Epochs each model needs to reach the from-scratch run's best validation loss, and the verdict on Fig. 7.

    Zhang et al.'s claim is that fine-tuning a model trained on shorter chains learns the longer chain faster
    than training from scratch; it holds here when the fine-tuned model reaches the scratch model's best
    validation loss in fewer epochs than the scratch model itself needed.
    """
    target = min(curves["from scratch"])
    epochs = {label: epochs_to_reach(curve, target) for label, curve in curves.items()}
    tuned, scratch = epochs["fine-tuned base"], epochs["from scratch"]
    if tuned is None:
        sentence = (
            f"**Not reproduced**: fine-tuning did not reach the from-scratch validation loss {target:.3g} in "
            f"{len(curves['fine-tuned base'])} epochs (its best {min(curves['fine-tuned base']):.3g}; "
            f"from scratch needed {scratch})."
        )
    elif tuned < scratch:
        sentence = (
            f"Reproduced: fine-tuning reached the from-scratch validation loss {target:.3g} in {tuned} epoch(s), "
            f"training from scratch in {scratch}."
        )
    else:
        sentence = (
            f"**Not reproduced**: fine-tuning needed {tuned} epoch(s) to reach the from-scratch validation loss "
            f"{target:.3g}, training from scratch {scratch}."
        )
    return epochs, sentence


def _plot(curves: dict[str, list[float]], path: Path, target: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 4))
    for label, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation MSE")
    ax.set_title(f"N = {target}: fine-tuning the base model against training from scratch")
    ax.legend()
    _io.save_figure(path, figure, dpi=110, bbox_inches="tight")
    plt.close(figure)


def run_transfer(config: TransferConfig, out: Optional[Path] = None, *, progress: bool = False) -> dict[str, Any]:
    """Train the base model, then fine-tune and train from scratch on ``target``; write a run folder if ``out``."""
    if config.target in config.base_spins:
        raise ValueError(f"target: expected a chain length outside base_spins {config.base_spins}, got {config.target}")
    max_spins = max(*config.base_spins, config.target)
    base_spec = SequenceSpec(
        spins=tuple(config.base_spins), per_spin=config.per_spin, steps=config.steps, seed=config.seed
    )
    target_spec = replace(base_spec, spins=(config.target,))
    target_data = materialise(target_spec)  # generated once for both trainings and the three evaluations

    width = default_width((*config.base_spins, config.target)) if config.width is None else config.width

    def build() -> DynamicsPredictor:
        torch.manual_seed(config.seed)
        return DynamicsPredictor(max_spins=max_spins, width=width, cell=config.cell, num_layers=config.layers)

    def train(model: DynamicsPredictor, spec: SequenceSpec, epochs: int, lr: float, decay: float, cached=None):
        return train_predictor(
            model,
            spec,
            epochs=epochs,
            lr=lr,
            decay=decay,
            seed=config.seed,
            progress=progress,
            cached=cached,
            rollout=min(config.rollout, config.steps - 1),
            relative=config.relative,
        )

    start = time.perf_counter()
    base = build()
    base_history = train(base, base_spec, config.base_epochs, config.base_lr, config.base_decay)
    base_seconds = time.perf_counter() - start
    tuned = copy.deepcopy(base)
    tuned_history = train(tuned, target_spec, config.epochs, config.transfer_lr, config.transfer_decay, target_data)
    scratch = build()
    scratch_history = train(scratch, target_spec, config.epochs, config.base_lr, config.base_decay, target_data)
    rows = []
    for label, model in (("fine-tuned base", tuned), ("from scratch", scratch), ("base, no fine-tuning", base)):
        evaluation = evaluate_predictor(model, target_spec, count=20, cached=target_data)
        rows.append({"model": label, **summary_rows(evaluation, config.steps)[0]})
    curves = {"fine-tuned base": tuned_history.val_loss, "from scratch": scratch_history.val_loss}
    epochs_needed, verdict = transfer_verdict(curves)
    metrics = {
        "config": asdict(config),
        "curves": curves,
        "base_val_loss": base_history.val_loss,
        "base_seconds": base_seconds,
        "rows": rows,
        "epochs_to_scratch_loss": epochs_needed,
        "verdict": verdict,
    }
    if out is not None:
        out = Path(out)
        _io.write_json(out / "config.json", asdict(config))
        _io.write_json(out / "metrics.json", metrics)
        _plot(curves, out / "transfer.png", config.target)
        _io.write_text(
            out / "report.md",
            (
                f"# Transfer to N = {config.target} (base trained on N in {list(config.base_spins)})\n\n"
                f"Base: {config.base_epochs} epochs; then {config.epochs} epochs on N = {config.target} fine-tuning "
                f"(lr {config.transfer_lr}, decay {config.transfer_decay}) or from scratch (lr {config.base_lr}, decay {config.base_decay}).\n\n"
                f"{verdict}\n\n![validation loss](transfer.png)\n\n## At step {config.steps}\n\n{tables.format_table(rows, style='markdown')}\n"
            ),
        )
    return metrics
