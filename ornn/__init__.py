"""ornn: recurrent cells as steps of Runge–Kutta-style integrators (n-t-ORNN).

The core: Butcher tableaus, the update-rule spec and its one executor, cells that
run a rule, the sequence runner, and stability analysis. ``ornn.testing``
(hypothesis strategies and assertions) is imported on demand.
"""

from __future__ import annotations

from . import quantum, stability, tables
from .cell import ORNNCell, RecurrentCell
from .executor import execute
from .ode import ODECell, RKCell
from .recurrent import Recurrent
from .registry import available_cells, cell_factory, create_cell, register_cell, unregister_cell
from .spec import Output, Stage, UpdateRule, identity, state_input
from .stability import StabilityReport
from .tableau import Tableau, tableau, tableau_names

__version__ = "0.1.0"

__all__ = [
    "Tableau",
    "tableau",
    "tableau_names",
    "Stage",
    "Output",
    "UpdateRule",
    "identity",
    "state_input",
    "execute",
    "RecurrentCell",
    "ORNNCell",
    "ODECell",
    "RKCell",
    "Recurrent",
    "stability",
    "StabilityReport",
    "quantum",
    "tables",
    "register_cell",
    "unregister_cell",
    "create_cell",
    "cell_factory",
    "available_cells",
    "__version__",
]
