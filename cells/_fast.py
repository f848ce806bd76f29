"""The one guard every sequence fast path goes through.

A cell's ``forward_sequence`` computes its stock step over a whole sequence in fewer,
larger kernels (torch's fused RNN kernels, one input GEMM, unitaries built once). It is
only valid while the cell's step *is* the stock one, so it declines (returns
``NotImplemented``, and ``ornn.Recurrent`` then steps the cell through the executor) when

* ``cell.fused`` is False (set it on an instance or a class to run the reference path), or
* the cell's ``rule`` was replaced after construction, or
* a subclass overrides any method that defines the step.
"""

from __future__ import annotations

#: methods of ``ornn.RecurrentCell`` that every step goes through
_STEP_METHODS = ("forward_unchecked", "output_of", "unpack_state", "pack_state", "_gates")


class SequenceFastPath:
    """Mixin for cells with a ``forward_sequence`` fast path: ``fused`` and :meth:`uses_fast_path`.

    The class that defines ``forward_sequence`` is the stock one; ``_fast_path_methods``
    names the further methods its fast path re-implements (beyond the step methods).
    The cell records ``self._stock_rule = self.rule`` when it builds its rule.
    """

    #: set False to run sequences through the generic executor (the reference path)
    fused: bool = True
    _fast_path_methods: tuple[str, ...] = ()

    def uses_fast_path(self) -> bool:
        """Whether ``forward_sequence`` applies: ``fused`` is on and the rule and step are the stock ones."""
        if not self.fused or getattr(self, "_stock_rule", None) is not getattr(self, "rule", None):
            return False
        cls = type(self)
        stock = next(c for c in cls.__mro__ if "forward_sequence" in c.__dict__)
        names = _STEP_METHODS + stock._fast_path_methods
        return all(getattr(cls, name, None) is getattr(stock, name, None) for name in names)
