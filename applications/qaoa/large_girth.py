r"""QAOA MaxCut on D-regular graphs of large girth: the exact cut fraction, by contracting the tree.

On a D-regular graph whose girth exceeds 2p + 1, the radius-p neighbourhood of every edge is the
same tree, so the depth-p QAOA expectation of every edge term is the same number, and the cut
fraction does not depend on the graph (Farhi, Goldstone & Gutmann, "A quantum approximate
optimization algorithm", arXiv:1411.4028). The fixed-angle guarantees of Wurtz & Lykov, "The fixed
angle conjecture for QAOA on regular MaxCut graphs", Phys. Rev. A 104, 052419, arXiv:2107.00677, are
this number at their angles.

The expectation is a path sum. Between the layers of U = prod_k exp(-i beta_k B) exp(-i gamma_k H_c)
and of U^dagger, each qubit carries a configuration a in {+1, -1}^(2p+1):
(a^1, ..., a^p, a^0, a^-p, ..., a^-1), forward bits, the measured bit, backward bits. A qubit
contributes the chain weight

    f(a) = 1/2 prod_k <a^(k+1)| e^(-i beta_k X) |a^k> <a^-k| e^(+i beta_k X) |a^-(k+1)>,   a^(+-(p+1)) = a^0,

and an edge (u, v) the phase w(a, b) = prod_j exp(i Gamma_j a_j b_j), with Gamma = -gamma_k / 2 on
forward bit k, +gamma_k / 2 on backward bit k and 0 on a^0 (our H_c = -cut, so a layer is
exp(-i gamma_k / 2 sum Z_u Z_v) up to a global phase). On a tree the sum factorises into messages
towards the edge: a node at distance p from it (a leaf of the light cone) sends
m_0 = K f, and a node whose subtree is r levels deep sends m_r = K (f m_(r-1)^(D-1)), where K is the
kernel of w. Then

    <Z_u Z_v> = sum_(a, b) g(a) w(a, b) g(b),   g(a) = a^0 f(a) m_(p-1)(a)^(D-1),

and the cut fraction is (1 - <Z_u Z_v>) / 2. The kernel factorises over the 2p + 1 bits (a 2 x 2
matrix on each), so one message costs (2p + 1) 2^(2p+1) operations instead of the 2^(2(2p+1)) of a
dense product: p = 5 takes milliseconds and p = 8 about 0.1 s. Everything is a torch expression, so the
fraction is differentiable in the angles.
"""

from __future__ import annotations

import torch

from ornn import _checks, quantum

__all__ = ["large_girth_cut_fraction"]

#: the deepest circuit accepted: a configuration vector has 2^(2p+1) entries (131,072 at p = 8, about
#: 0.1 s for the whole contraction on this project's 2-core CPU; p = 10 takes seconds)
MAX_DEPTH = 8


def _chain_weight(betas: torch.Tensor) -> torch.Tensor:
    """f(a) as a tensor of shape (2,) * (2p + 1); index 0 is the bit +1 and index 1 the bit -1."""
    p = betas.numel()
    forward = quantum.rotation("X", 2 * betas, dtype=torch.complex128)  # (p, 2, 2): exp(-i beta_k X)
    weight = torch.full((2,), 0.5, dtype=torch.complex128, device=betas.device)
    for j in range(2 * p):
        # link between positions j and j + 1: the forward mixer of layer j + 1, or, past the measured
        # bit at position p, the backward mixer exp(+i beta X) (the conjugate: X is real) of layer 2p - j
        link = forward[j] if j < p else forward[2 * p - j - 1].conj()
        weight = weight[..., None] * link.reshape((1,) * j + (2, 2))
    return weight


def _apply_kernel(kernels: list[torch.Tensor], t: torch.Tensor) -> torch.Tensor:
    """(K t)(a) = sum_b prod_j kernels[j][a_j, b_j] t(b), one axis at a time."""
    shape = t.shape
    for j, kernel in enumerate(kernels):
        t = torch.einsum("ij,ajb->aib", kernel, t.reshape(2**j, 2, -1))
    return t.reshape(shape)


def _power(t: torch.Tensor, exponent: int) -> torch.Tensor:
    """t ** exponent by repeated products (complex pow goes through exp and log, and is slower)."""
    result = torch.ones_like(t)
    for _ in range(exponent):
        result = result * t
    return result


def large_girth_cut_fraction(params: torch.Tensor, degree: int = 3) -> torch.Tensor:
    """Expected cut fraction of depth-p QAOA on any ``degree``-regular graph of girth > 2p + 1.

    ``params`` is one parameter vector (2p,) in the layout and sign convention of ``QAOA``:
    (gamma_1, beta_1, ..., gamma_p, beta_p) for layers exp(-i gamma H_c) exp(-i beta sum X) with
    H_c = -(cut). Wurtz & Lykov's (gamma, beta) is our (-gamma, beta). Returns a float64 scalar
    tensor (differentiable in ``params``); the method is in the module docstring. p is at most 8.
    """
    params = _checks.finite("params", _checks.real_tensor("params", params))
    if params.dim() != 1 or params.numel() == 0 or params.numel() % 2:
        raise ValueError(
            f"params: expected a (2p,) vector (gamma_k, beta_k per layer), got shape {tuple(params.shape)}"
        )
    degree = _checks.positive_int("degree", degree, minimum=2)
    p = params.numel() // 2
    if p > MAX_DEPTH:
        raise ValueError(f"params: expected depth p <= {MAX_DEPTH}, got p = {p}")
    params = params.to(torch.float64)
    gammas, betas = params[0::2], params[1::2]
    zero = torch.zeros(1, dtype=torch.float64, device=params.device)
    phases = torch.cat([-gammas / 2, zero, torch.flip(gammas, [0]) / 2])  # Gamma_j, position by position
    spins = torch.tensor([1.0, -1.0], dtype=torch.float64, device=params.device)
    kernels = [torch.exp(1j * phase * torch.outer(spins, spins)) for phase in phases]
    chain = _chain_weight(betas)
    message = torch.ones_like(chain)
    for _ in range(p):  # m_0, m_1, ..., m_(p-1)
        message = _apply_kernel(kernels, chain * _power(message, degree - 1))
    measured = spins.reshape((1,) * p + (2,) + (1,) * p).to(torch.complex128)
    g = measured * chain * _power(message, degree - 1)
    correlation = (g * _apply_kernel(kernels, g)).sum()
    return (1.0 - correlation.real) / 2
