r"""The Ising chain of seed 003 and its exact evolution, two ways (DESIGN §9).

Seed 003 Eq. (1), open chain of N spins, hbar = 1::

    H = - sum_{i<N} Z_i Z_{i+1} - h sum_i Z_i - g sum_i X_i       (g = -1.05, h = 0.5 by default)

Wire 0 is the most significant bit of a basis index, |0> is spin up (Z = +1), as in
QuTiP's ``tensor`` (DESIGN §3).

* :func:`ising_qobj` - H as a QuTiP operator, and :func:`evolve_qutip` - the reference:
  ``qutip.sesolve`` once per initial state, tight tolerances.
* :func:`ising_matrix` - H as a dense or sparse torch matrix, built from bit operations
  (diagonal Z terms from the Z-sign table, X terms as bit flips), independent of QuTiP.
* :func:`evolve_exact` - all initial states at once. ``method="eig"``: one eigendecomposition
  H = V E V^T (cached), then psi(t_k) = V (e^{-i E t_k} * V^T psi0) for every step in one
  product, exact at each step (no accumulated error). ``method="krylov"``: scipy's
  ``expm_multiply`` on the sparse H (all states as columns of one block), which wins for
  larger N, where the dense propagator costs 4^N per state and step. ``"auto"`` picks
  ``eig`` up to ``DENSE_MAX_SPINS`` spins.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import qutip
import torch

from ornn import _checks, quantum

__all__ = ["MAX_SPINS", "DENSE_MAX_SPINS", "ising_qobj", "ising_matrix", "evolve_exact", "evolve_qutip", "check_states"]

#: the largest chain the exact evolution accepts (a 2^16 statevector per sample)
MAX_SPINS = 16
#: ``method="auto"`` diagonalises H up to this size and uses the sparse Krylov path above it
DENSE_MAX_SPINS = 8


def _spins(n_spins: int) -> int:
    if isinstance(n_spins, bool) or not isinstance(n_spins, int) or not 1 <= n_spins <= MAX_SPINS:
        raise ValueError(f"n_spins: expected an integer in [1, {MAX_SPINS}], got {n_spins!r}")
    return n_spins


def _field(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def ising_qobj(n_spins: int, g: float = -1.05, h: float = 0.5) -> qutip.Qobj:
    """Seed 003 Eq. (1) as a QuTiP operator on N qubits."""
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


def ising_matrix(n_spins: int, g: float = -1.05, h: float = 0.5, *, sparse: bool = False,
                 dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """H as a real (2^N x 2^N) torch matrix, dense or sparse COO; built without QuTiP."""
    n = _spins(n_spins)
    g, h = _field("g", g), _field("h", h)
    signs = quantum.z_signs(n, dtype=dtype, device=device)  # (n, 2^n)
    diagonal = -(signs[:-1] * signs[1:]).sum(0) - h * signs.sum(0)
    index = torch.arange(2**n, device=device)
    rows = [index]
    cols = [index]
    values = [diagonal]
    for wire in range(n):
        rows.append(index)
        cols.append(index ^ (1 << (n - 1 - wire)))  # X on wire flips that bit
        values.append(torch.full((2**n,), -g, dtype=dtype, device=device))
    matrix = torch.sparse_coo_tensor(torch.stack([torch.cat(rows), torch.cat(cols)]), torch.cat(values), (2**n, 2**n), check_invariants=False).coalesce()
    return matrix if sparse else matrix.to_dense()


def check_states(psi0: torch.Tensor, n_spins: int, *, atol: float = 1e-6) -> torch.Tensor:
    """Validate initial states: complex (B, 2^N) or (2^N,), finite, unit norm; returns them batched."""
    n = _spins(n_spins)
    _checks.tensor("psi0", psi0)
    if psi0.dtype not in (torch.complex64, torch.complex128):
        raise TypeError(f"psi0: expected a complex64 or complex128 tensor, got {psi0.dtype}")
    batched = psi0 if psi0.dim() == 2 else psi0[None] if psi0.dim() == 1 else None
    if batched is None or batched.shape[1] != 2**n:
        raise ValueError(f"psi0: expected shape (batch, {2**n}) or ({2**n},) for {n} spins, got {tuple(psi0.shape)}")
    if not torch.isfinite(torch.view_as_real(batched)).all():
        raise ValueError("psi0: expected finite amplitudes, got nan or inf")
    norms = torch.linalg.vector_norm(batched, dim=1)
    worst = float((norms - 1).abs().max()) if batched.shape[0] else 0.0
    if worst > atol:
        raise ValueError(f"psi0: expected unit-norm states (|norm - 1| <= {atol:g}), got a deviation of {worst:.3g}")
    return batched


@functools.lru_cache(maxsize=16)
def _eigensystem(n: int, g: float, h: float) -> tuple[torch.Tensor, torch.Tensor]:
    energies, vectors = torch.linalg.eigh(ising_matrix(n, g, h, dtype=torch.float64))
    return energies, vectors


def _steps(steps: int) -> int:
    return _checks.positive_int("steps", steps, minimum=0)


def evolve_exact(psi0: torch.Tensor, n_spins: int, steps: int, dt: float = 0.002, g: float = -1.05, h: float = 0.5,
                 *, method: str = "auto") -> torch.Tensor:
    """Exact states psi(k dt) = exp(-i H k dt) psi0 for k = 0..steps: (B, steps + 1, 2^N), psi0's dtype.

    ``method``: ``"eig"`` (dense eigendecomposition), ``"krylov"`` (sparse ``expm_multiply``)
    or ``"auto"`` (eig up to ``DENSE_MAX_SPINS`` spins).
    """
    batched = check_states(psi0, n_spins)
    steps = _steps(steps)
    dt, g, h = _checks.positive_float("dt", dt), _field("g", g), _field("h", h)
    if method not in ("auto", "eig", "krylov"):
        raise ValueError(f"method: expected 'auto', 'eig' or 'krylov', got {method!r}")
    if method == "auto":
        method = "eig" if n_spins <= DENSE_MAX_SPINS else "krylov"
    times = dt * torch.arange(steps + 1, dtype=torch.float64)
    if method == "eig":
        energies, vectors = _eigensystem(n_spins, g, h)
        vectors = vectors.to(device=batched.device)
        coefficients = batched.to(torch.complex128) @ vectors.to(torch.complex128)  # V^T psi0 (V real)
        phases = torch.polar(torch.ones(steps + 1, energies.numel(), dtype=torch.float64),
                             -times[:, None] * energies[None, :]).to(batched.device)
        evolved = (coefficients[:, None, :] * phases[None]) @ vectors.T.to(torch.complex128)
        return evolved.to(batched.dtype)
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import expm_multiply

    sparse = ising_matrix(n_spins, g, h, sparse=True)
    idx, val = sparse.indices().numpy(), sparse.values().numpy()
    generator = coo_matrix((-1j * val, (idx[0], idx[1])), shape=sparse.shape).tocsr()
    block = batched.detach().cpu().to(torch.complex128).numpy().T  # (2^N, B)
    out = expm_multiply(generator, block, start=0.0, stop=steps * dt, num=steps + 1, endpoint=True)
    out = np.asarray(out).reshape(steps + 1, 2**n_spins, -1)
    return torch.from_numpy(out).permute(2, 0, 1).to(dtype=batched.dtype, device=batched.device)


def evolve_qutip(psi0: torch.Tensor, n_spins: int, steps: int, dt: float = 0.002, g: float = -1.05, h: float = 0.5,
                 *, atol: float = 1e-12, rtol: float = 1e-10) -> torch.Tensor:
    """The reference: ``qutip.sesolve`` once per initial state (what a typical user writes); (B, steps + 1, 2^N)."""
    batched = check_states(psi0, n_spins)
    steps = _steps(steps)
    dt = _checks.positive_float("dt", dt)
    hamiltonian = ising_qobj(n_spins, g, h)
    times = np.arange(steps + 1) * dt
    dims = [[2] * n_spins, [1] * n_spins]
    rows = []
    for psi in batched.detach().cpu().to(torch.complex128).numpy():
        result = qutip.sesolve(hamiltonian, qutip.Qobj(psi[:, None], dims=dims), times,
                               options={"atol": atol, "rtol": rtol, "nsteps": 100_000})
        rows.append(np.stack([state.full()[:, 0] for state in result.states]))
    return torch.from_numpy(np.stack(rows)).to(dtype=batched.dtype, device=batched.device)
