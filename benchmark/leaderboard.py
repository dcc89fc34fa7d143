"""Publish leaderboards: one markdown page and its figures per dataset folder of result records.

Publishing reads the JSON records written by :mod:`benchmark.store` and nothing else (never real
data), so anyone holding the ``results/`` folder can re-publish. Output is deterministic: the same
records give byte-identical markdown (no publish timestamp) and, for one matplotlib version, identical
PNG files. How to read the page: ``docs/leaderboard.md``. Ranking rules: :mod:`benchmark.ranking`.
"""

from __future__ import annotations

import html
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import BenchmarkError
from benchmark.hparams import record_variant
from benchmark.ranking import (
    UNRANKED_FAMILIES,
    Ranking,
    ScoreSpec,
    best_keys,
    family_sort_key,
    is_headline,
    rank_generators,
)
from benchmark.store import dataset_folders, is_finite_number, iter_records, safe_name
from benchmark.verdict import MATERIAL, Z_SIGNIFICANT, Verdict, privacy_verdict

if TYPE_CHECKING:
    from benchmark.publish.figures import Figure

#: Generator names shown in the tables but never ranked or bolded (privacy controls).
CONTROLS = frozenset({"copy-train"})
CONTROL_MARK = "†"
EARLY_STOP_MARK = "‡"  # a generator row with a seed whose fit stopped at the wall-clock limit
EXTERNAL_MARK = " (external file)"  # a row of synthetic rows read from a file by `score`
REFERENCE_LABEL = "real holdout (reference)"
MAX_ERROR_CHARS = 200
MAX_LINE = 160  # characters of a page line (tables are split, prose wrapped): a laptop screen


def publish(results_dir: Path, out_dir: Path, dataset: str | None = None) -> list[Path]:
    """Write ``out_dir/<folder>.md``, ``.csv``, ``.json`` and ``out_dir/figures/<folder>_*.png`` for each
    dataset folder.

    ``dataset=None`` publishes every dataset folder under ``results_dir`` and the index
    ``out_dir/README.md``. A dataset id without a protocol (``1kg-chr1``) publishes its standard folder and
    its protocol variants (``1kg-chr1@biased``); a folder name with ``@`` publishes that folder only.
    Returns the written paths. Raises :class:`BenchmarkError` when there is nothing to publish.
    """
    from benchmark.publish.index import write_index

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    folders = dataset_folders(results_dir)
    if dataset is not None:
        wanted = safe_name(dataset)
        folders = [f for f in folders if f == wanted or ("@" not in wanted and f.startswith(wanted + "@"))]
    written: list[Path] = []
    boards = []
    for folder in folders:
        records = list(iter_records(results_dir, folder, on_bad=_warn_skipped))
        if records:
            board = Board.from_records(records, folder)
            boards.append(board)
            written.extend(publish_board(board, out_dir, results_label=results_dir.as_posix()))
    if not written:
        what = f"dataset {dataset}" if dataset is not None else "any dataset"
        raise BenchmarkError(f"no records for {what} under {results_dir}")
    if dataset is None:
        written.append(write_index(boards, out_dir, results_dir.as_posix()))
    return written


def _warn_skipped(path: Path, reason: str) -> None:
    """One line on stderr per results file that is not a usable record."""
    print(f"warning: skipped {path}: {reason}", file=sys.stderr)


def publish_folder(records: Sequence[Mapping[str, Any]], folder: str, out_dir: Path,
                   results_label: str = "results") -> list[Path]:
    """Publish one dataset folder's records; returns [markdown, CSV, JSON, figures...]."""
    return publish_board(Board.from_records(records, folder), out_dir, results_label)


def publish_board(board: Board, out_dir: Path, results_label: str = "results") -> list[Path]:
    """Write one board's page, its CSV and JSON files and its figures; returns [markdown, CSV, JSON, figures...]."""
    from benchmark.publish.export import write_csv, write_json
    from benchmark.publish.figures import draw_figures

    folder = board.folder
    figures = draw_figures(board, out_dir / "figures")
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / f"{folder}.md"
    md_path.write_text(render_markdown(board, figures, out_dir, results_label), encoding="utf-8")
    tables = [write_csv(board, out_dir / f"{folder}.csv"), write_json(board, out_dir / f"{folder}.json", figures)]
    return [md_path, *tables, *(f.path for f in figures)]


# --------------------------------------------------------------------------------------------------
# Collecting records


@dataclass
class GeneratorRows:
    """Everything the page shows about one generator row: a generator, or a variant of it run with
    ``--hparam`` overrides (``name`` = ``wgan-gp [steps=8000]``, ``base`` = ``wgan-gp``)."""

    name: str
    records: list[dict[str, Any]] = field(default_factory=list)  # sorted by seed
    base: str = ""  # the registered generator name; defaults to ``name``

    def __post_init__(self) -> None:
        self.base = self.base or self.name

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("status") == "ok"]

    @property
    def is_control(self) -> bool:
        return self.base in CONTROLS

    @property
    def external(self) -> dict[str, Any] | None:
        """The ``generator.external`` block (file name, sha256) of a row scored from a file; None otherwise."""
        blocks = ((r.get("generator") or {}).get("external") for r in self.records)
        return next((dict(b) for b in blocks if isinstance(b, Mapping)), None)

    @property
    def label(self) -> str:
        return (self.name + (EXTERNAL_MARK if self.external is not None else "")
                + (CONTROL_MARK if self.is_control else "") + (EARLY_STOP_MARK if self.stopped_early else ""))

    @property
    def stopped_early(self) -> list[tuple[Any, Any, Any]]:
        """(seed, steps done, steps planned) of each ok seed whose fit stopped at the wall-clock limit."""
        out = []
        for record in self.ok:
            training = (record.get("compute") or {}).get("training")
            if isinstance(training, Mapping) and training.get("stopped_early") is True:
                out.append(((record.get("generator") or {}).get("seed"), training.get("steps_done"),
                            training.get("steps_planned")))
        return out

    def values(self, score: str) -> list[float]:
        out = []
        for record in self.ok:
            entry = (record.get("metrics") or {}).get(score)
            value = entry.get("value") if isinstance(entry, Mapping) else None
            if is_finite_number(value):
                out.append(float(value))
        return out

    def compute_values(self, key: str, records: Sequence[Mapping[str, Any]] | None = None) -> list[float]:
        """The finite values of ``compute[key]`` in ``records`` (default: the ok seeds)."""
        return [float(v) for r in (self.ok if records is None else records)
                if is_finite_number(v := (r.get("compute") or {}).get(key))]

    def mean(self, score: str) -> float | None:
        values = self.values(score)
        return sum(values) / len(values) if values else None


@dataclass
class Board:
    """The records of one dataset folder (current split only) and what is derived from them."""

    folder: str
    dataset_id: str
    protocol: str
    card: dict[str, Any]
    records: list[dict[str, Any]]
    stale: list[dict[str, Any]]
    generators: dict[str, GeneratorRows]
    specs: dict[str, ScoreSpec]
    ranking: Ranking
    verdicts: dict[str, Verdict]

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], folder: str) -> Board:
        records = sorted((dict(r) for r in records), key=_record_key)
        if not records:
            raise BenchmarkError(f"no records for dataset {folder}")
        current, stale = _current_split(records)
        latest = max(current, key=_started_at)
        card = dict(latest.get("dataset") or {})
        generators: dict[str, GeneratorRows] = {}
        for record in current:
            name = record_variant(record)
            base = str((record.get("generator") or {}).get("name") or "unnamed")
            generators.setdefault(name, GeneratorRows(name, base=base)).records.append(record)
        specs = _score_specs(current)
        verdicts = {g.name: _verdict(g, specs) for g in generators.values() if g.ok}
        ranked = [g.name for g in generators.values() if not g.is_control and g.ok]
        means = {g.name: {s: g.mean(s) for s in specs} for g in generators.values()}
        leaking = [name for name, v in verdicts.items() if v.verdict == "leak"]
        ranking = rank_generators(means, specs.values(), ranked, demoted=leaking)
        protocol = str(latest.get("protocol") or (folder.split("@", 1)[1] if "@" in folder else "standard"))
        dataset_id = str(card.get("id") or folder.split("@", 1)[0])
        return cls(folder, dataset_id, protocol, card, current, stale, generators, specs, ranking, verdicts)

    @property
    def title(self) -> str:
        """Dataset id, with the protocol when it is not the standard one."""
        return self.dataset_id if self.protocol == "standard" else f"{self.dataset_id} (protocol: {self.protocol})"

    @property
    def families(self) -> list[str]:
        return sorted({s.family for s in self.specs.values()}, key=family_sort_key)

    def family_specs(self, family: str) -> list[ScoreSpec]:
        return sorted((s for s in self.specs.values() if s.family == family), key=lambda s: s.name)

    @cached_property
    def intervals(self) -> Any:
        """95 % bootstrap intervals of the ranks (:mod:`benchmark.publish.uncertainty`)."""
        from benchmark.publish.uncertainty import rank_intervals

        return rank_intervals(self)

    def display_order(self) -> list[GeneratorRows]:
        """Ranked generators best first, then controls, then generators without an ok seed."""
        ranked = [self.generators[g] for g in self.ranking.order]
        rest = sorted((g for g in self.generators.values() if g.name not in self.ranking.order),
                      key=lambda g: (not g.is_control, not g.ok, g.name))
        return ranked + rest

    def best(self, spec: ScoreSpec) -> set[str]:
        """Generators holding the best value of ``spec`` (none in a family that is not ranked: privacy)."""
        if spec.family in UNRANKED_FAMILIES:
            return set()
        return best_keys({g: self.generators[g].mean(spec.name) for g in self.ranking.order}, spec)


def _record_key(record: Mapping[str, Any]) -> tuple[str, int, str]:
    generator = record.get("generator") or {}
    seed = generator.get("seed")
    return (record_variant(record), seed if isinstance(seed, int) else -1, str(record.get("config_hash") or ""))


def _started_at(record: Mapping[str, Any]) -> tuple[float, str]:
    text = str((record.get("provenance") or {}).get("started_at") or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        stamp = moment.timestamp() if moment.tzinfo else moment.replace(tzinfo=None).timestamp()
    except ValueError:
        stamp = -math.inf
    return (stamp, text)


def _split_hash(record: Mapping[str, Any]) -> str:
    return str((record.get("dataset") or {}).get("split_hash") or "")


def _current_split(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Records of the most recent split (by provenance.started_at), and the stale rest."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(_split_hash(record), []).append(record)
    if len(groups) == 1:
        return records, []
    newest = max(groups, key=lambda h: (max(_started_at(r) for r in groups[h]), len(groups[h]), h))
    return groups[newest], [r for h, group in groups.items() if h != newest for r in group]


def _score_specs(records: Sequence[Mapping[str, Any]]) -> dict[str, ScoreSpec]:
    """One spec per score name; direction from the most recent record; reference, null mean and null
    sd = their means over records (the same in every record of one split)."""
    latest: dict[str, Mapping[str, Any]] = {}
    numbers: dict[tuple[str, str], list[float]] = {}
    for record in sorted(records, key=_started_at):
        for name, entry in (record.get("metrics") or {}).items():
            if not isinstance(entry, Mapping):
                continue
            latest[name] = entry
            for key in ("reference", "null_mean", "null_sd"):
                if is_finite_number(entry.get(key)):
                    numbers.setdefault((name, key), []).append(float(entry[key]))

    def mean_of(name: str, key: str) -> float | None:
        values = numbers.get((name, key))
        return sum(values) / len(values) if values else None

    specs = {}
    for name, entry in latest.items():
        target = entry.get("target")
        specs[name] = ScoreSpec(
            name=name,
            family=str(entry.get("family") or "other"),
            direction=str(entry.get("direction") or "unknown"),
            target=float(target) if is_finite_number(target) else None,
            reference=mean_of(name, "reference"),
            null_mean=mean_of(name, "null_mean"),
            null_sd=mean_of(name, "null_sd"),
        )
    return specs


def _verdict(g: GeneratorRows, specs: Mapping[str, ScoreSpec]) -> Verdict:
    """The generator's privacy verdict from its seed values and each privacy score's null."""
    nulls = {name: (s.null_mean, s.null_sd) for name, s in specs.items()
             if s.null_mean is not None and s.null_sd is not None}
    return privacy_verdict({name: g.values(name) for name in nulls}, nulls)


# --------------------------------------------------------------------------------------------------
# Formatting


def fmt(value: float | None) -> str:
    """About 3 significant digits, no exponent between 1e-4 and 1e7, trailing zeros dropped."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    if 1e3 <= abs(value) < 1e7:
        return f"{value:.0f}"
    return f"{value:.3g}"


def fmt_rank(rank: float, interval: Sequence[float] | None = None) -> str:
    """A rank with its 95 % interval when given: ``3.13 (2.84–3.42)``."""
    return fmt(rank) if not interval else f"{fmt(rank)} ({fmt(interval[0])}–{fmt(interval[1])})"


def mean_sd(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof = 1; None for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    sd = math.sqrt(var)
    # equal values give float noise (1e-17), not a spread worth printing
    return mean, 0.0 if sd <= 1e-9 * max(abs(mean), 1e-300) else sd


def fmt_mean_sd(values: Sequence[float]) -> str:
    if not values:
        return "—"
    mean, sd = mean_sd(values)
    return fmt(mean) if sd is None else f"{fmt(mean)} ± {fmt(sd)}"


class Markdown(str):
    """Text that is Markdown already (built from escaped parts): table cells keep it as it is."""


def md_text(value: Any) -> str:
    """``value`` as one line that Markdown and HTML renderers show literally: markup characters (and
    ``$`` of math) are escaped, ``_`` only where it could start emphasis; ``&`` and ``<`` become entities."""
    text = re.sub(r"([\\`*~\[\]|$])", r"\\\1", " ".join(str(value).split()))
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)
    return text.replace("&", "&amp;").replace("<", "&lt;")


def md_code(value: Any) -> str:
    """``value`` as an inline code span, shown literally (a backtick inside becomes ')."""
    text = " ".join(str(value).split()).replace("`", "'")
    return f"`{text}`" if text else "—"


def public(text: Any) -> str:
    """``text`` with absolute file paths cut to their file names (a user's folders are never published)."""
    return _ABSOLUTE_PATH.sub("", str(text))


_ABSOLUTE_PATH = re.compile(r"(?<![^\s'\"(=\[])(?:~|[A-Za-z]:)?[/\\](?:[^\s/\\]+[/\\])+(?=[^\s/\\])")


def _cell(text: Any) -> str:
    """Text safe inside a markdown pipe-table cell (Markdown cells are kept, on one line)."""
    return " ".join(text.split()) if isinstance(text, Markdown) else md_text(text)


def first_line(text: Any, limit: int = MAX_ERROR_CHARS) -> str:
    """The first non-blank line of ``text`` with absolute paths cut (``public``), at most ``limit`` characters."""
    lines = [line.strip() for line in public(text or "").splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    from tabulate import tabulate

    return tabulate([[_cell(c) for c in row] for row in rows], headers=[_cell(h) for h in headers],
                    tablefmt="github", disable_numparse=True, colalign=align)


def _split_tables(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None,
                  width: int = MAX_LINE) -> list[str]:
    """``rows`` as tables no wider than ``width`` characters: the first column in each, the others packed
    left to right (a column wider than ``width`` alone gets a table of its own)."""
    align = list(align or ["left"] * len(headers))
    widths = [max(len(_cell(h)) + 2, *(len(_cell(r[i])) for r in rows)) + 3  # tabulate pads headers by 2
              for i, h in enumerate(headers)]
    groups: list[list[int]] = []
    for i in range(1, len(headers)):
        if groups and widths[0] + sum(widths[j] for j in groups[-1]) + widths[i] + 1 <= width:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [_table([headers[0], *[headers[i] for i in group]], [[r[0], *[r[i] for i in group]] for r in rows],
                   [align[0], *[align[i] for i in group]]) for group in groups or [[]]]


def wrap_prose(text: str, width: int = MAX_LINE) -> str:
    """Markdown with every prose line longer than ``width`` wrapped at spaces outside code spans (a soft line
    break renders as a space; list items keep their indent); tables, headings, HTML and code blocks are left
    as they are."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width or line.startswith(("|", "#", "<", "```", "    ")):
            out.append(line)
            continue
        item = re.match(r"\s*(?:[-*] |\d+\. )?", line)
        indent = " " * item.end()
        current, empty = line[:item.end()], True
        for word in _PROSE_WORD.findall(line[item.end():]):
            if not empty and len(current) + 1 + len(word) > width:
                out.append(current)
                current = indent + word
            else:
                current = current + word if empty else f"{current} {word}"
            empty = False
        out.append(current)
    return "\n".join(out)


_PROSE_WORD = re.compile(r"(?:`[^`]*`|[^\s`])+")  # a word: code spans (spaces and all) and the text they touch


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _short_hash(value: Any) -> str:
    return str(value)[:12] if value else "—"


# --------------------------------------------------------------------------------------------------
# Markdown


def render_markdown(board: Board, figures: Sequence[Figure], out_dir: Path | None = None,
                    results_label: str = "results") -> str:
    """The leaderboard page for ``board`` with ``figures`` (:func:`benchmark.publish.figures.draw_figures`)."""
    from benchmark.publish.figures import figures_section

    parts: list[str] = []
    parts.append(f"# Leaderboard: {md_text(board.title)}")
    parts.append(_intro(board, out_dir))
    parts.append(_card_section(board))
    parts.append(_ranking_section(board))
    parts.append(_uncertainty_section(board))
    for family in board.families:
        parts.append(_family_section(board, family))
    parts.append(figures_section(board, figures))
    parts.append(_compute_section(board))
    parts.append(_failures_section(board))
    parts.append(_provenance_section(board, results_label, out_dir))
    return wrap_prose("\n\n".join(p.strip("\n") for p in parts if p)) + "\n"


def _intro(board: Board, out_dir: Path | None) -> str:
    n_ok = sum(len(g.ok) for g in board.generators.values())
    guide = "`docs/leaderboard.md`"
    docs = Path(__file__).resolve().parents[1] / "docs" / "leaderboard.md"
    if out_dir is not None and docs.is_file():
        try:
            out = Path(out_dir).resolve()
            out.relative_to(docs.parents[1])
            guide = f"[docs/leaderboard.md]({Path(os.path.relpath(docs, out)).as_posix()})"
        except ValueError:
            pass
    return (
        f"{_plural(len(board.generators), 'generator')}, {_plural(len(board.records), 'record')} ({n_ok} ok). "
        "Cells are mean ± sd over ok seeds; the first row of each table is the real holdout scored "
        "as if it were synthetic (the reference to compare with); **bold** marks the best ranked "
        f"generator per column. How to read this page: {guide}."
    )


def _card_section(board: Board) -> str:
    card = board.card
    lines = ["## Dataset", ""]

    def item(label: str, markdown: str) -> None:
        if markdown:
            lines.append(f"- **{label}:** {markdown}")

    def text(value: Any) -> str:
        return md_text(public(value)) if value not in (None, "", [], {}) else ""

    item("Dataset", f"{text(board.dataset_id)} (version {text(card.get('version', '—'))})")
    item("Protocol", text(board.protocol + _protocol_settings(board)))
    item("Source", text(card.get("source")))
    item("Licence", text(card.get("license") or card.get("licence")))
    item("Citation", text(card.get("citation")))
    item("Samples × features", text(f"{card.get('n', '—')} × {card.get('p', '—')} ({card.get('modality', '—')})"))
    classes = [str(c) for c in card.get("class_names") or []]
    if classes:
        label = f" (label column {md_code(card['label_column'])})" if card.get("label_column") else ""
        item("Classes", f"{len(classes)}{label}: " + text(", ".join(classes)))
    dropped = card.get("dropped_classes") or {}
    if isinstance(dropped, Mapping):
        item("Dropped classes", text(", ".join(f"{k} ({v} samples)" for k, v in sorted(dropped.items())) or "none"))
    sizes = [f"{key} {card.get('n_' + key, '—')}" for key in ("train", "holdout", "test")]
    item("Split", text(" · ".join(sizes)) + f" · hash {md_code(_short_hash(card.get('split_hash')))}")
    if board.stale:
        hashes = sorted({_short_hash(_split_hash(r)) for r in board.stale})
        lines += ["", f"> Note: {len(board.stale)} stale record(s) from an older split "
                      f"({', '.join(md_code(h) for h in hashes)}) were ignored; only the most recent "
                      f"split {md_code(_short_hash(card.get('split_hash')))} is published."]
    return "\n".join(lines)


def _protocol_settings(board: Board) -> str:
    """The protocol's settings from the records (the first one that has them), in a few words."""
    info = next((r.get("protocol_info") for r in board.records if r.get("protocol_info")), None) or {}
    if info.get("name") == "biased":
        cut = ", ".join(f"{label} {info['biased_train_counts'].get(label)}/{info['train_counts'].get(label)}"
                        for label in info.get("biased_labels", []))
        return f" (classes cut to {info.get('fraction', 0):.0%} of their train rows: {cut} train rows kept)"
    if info.get("name") == "small-n":
        return (f" (N = {info.get('n_true')} real train rows per seed, "
                f"{', '.join(map(str, info.get('n_fake', [])))} synthetic rows added)")
    return ""


def _ranking_section(board: Board) -> str:
    families = [f for f in board.ranking.family_ranks if f not in UNRANKED_FAMILIES]
    lines = ["## Overall ranking", ""]
    if not board.ranking.order:
        lines.append("No generator has an ok seed with rankable scores; nothing is ranked.")
    headers = ["#", "generator", *families, "overall (95% CI)", "privacy", "fit s", "sample s", "peak MB", "params",
               "seeds"]
    close = board.intervals.overlaps_next(board.ranking.order, board.ranking.demoted) if board.ranking.order else set()
    rows = []
    for g in board.display_order():
        n = f"{len(g.ok)}/{len(g.records)}"
        verdict = board.verdicts[g.name].label if g.name in board.verdicts else "—"
        compute = _compute_cells(g)
        if g.name in board.ranking.position:
            mark = " ≈" if g.name in close else ""
            rows.append([f"{board.ranking.position[g.name]}{mark}", g.label,
                         *[fmt(board.ranking.family_ranks[f][g.name]) for f in families],
                         fmt_rank(board.ranking.overall[g.name], board.intervals.overall[g.name]), verdict,
                         *compute, n])
        else:
            reason = "not ranked" if g.is_control else "failed"
            rows.append(["—", g.label, *["—"] * len(families), reason, verdict, *compute, n])
    if board.ranking.order or rows:
        lines.append("\n\n".join(_split_tables(headers, rows, ["right", "left", *["right"] * (len(families) + 1),
                                                             "left", *["right"] * 5])))
    lines += ["", "Columns: " + ", ".join(md_text(f) for f in families)
              + (" = the family's rank (mean of its score ranks, 1 = best); " if families else "")
              + "overall = mean of the family ranks, with its 95 % bootstrap interval; privacy = the privacy "
                "verdict (see Privacy); fit s and sample s = seconds per seed (mean over ok seeds); peak MB = the "
                "largest peak memory of a seed; params = trained parameters; seeds = ok seeds / seeds run.",
              "", "Ranks: 1 = best, ties averaged. Per score, generators are ranked by their seed mean "
                  "(missing values rank last); family rank = mean of score ranks; overall = mean of the "
                  f"{', '.join(md_text(f) for f in families) or 'ranked'} family ranks. Privacy is a verdict, not a rank "
                  "(see Privacy): generators whose verdict is **leak** are ranked after all others."]
    if board.ranking.order:
        lines += ["", f"95 % CI: the 2.5th to 97.5th percentile of the overall rank over {board.intervals.replicates} "
                      "bootstrap replicates, each drawing every generator's ok seeds with replacement and ranking "
                      "again. ≈ after a position: that interval overlaps the next generator's (of the same privacy "
                      "group), so the two are not told apart by these seeds. Family rank intervals: under Rank uncertainty."]
    lines += _unranked_footnote(board)
    lines += _control_footnote(board)
    lines += _early_stop_footnote(board)
    lines += _external_footnote(board)
    return "\n".join(lines)


def _uncertainty_section(board: Board) -> str:
    """Each ranked generator's 95 % bootstrap interval of every family rank and of the overall rank."""
    if not board.ranking.order:
        return ""
    intervals = board.intervals
    families = list(intervals.family)
    rows = [[board.generators[g].label,
             *[fmt_rank(board.ranking.family_ranks[f][g], intervals.family[f][g]) for f in families],
             fmt_rank(board.ranking.overall[g], intervals.overall[g])]
            for g in board.ranking.order]
    table = "\n\n".join(_split_tables(["generator", *families, "overall"], rows,
                                       ["left", *["right"] * (len(families) + 1)]))
    return "\n".join(["## Rank uncertainty", "",
                      "Rank (95 % bootstrap interval over seeds, see the note under Overall ranking). Records hold one "
                      "value per score and seed, so seeds, not evaluated rows, are resampled.", "", table])


def _compute_cells(g: GeneratorRows) -> list[str]:
    """Fit and sample seconds (mean), peak memory (largest) and parameters over ok seeds, for the headline."""
    fit, sample, rss, params = (g.compute_values(k) for k in ("fit_s", "sample_s", "peak_rss_mb", "n_params"))
    mean = [fmt(sum(v) / len(v)) if v else "—" for v in (fit, sample)]
    return [*mean, fmt(max(rss)) if rss else "—", _count(max(params)) if params else "—"]


def _unranked_footnote(board: Board) -> list[str]:
    """Generators without an ok seed: listed with why, never dropped."""
    failed = [g for g in board.display_order() if not g.ok and not g.is_control]
    if not failed:
        return []
    lines = ["", "Not ranked, no ok seed (details under Failures):"]
    for g in failed:
        first = g.records[0]
        lines.append(f"- {md_text(g.label)}: {md_text(first.get('status'))} in {len(g.records)} seed(s), "
                     f"e.g. {md_text(first_line(public(first.get('error'))))}")
    return lines


def _control_footnote(board: Board) -> list[str]:
    controls = sorted(g.name for g in board.generators.values() if g.is_control)
    if not controls:
        return []
    return ["", f"{CONTROL_MARK} {md_text(', '.join(controls))}: privacy control (memorises the training set), "
                "not ranked."]


def _early_stop_footnote(board: Board) -> list[str]:
    """One line per generator row with a seed whose fit stopped at the wall-clock limit (its scores are
    those of a truncated fit, not of the budget's settings)."""
    lines = []
    for g in board.display_order():
        stops = g.stopped_early
        if not stops:
            continue
        parts = []
        for seed, done, planned in stops:
            if is_finite_number(done) and is_finite_number(planned):
                parts.append(f"after {_count(done)} of {_count(planned)} steps in seed {seed}")
            elif is_finite_number(done):
                parts.append(f"after {_count(done)} steps in seed {seed}")
            else:
                parts.append(f"in seed {seed}")
        lines += ["", f"{EARLY_STOP_MARK} {md_text(g.name)}: stopped at the wall-clock limit {'; '.join(parts)} "
                      "(a truncated fit, not the budget's result)."]
    return lines


def _external_footnote(board: Board) -> list[str]:
    """The file name and sha256 prefix behind each row scored from a file (``python -m benchmark score``)."""
    files = [(g.name, g.external) for g in board.display_order() if g.external is not None]
    if not files:
        return []
    items = [f"{md_text(name)}: {md_code(Path(str(block.get('file') or '')).name)}, sha256 "
             f"{md_code(_short_hash(block.get('sha256')))}" for name, block in files]
    return ["", "External files (rows read from a file by `python -m benchmark score`, not generated by a run): "
                + "; ".join(items) + "."]


def _count(value: Any) -> str:
    """A step count with thousands separators (1,200)."""
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else fmt(number)


def _family_section(board: Board, family: str) -> str:
    """Headline scores in the main table; when the family has more, every score in a folded table."""
    specs = board.family_specs(family)
    headline = [s for s in specs if is_headline(s.name)]
    lines = [f"## {md_text(family.capitalize())}", ""]
    if family == "privacy":
        verdicts = _verdict_lines(board)
        lines += [*verdicts, ""] if verdicts else []
    if headline and len(headline) < len(specs):
        lines += [_score_table(board, headline), "",
                  f"<details><summary>All {len(specs)} {html.escape(family)} scores</summary>", "",
                  _score_table(board, specs), "", "</details>", ""]
    else:
        lines += [_score_table(board, specs), ""]
    lines.append("Direction: " + " · ".join(f"{md_code(s.name)} {s.arrow}" for s in specs)
                 + " (↑ higher is better, ↓ lower is better, → v closest to v, → ref closest to the reference).")
    lines += ["", *_meanings(specs)]
    if any(len(g.values(s.name)) < len(g.ok) for g in board.display_order() if g.ok for s in specs
           if g.values(s.name)):
        lines.append("")
        lines.append("(n=k): the score exists for only k of the generator's ok seeds (see Failures).")
    context = [s.name for s in specs if s.direction == "info"]
    if context:
        lines += ["", "Context, not ranked: " + ", ".join(md_code(n) for n in context) + "."]
    unranked = [s.name for s in specs if not s.rankable and s.direction != "info"]
    if unranked:
        lines += ["", "Not ranked (unknown direction): " + ", ".join(md_code(n) for n in unranked) + "."]
    return "\n".join(lines)


def _score_table(board: Board, specs: Sequence[ScoreSpec]) -> str:
    """Reference row, then one row per generator with mean ± sd; the best ranked value in bold (not for
    privacy, which is a verdict). Scores with a null show it under the reference: (null mean ± sd)."""
    headers = ["generator", *[s.name for s in specs]]
    rows = [[REFERENCE_LABEL, *[_reference_cell(s) for s in specs]]]
    best = {s.name: board.best(s) for s in specs}
    for g in (g for g in board.display_order() if g.ok):
        row = [g.label]
        for s in specs:
            values = g.values(s.name)
            text = fmt_mean_sd(values) if values or not _not_applicable(g, s.name) else "n/a"
            if values and len(values) < len(g.ok):
                text += f" (n={len(values)})"
            row.append(Markdown(f"**{md_text(text)}**") if g.name in best[s.name] else text)
        rows.append(row)
    return "\n\n".join(_split_tables(headers, rows, ["left", *["right"] * len(specs)]))


def _reference_cell(spec: ScoreSpec) -> str:
    if spec.null_mean is None or spec.null_sd is None:
        return fmt(spec.reference)
    return f"{fmt(spec.reference)} (null {fmt(spec.null_mean)} ± {fmt(spec.null_sd)})"


def _verdict_lines(board: Board) -> list[str]:
    """The privacy verdict of each generator with the evidence behind it, and the rule."""
    judged = [g for g in board.display_order() if g.name in board.verdicts]
    if not any(board.verdicts[g.name].verdict for g in judged):
        return []
    rows = []
    for g in judged:
        verdict = board.verdicts[g.name]
        deciding = verdict.deciding
        rows.append([g.label, verdict.label, deciding.describe() if deciding else "—"])
    thresholds = ", ".join(f"{md_code(score)} {value:g}" for score, value in sorted(MATERIAL.items()))
    return [
        "### Privacy verdicts", "",
        _table(["generator", "verdict", "strongest evidence"], rows),
        "",
        "Each deciding score (the membership attacks and the identical-match rate, whose null holds for any "
        "output) is tested against its **null**, the mean ± sd that real rows exchangeable with the data reach "
        "on this split's sizes (measured by re-splitting the real rows; shown under the reference row): "
        "z = (generator mean − null mean) / √(null sd² + seed sd² / seeds), signed so that positive means closer "
        f"to the training rows. **leak**: some score has z ≥ {Z_SIGNIFICANT:g} and differs from its null mean by "
        f"at least its materiality threshold ({thresholds}); **risk**: z ≥ {Z_SIGNIFICANT:g} below the threshold; "
        f"**pass**: no score with z ≥ {Z_SIGNIFICANT:g}. The other privacy scores are diagnostics. How the nulls "
        "are measured: `docs/metrics.md`.",
    ]


def _not_applicable(g: GeneratorRows, score: str) -> bool:
    """Whether every ok seed of ``g`` recorded the metric behind ``score`` as not applicable."""
    metric = _metric_of_score().get(score, score)
    return bool(g.ok) and all(metric in (r.get("metric_not_applicable") or {}) for r in g.ok)


def _meanings(specs: Sequence[ScoreSpec]) -> list[str]:
    """What each column means: one line per metric, naming its scores (folded)."""
    from metrics import list_metrics

    described = {m["name"]: m["description"] for m in list_metrics()}
    by_metric: dict[str, list[str]] = {}
    of_score = _metric_of_score()
    for spec in specs:
        by_metric.setdefault(of_score.get(spec.name, spec.name), []).append(spec.name)
    items = [f"- {', '.join(md_code(n) for n in names)}: {md_text(described.get(metric) or 'protocol score')}"
             for metric, names in sorted(by_metric.items())]
    return ["<details><summary>What the columns mean</summary>", "", *items, "", "</details>"]


@lru_cache(maxsize=1)
def _metric_of_score() -> dict[str, str]:
    """Score name -> name of the registered metric that computes it."""
    from metrics.base import metrics_for

    return {score: spec.name for spec in metrics_for() for score in spec.scores}


def _compute_section(board: Board) -> str:
    headers = ["generator", "budget", "fit_s", "sample_s", "eval_s", "peak_rss_mb (max)", "n_params", "device"]
    rows = []
    for g in board.display_order():
        source = g.ok or g.records
        computes = [r.get("compute") or {} for r in source]
        rss = g.compute_values("peak_rss_mb", source)
        params = sorted({int(v) for v in g.compute_values("n_params", source)})
        devices = sorted({str(c["device"]) for c in computes if c.get("device")})
        budgets = sorted({str((r.get("generator") or {}).get("budget")) for r in source
                          if (r.get("generator") or {}).get("budget")})
        rows.append([g.label + ("" if g.ok else " (failed runs)"), ", ".join(budgets) or "—",
                     *[fmt_mean_sd(g.compute_values(key, source)) for key in ("fit_s", "sample_s", "eval_s")],
                     fmt(max(rss)) if rss else "—", ", ".join(f"{p:,}" for p in params) or "—",
                     ", ".join(devices) or "—"])
    return "\n".join(["## Compute", "", "Seconds and MB over ok seeds (all seeds for a generator without one).",
                      "", _table(headers, rows, ["left", "left", *["right"] * 5, "left"])])


def _failures_section(board: Board) -> str:
    lines = ["## Failures", ""]
    failed = [r for r in board.records if r.get("status") != "ok"]
    if failed:
        rows = [[record_variant(r), (r.get("generator") or {}).get("seed", "—"),
                 r.get("status") or "unknown", first_line(r.get("error")) or "—"] for r in failed]
        lines.append(_table(["generator", "seed", "status", "error"], rows))
    else:
        lines.append("Failed jobs: none.")
    lines.append("")
    metric_rows = []
    for r in board.records:
        if r.get("status") != "ok":
            continue
        failures = r.get("metric_failures") or {}
        if isinstance(failures, Mapping):
            for metric, message in sorted(failures.items()):
                generator = r.get("generator") or {}
                metric_rows.append([record_variant(r), generator.get("seed", "—"), metric,
                                    first_line(message) or "—"])
    if metric_rows:
        lines.append("Metrics that could not be computed in ok jobs:")
        lines.append("")
        lines.append(_table(["generator", "seed", "metric", "message"], metric_rows))
    else:
        lines.append("Metric failures: none.")
    lines += ["", *_not_applicable_lines(board)]
    return "\n".join(lines)


def _not_applicable_lines(board: Board) -> list[str]:
    """Metrics that do not apply to these data (not failures; their cells show n/a), one row per
    generator, metric and reason with the seeds it concerns."""
    seeds: dict[tuple[str, str, str], list[str]] = {}
    for r in board.records:
        reasons = r.get("metric_not_applicable") if r.get("status") == "ok" else None
        generator = r.get("generator") or {}
        for metric, reason in sorted((reasons if isinstance(reasons, Mapping) else {}).items()):
            key = (record_variant(r), metric, first_line(reason) or "—")
            seeds.setdefault(key, []).append(str(generator.get("seed", "—")))
    if not seeds:
        return ["Not applicable: none."]
    rows = [[name, ", ".join(seed_list), metric, reason] for (name, metric, reason), seed_list in seeds.items()]
    return ["Not applicable to these data (not failures; shown as n/a in the tables):", "",
            _table(["generator", "seeds", "metric", "reason"], rows)]


def _provenance_section(board: Board, results_label: str, out_dir: Path | None = None) -> str:
    def distinct(key: str, short: bool = False) -> str:
        values = sorted({str((r.get("provenance") or {}).get(key)) for r in board.records
                         if (r.get("provenance") or {}).get(key)})
        if short:
            values = sorted({_short_hash(v) for v in values})
        return ", ".join(md_code(v) for v in values) or "—"

    n_ok = sum(1 for r in board.records if r.get("status") == "ok")
    stale = f"; {len(board.stale)} stale record(s) ignored" if board.stale else ""
    return "\n".join([
        "## Provenance", "",
        f"- Generated from {len(board.records)} records ({n_ok} ok) in {md_code(f'{results_label}/{board.folder}/')}"
        f"{stale}.",
        f"- Package version: {distinct('package_version')}; git sha: {distinct('git_sha', short=True)}.",
        f"- Python {distinct('python')}; numpy {distinct('numpy')}; torch {distinct('torch')}.",
        *_environment_line(board),
        "- Re-publish: " + md_code(f"python -m benchmark publish --results {results_label} --dataset {board.folder}"
                                   + (f" --out {Path(out_dir).as_posix()}" if out_dir is not None else "")),
    ])


def _environment_line(board: Board) -> list[str]:
    """One short line on the machines the records ran on (CPU, GPU, BLAS), where the records say."""
    recorded = [r["provenance"] for r in board.records
                if isinstance(r.get("provenance"), Mapping) and "cpu_count" in r["provenance"]]
    if not recorded:
        return ["- Environment: not recorded (these records predate machine provenance)."]

    def distinct(key: str) -> str:
        return ", ".join(md_code(v) for v in sorted({str(p[key]) for p in recorded if p.get(key)})) or "—"

    gpu = distinct("gpu") if any(p.get("gpu") for p in recorded) else "none"
    missing = len(board.records) - len(recorded)
    unknown = f" ({missing} record(s) without)" if missing else ""
    return [f"- Environment: CPU {distinct('cpu')}; GPU {gpu}; BLAS {distinct('blas')}; scikit-learn "
            f"{distinct('scikit_learn')}{unknown}."]


__all__ = ["publish", "publish_folder", "render_markdown", "Board", "fmt", "fmt_mean_sd"]
