"""The Python blocks of the README and of every page under docs/ run, in order, one namespace per page.

So the guides cannot rot: a renamed argument or a changed result breaks this test.
"""

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


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page):
    namespace: dict = {"__name__": f"doc_{page.stem.replace('-', '_')}"}
    registered = set(registry.available_cells())
    try:
        for i, block in enumerate(python_blocks(page)):
            try:
                exec(compile(block, f"{page.relative_to(ROOT)} python block {i}", "exec"), namespace)
            except Exception as err:  # pragma: no cover - the message says which block broke
                raise AssertionError(f"{page.relative_to(ROOT)} python block {i} failed: {err!r}\n{block}") from err
    finally:  # cells a guide registers stay out of the other tests
        for name in set(registry.available_cells()) - registered:
            registry.unregister_cell(name)


def test_relative_links_resolve():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+?)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http", "mailto")):
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"
