"""The Python blocks of the README and of every page under docs/ run, in order, one namespace per page.

So the guides cannot rot: a renamed argument or a changed result breaks this test.
"""

import ast
import re
from pathlib import Path

import pytest

import cells  # noqa: F401  (the zoo is registered before the snapshot each page restores)
from ornn import registry

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
GUIDES = (
    "docs/guides/composing-a-cell.md",
    "docs/guides/property-testing.md",
    "docs/guides/applications.md",
    "docs/conventions.md",
)


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def test_every_guide_is_there_and_has_code():
    for name in GUIDES:
        assert len(python_blocks(ROOT / name)) >= 3, name
    assert (ROOT / "docs" / "reproducing-the-papers.md").exists()


def stated_value(line: str):
    """The literal a ``expression  # VALUE[: words]`` comment states, as (value, its text), or None for prose,
    ``~`` figures and reprs that are not literals (tensors)."""
    if "  # " not in line:
        return None
    comment = line.split("  # ", 1)[1].strip()
    for candidate in (comment, comment.split(":")[0]):
        try:
            return (ast.literal_eval(candidate.strip()), candidate.strip())
        except (ValueError, SyntaxError):
            continue
    return None


def _tolerance(text: str) -> float:
    """Half a unit in the last digit a stated number shows: 2.51 -> 0.005, 0.5 -> 0.05, 3 -> 0.5."""
    mantissa = text.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(text.lower().split("e")[1]) if "e" in text.lower() else 0
    return 0.5 * 10.0 ** (exponent - decimals)


def run_block(block: str, namespace: dict, label: str) -> int:
    """Run ``block`` statement by statement; an expression statement whose comment states a literal must equal it.

    Returns the number of stated values checked.
    """
    lines = block.splitlines()
    checked = 0
    for statement in ast.parse(block).body:
        stated = stated_value(lines[statement.end_lineno - 1]) if isinstance(statement, ast.Expr) else None
        if stated is None:
            exec(compile(ast.Module([statement], []), label, "exec"), namespace)
            continue
        value = eval(compile(ast.Expression(statement.value), label, "eval"), namespace)
        expected, text = stated
        if isinstance(expected, float) and not isinstance(value, (tuple, list)):
            assert float(value) == pytest.approx(expected, abs=_tolerance(text)), (
                label,
                lines[statement.end_lineno - 1],
            )
        else:
            assert value == expected, (label, lines[statement.end_lineno - 1], value)
        checked += 1
    return checked


STATED = {}


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run_and_give_the_values_their_comments_state(page):
    namespace: dict = {"__name__": f"doc_{page.stem.replace('-', '_')}"}
    registered = set(registry.available_cells())
    checked = 0
    try:
        for i, block in enumerate(python_blocks(page)):
            label = f"{page.relative_to(ROOT)} python block {i}"
            try:
                checked += run_block(block, namespace, label)
            except AssertionError:
                raise
            except Exception as err:  # pragma: no cover - the message says which block broke
                raise AssertionError(f"{label} failed: {err!r}\n{block}") from err
    finally:  # cells a guide registers stay out of the other tests
        for name in set(registry.available_cells()) - registered:
            registry.unregister_cell(name)
    STATED[page.name] = checked


def test_the_readme_states_values_that_are_checked():
    """The README's comments that state a value (``cells.available()  # ('arnn', ...)``) are asserted above."""
    assert stated_value("x  # (1, 2): Y_{l+1}") == ((1, 2), "(1, 2)")
    assert stated_value("x  # False: Euler is unstable") == (False, "False")
    assert _tolerance("2.51") == pytest.approx(0.005) and _tolerance("1e-3") == pytest.approx(5e-4)
    assert stated_value("x  # ~1e-16 and more") is None
    namespace: dict = {}
    assert run_block("a = 2\na + 1  # 3", namespace, "inline") == 1
    with pytest.raises(AssertionError):
        run_block("a = 2\na + 1  # 4", namespace, "inline")
    readme = "\n".join(python_blocks(ROOT / "README.md"))
    assert sum(stated_value(line) is not None for line in readme.splitlines()) >= 5


def test_relative_links_resolve():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+?)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http", "mailto")):
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"
