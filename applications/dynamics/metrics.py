r"""Per-time-step metrics between predicted and exact state sequences (Zhang et al. Eq. 4-7).

All take ``predicted`` and ``exact`` complex tensors of shape (B, T, 2^N) and return (T,)
(the mean over the B sequences), except :func:`magnetisation`, which maps one set of
states to (B, T).

* :func:`mean_relative_entropy` - Zhang et al. Eq. (7) exactly: P and Q are the *normalised
  absolute coefficients* (Eq. 5, 6), P_x = |M_x^ED| / sum_x |M_x^ED|, not Born probabilities;
  D(t) = mean_n sum_x P log(P / Q) (0 log 0 = 0; a Q_x = 0 where P_x > 0 gives inf).
* :func:`born_kl` - the same divergence between the Born distributions |psi_x|^2 / ||psi||^2.
* :func:`magnetisation` - m(t) = (1/N) sum_i <Z_i>, computed on the normalised state.
* :func:`fidelity` - |<exact|pred>|^2 / (||exact||^2 ||pred||^2).
* :func:`norm_drift` - ||pred||^2 - 1 (0 for a norm-preserving predictor).
"""

from __future__ import annotations

import torch

from ornn import quantum

__all__ = ["mean_relative_entropy", "born_kl", "magnetisation", "fidelity", "norm_drift", "evaluate_sequences"]


def _check_states(name: str, t: object) -> None:
    """Refuse anything but a complex (batch, steps, 2^N) tensor, naming ``name`` and what came."""
    if not isinstance(t, torch.Tensor) or not t.is_complex() or t.dim() != 3:
        got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"{name}: expected a complex tensor (batch, steps, 2**N), got {got}")


def _check_pair(predicted: torch.Tensor, exact: torch.Tensor) -> None:
    _check_states("predicted", predicted)
    _check_states("exact", exact)
    if predicted.shape != exact.shape:
        raise ValueError(f"predicted: expected the shape of exact {tuple(exact.shape)}, got {tuple(predicted.shape)}")


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """sum_x p log(p / q) over the last axis, 0 log 0 = 0."""
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)


def mean_relative_entropy(predicted: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """Zhang et al. Eq. (7): (T,) mean over sequences of KL(P || Q) with P, Q the normalised |coefficients|."""
    _check_pair(predicted, exact)
    p = exact.abs()
    q = predicted.abs()
    p = p / p.sum(-1, keepdim=True)
    q = q / q.sum(-1, keepdim=True)
    return _kl(p, q).mean(0)


def born_kl(predicted: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """(T,) mean KL between the Born distributions of exact and predicted states."""
    _check_pair(predicted, exact)
    p = exact.abs() ** 2
    q = predicted.abs() ** 2
    return _kl(p / p.sum(-1, keepdim=True), q / q.sum(-1, keepdim=True)).mean(0)


def magnetisation(states: torch.Tensor) -> torch.Tensor:
    """m = (1/N) sum_i <Z_i> of each (normalised) state: (B, T, 2^N) -> (B, T)."""
    _check_states("states", states)
    n = states.shape[-1].bit_length() - 1
    probs = states.abs() ** 2
    mean_sign = quantum.z_signs(n, dtype=probs.dtype, device=probs.device).mean(0)  # (2^N,)
    return (probs * mean_sign).sum(-1) / probs.sum(-1)


def fidelity(predicted: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """(T,) mean |<exact|pred>|^2 / (||exact||^2 ||pred||^2)."""
    _check_pair(predicted, exact)
    overlap = (exact.conj() * predicted).sum(-1).abs() ** 2
    norms = (exact.abs() ** 2).sum(-1) * (predicted.abs() ** 2).sum(-1)
    return (overlap / norms).mean(0)


def norm_drift(predicted: torch.Tensor) -> torch.Tensor:
    """(T,) mean ||pred||^2 - 1."""
    return ((predicted.abs() ** 2).sum(-1) - 1.0).mean(0)


def evaluate_sequences(predicted: torch.Tensor, exact: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every metric per step: mre, born_kl, fidelity, norm_drift and |m_pred - m_exact| averaged over sequences."""
    return {
        "mre": mean_relative_entropy(predicted, exact),
        "born_kl": born_kl(predicted, exact),
        "fidelity": fidelity(predicted, exact),
        "norm_drift": norm_drift(predicted),
        "magnetisation_error": (magnetisation(predicted) - magnetisation(exact)).abs().mean(0),
    }
