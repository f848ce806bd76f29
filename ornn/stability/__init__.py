r"""Stability analysis, at the level of a tableau and of a cell, one module per job:

* :mod:`~ornn.stability.regions`: tableau stability functions, intervals and region plots;
* :mod:`~ornn.stability.trajectory`: a cell's Jacobians, Lyapunov exponents, gradient ratios, skewness, round trips;
* :mod:`~ornn.stability.verdict`: :func:`check` and its :class:`StabilityReport`.

Everything is re-exported here: ``ornn.stability.check(cell, inputs)``, ``ornn.stability.is_stable("rk4", z)``.
"""

from __future__ import annotations

from .regions import (
    imaginary_stability_interval,
    is_stable,
    plot_stability_regions,
    real_stability_interval,
    stability_function,
    stability_polynomial,
)
from .trajectory import (
    gradient_norm_ratio,
    log_gradient_norm_ratio,
    lyapunov_exponents,
    round_trip_error,
    skewness,
    spectral_norm,
    spectral_radius,
    step_jacobian,
)
from .verdict import PROPERTIES, StabilityReport, check

__all__ = [
    "stability_function",
    "stability_polynomial",
    "is_stable",
    "real_stability_interval",
    "imaginary_stability_interval",
    "plot_stability_regions",
    "step_jacobian",
    "spectral_radius",
    "spectral_norm",
    "lyapunov_exponents",
    "gradient_norm_ratio",
    "log_gradient_norm_ratio",
    "skewness",
    "round_trip_error",
    "PROPERTIES",
    "StabilityReport",
    "check",
]
