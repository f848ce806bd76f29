"""Argument checks shared by the public entry points.

Every message names the argument, what was expected and what came, so a user
can fix the call without reading the source.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import torch


def describe(value: Any) -> str:
    """A short description of a value for error messages."""
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float, refusing non-numbers, non-finite and non-positive values."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: expected a positive real number, got {describe(value)}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return value


def positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``; bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return value


def probability(name: str, value: Any) -> float:
    """Return ``value`` as a float in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: expected a number in [0, 1), got {describe(value)}")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1), got {value!r}")
    return value


def tensor(name: str, value: Any) -> torch.Tensor:
    """Refuse anything that is not a tensor (no silent conversion of lists or arrays)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {describe(value)}")
    return value


def device(name: str, value: Any) -> torch.device:
    """Return ``value`` as a usable ``torch.device``: refuses unknown names and CUDA where there is none."""
    try:
        result = torch.device(value)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name}: expected a device such as 'cpu', 'cuda' or 'cuda:1', got {describe(value)}") from err
    if result.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}: CUDA is not available on this machine, got {value!r}; use 'cpu'")
        if result.index is not None and result.index >= torch.cuda.device_count():
            raise ValueError(f"{name}: this machine has {torch.cuda.device_count()} CUDA device(s), got {value!r}")
    elif result.type not in ("cpu", "mps"):
        raise ValueError(f"{name}: expected 'cpu' or 'cuda[:N]', got {value!r}")
    return result


def real_tensor(name: str, value: Any) -> torch.Tensor:
    """A floating-point (real) tensor: complex, integer and bool tensors are refused rather than cast."""
    tensor(name, value)
    if value.is_complex():
        raise TypeError(f"{name}: expected a real floating-point tensor, got complex dtype {value.dtype}")
    if not value.is_floating_point():
        raise TypeError(f"{name}: expected a real floating-point tensor, got dtype {value.dtype}")
    return value


def finite(name: str, value: torch.Tensor) -> torch.Tensor:
    """Refuse a tensor holding NaN or +-inf (real or imaginary part), naming the first bad entry."""
    bad = ~torch.isfinite(value)
    if bool(bad.any()):
        index = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"{name}: expected finite values, got {value[index].item()} at index {index} "
            f"({int(bad.sum())} non-finite of {value.numel()})"
        )
    return value
