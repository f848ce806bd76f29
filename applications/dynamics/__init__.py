"""Ising-chain dynamics: exact evolution (QuTiP and batched), data, predictors and metrics (Zhang et al.)."""

from .data import APPENDIX_C_SPINS, SequenceSpec, appendix_c_state, batches, cache, haar_states, load_cached, sequences
from .exact import DENSE_MAX_SPINS, MAX_SPINS, check_states, evolve_exact, evolve_qutip, ising_matrix, ising_qobj
from .metrics import born_kl, evaluate_sequences, fidelity, magnetisation, mean_relative_entropy, norm_drift
from .model import DynamicsPredictor
from .physics import NormPreservingPredictor
from .train import evaluate_predictor, evaluate_states, train_predictor, validation_loss

__all__ = [
    "MAX_SPINS",
    "DENSE_MAX_SPINS",
    "ising_qobj",
    "ising_matrix",
    "evolve_exact",
    "evolve_qutip",
    "check_states",
    "haar_states",
    "appendix_c_state",
    "APPENDIX_C_SPINS",
    "SequenceSpec",
    "sequences",
    "batches",
    "cache",
    "load_cached",
    "mean_relative_entropy",
    "born_kl",
    "magnetisation",
    "fidelity",
    "norm_drift",
    "evaluate_sequences",
    "DynamicsPredictor",
    "NormPreservingPredictor",
    "train_predictor",
    "validation_loss",
    "evaluate_predictor",
    "evaluate_states",
]
