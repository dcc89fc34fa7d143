"""Every published page reads on a laptop screen: no line over 160 characters, and every table is a table
to a CommonMark + GFM renderer, with as many cells in each row as its header has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT
from test_leaderboard import write_results

from benchmark.leaderboard import MAX_LINE, publish

markdown_it = pytest.importorskip("markdown_it")


def tables_in_source(text: str) -> list[list[str]]:
    """Blocks of consecutive lines starting with '|'."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks + ([current] if current else [])


def rendered_tables(text: str) -> list[list[int]]:
    """Per table the renderer found: the cell count of each row (header first)."""
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(text)
    tables, rows, cells = [], None, 0
    for token in tokens:
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            rows.append(cells)
        elif token.type == "table_close":
            tables.append(rows)
    return tables


def check_page(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    long = [(i + 1, len(line)) for i, line in enumerate(text.splitlines()) if len(line) > MAX_LINE]
    assert not long, f"{path.name}: lines over {MAX_LINE} characters (line, length): {long[:5]}"
    source, rendered = tables_in_source(text), rendered_tables(text)
    assert len(rendered) == len(source), f"{path.name}: {len(source)} tables written, {len(rendered)} rendered"
    for block, rows in zip(source, rendered, strict=True):
        delimiters = [i for i, line in enumerate(block) if re.fullmatch(r"\|[-:| ]+\|", line)]
        assert delimiters == [1], f"{path.name}: tables at {block[0][:60]!r} run together (no blank line between)"
        header = block[0].count(" | ") + 1
        assert len(rows) == len(block) - 1, f"{path.name}: table at {block[0][:60]!r} lost rows"
        assert set(rows) == {header}, f"{path.name}: table at {block[0][:60]!r} has rows of {sorted(set(rows))} cells"


def test_a_published_page_and_its_index_fit_the_width_and_parse_as_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative folders, as a user types them: the Re-publish command stays short
    write_results(Path("results"))
    write_results(Path("results"), protocol="biased")
    out = Path("out")
    publish(Path("results"), out)
    pages = sorted(out.glob("*.md"))
    assert [p.name for p in pages] == ["README.md", "toyset.md", "toyset@biased.md"]
    for page in pages:
        check_page(page)


@pytest.mark.parametrize("page", sorted((ROOT / "leaderboards").glob("*.md")), ids=lambda p: p.name)
def test_the_committed_pages_fit_the_width_and_parse_as_tables(page):
    check_page(page)
