"""ornn.tables: the one table writer (aligned text, escaped Markdown, CSV)."""

import csv
import io

import pytest

from ornn import tables

ROWS = [{"N": 2, "|dm|": 0.00012, "verdict": "a|b"}, {"N": 10, "|dm|": 1.5, "verdict": "ok"}]


def test_text_is_aligned_under_a_rule():
    lines = tables.format_table(ROWS).splitlines()
    assert lines[0].split() == ["N", "|dm|", "verdict"] and set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["2", "1.20e-04", "a|b"] and lines[3].split() == ["10", "1.5", "ok"]
    assert lines[2].index("1.20e-04") == lines[0].index("|dm|")  # columns start at the same offset


def test_markdown_escapes_pipes_in_headers_and_cells():
    lines = tables.format_table(ROWS, style="markdown").splitlines()
    assert lines[0] == "| N | \\|dm\\| | verdict |" and lines[1] == "|---|---|---|"
    assert lines[2] == "| 2 | 1.20e-04 | a\\|b |"
    assert all(line.replace("\\|", "").count("|") == 4 for line in lines)  # every row has exactly three columns


def test_csv_round_trips_through_the_csv_module():
    parsed = list(csv.reader(io.StringIO(tables.format_table(ROWS, style="csv"))))
    assert parsed == [["N", "|dm|", "verdict"], ["2", "1.20e-04", "a|b"], ["10", "1.5", "ok"]]


def test_columns_select_and_order_and_missing_keys_are_empty():
    text = tables.format_table([{"a": 1, "b": 2}, {"a": 3}], style="csv", columns=("b", "a"))
    assert text.splitlines() == ["b,a", "2,1", ",3"]
    assert tables.format_table([], style="csv", columns=("x",)) == "x"


def test_bad_input():
    with pytest.raises(ValueError, match="style: expected one of text, markdown, csv, got 'html'"):
        tables.format_table(ROWS, style="html")
    with pytest.raises(ValueError, match="rows: expected at least one row when columns are not given"):
        tables.format_table([])
