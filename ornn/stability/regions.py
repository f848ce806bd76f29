r"""Stability of a Runge–Kutta tableau: its stability function, intervals and regions.

A Runge–Kutta step applied to y' = lambda y multiplies y by the stability function

    R(z) = 1 + z b^T (I - z A)^{-1} 1,      z = h lambda,

so the step is stable for the eigenvalue lambda when |R(h lambda)| <= 1. For an
explicit s-stage method R is a polynomial of degree s (1 + z for Euler,
sum_{k<=4} z^k / k! for the 4-stage, 4th-order methods).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Union

import numpy as np
import torch

from .. import _checks
from ..tableau import Tableau
from ..tableau import tableau as lookup_tableau

__all__ = [
    "stability_function",
    "stability_polynomial",
    "is_stable",
    "real_stability_interval",
    "imaginary_stability_interval",
    "plot_stability_regions",
]


def stability_function(tab: Union[str, Tableau], z: Any) -> np.ndarray:
    """R(z) = 1 + z b^T (I - zA)^{-1} 1, elementwise over an array of complex z (any tableau).

    For an explicit tableau R is the polynomial :func:`stability_polynomial`, evaluated by Horner's
    rule. A z at which R is not representable (overflow, or a pole of an implicit method) raises
    ``ValueError`` naming z rather than returning inf or NaN.
    """
    tab = lookup_tableau(tab)
    z_arr = _complex_array("z", z)
    values = _evaluate(tab, z_arr.reshape(-1))
    if not np.all(np.isfinite(values)):
        worst = z_arr.reshape(-1)[~np.isfinite(values)][0]
        raise ValueError(
            f"z: R(z) of the {tab.name!r} tableau is not representable at z = {worst:.3g} (overflow or pole)"
        )
    return values.reshape(z_arr.shape)


def _evaluate(tab: Tableau, flat: np.ndarray) -> np.ndarray:
    """R at every z of ``flat``; inf or NaN where it overflows or has a pole (|R| is then beyond any bound)."""
    with np.errstate(all="ignore"):
        if tab.explicit:
            return np.polynomial.polynomial.polyval(flat, stability_polynomial(tab))
        a, b, _ = tab.matrices()
        systems = np.eye(tab.stages)[None, :, :] - flat[:, None, None] * a[None, :, :]
        values = np.full(flat.shape, np.inf, dtype=np.complex128)
        singular = np.abs(np.linalg.det(systems)) == 0
        if np.any(~singular):
            ones = np.ones((int((~singular).sum()), tab.stages, 1), dtype=np.complex128)
            solved = np.linalg.solve(systems[~singular], ones)[..., 0]  # (N, s)
            values[~singular] = 1.0 + flat[~singular] * (solved @ b)
        return values


def _complex_array(name: str, value: Any) -> np.ndarray:
    """``value`` (numbers, arrays, tensors) as a complex array; strings, objects and non-finite values are refused."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biufc" or array.dtype.kind == "b":
        raise TypeError(f"{name}: expected complex or real numbers, got {_checks.describe(value)}")
    array = array.astype(np.complex128)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite values, got {_checks.describe(value)}")
    return array


def stability_polynomial(tab: Union[str, Tableau]) -> np.ndarray:
    """Coefficients (c_0, ..., c_s) of R(z) = sum c_k z^k for an explicit tableau (c_k = b^T A^{k-1} 1)."""
    tab = lookup_tableau(tab)
    if not tab.explicit:
        raise ValueError(f"tab: expected an explicit tableau (R is then a polynomial), got {tab.name!r}")
    a, b, _ = tab.matrices()
    coefficients = [1.0]
    power = np.ones(tab.stages)
    for _ in range(tab.stages):
        coefficients.append(float(b @ power))
        power = a @ power
    return np.array(coefficients)


def is_stable(tab: Union[str, Tableau], h_lambda: Any, *, tol: float = 1e-12) -> bool:
    """Whether |R(h lambda)| <= 1 (+ tol) for every given h * eigenvalue."""
    tab = lookup_tableau(tab)
    values = np.abs(_evaluate(tab, _complex_array("h_lambda", h_lambda).reshape(-1)))
    return bool(np.all(np.isfinite(values) & (values <= 1.0 + tol)))  # an overflowing R is not stable


def _first_exit(poly: np.polynomial.Polynomial, scale: float = 1.0) -> float:
    """Smallest t > 0 beyond which poly (with poly(0) = 0) turns positive; inf if it never does."""
    coefficients = poly.coef.copy()
    coefficients[np.abs(coefficients) < 1e-12] = 0.0  # the order conditions make low orders vanish
    poly = np.polynomial.Polynomial(coefficients)
    roots = np.sort(np.array([r.real for r in poly.roots() if abs(r.imag) < 1e-9 and r.real > 1e-12]))
    edges = [0.0, *roots.tolist()]
    for left, right in zip(edges, [*roots.tolist(), math.inf]):
        probe = right - (right - left) / 2 if math.isfinite(right) else left + max(1.0, left)
        if poly(probe) > 1e-12 * scale:
            return left
    return math.inf


def real_stability_interval(tab: Union[str, Tableau]) -> float:
    """r such that the explicit method is stable on [-r, 0] of the real axis (r = 2 for Euler)."""
    c = stability_polynomial(tab)
    p = np.polynomial.Polynomial(c * (-1.0) ** np.arange(len(c)))  # R(-x)
    return _first_exit(p * p - 1.0)


def imaginary_stability_interval(tab: Union[str, Tableau]) -> float:
    """y such that the method is stable on [-iy, iy] (0 for Euler and the 2-stage methods, 2 sqrt 2 for rk4)."""
    c = stability_polynomial(tab)
    powers = (1j) ** np.arange(len(c))
    re = np.polynomial.Polynomial((c * powers).real)
    im = np.polynomial.Polynomial((c * powers).imag)
    return _first_exit(re * re + im * im - 1.0)


def plot_stability_regions(
    tableaus: Iterable[Union[str, Tableau]],
    ax: Any = None,
    *,
    extent: tuple[float, float, float, float] = (-4.5, 1.5, -3.5, 3.5),
    resolution: int = 400,
) -> Any:
    """Draw the boundary |R(z)| = 1 of each tableau in the complex plane; returns the matplotlib Axes."""
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 5))
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    grid = xs[None, :] + 1j * ys[:, None]
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    # Methods with the same stability function share one curve (midpoint/heun/ralston, rk4/rk4_38).
    groups: dict[Any, list[Tableau]] = {}
    for tab in map(lookup_tableau, tableaus):
        key = tuple(np.round(stability_polynomial(tab), 12)) if tab.explicit else tab
        groups.setdefault(key, []).append(tab)
    for i, members in enumerate(groups.values()):
        colour = colours[i % len(colours)]
        ax.contour(xs, ys, np.abs(stability_function(members[0], grid)), levels=[1.0], colors=[colour])
        ax.plot([], [], color=colour, label=", ".join(t.name for t in members))
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.axvline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("Re(h λ)")
    ax.set_ylabel("Im(h λ)")
    ax.set_title("Stability regions |R(hλ)| ≤ 1 (inside each curve)")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize="small")
    return ax
