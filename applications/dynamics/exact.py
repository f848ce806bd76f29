r"""The Ising chain of Zhang et al. and its exact evolution, two ways.

Zhang et al. Eq. (1), open chain of N spins, hbar = 1::

    H = - sum_{i<N} Z_i Z_{i+1} - h sum_i Z_i - g sum_i X_i       (g = -1.05, h = 0.5 by default)

Wire 0 is the most significant bit of a basis index, |0> is spin up (Z = +1), as in
QuTiP's ``tensor``.

* :func:`ising_qobj` - H as a QuTiP operator, and :func:`evolve_qutip` - the reference:
  ``qutip.sesolve`` once per initial state, tight tolerances.
* :func:`ising_matrix` - H as a dense or sparse torch matrix, built from bit operations
  (diagonal Z terms from the Z-sign table, X terms as bit flips), independent of QuTiP.
* :func:`evolve_exact` - all initial states at once. ``method="eig"``: one eigendecomposition
  H = V E V^T (cached), then psi(t_k) = V (e^{-i E t_k} * V^T psi0) for every step, exact at
  each step (no accumulated error); it costs 4^N per state and step. Up to
  ``PROPAGATOR_MAX_DIM`` amplitudes, and for batches that amortise reading it, the propagators
  of every step of the time grid are cached side by side, so a call is one complex product;
  otherwise the coefficients are rotated and multiplied by V in cache-sized blocks, with one
  real product per block (V is real). ``method="krylov"``: batched Lanczos on the matrix-free H
  (diagonal Z terms times psi plus N bit flips for the X terms, so (N + 1) 2^N per
  product): a Krylov space of dimension ``KRYLOV_DIM`` built from the current states
  serves a window of steps with ||H|| * window <= ``KRYLOV_REACH``, and every step of the window is
  read off exp(-i T tau) of the small tridiagonal T. ``"auto"`` picks ``eig`` up to
  ``DENSE_MAX_SPINS`` spins (where the dense products are cheaper) and ``krylov`` above.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import qutip
import torch

from ornn import _checks, quantum

__all__ = [
    "MAX_SPINS",
    "DENSE_MAX_SPINS",
    "ising_qobj",
    "ising_matrix",
    "evolve_exact",
    "evolve_qutip",
    "check_states",
    "as_state_tensor",
]

#: the largest chain the exact evolution accepts (a 2^16 statevector per sample)
MAX_SPINS = 16
#: ``method="auto"`` diagonalises H up to this size and uses the Krylov path above it
DENSE_MAX_SPINS = 8
#: largest Krylov dimension, and the largest reach ||H|| * window served by one Krylov space; the
#: dimension used is the smallest meeting Saad's bound 2 r^m e^r / m! <= 1e-13 for the window's reach
KRYLOV_DIM = 40
KRYLOV_REACH = 4.0
#: the eigenbasis path keeps a table of every step's propagator (one complex product per call) up to
#: this Hilbert-space dimension and this many complex entries ((steps + 1) 4^N; 16 MiB in complex128)
PROPAGATOR_MAX_DIM = 64
PROPAGATOR_MAX_ENTRIES = 2**20
#: ... and while the batch amortises reading it: at most this many entries (512 KiB in complex128) per state.
#: Measured at 100 steps against the floor (one and two threads): one state at N = 4 costs 0.9-2.0x through the
#: table and 2.8-4.3x through the rotations, at N = 6 4.9-6.4x and 1.5-2.9x; at N = 6 the two cross between 16
#: states (rotations ahead) and 64 (table ahead), and this rule switches at 13 (``benchmarks/RESULTS.md``)
PROPAGATOR_ENTRIES_PER_STATE = 2**15
#: above that, the eigenbasis path works in blocks of this many real numbers (4 MiB in float64 per buffer)
EIG_BLOCK = 2**19


def _spins(n_spins: int) -> int:
    if isinstance(n_spins, bool) or not isinstance(n_spins, int) or not 1 <= n_spins <= MAX_SPINS:
        raise ValueError(f"n_spins: expected an integer in [1, {MAX_SPINS}], got {n_spins!r}")
    return n_spins


def _field(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def ising_qobj(n_spins: int, g: float = -1.05, h: float = 0.5) -> qutip.Qobj:
    """Zhang et al. Eq. (1) as a QuTiP operator on N qubits."""
    n = _spins(n_spins)
    g, h = _field("g", g), _field("h", h)

    def site(op: qutip.Qobj, i: int) -> qutip.Qobj:
        return qutip.tensor(*[op if j == i else qutip.qeye(2) for j in range(n)])

    z, x = qutip.sigmaz(), qutip.sigmax()
    total = 0 * site(z, 0)
    for i in range(n - 1):
        total = total - site(z, i) * site(z, i + 1)
    for i in range(n):
        total = total - h * site(z, i) - g * site(x, i)
    return total


def ising_matrix(
    n_spins: int,
    g: float = -1.05,
    h: float = 0.5,
    *,
    sparse: bool = False,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> torch.Tensor:
    """H as a real (2^N x 2^N) torch matrix, dense or sparse COO; built without QuTiP."""
    n = _spins(n_spins)
    g, h = _field("g", g), _field("h", h)
    diagonal = _ising_diagonal(n, h, dtype, device)
    index = torch.arange(2**n, device=device)
    rows = [index]
    cols = [index]
    values = [diagonal]
    for wire in range(n):
        rows.append(index)
        cols.append(index ^ (1 << (n - 1 - wire)))  # X on wire flips that bit
        values.append(torch.full((2**n,), -g, dtype=dtype, device=device))
    matrix = torch.sparse_coo_tensor(
        torch.stack([torch.cat(rows), torch.cat(cols)]), torch.cat(values), (2**n, 2**n), check_invariants=False
    ).coalesce()
    return matrix if sparse else matrix.to_dense()


def _ising_diagonal(n: int, h: float, dtype: torch.dtype, device=None) -> torch.Tensor:
    """The Z terms of H, -sum Z_i Z_{i+1} - h sum Z_i, as the (2^N,) diagonal."""
    signs = quantum.z_signs(n, dtype=dtype, device=device)  # (n, 2^n)
    return -(signs[:-1] * signs[1:]).sum(0) - h * signs.sum(0)


def _norm_bound(n: int, g: float, h: float) -> float:
    """||H|| <= the sum of its terms' norms: (N - 1) + N |h| + N |g|."""
    return (n - 1) + n * abs(h) + n * abs(g)


def as_state_tensor(name: str, states: Any) -> torch.Tensor:
    """States given as a tensor, a complex numpy array or a QuTiP ket (or a list of kets), as a tensor.

    Nothing is cast: a real array is refused (a state is complex), a QuTiP operator or bra is refused.
    """
    if isinstance(states, torch.Tensor):
        return states
    if isinstance(states, qutip.Qobj) or (
        isinstance(states, (list, tuple)) and states and all(isinstance(k, qutip.Qobj) for k in states)
    ):
        kets = [states] if isinstance(states, qutip.Qobj) else list(states)
        for i, ket in enumerate(kets):
            if not ket.isket:
                raise TypeError(f"{name}: expected QuTiP kets, got a {ket.type} at position {i}")
        rows = [np.asarray(ket.full(), dtype=np.complex128)[:, 0] for ket in kets]
        array = rows[0] if isinstance(states, qutip.Qobj) else np.stack(rows)
        return torch.from_numpy(array)
    if isinstance(states, np.ndarray):
        if states.dtype.kind != "c":
            raise TypeError(f"{name}: expected a complex array (amplitudes), got dtype {states.dtype}")
        return torch.from_numpy(np.ascontiguousarray(states))
    raise TypeError(
        f"{name}: expected a complex tensor, a complex numpy array or a QuTiP ket, got {_checks.describe(states)}"
    )


_FEW_STATES = 8  # check_states reads up to this many norms one by one


def check_states(psi0: torch.Tensor, n_spins: int, *, atol: float = 1e-6) -> torch.Tensor:
    """Validate initial states: complex (B, 2^N) or (2^N,), finite, unit norm; returns them batched."""
    n = _spins(n_spins)
    _checks.tensor("psi0", psi0)
    if psi0.dtype not in (torch.complex64, torch.complex128):
        raise TypeError(f"psi0: expected a complex64 or complex128 tensor, got {psi0.dtype}")
    batched = psi0 if psi0.dim() == 2 else psi0[None] if psi0.dim() == 1 else None
    if batched is None or batched.shape[1] != 2**n:
        raise ValueError(f"psi0: expected shape (batch, {2**n}) or ({2**n},) for {n} spins, got {tuple(psi0.shape)}")
    # one reduction serves both checks: a nan or inf amplitude makes its state's norm nan or inf (and fails <=).
    # The norms are taken over (Re, Im) pairs (torch's complex norm took 130 us at B = 256, the real one 8 us);
    # a few are read as they are, more are reduced to their extremes first (at B = 1 a reduction and its read
    # cost more than the evolution).
    norms = torch.linalg.vector_norm(torch.view_as_real(batched), dim=(1, 2))
    extremes = norms.tolist() if len(norms) <= _FEW_STATES else [float(v) for v in torch.aminmax(norms)]
    if not all(abs(norm - 1) <= atol for norm in extremes):
        if not torch.isfinite(torch.view_as_real(batched)).all():
            raise ValueError("psi0: expected finite amplitudes, got nan or inf")
        worst = max(abs(norm - 1) for norm in extremes)
        raise ValueError(f"psi0: expected unit-norm states (|norm - 1| <= {atol:g}), got a deviation of {worst:.3g}")
    return batched


@functools.lru_cache(maxsize=16)
def _eigensystem(n: int, g: float, h: float) -> tuple[torch.Tensor, torch.Tensor]:
    energies, vectors = torch.linalg.eigh(ising_matrix(n, g, h, dtype=torch.float64))
    return energies, vectors


def _steps(steps: int) -> int:
    return _checks.positive_int("steps", steps, minimum=0)


def evolve_exact(
    psi0: torch.Tensor,
    n_spins: int,
    steps: int,
    dt: float = 0.002,
    g: float = -1.05,
    h: float = 0.5,
    *,
    method: str = "auto",
    tol: float = 1e-13,
) -> torch.Tensor:
    """Exact states psi(k dt) = exp(-i H k dt) psi0 for k = 0..steps: (B, steps + 1, 2^N), psi0's dtype.

    ``psi0`` is a complex tensor or numpy array of shape (B, 2^N), or one state (2^N,) (then the
    trajectory is (steps + 1, 2^N)), or a QuTiP ket (unbatched) or list of kets (batched).
    ``method``: ``"eig"`` (dense eigendecomposition, exact to round-off), ``"krylov"`` (batched
    Lanczos, truncation error below ``tol`` per window) or ``"auto"`` (eig up to
    ``DENSE_MAX_SPINS`` spins). complex64 states are evolved in single precision.
    """
    psi0 = as_state_tensor("psi0", psi0)
    batched = check_states(psi0, n_spins)
    steps = _steps(steps)
    dt, g, h = _checks.positive_float("dt", dt), _field("g", g), _field("h", h)
    if method not in ("auto", "eig", "krylov"):
        raise ValueError(f"method: expected 'auto', 'eig' or 'krylov', got {method!r}")
    if method == "auto":
        method = "eig" if n_spins <= DENSE_MAX_SPINS else "krylov"
    tol = _checks.positive_float("tol", tol)
    if batched.shape[0] == 0:  # no states: an empty trajectory on either path
        path = batched.new_zeros(0, steps + 1, batched.shape[1])
    elif method == "eig":
        path = _evolve_eig(batched, n_spins, steps, dt, g, h)
    else:
        path = _evolve_krylov(batched, n_spins, steps, dt, g, h, tol)
    return path if psi0.dim() == 2 else path[0]


def _evolve_eig(psi0: torch.Tensor, n: int, steps: int, dt: float, g: float, h: float) -> torch.Tensor:
    """The eigenbasis path: one cached propagator table for small chains and large enough batches, blocked
    rotations otherwise."""
    dim, frames = 2**n, steps + 1
    entries = frames * dim * dim
    if (
        dim <= PROPAGATOR_MAX_DIM
        and entries <= PROPAGATOR_MAX_ENTRIES
        and entries <= PROPAGATOR_ENTRIES_PER_STATE * psi0.shape[0]
    ):
        table = _propagator_table(n, g, h, dt, steps, psi0.dtype, psi0.device)
        return (psi0 @ table).view(psi0.shape[0], frames, dim)
    return _evolve_eig_blocked(psi0, n, steps, dt, g, h)


def _phase_table(n: int, g: float, h: float, dt: float, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos(E t_k) and sin(E t_k) for k = 0..steps, (steps + 1, 2^N) each, in float64 on the CPU: the input of
    both cached tables below (not cached itself)."""
    times = dt * torch.arange(steps + 1, dtype=torch.float64)
    angles = times[:, None] * _eigensystem(n, g, h)[0][None, :]
    return torch.cos(angles), torch.sin(angles)


@functools.lru_cache(maxsize=8)  # at most 16 MiB each
def _propagator_table(
    n: int, g: float, h: float, dt: float, steps: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Every step's propagator side by side, so that ``psi0 @ table`` is the whole trajectory.

    ``table[k, t * 2^N + j] = U(t dt)[j, k]`` with U(t) = V e^{-i E t} V^T (V real), built in float64:
    a (2^N, (steps + 1) 2^N) complex matrix. One complex product then writes the trajectory in its
    final (B, steps + 1, 2^N) layout; for small 2^N this beats rotating coefficients, which costs
    several memory passes per amplitude against a product of only 2^N multiply-adds.
    """
    cos, sin = _phase_table(n, g, h, dt, steps)
    phases = torch.complex(cos, -sin)  # e^{-i E t_k}
    basis = _eigensystem(n, g, h)[1].to(torch.complex128)
    table = torch.einsum("kl,tl,jl->ktj", basis, phases, basis).reshape(2**n, -1)
    return table.to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=16)
def _rotation_tables(
    n: int, g: float, h: float, dt: float, steps: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The rotation path's constants in the real ``dtype`` of the states: V (for V^T psi0), V^T, and the
    phases as two (steps + 1, 2, 2^N) tables [cos, -sin] and [sin, cos], so that a [cos, -sin] + b [sin, cos] =
    [a cos + b sin, b cos - a sin] is the rotated (Re, Im) pair of a + ib."""
    vectors = _eigensystem(n, g, h)[1].to(device=device, dtype=dtype)
    cos, sin = _phase_table(n, g, h, dt, steps)
    first, second = (torch.stack(pair, dim=1).to(device=device, dtype=dtype) for pair in ((cos, -sin), (sin, cos)))
    return vectors, vectors.T.contiguous(), first, second


def _evolve_eig_blocked(psi0: torch.Tensor, n: int, steps: int, dt: float, g: float, h: float) -> torch.Tensor:
    """psi(t_k) = V (e^{-i E t_k} * V^T psi0), rotating the coefficients in blocks of about ``EIG_BLOCK`` reals.

    With V^T psi0 = a + ib, the rotated coefficients, laid out as (rows, steps, 2, 2^N), are one multiply and
    one multiply-add with the cached tables; they pass through one real product with V^T and one interleaving
    write into the output. A block's coefficients and product stay in cache between these passes. A batch
    that fits one block costs five kernels (the floor's dense product of the same shape costs three).
    """
    real = psi0.dtype.to_real()
    vectors, vt, first_table, second_table = _rotation_tables(n, g, h, dt, steps, real, psi0.device)
    batch, frames, dim = psi0.shape[0], steps + 1, 2**n
    # V^T psi0 = a + ib, with V real: one real product of the rows [Re psi0; Im psi0] (a quarter of a complex
    # product's work), as two contiguous (B, 1, 1, 2^N) blocks that broadcast against the (steps, 2, 2^N) tables
    rows = torch.view_as_real(psi0).permute(2, 0, 1).reshape(2 * batch, dim)
    a, b = (rows @ vectors).view(2, batch, 1, 1, dim)
    per_trajectory = 2 * frames * dim
    if batch * per_trajectory <= EIG_BLOCK:  # one block: no slicing
        rotated = torch.mul(a, first_table).addcmul_(b, second_table)
        return torch.complex(*torch.mm(rotated.view(-1, dim), vt).view(batch, frames, 2, dim).unbind(2))
    out = psi0.new_empty(batch, frames, dim)
    # a block is `rows` whole trajectories, or `span` steps of one trajectory when one exceeds a block
    rows = max(1, EIG_BLOCK // per_trajectory)
    span = frames if per_trajectory <= EIG_BLOCK else max(1, EIG_BLOCK // (2 * dim))
    rotated_buffer = psi0.new_empty(rows * span * 2 * dim, dtype=real)
    product_buffer = torch.empty_like(rotated_buffer)
    for first in range(0, batch, rows):
        last = min(batch, first + rows)
        for start in range(0, frames, span):
            stop = min(frames, start + span)
            shape = (last - first, stop - start, 2, dim)
            size = math.prod(shape)
            rotated, product = rotated_buffer[:size].view(shape), product_buffer[:size].view(shape)
            torch.mul(a[first:last], first_table[start:stop], out=rotated).addcmul_(
                b[first:last], second_table[start:stop]
            )
            torch.mm(rotated.view(-1, dim), vt, out=product.view(-1, dim))
            torch.complex(*product.unbind(2), out=out[first:last, start:stop])
    return out


def _ising_times(psi: torch.Tensor, diagonal: torch.Tensor, g: float, n: int) -> torch.Tensor:
    """H psi for (B, 2^N) states without forming H: the diagonal terms, then -g sum_w X_w in place."""
    return quantum.add_x_sum(psi * diagonal, psi, alpha=-g)


def _evolve_krylov(psi0: torch.Tensor, n: int, steps: int, dt: float, g: float, h: float, tol: float) -> torch.Tensor:
    real = psi0.dtype.to_real()
    diagonal = _ising_diagonal(n, h, real, psi0.device)
    norm_bound = _norm_bound(n, g, h)
    window = max(1, int(KRYLOV_REACH / (norm_bound * dt)))
    windows = -(-steps // window)
    span = -(-steps // windows) if steps else 1  # equal windows, so the last one is not a short, full-price one
    dim = min(_krylov_dimension(norm_bound * span * dt, tol), 2**n)
    # sub-batches of ~2^16 amplitudes, so a product's passes over the states stay in cache
    rows = max(1, 2**16 // 2**n)
    outputs = []
    for batch in psi0.split(rows):
        path, current, done = [batch[:, None]], batch, 0
        while done < steps:
            count = min(span, steps - done)
            block = _krylov_window(
                current, diagonal, g, n, dim, dt * torch.arange(1, count + 1, dtype=real, device=psi0.device)
            )
            path.append(block)
            current, done = block[:, -1], done + count
        outputs.append(torch.cat(path, dim=1))
    return torch.cat(outputs)


def _krylov_dimension(reach: float, tolerance: float = 1e-13) -> int:
    """Smallest m with 2 r^m e^r / m! <= tolerance (Saad's a priori bound for the Lanczos exponential, r = ||H|| tau)."""
    m, term = 1, 2 * reach * math.exp(reach)
    while term > tolerance and m < KRYLOV_DIM:
        m += 1
        term *= reach / m
    return m


def _krylov_window(
    psi: torch.Tensor, diagonal: torch.Tensor, g: float, n: int, dim: int, taus: torch.Tensor
) -> torch.Tensor:
    """exp(-i H tau) psi for every tau of the window, from one batched Lanczos basis: (B, len(taus), 2^N).

    Plain three-term Lanczos (H is Hermitian); with ||H|| tau <= KRYLOV_REACH the basis is far
    too short for Ritz values to converge, so orthogonality is kept to round-off without
    reorthogonalising (the tests hold the result to QuTiP and to the eigendecomposition).
    """
    batch = psi.shape[0]
    beta0 = torch.linalg.vector_norm(psi, dim=1)
    basis = psi.new_empty(batch, dim, psi.shape[1])
    basis[:, 0] = psi / beta0[:, None]
    alphas = psi.real.new_zeros(batch, dim)
    betas = psi.real.new_zeros(batch, max(dim - 1, 0))
    tiny = torch.finfo(taus.dtype).eps * 10
    for j in range(dim):
        w = _ising_times(basis[:, j], diagonal, g, n)
        alphas[:, j] = (basis[:, j].conj() * w).sum(-1).real
        if j == dim - 1:
            break
        w = w - alphas[:, j, None] * basis[:, j]
        if j > 0:
            w = w - betas[:, j - 1, None] * basis[:, j - 1]
        beta = torch.linalg.vector_norm(w, dim=1)
        betas[:, j] = beta
        # an exhausted (invariant) space gives beta = 0: the next vectors are zero and decouple in T
        basis[:, j + 1] = torch.where(beta[:, None] > tiny, w / beta.clamp_min(tiny)[:, None], torch.zeros_like(w))
    t = torch.diag_embed(alphas)
    if dim > 1:
        off = torch.diag_embed(betas, offset=1)
        t = t + off + off.transpose(1, 2)
    theta, s = torch.linalg.eigh(t)  # (B, m), (B, m, m)
    phases = torch.polar(
        torch.ones_like(taus)[None, :, None].expand(batch, -1, dim), -taus[None, :, None] * theta[:, None, :]
    )
    coefficients = torch.einsum("bkm,bm,bjm->bkj", phases.to(psi.dtype), s[:, 0, :].to(psi.dtype), s.to(psi.dtype))
    return beta0[:, None, None] * torch.bmm(coefficients, basis)


def evolve_qutip(
    psi0: torch.Tensor,
    n_spins: int,
    steps: int,
    dt: float = 0.002,
    g: float = -1.05,
    h: float = 0.5,
    *,
    atol: float = 1e-12,
    rtol: float = 1e-10,
) -> torch.Tensor:
    """The reference: ``qutip.sesolve`` once per initial state (what a typical user writes); (B, steps + 1, 2^N).

    ``psi0`` takes the forms :func:`evolve_exact` takes, with the same unbatched convention.
    """
    psi0 = as_state_tensor("psi0", psi0)
    batched = check_states(psi0, n_spins)
    steps = _steps(steps)
    dt = _checks.positive_float("dt", dt)
    hamiltonian = ising_qobj(n_spins, g, h)
    times = np.arange(steps + 1) * dt
    dims = [[2] * n_spins, [1] * n_spins]
    rows = []
    for psi in batched.detach().cpu().to(torch.complex128).numpy():
        result = qutip.sesolve(
            hamiltonian,
            qutip.Qobj(psi[:, None], dims=dims),
            times,
            options={"atol": atol, "rtol": rtol, "nsteps": 100_000},
        )
        rows.append(np.stack([state.full()[:, 0] for state in result.states]))
    if not rows:
        return batched.new_zeros(0, steps + 1, batched.shape[1])
    path = torch.from_numpy(np.stack(rows)).to(dtype=batched.dtype, device=batched.device)
    return path if psi0.dim() == 2 else path[0]
