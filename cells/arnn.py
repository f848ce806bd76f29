r"""Anti-Hermitian recurrent networks, n-ARNN (the unification paper, Definition 2, Theorems 1, 2 and 4).

Weights are anti-Hermitian *by construction*, so the linear part of every step is
a rotation generator and the stability of the scheme is that of its integrator.

**1-ARNN** (``scheme="symplectic_euler"``): symplectic Euler on the real and imaginary parts (P, C)
of psi = P + iC, the unification paper Eq. (14), with a nonlinearity and an input::

    P' = P + h sigma(A C   + U_p x + b_p)
    C' = C - h sigma(A^T P' + U_c x + b_c)

The generator on (P, C) is the real antisymmetric block matrix G = [[0, A], [-A^T, 0]];
with sigma = identity, no input and symmetric A = H it is exactly Eq. (14)
(P' = P + dt H C, C' = C - dt H P'). As an n-t-ORNN it has two stages (the second
couples to the first through alpha_21 = A^T) and no delay: (n, t) = (2, 1).

**2-ARNN** (``scheme="leapfrog"``): the leapfrog (explicit midpoint) scheme with memory span 2::

    Y_{l+1} = Y_{l-1} + 2h sigma(W Y_l + V x_l + b),     W = A - A^T  (A - A^H for complex states)

one stage reading Y_l and an output reading Y_{l-1}: (n, t) = (1, 2).

Both steps have exact inverses (:meth:`ARNN.inverse`), solved backwards in the same
sequence, so a forward/backward round trip returns the start to round-off whatever sigma is.
Complex states (``complex_state=True``, leapfrog only) apply sigma to the real and
imaginary parts separately.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule, _checks, state_input

__all__ = ["ARNN"]


class _SplitActivation(nn.Module):
    """Picklable split activation (a module, so deepcopy and torch.save keep working)."""

    def __init__(self, sigma: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.complex(self.sigma(z.real), self.sigma(z.imag)) if z.is_complex() else self.sigma(z)


#: the two integrators of the unification paper's Definition 2
SCHEMES = ("symplectic_euler", "leapfrog")


@ornn.register_cell("arnn")
class ARNN(ornn.ORNNCell):
    """n-ARNN cell: ``scheme="symplectic_euler"`` (the 1-ARNN, state (P, C)) or ``"leapfrog"`` (the 2-ARNN,
    history (Y_l, Y_{l-1})).

    Args:
        input_size, hidden_size: feature sizes (the state has hidden_size entries per component).
        scheme: ``"symplectic_euler"`` or ``"leapfrog"`` (the paper's n = 1 and n = 2).
        step_size: h; Theorem 1 asks for |h max|lambda(G)|| < 1.
        activation: sigma, a monotonic pointwise map (default tanh).
        bias: learn b (b_p, b_c for symplectic Euler).
        complex_state: leapfrog only: complex Y and W = A - A^H.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        scheme: str = "leapfrog",
        step_size: float = 0.1,
        activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
        bias: bool = True,
        complex_state: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size)
        if scheme not in SCHEMES:
            raise ValueError(f"scheme: expected one of {', '.join(repr(s) for s in SCHEMES)}, got {scheme!r}")
        euler = scheme == "symplectic_euler"
        if not callable(activation):
            raise TypeError(f"activation: expected a callable, got {_checks.describe(activation)}")
        if not isinstance(complex_state, bool):
            raise TypeError(f"complex_state: expected a bool, got {complex_state!r}")
        if complex_state and euler:
            raise ValueError(
                "complex_state: symplectic Euler already evolves psi = P + iC as two real parts; expected False"
            )
        self.scheme = scheme
        self.step_size = _checks.positive_float("step_size", step_size)
        self.complex_state = complex_state
        self.activation = _SplitActivation(activation)
        h, i = hidden_size, input_size
        # entries N(0, 1/h); a complex A splits that variance between its real and imaginary parts,
        # so W = A - A^H has the same scale (and the leapfrog the same round-off growth) as in the real case
        parts = 2.0 if complex_state else 1.0
        scale = 1.0 / math.sqrt(parts * h)
        self.weight_a = nn.Parameter(torch.randn(h, h) * scale)
        if complex_state:
            self.weight_a_imag = nn.Parameter(torch.randn(h, h) * scale)
            self.weight_v_imag = nn.Parameter(torch.randn(h, i) / math.sqrt(parts * i))
        self.weight_v = nn.Parameter(torch.randn(2 * h if euler else h, i) / math.sqrt(parts * i))
        self.bias_v = nn.Parameter(torch.zeros(2 * h if euler else h)) if bias else None

        if euler:
            self.rule = UpdateRule(
                stages=(
                    Stage(self.activation, input_map="momentum"),
                    Stage(self.activation, input_map="position", couplings={0: self._transpose_map}),
                ),
                output=(Output(weights={0: 1.0}), Output(weights={1: -1.0})),
                step_size=self.step_size,
                gates=self._input_drives,
            )
        else:
            self.rule = UpdateRule(
                stages=(Stage(self.activation, input_map=self._leapfrog_drive),),
                output=Output(weights={0: 2.0}, input_map=state_input, delay=1, gamma=0.0),
                step_size=self.step_size,
            )

    # ------------------------------------------------------------------ weights
    def generator(self) -> torch.Tensor:
        """The anti-Hermitian weight: G = [[0, A], [-A^T, 0]] (symplectic Euler) or W = A - A^H (leapfrog)."""
        if self.scheme == "symplectic_euler":
            a = self.weight_a
            zero = torch.zeros_like(a)
            return torch.cat([torch.cat([zero, a], 1), torch.cat([-a.T, zero], 1)], 0)
        a = torch.complex(self.weight_a, self.weight_a_imag) if self.complex_state else self.weight_a
        return a - a.mH

    def anti_hermitian_weights(self) -> list[torch.Tensor]:
        return [self.generator()]

    def _input_weight(self) -> torch.Tensor:
        return torch.complex(self.weight_v, self.weight_v_imag) if self.complex_state else self.weight_v

    # ------------------------------------------------------------------ symplectic Euler
    def _input_drives(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], clock: Any
    ) -> dict[str, torch.Tensor]:
        # Stage 1 reads A C + U_p x + b_p; stage 2 reads A^T P + U_c x + b_c, and its coupling
        # alpha_21 = A^T adds h A^T K_1, so its argument is A^T P' with P' = P + h K_1.
        drive_p, drive_c = self._drives(x)
        p, c = state
        return {"momentum": F.linear(c, self.weight_a) + drive_p, "position": F.linear(p, self.weight_a.T) + drive_c}

    def _drives(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.linear(x, self.weight_v, self.bias_v).chunk(2, dim=-1)

    def _transpose_map(self, k: torch.Tensor) -> torch.Tensor:
        return F.linear(k, self.weight_a.T)

    # ------------------------------------------------------------------ leapfrog
    def _leapfrog_drive(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        w = self.generator()
        drive = F.linear(x.to(w.dtype), self._input_weight())
        if self.bias_v is not None:
            drive = drive + self.bias_v
        return y @ w.T + drive

    # ------------------------------------------------------------------ state and inverse
    def zero_state(self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any) -> Any:
        y = super().zero_state(batch_size, dtype, device)
        if self.scheme == "symplectic_euler":
            return y, torch.zeros_like(y)
        if self.complex_state:
            return torch.complex(y, torch.zeros_like(y))
        return y

    def output_of(self, y: Any) -> torch.Tensor:
        """Symplectic Euler: P (the real part); leapfrog: Y itself."""
        return y[0] if isinstance(y, tuple) else y

    def inverse(self, x: torch.Tensor, state: Any) -> Any:
        """The exact previous state: undo C then P (symplectic Euler), or solve the leapfrog for Y_{l-1}."""
        h = self.step_size
        if self.scheme == "symplectic_euler":
            p_next, c_next = state
            drive_p, drive_c = self._drives(x)
            c = c_next + h * self.activation(F.linear(p_next, self.weight_a.T) + drive_c)
            p = p_next - h * self.activation(F.linear(c, self.weight_a) + drive_p)
            return p, c
        y_next, y = state
        return y, y_next - 2 * h * self.activation(self._leapfrog_drive(y, x))

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, scheme={self.scheme!r}, step_size={self.step_size}, "
            f"complex_state={self.complex_state}"
        )
