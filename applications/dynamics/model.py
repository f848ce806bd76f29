r"""The state-sequence predictor of Zhang et al. (Appendix A-B, Algorithm 1, Table B1), any registered cell inside.

For an N-spin state psi (2^N complex amplitudes) at each step::

    e      = [Re(psi) E_re[:2^N], Im(psi) E_im[:2^N]] + C[N - 1]     spin + chain encoding (R^width)
    u      = LN(dropout(ReLU(W_1 e)) W_2 + e)                        feed-forward block 1
    s      = recurrent stack (``cell`` x ``num_layers``, width wide)  SRU x 4 by default
    v      = LN(dropout(ReLU(W_3 s)) W_4 + s)                        feed-forward block 2
    psi'   = v_re E_re[:2^N]^T + i v_im E_im[:2^N]^T                 spin decoding (transposed tables)

E_re, E_im have 2^max_spins rows and width / 2 columns (Table B1: 1024 rows, 512 units in
all); v = [v_re, v_im] splits the same way. ``tie_decoder=False`` gives the decoder its own
tables, as the paper's E_dec. ``residual=True`` (our default) predicts the increment,
psi' = psi + decode(v): over dt = 0.002 a state moves by O(||H|| dt), so the network learns
the small change instead of re-synthesising the whole state (``residual=False`` is the
seed's form). Training is teacher-forced (:meth:`forward` on the exact
psi_0..psi_{T-1}, targets psi_1..psi_T), plus by default free-running rollout losses
(:func:`~applications.dynamics.train.rollout_loss`); :meth:`rollout` is the autoregressive inference
from one initial state, each prediction fed back as the next input.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn

import cells
from ornn import _checks

__all__ = ["StatePredictor", "DynamicsPredictor"]


class StatePredictor(nn.Module):
    """A model mapping (B, T, 2^N) states and a memory to next-state predictions: ``forward(states, memory)``.

    Subclasses provide ``forward``; :meth:`rollout` is the autoregressive inference both predictors share.
    """

    @torch.no_grad()
    def rollout(self, psi0: torch.Tensor, steps: int) -> torch.Tensor:
        """Autoregressive prediction from (B, 2^N) initial states: (B, steps + 1, 2^N), psi0 first."""
        _checks.tensor("psi0", psi0)
        if psi0.dim() != 2:
            raise ValueError(f"psi0: expected shape (batch, 2**N), got {tuple(psi0.shape)}")
        steps = _checks.positive_int("steps", steps)
        was_training = self.training
        self.eval()
        out, memory, current = [psi0], None, psi0[:, None, :]
        for _ in range(steps):
            current, memory = self(current, memory)
            out.append(current[:, 0])
        self.train(was_training)
        return torch.stack(out, dim=1)


class _FeedForward(nn.Module):
    """LN(dropout(ReLU(x W_1)) W_2 + x), Algorithm 1 lines 12 and 16."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.inner = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.outer(self.dropout(torch.relu(self.inner(x)))) + x)


class DynamicsPredictor(StatePredictor):
    """Predicts psi_{t+1} from psi_t (and the recurrent memory) for chains of up to ``max_spins`` spins.

    Args:
        max_spins: rows of the spin tables are 2^max_spins (Table B1: 10).
        width: feature width (Table B1: 512); must be even (real and imaginary halves).
        cell: a registered cell name for the recurrent stack (default ``"sru"``).
        num_layers: recurrent layers (Table B1: 4).
        dropout: dropout rate of the feed-forward blocks (Table B1: 0.005).
        tie_decoder: decode through the encoding tables (True) or separate ones.
        residual: predict psi_t + decode(v) (True) or decode(v) itself (the paper's form).
        cell_kwargs: extra arguments for the cell factory.
        increment_init: the starting value of the learned scale of the residual increment (residual only).
            The exact increment is -i dt H psi, about 1e-3 per amplitude at dt = 0.002, and the untrained decoder
            gives O(1) per amplitude: 0.002 starts near persistence (0.01 started at 30-130 times its one-step
            MSE and cost the first epochs; benchmarks/RESULTS.md, "The N = 2..7 recipe"). The gain is learned as
            its logarithm, gain = exp(increment_log_gain): an Adam step (lr 1e-3) moves a raw gain of 0.002 by about
            its own size, and at training seed 1 it crossed zero within 60 batches and the model settled at
            persistence; in log form a step changes it by about 0.1% and it stays positive.
    """

    def __init__(
        self,
        max_spins: int = 10,
        width: int = 512,
        cell: str = "sru",
        num_layers: int = 4,
        dropout: float = 0.005,
        tie_decoder: bool = True,
        residual: bool = True,
        cell_kwargs: Optional[dict[str, Any]] = None,
        increment_init: float = 0.002,
    ) -> None:
        super().__init__()
        self.max_spins = _checks.positive_int("max_spins", max_spins)
        if max_spins > 14:
            raise ValueError(f"max_spins: expected at most 14 (tables of 2^max_spins rows), got {max_spins}")
        self.width = _checks.positive_int("width", width, minimum=2)
        if width % 2:
            raise ValueError(f"width: expected an even number (real and imaginary halves), got {width}")
        _checks.probability("dropout", dropout)
        half = width // 2
        self.spin_re = nn.Parameter(torch.randn(2**max_spins, half) / half**0.5)
        self.spin_im = nn.Parameter(torch.randn(2**max_spins, half) / half**0.5)
        self.chain = nn.Parameter(torch.randn(max_spins, width) * 0.1)
        if tie_decoder:
            self.register_parameter("decode_re", None)
            self.register_parameter("decode_im", None)
        else:
            self.decode_re = nn.Parameter(torch.randn(2**max_spins, half) / half**0.5)
            self.decode_im = nn.Parameter(torch.randn(2**max_spins, half) / half**0.5)
        self.block_in = _FeedForward(width, dropout)
        self.recurrent = cells.recurrent(
            cell, width, width, num_layers=num_layers, batch_first=True, **(cell_kwargs or {})
        )
        self.block_out = _FeedForward(width, dropout)
        self.cell_name = cell
        # the increment's scale starts small, so an untrained residual model is close to persistence
        increment_init = _checks.positive_float("increment_init", increment_init)
        if residual:
            self.increment_log_gain = nn.Parameter(torch.tensor(math.log(increment_init)))
        else:
            self.register_parameter("increment_log_gain", None)
        self._register_load_state_dict_pre_hook(self._read_linear_gain)
        self.config = {
            "max_spins": max_spins,
            "width": width,
            "cell": cell,
            "num_layers": num_layers,
            "dropout": dropout,
            "tie_decoder": tie_decoder,
            "residual": bool(residual),
            "cell_kwargs": dict(cell_kwargs or {}),
            "increment_init": increment_init,
        }

    @property
    def residual(self) -> bool:
        return self.increment_log_gain is not None

    @property
    def increment_gain(self) -> Optional[torch.Tensor]:
        """The residual increment's scale exp(increment_log_gain), differentiable (None when not residual)."""
        return None if self.increment_log_gain is None else self.increment_log_gain.exp()

    def _read_linear_gain(self, state: dict, prefix: str, *args: Any) -> None:
        """Read checkpoints written before the gain was log-parameterised (key ``increment_gain``)."""
        old = state.pop(prefix + "increment_gain", None)
        if old is None:
            return
        if not float(old) > 0:
            raise ValueError(
                f"{prefix}increment_gain: expected a positive gain to take the logarithm of, got {float(old)} "
                "(a checkpoint whose gain crossed zero in training)"
            )
        state[prefix + "increment_log_gain"] = torch.log(old)

    def _spins(self, states: torch.Tensor) -> int:
        dim = states.shape[-1]
        n = dim.bit_length() - 1
        if not states.is_complex() or 1 << n != dim or not 1 <= n <= self.max_spins:
            raise ValueError(
                f"states: expected complex amplitudes over 2^N entries with 1 <= N <= {self.max_spins}, "
                f"got last dimension {dim} ({states.dtype})"
            )
        return n

    def _encode(self, states: torch.Tensor, n: int) -> torch.Tensor:
        rows = 2**n
        real_dtype = self.spin_re.dtype
        features = torch.cat(
            [states.real.to(real_dtype) @ self.spin_re[:rows], states.imag.to(real_dtype) @ self.spin_im[:rows]], dim=-1
        )
        return features + self.chain[n - 1]

    def _decode(self, v: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
        rows = 2**n
        table_re = self.spin_re if self.decode_re is None else self.decode_re
        table_im = self.spin_im if self.decode_im is None else self.decode_im
        v_re, v_im = v.chunk(2, dim=-1)
        return torch.complex(v_re @ table_re[:rows].T, v_im @ table_im[:rows].T).to(dtype)

    def forward(self, states: torch.Tensor, memory: Any = None) -> tuple[torch.Tensor, Any]:
        """(B, T, 2^N) input states -> (B, T, 2^N) next-state predictions and the recurrent memory."""
        _checks.tensor("states", states)
        if states.dim() != 3:
            raise ValueError(f"states: expected shape (batch, steps, 2**N), got {tuple(states.shape)}")
        n = self._spins(states)
        hidden, memory = self.recurrent(self.block_in(self._encode(states, n)), memory)
        decoded = self._decode(self.block_out(hidden), n, states.dtype)
        return (states + self.increment_gain * decoded if self.residual else decoded), memory
