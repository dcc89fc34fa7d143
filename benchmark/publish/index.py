"""``<out>/README.md``: every published dataset and protocol with its leader per family and its files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from benchmark.ranking import UNRANKED_FAMILIES, family_sort_key

if TYPE_CHECKING:
    from benchmark.leaderboard import Board


def write_index(boards: Sequence[Board], out_dir: Path, results_label: str) -> Path:
    """The index page of ``boards`` (every dataset folder published together), sorted by folder name."""
    from benchmark.leaderboard import Markdown, _split_tables, md_code, md_text, wrap_prose

    boards = sorted(boards, key=lambda b: b.folder)
    families = sorted({f for b in boards for f in b.ranking.family_ranks if f not in UNRANKED_FAMILIES},
                      key=family_sort_key)
    rows, files = [], []
    for board in boards:
        link = quote(board.folder)
        card = board.card
        size = f"{card.get('n', '—')} × {card.get('p', '—')}"
        rows.append([Markdown(f"[{md_text(board.folder)}]({link}.md)"),
                     card.get("modality", "—"), size, len(board.generators),
                     *[_leader(board, f) for f in families], _overall_leader(board)])
        files.append(f"- {md_text(board.folder)}: [page]({link}.md) · [CSV]({link}.csv) · [JSON]({link}.json)")
    lines = [
        "# Leaderboards",
        "",
        "One page per dataset and protocol. A family's leader has the best (lowest) mean rank over the "
        "family's scores among generators whose privacy verdict is not leak (leaks are ranked after all "
        "others; privacy controls are never ranked). How to read a page: "
        "[docs/leaderboard.md](../docs/leaderboard.md).",
        "",
        "\n\n".join(_split_tables(["dataset", "modality", "n × p", "generators", *families, "overall"], rows)),
        "",
        "Results as data (one row per generator × seed × score; the page as JSON):",
        "",
        *files,
        "",
        "Re-publish every page, this index and the CSV/JSON files: "
        + md_code(f"python -m benchmark publish --all --results {results_label} --out {out_dir.as_posix()}"),
        "",
    ]
    path = out_dir / "README.md"
    path.write_text(wrap_prose("\n".join(lines)), encoding="utf-8")
    return path


def family_leaders(board: Board, family: str) -> list[str]:
    """The generators with the best rank of ``family`` on ``board`` among those that do not leak."""
    ranks = {g: r for g, r in (board.ranking.family_ranks.get(family) or {}).items()
             if g not in board.ranking.demoted}  # a generator that leaks its training rows leads nothing
    best = min(ranks.values(), default=None)
    return sorted(g for g, r in ranks.items() if r == best)


def leader_text(leaders: list[str]) -> str:
    """Leaders as a table cell: up to two names, else the first and the count tied with it; a dash for none."""
    if not leaders:
        return "—"
    return ", ".join(leaders) if len(leaders) <= 2 else f"{leaders[0]} (+{len(leaders) - 1} tied)"


def _leader(board: Board, family: str) -> str:
    return leader_text(family_leaders(board, family))


def _overall_leader(board: Board) -> str:
    return board.ranking.order[0] if board.ranking.order else "—"
