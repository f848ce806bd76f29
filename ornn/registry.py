"""Name -> cell-class registry.

It lives in the core so that ``ornn.testing`` can draw registered cells without
importing the cell zoo (imports point one way: cells -> ornn). ``cells``
registers its classes here on import; users may register their own.
Every registered factory takes ``input_size`` and ``hidden_size`` first.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

__all__ = ["register_cell", "create_cell", "available_cells", "cell_factory"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_cell(name: str, factory: Callable[..., nn.Module] | None = None, *, replace: bool = False):
    """Register ``factory(input_size, hidden_size, **kwargs) -> cell`` under ``name``.

    Usable as a decorator (``@register_cell("mycell")``). Registering a taken name
    raises unless ``replace=True``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name: expected an identifier-like string, got {name!r}")

    def add(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if not callable(factory):
            raise TypeError(f"factory: expected a callable returning a cell, got {factory!r}")
        if isinstance(factory, type) and not (issubclass(factory, nn.Module) and hasattr(factory, "initial_state")):
            raise TypeError(
                f"factory: expected a recurrent cell class (an nn.Module with initial_state()) or a function "
                f"returning one, got the class {factory.__name__}"
            )
        if name in _REGISTRY and not replace and _REGISTRY[name] is not factory:
            raise ValueError(f"name: {name!r} is already registered; pass replace=True to override it")
        _REGISTRY[name] = factory
        return factory

    return add if factory is None else add(factory)


def unregister_cell(name: str) -> None:
    """Remove ``name`` from the registry (for tests that register temporary cells)."""
    _REGISTRY.pop(name, None)


def available_cells() -> tuple[str, ...]:
    """Registered names, sorted."""
    return tuple(sorted(_REGISTRY))


def cell_factory(name: str) -> Callable[..., nn.Module]:
    """The factory registered under ``name``; an unknown name lists the valid ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        valid = ", ".join(available_cells()) or "(none registered; import cells to register the zoo)"
        raise ValueError(f"name: unknown cell {name!r}; valid names are {valid}") from None


def create_cell(name: str, *args: Any, **kwargs: Any) -> nn.Module:
    """Build the cell registered under ``name``: ``factory(input_size, hidden_size, **kwargs)``.

    The result must be a recurrent cell: an ``nn.Module`` with ``initial_state`` (an ornn cell or one
    following its convention); a factory that returns anything else is reported, not passed on.
    """
    cell = cell_factory(name)(*args, **kwargs)
    if not (isinstance(cell, nn.Module) and callable(getattr(cell, "initial_state", None))):
        raise TypeError(
            f"name: the factory registered as {name!r} returned {type(cell).__name__} ({cell!r:.60}), "
            "expected a recurrent cell (an nn.Module with initial_state())"
        )
    return cell
