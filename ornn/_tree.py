"""Small helpers for cell states, which are a tensor or nested tuples of tensors.

Kept to tuples (not lists or dicts) because that is what torch's recurrent
modules use for (h, c) and what our history/clock packing produces.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Union

import torch

State = Union[torch.Tensor, tuple]


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``fn`` leaf-wise over one or more trees of the same structure."""
    if isinstance(tree, tuple):
        return tuple(tree_map(fn, *parts) for parts in zip(tree, *rest, strict=True))
    return fn(tree, *rest)


def leaves(tree: Any) -> Iterator[torch.Tensor]:
    """The tensors of a tree, depth first."""
    if isinstance(tree, tuple):
        for part in tree:
            yield from leaves(part)
    else:
        yield tree


def structure(tree: Any) -> Any:
    """The shape of a tree with each leaf replaced by None (for equality checks)."""
    if isinstance(tree, tuple):
        return tuple(structure(part) for part in tree)
    return None


def is_dynamic(leaf: torch.Tensor) -> bool:
    """Floating or complex leaves evolve under the step; integer leaves are clocks."""
    return leaf.is_floating_point() or leaf.is_complex()


def flatten_dynamic(tree: Any) -> torch.Tensor:
    """Concatenate the floating/complex leaves of a batched tree into a real (B, D) matrix.

    Complex leaves contribute their real and imaginary parts, so Jacobians and
    norms are taken over real coordinates (modReLU and friends are not holomorphic).
    """
    parts = []
    for leaf in leaves(tree):
        if not is_dynamic(leaf):
            continue
        if leaf.is_complex():
            leaf = torch.view_as_real(leaf)
        parts.append(leaf.reshape(leaf.shape[0], -1))
    if not parts:
        raise ValueError("state: expected at least one floating-point or complex tensor, got none")
    return torch.cat(parts, dim=1)


def unflatten_dynamic(flat: torch.Tensor, template: Any) -> Any:
    """Inverse of :func:`flatten_dynamic`; integer leaves are taken from ``template``."""
    offset = 0

    def take(leaf: torch.Tensor) -> torch.Tensor:
        nonlocal offset
        if not is_dynamic(leaf):
            return leaf
        if leaf.is_complex():
            shape = (*leaf.shape, 2)
            size = leaf[0].numel() * 2
            part = flat[:, offset : offset + size].reshape(shape).contiguous()
            offset += size
            return torch.view_as_complex(part)
        size = leaf[0].numel()
        part = flat[:, offset : offset + size].reshape(leaf.shape)
        offset += size
        return part

    return tree_map(take, template)
