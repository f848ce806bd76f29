"""Run folders of a trained Ising predictor: rebuild the model and its data, and evaluate it into a report.

A run folder (written by ``ornn dynamics train``) holds ``config.json`` (the model kind and
constructor arguments, the data spec or the cache it came from, the training settings),
``checkpoint.pt`` and ``best.pt``. :func:`evaluate_run` adds ``evaluation.json``,
``report.md`` and the plots.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Union

import torch

from ornn import _io, tables
from ornn.training import load_weights

from .data import APPENDIX_C_SPINS, SequenceSpec, appendix_c_state, load_cached, sequences
from .model import DynamicsPredictor
from .physics import NormPreservingPredictor
from .report import behind_persistence, plot_amplitudes, plot_magnetisation, plot_metric, summary_rows
from .train import evaluate_predictor, evaluate_states, to_model

__all__ = ["MODEL_KINDS", "build_model", "load_run", "evaluate_run", "read_states", "evaluate_states_of_run"]

#: ``kind`` in a run's config -> what it builds: the encoders + recurrent stack of Zhang et al.
#: (arXiv:1905.09168, Table B1), or psi itself evolved by a linear 1-ARNN per chain length
MODEL_KINDS = ("recurrent-stack", "norm-preserving")


def build_model(config: dict[str, Any]) -> torch.nn.Module:
    """The (untrained) model a run folder's config describes; a config that describes none raises ``ValueError``."""
    if not isinstance(config, dict):
        raise ValueError(f"config: expected a dict with 'kind' and 'model', got {type(config).__name__}")
    kind = config.get("kind")
    if kind not in MODEL_KINDS:
        raise ValueError(f"config: expected a model kind in {', '.join(MODEL_KINDS)}, got {kind!r}")
    arguments = config.get("model")
    if not isinstance(arguments, dict):
        raise ValueError(f"config: expected 'model' to hold the constructor arguments, got {arguments!r:.60}")
    try:
        if kind == "norm-preserving":
            return NormPreservingPredictor(tuple(arguments["spins"]), dt=arguments["dt"])
        return DynamicsPredictor(**arguments)
    except (KeyError, TypeError) as err:
        raise ValueError(f"config: the 'model' entry does not describe a {kind} model ({err})") from None


def _data(config: dict[str, Any], folder: Path) -> tuple[SequenceSpec, Optional[dict]]:
    """The run's data: a cache (its path relative to the run folder, or absolute in older runs; checksummed) or the
    spec to regenerate it from."""
    if config.get("data"):
        return load_cached(folder / config["data"])  # an absolute path stays absolute
    raw = config.get("spec")
    try:
        return SequenceSpec(**{**raw, "spins": tuple(raw["spins"])}), None
    except (KeyError, TypeError) as err:
        raise ValueError(f"config: the 'spec' entry does not describe a data spec ({err})") from None


def load_run(
    folder: Union[str, Path], device: Any = "cpu"
) -> tuple[torch.nn.Module, SequenceSpec, Optional[dict], dict]:
    """(model with its best weights, data spec, cached sequences or None, config) of a run folder.

    Every way a folder can be unreadable (missing, truncated or foreign files, weights of another
    shape) raises ``FileNotFoundError`` or ``ValueError`` with a one-line message.
    """
    folder = Path(folder)
    config = _io.read_json(folder / "config.json", "config.json of the run", keys=("kind", "model", "spec"))
    try:
        spec, cached = _data(config, folder)
        model = build_model(config).to(device)
    except ValueError as err:
        raise ValueError(f"{folder / 'config.json'}: {err}") from None
    load_weights(model, folder / "best.pt", what="best.pt of the run")
    return model, spec, cached, config


def evaluate_run(
    folder: Union[str, Path], *, steps: Optional[int] = None, count: Optional[int] = None, device: Any = "cpu"
) -> dict[str, Any]:
    """Roll the run's model out on its held-out states, write evaluation.json, report.md and plots; return the tables.

    ``steps`` beyond the data's horizon regenerates the same seeded sequences for longer (their first
    steps are unchanged). Each N with an initial state in Zhang et al. Appendix C is also rolled out from that state
    (appendix-c.json and a report section). Returns ``{"evaluation": ..., "table": rows at the last step,
    "growth": rows at 100/250/1000, "appendix_c": rows of the paper's states, "appendix_c_verdict": a sentence}``.
    """
    folder = Path(folder)
    model, spec, cached, config = load_run(folder, device)
    steps = spec.steps if steps is None else steps
    if steps > spec.steps:  # same seeds, longer exact evolution
        spec, cached = replace(spec, steps=steps), None
    evaluation = evaluate_predictor(model, spec, steps=steps, count=count, cached=cached)
    _io.write_json(folder / "evaluation.json", {str(n): v for n, v in evaluation.items()})
    plot_metric(evaluation, "mre", folder / "mre.png", ylabel="mean relative entropy (Eq. 7)", log=True)
    plot_metric(evaluation, "magnetisation_error", folder / "magnetisation_error.png", ylabel="|m_pred - m_exact|")
    first = spec.split_range("test").start
    exact = {
        n: to_model(sequences(spec, n, range(first, first + 1), cached=cached)[0, : steps + 1], model)
        for n in spec.spins
    }
    predicted = {n: model.rollout(exact[n][None, 0], steps)[0] for n in spec.spins}
    plot_amplitudes(predicted, exact, folder / "amplitudes.png")
    plot_magnetisation(predicted, exact, folder / "magnetisation.png")
    table = summary_rows(evaluation, steps)
    horizons = [k for k in (100, 250, 1000) if k <= steps]
    growth = (
        [
            {
                "N": n,
                **{f"MRE @ {k}": per["predictor"]["mre"][k] for k in horizons},
                **{f"persistence @ {k}": per["persistence"]["mre"][k] for k in horizons},
                **{f"norm drift @ {k}": per["predictor"]["norm_drift"][k] for k in horizons},
            }
            for n, per in sorted(evaluation.items())
        ]
        if horizons
        else []
    )
    paper_states = _appendix_c_rows(model, spec, steps, horizons or [steps])
    last = (horizons or [steps])[-1]
    _io.write_json(folder / "appendix-c.json", paper_states)
    label = config["model"].get("cell", config["kind"])
    growth_text = tables.format_table(growth, style="markdown") if growth else "(no horizon of 100 steps or more)"
    paper_verdict = behind_persistence(paper_states, f"MRE @ {last}", f"persistence @ {last}") if paper_states else ""
    paper_text = (
        tables.format_table(paper_states, style="markdown") + "\n\n" + paper_verdict
        if paper_states
        else f"(none of the run's chain lengths is one of {APPENDIX_C_SPINS})"
    )
    report = (
        f"# Ising predictor ({label}) against exact evolution\n\n"
        f"Autoregressive rollout of {steps} steps from held-out Haar-random states; persistence repeats the initial state.\n\n"
        f"## At step {steps}\n\n{tables.format_table(table, style='markdown')}\n\n{behind_persistence(table)}\n\n"
        f"## MRE growth\n\n{growth_text}\n\n"
        f"## The paper's initial states (Zhang et al. Appendix C)\n\n{paper_text}\n\n"
        "![MRE](mre.png)\n\n![magnetisation](magnetisation.png)\n\n![magnetisation error](magnetisation_error.png)\n\n"
        "![amplitudes](amplitudes.png)\n"
    )
    _io.write_text(folder / "report.md", report)
    return {
        "evaluation": evaluation,
        "table": table,
        "growth": growth,
        "appendix_c": paper_states,
        "appendix_c_verdict": paper_verdict,
    }


def _appendix_c_rows(model: torch.nn.Module, spec: SequenceSpec, steps: int, horizons: list[int]) -> list[dict]:
    """Per N of the run with an Appendix C state: the rollout from that one state against exact evolution, with the
    MRE of the model and of persistence and the model's fidelity and norm drift at each horizon."""
    rows = []
    for n in (n for n in spec.spins if n in APPENDIX_C_SPINS):
        result = evaluate_states(model, appendix_c_state(n), steps, dt=spec.dt, g=spec.g, h=spec.h)
        ours, persistence = result["predictor"], result["persistence"]
        rows.append(
            {
                "N": n,
                **{f"MRE @ {k}": ours["mre"][k] for k in horizons},
                **{f"persistence @ {k}": persistence["mre"][k] for k in horizons},
                **{f"fidelity @ {k}": ours["fidelity"][k] for k in horizons},
                f"norm drift @ {horizons[-1]}": ours["norm_drift"][horizons[-1]],
                "beats persistence": "yes" if ours["mre"][horizons[-1]] < persistence["mre"][horizons[-1]] else "no",
            }
        )
    return rows


def read_states(path: Union[str, Path]) -> torch.Tensor:
    """Initial states from a file: ``.npy`` (a complex array (B, 2^N) or (2^N,)) or ``.json`` ([re, im] pairs,
    nested as (B, 2^N, 2) or (2^N, 2)). Every unreadable file is one ``FileNotFoundError``/``ValueError``."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"--states: expected a .npy or .json file of initial states, got {path}, which does not exist"
        )
    if path.suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"--states: {path} is not a readable .npy array ({err})") from None
        if array.dtype.kind != "c":
            raise ValueError(f"--states: expected complex amplitudes in {path}, got dtype {array.dtype}")
        return torch.from_numpy(np.ascontiguousarray(array.astype(np.complex128)))
    if path.suffix == ".json":
        try:
            pairs = np.asarray(json.loads(path.read_text()), dtype=np.float64)
        except (ValueError, TypeError, UnicodeDecodeError) as err:
            raise ValueError(f"--states: {path} is not a JSON array of [re, im] pairs ({err})") from None
        if pairs.ndim not in (2, 3) or pairs.shape[-1] != 2:
            raise ValueError(
                f"--states: expected [re, im] pairs of shape (B, 2^N, 2) or (2^N, 2) in {path}, got {pairs.shape}"
            )
        return torch.complex(torch.from_numpy(pairs[..., 0]), torch.from_numpy(pairs[..., 1]))
    raise ValueError(f"--states: expected a .npy or .json file, got {path.name}")


def evaluate_states_of_run(
    folder: Union[str, Path], states_file: Union[str, Path], *, steps: int = 100, device: Any = "cpu"
) -> dict[str, Any]:
    """:func:`~applications.dynamics.train.evaluate_states` of a run's model on the states in ``states_file``, with
    the run's dt, g and h; writes states-evaluation.json, states-evaluation.csv and states-mre.png into the run."""
    folder = Path(folder)
    model, spec, _, config = load_run(folder, device)
    result = evaluate_states(model, read_states(states_file), steps, dt=spec.dt, g=spec.g, h=spec.h)
    result["states"] = str(Path(states_file).resolve())
    _io.write_json(folder / "states-evaluation.json", result)
    rows = [
        {
            "step": k,
            **{
                f"{name} {metric}": result[name][metric][k]
                for name in ("predictor", "persistence")
                for metric in ("mre", "fidelity", "norm_drift")
            },
        }
        for k in range(steps + 1)
    ]
    _io.write_text(folder / "states-evaluation.csv", tables.format_table(rows, style="csv"))
    plot_metric(
        {result["N"]: result}, "mre", folder / "states-mre.png", ylabel="mean relative entropy (Eq. 7)", log=True
    )
    return result
