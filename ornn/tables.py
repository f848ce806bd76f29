"""The one table writer: rows of dicts as an aligned text table, a Markdown table or CSV.

Every report in the toolkit (the demo, ``ornn cells``, the proof table, the QAOA and
dynamics reports, the benchmarks) renders through :func:`format_table`, so a column
looks the same wherever it appears and Markdown is escaped once, here.

Numbers are shown with :func:`format_value`: floats with 4 significant digits, or in
scientific notation below 1e-3; everything else through ``str``.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Mapping, Optional, Sequence

__all__ = ["format_table", "format_value", "STYLES"]

STYLES = ("text", "markdown", "csv")


def format_value(value: Any) -> str:
    """A table cell: 4 significant digits for floats (scientific below 1e-3), ``str`` otherwise."""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _escape_markdown(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def format_table(
    rows: Iterable[Mapping[str, Any]], *, style: str = "text", columns: Optional[Sequence[str]] = None
) -> str:
    """Render ``rows`` (dicts sharing keys) as a table.

    Args:
        rows: one mapping per row; a missing key renders as an empty cell.
        style: ``"text"`` (aligned columns under a dashed rule, for the terminal),
            ``"markdown"`` (a pipe table with ``|`` escaped in headers and cells) or ``"csv"``.
        columns: the columns and their order (default: the keys of the first row).
    """
    if style not in STYLES:
        raise ValueError(f"style: expected one of {', '.join(STYLES)}, got {style!r}")
    rows = [dict(row) for row in rows]
    if columns is None:
        if not rows:
            raise ValueError("rows: expected at least one row when columns are not given, got none")
        columns = list(rows[0])
    columns = [str(c) for c in columns]
    cells = [[format_value(row.get(c, "")) for c in columns] for row in rows]
    if style == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(cells)
        return buffer.getvalue().rstrip("\n")
    if style == "markdown":
        lines = ["| " + " | ".join(_escape_markdown(c) for c in columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_escape_markdown(c) for c in row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(columns)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(columns, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)
