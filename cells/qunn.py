r"""QUNN, the quantum-inspired universal computing RNN (the unification paper, Definition 3), as we read it.

The extraction of Definition 3 (Eqs. 15–20) is garbled, and read literally its hidden
generator D_l W_l is not anti-Hermitian, although the paper rests QUNN's stability on
that property. This module implements the following reading, chosen so that the
paper's stated invariants hold exactly; every departure from the letter of the
equations is listed.

**Registers.** The hidden state is a tape psi in R^d (x) R^L: a data register of
dimension d = ``hidden_size`` times a clock register of L = ``memory`` slots (the
memory range). We keep the tape in the clock's co-moving frame: the slot written at
the current step is always slot 0, the next step's slot is slot 1, and the tape is
rolled by one slot after every step. That is a relabelling of Definition 3's clock
states |l mod L>, which lets the output read a fixed slot.

**Step l** (p_1, p_2 are indexed by l mod L):

1. *Embedding* (Eq. 15): u_l = sigma_1(E x_l) is written onto slot 0 of the tape
   (|K_l> = sigma_1(E_l X_l) (x) |l>). E is a *fixed* map R^input_size -> R^d: the identity
   when the sizes agree, otherwise a seeded matrix with orthonormal rows or columns
   (a buffer, saved with the model, not trained; the paper's E_l carries a weight
   W_hj, which would make the parameter count depend on d, contradicting its claim).
2. *Data-built transitions* (Eq. 19): T_l = |u_l><u_{l-1}| (x) |0><L-1| - its transpose,
   the Feynman-clock transition from the previous input (now in slot L-1) to the
   current one. The generator memory mixes them over time,
   W_l = (1 - p_2(l)) W_{l-1} + p_2(l) T_l.
3. *Clock dispersion* (Eq. 18): S = I_d (x) (|1><0| - |0><1|) advances the clock.
   The hidden generator is the mixture G_l = (1 - p_1(l)) W_l + p_1(l) S. Eq. (17)
   writes a product D_l W_l, which is not antisymmetric in general; the mixture of
   the two antisymmetric generators is, for every input.
4. *Evolution* (Eq. 16) with the Cayley (implicit-midpoint) step, stable for any h:
   psi' = psi + h sigma_2(R_l G_l psi),  R_l = (I - (h/2) G_l)^{-1}. With sigma_2 = identity
   this is psi' = (I - hG/2)^{-1}(I + hG/2) psi, an orthogonal map: the norm is kept exactly.
5. *Readout* (Eq. 20): the projection on the next clock slot, y = sigma_3(<1| psi'),
   which after the roll is slot 0 of the new tape (overwritten by the next input:
   QUNN predicts the content of the next slot).

**Trainable parameters:** p_1(l) and p_2(l) for l = 0..L-1 (as sigmoids of logits),
2L numbers: linear in L and independent of the data dimension d.

**As an n-t-ORNN.** Gates (computed once per step from x_l, Y_l and the clock) hold
the written tape, the new generator memory and the Cayley increment; one stage
K_1 = sigma_2(increment); outputs tape' = tape + h K_1, W' = W_l, u' = u_l. The state
is ((tape, W, u_prev), clock) and (n, t) = (1, 1): the memory range L lives in the
tape, not in delays. The unification paper Table 1 lists QUNN as L-L-ORNN (see the family table).

**Cost.** The Cayley step solves a dL-dimensional system: O((dL)^3) per step. The sequence
path keeps the generator memory as its L nonzero (d x d) blocks, and for an even L (the
default 4), where the clock's cycle is bipartite, it solves through the Schur complement of
half the size, an eighth of the work. QUNN is meant for small registers.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import torch
from torch import nn

import ornn
from ornn import Output, Stage, UpdateRule, _checks

from ._fast import SequenceFastPath

__all__ = ["QUNN"]


def _fixed_embedding(hidden_size: int, input_size: int, seed: int) -> torch.Tensor:
    if hidden_size == input_size:
        return torch.eye(hidden_size)
    generator = torch.Generator().manual_seed(seed)
    m = torch.randn(
        max(hidden_size, input_size), min(hidden_size, input_size), generator=generator, dtype=torch.float64
    )
    q = torch.linalg.qr(m)[0]  # orthonormal columns
    return (q if hidden_size > input_size else q.T).to(torch.get_default_dtype())


@ornn.register_cell("qunn")
class QUNN(SequenceFastPath, ornn.ORNNCell):
    """Quantum-inspired universal computing RNN cell (our reading of the unification paper, Definition 3).

    Args:
        input_size: features of x_l.
        hidden_size: d, the data-register dimension (and the output size).
        memory: L, the number of clock slots (memory range).
        step_size: h of the Cayley step.
        input_activation: sigma_1 (default tanh).
        hidden_activation: sigma_2 (default identity: an orthogonal, norm-keeping step).
        output_activation: sigma_3 (default identity).
        embedding_seed: seeds the fixed embedding when input_size != hidden_size.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        memory: int = 4,
        step_size: float = 1.0,
        input_activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
        hidden_activation: Callable[[torch.Tensor], torch.Tensor] = ornn.identity,
        output_activation: Callable[[torch.Tensor], torch.Tensor] = ornn.identity,
        embedding_seed: int = 0,
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.memory = _checks.positive_int("memory", memory)
        self.step_size = _checks.positive_float("step_size", step_size)
        for name, fn in (
            ("input_activation", input_activation),
            ("hidden_activation", hidden_activation),
            ("output_activation", output_activation),
        ):
            if not callable(fn):
                raise TypeError(f"{name}: expected a callable, got {_checks.describe(fn)}")
        self.input_activation = input_activation
        self.output_activation = output_activation
        self.p_logits = nn.Parameter(torch.zeros(2, self.memory))  # p_1(l), p_2(l) = sigmoid(logits)
        self.register_buffer("embedding", _fixed_embedding(hidden_size, input_size, embedding_seed))
        self.rule = self._stock_rule = UpdateRule(
            stages=(Stage(hidden_activation, input_map="increment"),),
            output=(
                Output(weights={0: 1.0}, input_map="tape", gamma=0.0),
                Output(input_map="memory", gamma=0.0),
                Output(input_map="embedded", gamma=0.0),
            ),
            step_size=self.step_size,
            gates=self._gates,
            clocked=True,
        )

    # ----------------------------------------------------------------- generators
    def mixing(self, clock: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p_1(l), p_2(l) at step l = clock (indexed l mod L)."""
        p = torch.sigmoid(self.p_logits[:, torch.remainder(clock, self.memory)])
        return p[0], p[1]

    def transition(self, u: torch.Tensor, u_prev: torch.Tensor) -> torch.Tensor:
        """T = |u><u_prev| (x) |0><L-1| - transpose, as a batch of (dL, dL) matrices."""
        batch, d, slots = u.shape[0], self.hidden_size, self.memory
        t = u.new_zeros(batch, slots, d, slots, d)
        t[:, 0, :, slots - 1, :] += u[:, :, None] * u_prev[:, None, :]
        t = t.reshape(batch, slots * d, slots * d)
        return t - t.transpose(1, 2)

    def clock_generator(self, dtype: torch.dtype, device: Any) -> torch.Tensor:
        """S = I_d (x) (|1><0| - |0><1|) on the dL-dimensional tape (zero when L = 1)."""
        shift = torch.zeros(self.memory, self.memory, dtype=dtype, device=device)
        if self.memory > 1:
            shift[1, 0], shift[0, 1] = 1.0, -1.0
        return torch.kron(shift, torch.eye(self.hidden_size, dtype=dtype, device=device))

    def generator(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor, torch.Tensor], clock: torch.Tensor
    ) -> torch.Tensor:
        """G_l for the given input and state: antisymmetric for every input (tested)."""
        return self._gates(x, state, clock)["generator"]

    def _gates(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor, torch.Tensor], clock: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        tape, memory, u_prev = state
        batch = tape.shape[0]
        u = self.input_activation(x @ self.embedding.T)
        written = torch.cat([u.unsqueeze(1), tape[:, 1:]], dim=1).reshape(batch, -1)
        p1, p2 = self.mixing(clock)
        new_memory = (1.0 - p2) * memory + p2 * self.transition(u, u_prev)
        g = (1.0 - p1) * new_memory + p1 * self.clock_generator(tape.dtype, tape.device)
        eye = torch.eye(g.shape[-1], dtype=g.dtype, device=g.device)
        increment = torch.linalg.solve(eye - 0.5 * self.step_size * g, (g @ written.unsqueeze(-1))).squeeze(-1)
        return {"tape": written, "memory": new_memory, "embedded": u, "increment": increment, "generator": g}

    # ------------------------------------------------------------------- state
    def zero_state(
        self, batch_size: Optional[int], dtype: Optional[torch.dtype], device: Any
    ) -> tuple[torch.Tensor, ...]:
        dtype = dtype or self.default_dtype()
        lead = () if batch_size is None else (batch_size,)
        n = self.memory * self.hidden_size
        return (
            torch.zeros(*lead, self.memory, self.hidden_size, dtype=dtype, device=device),
            torch.zeros(*lead, n, n, dtype=dtype, device=device),
            torch.zeros(*lead, self.hidden_size, dtype=dtype, device=device),
        )

    def forward_unchecked(self, x: Optional[torch.Tensor], state: Any) -> tuple[torch.Tensor, Any]:
        (tape_flat, memory, u), clock = super().forward_unchecked(x, state)[1]
        # roll into the next step's frame: slot 1 becomes slot 0 (tape and generator memory alike)
        tape = torch.roll(tape_flat.reshape(-1, self.memory, self.hidden_size), shifts=-1, dims=1)
        return self.output_activation(tape[:, 0]), ((tape, self._roll_memory(memory, -1), u), clock)

    def _roll_memory(self, memory: torch.Tensor, shift: int) -> torch.Tensor:
        """The generator memory (B, dL, dL) with both clock indices rolled by ``shift`` slots."""
        slots, d = self.memory, self.hidden_size
        blocks = memory.reshape(-1, slots, d, slots, d)
        return torch.roll(blocks, shifts=(shift, shift), dims=(1, 3)).reshape(memory.shape)

    # -------------------------------------------------------------- sequences
    # the fast path re-implements these (the step's generator memory, clock shift and mixing)
    _fast_path_methods = ("mixing", "transition", "clock_generator")

    def _reframe(self, tape: torch.Tensor, memory: torch.Tensor, shift: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Roll the tape (B, L, d) and the generator memory (B, dL, dL) by ``shift`` clock slots."""
        return torch.roll(tape, shifts=shift, dims=1), self._roll_memory(memory, shift)

    def forward_sequence(self, x: torch.Tensor, state: Any) -> Any:
        r"""Fast path over (L_seq, B, input_size) in the clock's *fixed* frame.

        The step rolls the tape and the generator memory into the co-moving frame after every
        step; a consistent permutation of both leaves the Cayley step unchanged
        (solve(P A P^T, P w) = P solve(A, w)), so here slot l mod L is written in place and the
        state is rolled only on entry and exit. Per step, with A = I - (h/2) G,

            A = [I - (h/2) p_1 S] - (h/2)(1 - p_1) W_l,    R G w = (2/h)(A^{-1} w - w),

        since G = (2/h)(I - A): one factorisation and solve, and G itself is never formed (the
        bracket is built once per slot). The embeddings of all steps are one product.

        The memory is never kept dense. Every transition lands on a block (s, s - 1) of W and its
        negative transpose on (s - 1, s), so W_l = c_l W_0 + band(C_l), where c_l is the product of the
        (1 - p_2) so far and C_l holds one (d x d) block per slot: L d^2 numbers per sample instead of
        (L d)^2, decayed and updated in place of the dense memory, with a backward that touches only
        the band. The entry memory W_0 joins A only when it is nonzero or needs a gradient. The tape
        after the step, w + h sigma_2(.), carries an absolute error of a few ulps of |w| for every h.
        ``NotImplemented`` when :meth:`uses_fast_path` is false (the runner then steps the rule).
        """
        if not self.uses_fast_path():
            return NotImplemented
        (tape, memory, u_prev), clock = state
        slots, d, h = self.memory, self.hidden_size, self.step_size
        start = int(clock) % slots
        tape, memory = self._reframe(tape, memory, start)
        embedded = self.input_activation(x @ self.embedding.T)  # (L_seq, B, d)
        p1, p2 = torch.sigmoid(self.p_logits)  # (L,) each, indexed by slot
        shift = self.clock_generator(tape.dtype, tape.device)[None]
        clocks = torch.cat([self._roll_memory(shift, r) for r in range(slots)])  # S in each slot's frame
        eye = torch.eye(slots * d, dtype=tape.dtype, device=tape.device)
        # per slot, unbound once so the loop indexes Python lists (no per-step autograd nodes)
        fixed = (eye - (0.5 * h * p1)[:, None, None] * clocks).unbind(0)  # I - (h/2) p_1 S
        coupling = (-0.5 * h * (1.0 - p1)).unbind(0)  # the coefficient of W_l in A
        mixing = p2.unbind(0)
        carried = memory.requires_grad or bool(memory.any())  # does W_0 enter A at all?
        bipartite = slots % 2 == 0 and not carried  # A = [[I, X], [Y, I]] with the slots ordered even, then odd
        decay = torch.ones((), dtype=tape.dtype, device=tape.device)  # c_l
        blocks = tape.new_zeros(tape.shape[0], slots, d, d)  # C_l
        activation = self.rule.stages[0].activation
        outputs = []
        for t, u in enumerate(embedded.unbind(0)):
            slot, following = (start + t) % slots, (start + t + 1) % slots
            base = fixed[slot]
            if carried:
                decay = decay * (1.0 - mixing[slot])
                base = torch.addcmul(base, memory, coupling[slot] * decay)
            blocks, written, solved = _CayleyStep.apply(
                blocks, mixing[slot], u, u_prev, tape, base, coupling[slot], (slot, bipartite)
            )
            if activation is ornn.identity:
                stepped = torch.lerp(written, solved, 2.0)  # w + h (2/h)(A^{-1} w - w)
            else:
                stepped = torch.add(written, activation((solved - written) * (2.0 / h)), alpha=h)
            tape = stepped.reshape(-1, slots, d)
            outputs.append(self.output_activation(tape[:, following]))
            u_prev = u
        band = _band(blocks)
        memory = torch.addcmul(band, memory, decay) if carried else band
        end = start + len(outputs)
        tape, memory = self._reframe(tape, memory, -(end % slots))
        return torch.stack(outputs), ((tape, memory, u_prev), clock + len(outputs))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, memory={self.memory}, step_size={self.step_size}"


def _band_entries(slots: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Natural (row, column) indices in the (Ld, Ld) memory of every band entry, in the order of
    :func:`_band_values`: entry (s, i, j) of C_s sits at (s, i; s - 1, j), its negative at the transpose."""
    s, i, j = (axis.reshape(-1) for axis in torch.meshgrid(*map(torch.arange, (slots, d, d)), indexing="ij"))
    here, before = s * d + i, (s - 1) % slots * d + j
    return torch.cat([here, before]), torch.cat([before, here])


def _band_values(blocks: torch.Tensor) -> torch.Tensor:
    """The band's entries (B, 2 L d^2) in the order of :func:`_band_entries`: ``cat([C, -C])`` per sample."""
    flat = blocks.reshape(blocks.shape[0], -1)
    return torch.cat([flat, -flat], dim=1)


@functools.lru_cache(maxsize=32)
def _band_index(slots: int, d: int, device: torch.device) -> torch.Tensor:
    """Flat positions of the band's entries in a (Ld, Ld) matrix."""
    rows, cols = _band_entries(slots, d)
    return (rows * (slots * d) + cols).to(device)


@functools.lru_cache(maxsize=32)
def _bipartite_band_index(slots: int, d: int, device: torch.device) -> torch.Tensor:
    """Flat positions of the band's entries in the stacked couplings (X, Y) (2, Ld/2, Ld/2) of the even-odd
    order: X holds the rows of even slots (columns odd), Y those of odd slots."""
    rows, cols = _band_entries(slots, d)
    half = slots // 2 * d

    def compact(index: torch.Tensor) -> torch.Tensor:  # position within its parity's half
        return index // d // 2 * d + index % d

    return (rows // d % 2 * half * half + compact(rows) * half + compact(cols)).to(device)


def _add_band(dense: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
    """dense (B, Ld, Ld) += band(blocks) in place, in one scatter: C_s at (s, s - 1), -C_s^T at (s - 1, s)."""
    batch, slots, d, _ = blocks.shape
    dense.view(batch, -1).index_add_(1, _band_index(slots, d, blocks.device), _band_values(blocks))
    return dense


def _band(blocks: torch.Tensor) -> torch.Tensor:
    """The generator memory (B, Ld, Ld) whose only nonzero blocks are C_s at (s, s - 1) and -C_s^T at (s - 1, s)."""
    batch, slots, d, _ = blocks.shape
    return _add_band(blocks.new_zeros(batch, slots * d, slots * d), blocks)


@functools.lru_cache(maxsize=32)
def _opposite_parity(slots: int, d: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(Ld, Ld) mask: 1 where the row's and the column's slots differ in parity (the entries X and Y hold)."""
    parity = torch.arange(slots * d, device=device) // d % 2
    return (parity[:, None] != parity[None, :]).to(dtype)


def _factor_bipartite(base: torch.Tensor, scaled_blocks: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Couplings (B, 2, m, m) = (X, Y) of A = base + band(scaled_blocks) in even-odd order, and the LU
    factors of its Schur complement I - YX (m = Ld/2). ``base`` (n, n) must have identity diagonal
    blocks and couple only slots of opposite parity (QUNN's fixed part for even L does)."""
    batch, slots, d, _ = scaled_blocks.shape
    half = slots // 2 * d
    grid = base.view(slots // 2, 2, d, slots // 2, 2, d)
    fixed = torch.stack([grid[:, 0, :, :, 1, :].reshape(half, half), grid[:, 1, :, :, 0, :].reshape(half, half)])
    couplings = fixed.expand(batch, 2, half, half).clone()
    index = _bipartite_band_index(slots, d, base.device)
    couplings.view(batch, -1).index_add_(1, index, _band_values(scaled_blocks))
    x, y = couplings.unbind(1)
    eye = torch.eye(half, dtype=base.dtype, device=base.device)
    lu, pivots, _ = torch.linalg.lu_factor_ex(torch.baddbmm(eye, y, x, alpha=-1.0))
    return couplings, lu, pivots


def _solve_bipartite(
    couplings: torch.Tensor,
    lu: torch.Tensor,
    pivots: torch.Tensor,
    rhs: torch.Tensor,
    slots: int,
    d: int,
    adjoint: bool = False,
) -> torch.Tensor:
    """A^{-1} rhs (or A^{-T} rhs) for A = [[I, X], [Y, I]] in even-odd order, rhs (B, Ld) in natural order.

    A [a; b] = [r_e; r_o]:  (I - YX) b = r_o - Y r_e,  a = r_e - X b.
    A^T [a; b] = [r_e; r_o]:  (I - YX)^T b = r_o - X^T r_e,  a = r_e - Y^T b.
    """
    batch = rhs.shape[0]
    pairs = rhs.view(batch, slots // 2, 2, d)
    evens, odds = pairs[:, :, 0].reshape(batch, -1, 1), pairs[:, :, 1].reshape(batch, -1, 1)
    x, y = couplings.unbind(1)
    first, second = (y.transpose(1, 2), x.transpose(1, 2)) if adjoint else (x, y)
    odd = torch.linalg.lu_solve(lu, pivots, torch.baddbmm(odds, second, evens, alpha=-1.0), adjoint=adjoint)
    even = torch.baddbmm(evens, first, odd, alpha=-1.0)
    return torch.stack([even.view(batch, slots // 2, d), odd.view(batch, slots // 2, d)], dim=2).reshape(batch, -1)


class _CayleyStep(torch.autograd.Function):
    r"""One fast-path step of the tape, the memory's band and the Cayley solve, with a hand-written backward.

    Forward, for the tape T_prev (B, L, d) and the band blocks C_prev (B, L, d, d) of the fixed frame,
    the mixing p = p_2, the embeddings u, u_prev (B, d), the rest of the system F ((n, n), or (B, n, n)
    when it carries the entry memory), the coupling k and the clock slot s of this step::

        w = T_prev with slot s set to u,        C = (1 - p) C_prev,  C_s += p u u_prev^T,
        A = F + k band(C),                      y = A^{-1} w,

    returning (C, w, y). When ``bipartite`` (L even, F shared by the batch) every coupling in A joins
    an even slot to an odd one and the diagonal blocks are I, so in even-odd order A = [[I, X], [Y, I]]
    and A^{-1} w needs only the Schur complement I - YX of half the size (:func:`_factor_bipartite`):
    an eighth of the dense factorisation's work. Backward: z = A^{-T} g_y by one solve with the saved
    factors (the Schur complement's transpose in the bipartite case); the
    gradient G_A = -z y^T is read only where the band sits, -z_s y_{s-1}^T + y_s z_{s-1}^T for the
    block of slot s (the slices of z and y per slot), so nothing of size (Ld)^2 is formed per sample
    unless F is batched. The tests hold it to finite differences with ``torch.autograd.gradcheck``.
    """

    @staticmethod
    def forward(ctx, blocks_prev, mixing, u, u_prev, tape_prev, base, coupling, where):  # type: ignore[override]
        batch, slots, d = tape_prev.shape
        n = slots * d
        slot, bipartite = where
        written = tape_prev.clone()
        written[:, slot] = u
        written = written.reshape(batch, n)
        blocks = (1.0 - mixing) * blocks_prev
        blocks[:, slot] += mixing * (u[:, :, None] * u_prev[:, None, :])
        # A = I - (h/2) G with G antisymmetric has |eigenvalues| >= 1: never singular, so no error check
        if bipartite:
            couplings, lu, pivots = _factor_bipartite(base, coupling * blocks)
            solved = _solve_bipartite(couplings, lu, pivots, written, slots, d)
        else:
            couplings = written.new_empty(0)
            lu, pivots, _ = torch.linalg.lu_factor_ex(_add_band(base.expand(batch, n, n).clone(), coupling * blocks))
            solved = torch.linalg.lu_solve(lu, pivots, written.unsqueeze(-1)).squeeze(-1)
        ctx.save_for_backward(blocks_prev, mixing, u, u_prev, blocks, coupling, couplings, lu, pivots, solved)
        ctx.where = (slot, bipartite, base.dim() == 3)
        return blocks, written, solved

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_blocks, grad_written, grad_solved):  # type: ignore[override]
        blocks_prev, mixing, u, u_prev, blocks, coupling, couplings, lu, pivots, solved = ctx.saved_tensors
        slot, bipartite, batched_base = ctx.where
        batch, slots, d, _ = blocks.shape
        if grad_solved is None:
            grad_solved = torch.zeros_like(solved)
        if bipartite:
            through_solve = _solve_bipartite(couplings, lu, pivots, grad_solved, slots, d, adjoint=True)
        else:
            through_solve = torch.linalg.lu_solve(lu, pivots, grad_solved.unsqueeze(-1), adjoint=True).squeeze(-1)
        z, y = through_solve.view(batch, slots, d), solved.view(batch, slots, d)
        z_before, y_before = z.roll(1, dims=1), y.roll(1, dims=1)  # slot s - 1's slices at index s
        band_grad = y.unsqueeze(-1) * z_before.unsqueeze(-2) - z.unsqueeze(-1) * y_before.unsqueeze(-2)
        grad_coupling = torch.dot(band_grad.reshape(-1), blocks.reshape(-1))
        total = coupling * band_grad if grad_blocks is None else torch.addcmul(grad_blocks, band_grad, coupling)
        if batched_base:
            grad_base = -(through_solve.unsqueeze(-1) * solved.unsqueeze(-2))
        else:
            grad_base = -(through_solve.T @ solved)
            if bipartite:  # only the couplings between slots of opposite parity are read
                grad_base = grad_base * _opposite_parity(slots, d, grad_base.dtype, grad_base.device)
        total_slot = total[:, slot]
        block_u_prev = torch.bmm(total_slot, u_prev.unsqueeze(-1)).squeeze(-1)  # (G_s u_prev) per row
        grad_tape = through_solve if grad_written is None else through_solve + grad_written
        grad_tape = grad_tape.reshape(batch, slots, d)
        grad_u = mixing * block_u_prev + grad_tape[:, slot]
        grad_u_prev = mixing * torch.bmm(total_slot.transpose(1, 2), u.unsqueeze(-1)).squeeze(-1)
        grad_mixing = torch.dot(u.reshape(-1), block_u_prev.reshape(-1)) - torch.dot(
            total.reshape(-1), blocks_prev.reshape(-1)
        )
        grad_tape_prev = grad_tape.clone()
        grad_tape_prev[:, slot] = 0.0
        return (
            total * (1.0 - mixing),
            grad_mixing,
            grad_u,
            grad_u_prev,
            grad_tape_prev,
            grad_base,
            grad_coupling,
            None,
        )
