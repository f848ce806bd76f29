"""The family table is generated from the cells, and the committed docs page is current."""

from pathlib import Path

import cells
from cells.family import FAMILY, document, family_table, qunn_parameter_table, sequence_model_parameter_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "family_table.md"


def test_every_zoo_name_has_a_row_with_computed_counts():
    rows = family_table(hidden_size=8, steps=5)
    assert {name for name, *_ in FAMILY} == set(cells.available())
    for (name, kwargs, *_), row in zip(FAMILY, rows):
        cell = cells.create(name, 8, 8, **kwargs)
        assert row["(n, t)"] == f"{cell.num_stages}-{cell.memory_span}"
        assert row["bounded"] in {"yes", "no"} and row["note"]
        assert row["gradients"] in {"preserved", "vanishing", "exploding"}


def test_the_gradient_column_separates_rotations_from_contractions():
    """At the reference horizon (50 steps) the rotations keep their gradients and the gated cells lose them."""
    rows = {row["cell"]: row for row in family_table(hidden_size=8)}
    assert all(row["bounded"] == "yes" for row in rows.values())
    preserved = {name for name, row in rows.items() if row["gradients"] == "preserved"}
    assert preserved == {"urnn", "arnn (scheme=symplectic_euler)", "arnn (scheme=leapfrog)", "qfwp"}
    assert rows["qunn (memory=4)"]["gradients"] == "vanishing"  # Table 4 says Yes: refuted at this horizon
    assert rows["qunn (memory=4)"]["paper"].startswith("1-1") and rows["qunn (memory=4)"]["(n, t)"] == "1-1"


def test_committed_docs_page_matches_the_code():
    """Structure columns (not the float figures, which may move in the last digit across machines)."""
    fresh = document()

    def structural(text):
        return [line.split(" | ")[:4] for line in text.splitlines() if line.startswith("| ") and "---" not in line]

    assert structural(DOC.read_text()) == structural(fresh), "regenerate with: ornn cells --write docs/family_table.md"


def test_qunn_parameter_table_is_2L():
    table = qunn_parameter_table(memories=(1, 3), dims=(2, 5))
    assert "| 1 | 2 | 2 |" in table and "| 3 | 6 | 6 |" in table


def test_sequence_model_parameter_table_counts():
    table = sequence_model_parameter_table()
    assert "| LSTM | 56 | 0 | 56 | 56 |" in table
    assert "| QFWP | 30 | 0 | 30 | 31 |" in table
    assert "| QK-LSTM (fixed references) | 32 | 10 | 42 | 43 |" in table
