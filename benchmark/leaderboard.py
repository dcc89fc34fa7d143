"""Publish leaderboards: one markdown page and its figures per dataset folder of result records.

Publishing reads the JSON records written by :mod:`benchmark.store` and nothing else (never real
data), so anyone holding the ``results/`` folder can re-publish. Output is deterministic: the same
records give byte-identical markdown (no publish timestamp) and, for one matplotlib version, identical
PNG files. How to read the page: ``docs/leaderboard.md``. Ranking rules: :mod:`benchmark.ranking`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError
from benchmark.ranking import (
    Ranking,
    ScoreSpec,
    best_keys,
    family_sort_key,
    is_headline,
    rank_generators,
)
from benchmark.store import dataset_folders, iter_records, safe_name

#: Generator names shown in the tables but never ranked or bolded (privacy controls).
CONTROLS = frozenset({"copy-train"})
CONTROL_MARK = "†"
REFERENCE_LABEL = "real holdout (reference)"
MAX_ERROR_CHARS = 200
#: Substrings picking the headline scores of the bar-chart figure, per family, in preference order.
HEADLINE_HINTS = {
    "fidelity": ("detect_lr_auc", "detect", "precision", "recall", "density", "coverage", "fd", "mmd"),
    "utility": ("tstr", "tstr", "balanced", "f1", "auc"),  # TRTR is the same for every generator
    "privacy": ("dcr_share", "mia_auc", "dcr", "mia", "domias", "aats"),
    "genomics": ("ld_error", "af_corr", "ld", "fst", "af", "maf"),
}
HEADLINES_PER_FAMILY = 2
MAX_HEADLINES = 8


def publish(results_dir: Path, out_dir: Path, dataset: str | None = None) -> list[Path]:
    """Write ``out_dir/<folder>.md`` and ``out_dir/figures/<folder>_*.png`` for each dataset folder.

    ``dataset=None`` publishes every dataset folder under ``results_dir``. A dataset id without a
    protocol (``1kg-chr1``) publishes its standard folder and its protocol variants (``1kg-chr1@biased``);
    a folder name with ``@`` publishes that folder only. Returns the written paths.
    Raises :class:`BenchmarkError` when there is nothing to publish.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    folders = dataset_folders(results_dir)
    if dataset is not None:
        wanted = safe_name(dataset)
        folders = [f for f in folders if f == wanted or ("@" not in wanted and f.startswith(wanted + "@"))]
    written: list[Path] = []
    for folder in folders:
        records = list(iter_records(results_dir, folder))
        if records:
            written.extend(publish_folder(records, folder, out_dir, results_label=results_dir.as_posix()))
    if not written:
        what = f"dataset {dataset}" if dataset is not None else "any dataset"
        raise BenchmarkError(f"no records for {what} under {results_dir}")
    return written


def publish_folder(records: Sequence[Mapping[str, Any]], folder: str, out_dir: Path,
                   results_label: str = "results") -> list[Path]:
    """Publish one dataset folder's records; returns [markdown, figures...]."""
    board = Board.from_records(records, folder)
    figures_dir = out_dir / "figures"
    figures: dict[str, Path] = {}
    pca = _pca_figure(board, figures_dir / f"{folder}_pca.png")
    if pca is not None:
        figures["pca"] = pca
    scores = _metrics_figure(board, figures_dir / f"{folder}_metrics.png")
    if scores is not None:
        figures["metrics"] = scores
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / f"{folder}.md"
    text = render_markdown(board, {k: f"figures/{p.name}" for k, p in figures.items()}, out_dir, results_label)
    md_path.write_text(text, encoding="utf-8")
    return [md_path, *figures.values()]


# --------------------------------------------------------------------------------------------------
# Collecting records


@dataclass
class GeneratorRows:
    """Everything the page shows about one generator."""

    name: str
    records: list[dict[str, Any]] = field(default_factory=list)  # sorted by seed

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("status") == "ok"]

    @property
    def is_control(self) -> bool:
        return self.name in CONTROLS

    @property
    def label(self) -> str:
        return self.name + (CONTROL_MARK if self.is_control else "")

    def values(self, score: str) -> list[float]:
        out = []
        for record in self.ok:
            entry = (record.get("metrics") or {}).get(score)
            value = entry.get("value") if isinstance(entry, Mapping) else None
            if _is_number(value):
                out.append(float(value))
        return out

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
            name = str((record.get("generator") or {}).get("name") or "unnamed")
            generators.setdefault(name, GeneratorRows(name)).records.append(record)
        specs = _score_specs(current)
        ranked = [g.name for g in generators.values() if not g.is_control and g.ok]
        means = {g.name: {s: g.mean(s) for s in specs} for g in generators.values()}
        ranking = rank_generators(means, specs.values(), ranked)
        protocol = str(latest.get("protocol") or (folder.split("@", 1)[1] if "@" in folder else "standard"))
        dataset_id = str(card.get("id") or folder.split("@", 1)[0])
        return cls(folder, dataset_id, protocol, card, current, stale, generators, specs, ranking)

    @property
    def title(self) -> str:
        """Dataset id, with the protocol when it is not the standard one."""
        return self.dataset_id if self.protocol == "standard" else f"{self.dataset_id} (protocol: {self.protocol})"

    @property
    def families(self) -> list[str]:
        return sorted({s.family for s in self.specs.values()}, key=family_sort_key)

    def family_specs(self, family: str) -> list[ScoreSpec]:
        return sorted((s for s in self.specs.values() if s.family == family), key=lambda s: s.name)

    def display_order(self) -> list[GeneratorRows]:
        """Ranked generators best first, then controls, then generators without an ok seed."""
        ranked = [self.generators[g] for g in self.ranking.order]
        rest = sorted((g for g in self.generators.values() if g.name not in self.ranking.order),
                      key=lambda g: (not g.is_control, not g.ok, g.name))
        return ranked + rest

    def best(self, spec: ScoreSpec) -> set[str]:
        return best_keys({g: self.generators[g].mean(spec.name) for g in self.ranking.order}, spec)


def _record_key(record: Mapping[str, Any]) -> tuple[str, int, str]:
    generator = record.get("generator") or {}
    seed = generator.get("seed")
    return (str(generator.get("name") or ""), seed if isinstance(seed, int) else -1, str(record.get("config_hash") or ""))


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
    """One spec per score name; direction from the most recent record, reference = mean over records."""
    latest: dict[str, Mapping[str, Any]] = {}
    references: dict[str, list[float]] = {}
    for record in sorted(records, key=_started_at):
        for name, entry in (record.get("metrics") or {}).items():
            if not isinstance(entry, Mapping):
                continue
            latest[name] = entry
            if _is_number(entry.get("reference")):
                references.setdefault(name, []).append(float(entry["reference"]))
    specs = {}
    for name, entry in latest.items():
        refs = references.get(name)
        target = entry.get("target")
        specs[name] = ScoreSpec(
            name=name,
            family=str(entry.get("family") or "other"),
            direction=str(entry.get("direction") or "unknown"),
            target=float(target) if _is_number(target) else None,
            reference=sum(refs) / len(refs) if refs else None,
        )
    return specs


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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


def _cell(text: Any) -> str:
    """Text safe inside a markdown pipe-table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _first_line(text: Any, limit: int = MAX_ERROR_CHARS) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    from tabulate import tabulate

    return tabulate([[_cell(c) for c in row] for row in rows], headers=[_cell(h) for h in headers],
                    tablefmt="github", disable_numparse=True, colalign=align)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _short_hash(value: Any) -> str:
    return str(value)[:12] if value else "—"


# --------------------------------------------------------------------------------------------------
# Markdown


def render_markdown(board: Board, figures: Mapping[str, str], out_dir: Path | None = None,
                    results_label: str = "results") -> str:
    """The leaderboard page for ``board``; ``figures`` maps 'pca' / 'metrics' to relative paths."""
    parts: list[str] = []
    parts.append(f"# Leaderboard: {board.title}")
    parts.append(_intro(board, out_dir))
    parts.append(_card_section(board))
    parts.append(_ranking_section(board))
    for family in board.families:
        parts.append(_family_section(board, family))
    parts.append(_figures_section(board, figures))
    parts.append(_compute_section(board))
    parts.append(_failures_section(board))
    parts.append(_provenance_section(board, results_label))
    return "\n\n".join(p.strip("\n") for p in parts if p) + "\n"


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

    def item(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            lines.append(f"- **{label}:** {' '.join(str(value).split())}")

    item("Dataset", f"{board.dataset_id} (version {card.get('version', '—')})")
    item("Protocol", board.protocol + _protocol_settings(board))
    item("Source", card.get("source"))
    item("Licence", card.get("license") or card.get("licence"))
    item("Citation", card.get("citation"))
    item("Samples × features", f"{card.get('n', '—')} × {card.get('p', '—')} ({card.get('modality', '—')})")
    classes = [str(c) for c in card.get("class_names") or []]
    if classes:
        label = f" (label column `{card['label_column']}`)" if card.get("label_column") else ""
        item("Classes", f"{len(classes)}{label}: " + ", ".join(classes))
    dropped = card.get("dropped_classes") or {}
    if isinstance(dropped, Mapping):
        item("Dropped classes", ", ".join(f"{k} ({v} samples)" for k, v in sorted(dropped.items())) or "none")
    sizes = [f"{key} {card.get('n_' + key, '—')}" for key in ("train", "holdout", "test")]
    item("Split", " · ".join(sizes) + f" · hash `{_short_hash(card.get('split_hash'))}`")
    if board.stale:
        hashes = sorted({_short_hash(_split_hash(r)) for r in board.stale})
        lines += ["", f"> Note: {len(board.stale)} stale record(s) from an older split "
                      f"({', '.join('`' + h + '`' for h in hashes)}) were ignored; only the most recent "
                      f"split `{_short_hash(card.get('split_hash'))}` is published."]
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
    families = list(board.ranking.family_ranks)
    lines = ["## Overall ranking", ""]
    if not board.ranking.order:
        lines.append("No generator has an ok seed with rankable scores; nothing is ranked.")
    headers = ["#", "generator", *families, "overall", "ok seeds"]
    rows = []
    for g in board.display_order():
        n = f"{len(g.ok)}/{len(g.records)}"
        if g.name in board.ranking.position:
            rows.append([board.ranking.position[g.name], g.label,
                         *[fmt(board.ranking.family_ranks[f][g.name]) for f in families],
                         fmt(board.ranking.overall[g.name]), n])
        else:
            reason = "not ranked" if g.is_control else "no ok seed"
            rows.append(["—", g.label, *["—"] * len(families), reason, n])
    if board.ranking.order or rows:
        lines.append(_table(headers, rows, ["right", "left", *["right"] * (len(families) + 2)]))
    lines += ["", "Ranks: 1 = best, ties averaged. Per score, generators are ranked by their seed mean "
                  "(missing values rank last); family rank = mean of score ranks; overall = mean of family ranks."]
    lines += _control_footnote(board)
    return "\n".join(lines)


def _control_footnote(board: Board) -> list[str]:
    controls = sorted(g.name for g in board.generators.values() if g.is_control)
    if not controls:
        return []
    return ["", f"{CONTROL_MARK} {', '.join(controls)}: privacy control (memorises the training set), not ranked."]


def _family_section(board: Board, family: str) -> str:
    """Headline scores in the main table; when the family has more, every score in a folded table."""
    specs = board.family_specs(family)
    headline = [s for s in specs if is_headline(s.name)]
    lines = [f"## {family.capitalize()}", ""]
    if headline and len(headline) < len(specs):
        lines += [_score_table(board, headline), "",
                  f"<details><summary>All {len(specs)} {family} scores</summary>", "",
                  _score_table(board, specs), "", "</details>", ""]
    else:
        lines += [_score_table(board, specs), ""]
    lines.append("Direction: " + " · ".join(f"`{s.name}` {s.arrow}" for s in specs)
                 + " (↑ higher is better, ↓ lower is better, → v closest to v, → ref closest to the reference).")
    if any(len(g.values(s.name)) < len(g.ok) for g in board.display_order() if g.ok for s in specs
           if g.values(s.name)):
        lines.append("")
        lines.append("(n=k): the score exists for only k of the generator's ok seeds (see Failures).")
    context = [s.name for s in specs if s.direction == "info"]
    if context:
        lines += ["", "Context, not ranked: " + ", ".join(f"`{n}`" for n in context) + "."]
    unranked = [s.name for s in specs if not s.rankable and s.direction != "info"]
    if unranked:
        lines += ["", "Not ranked (unknown direction): " + ", ".join(f"`{n}`" for n in unranked) + "."]
    return "\n".join(lines)


def _score_table(board: Board, specs: Sequence[ScoreSpec]) -> str:
    """Reference row, then one row per generator with mean ± sd; the best ranked value in bold."""
    headers = ["generator", *[s.name for s in specs]]
    rows = [[REFERENCE_LABEL, *[fmt(s.reference) for s in specs]]]
    best = {s.name: board.best(s) for s in specs}
    for g in (g for g in board.display_order() if g.ok):
        row = [g.label]
        for s in specs:
            values = g.values(s.name)
            text = fmt_mean_sd(values)
            if values and len(values) < len(g.ok):
                text += f" (n={len(values)})"
            if g.name in best[s.name]:
                text = f"**{text}**"
            row.append(text)
        rows.append(row)
    return _table(headers, rows, ["left", *["right"] * len(specs)])


def _figures_section(board: Board, figures: Mapping[str, str]) -> str:
    lines = ["## Figures", ""]
    if "pca" in figures:
        method = ""
        for record in board.records:
            projection = record.get("projection")
            if isinstance(projection, Mapping) and projection.get("method"):
                method = str(projection["method"])
                break
        lines.append(f"![PCA of real test and synthetic samples]({figures['pca']})")
        lines.append("")
        lines.append("Real test samples and each generator's samples (first ok seed) on shared axes, coloured by "
                     "class" + (f"; projection: {' '.join(method.split())}." if method else "."))
    else:
        lines.append("No projection in the records: no PCA figure.")
    if "metrics" in figures:
        lines += ["", f"![Headline scores]({figures['metrics']})", "",
                  "Headline scores: seed mean ± sd per generator (orange diamond = best ranked, grey hollow square "
                  "= control, not ranked); dashed line = real-holdout reference, dotted line = numeric target."]
    return "\n".join(lines)


def _compute_section(board: Board) -> str:
    headers = ["generator", "budget", "fit_s", "sample_s", "eval_s", "peak_rss_mb (max)", "n_params", "device"]
    rows = []
    for g in board.display_order():
        source = g.ok or g.records
        computes = [r.get("compute") or {} for r in source]

        def numbers(key: str, computes=computes) -> list[float]:
            return [float(c[key]) for c in computes if _is_number(c.get(key))]

        rss = numbers("peak_rss_mb")
        params = sorted({int(v) for v in numbers("n_params")})
        devices = sorted({str(c["device"]) for c in computes if c.get("device")})
        budgets = sorted({str((r.get("generator") or {}).get("budget")) for r in source
                          if (r.get("generator") or {}).get("budget")})
        rows.append([g.label + ("" if g.ok else " (failed runs)"), ", ".join(budgets) or "—",
                     fmt_mean_sd(numbers("fit_s")), fmt_mean_sd(numbers("sample_s")), fmt_mean_sd(numbers("eval_s")),
                     fmt(max(rss)) if rss else "—", ", ".join(f"{p:,}" for p in params) or "—",
                     ", ".join(devices) or "—"])
    return "\n".join(["## Compute", "", "Seconds and MB over ok seeds (all seeds for a generator without one).",
                      "", _table(headers, rows, ["left", "left", *["right"] * 5, "left"])])


def _failures_section(board: Board) -> str:
    lines = ["## Failures", ""]
    failed = [r for r in board.records if r.get("status") != "ok"]
    if failed:
        rows = [[(r.get("generator") or {}).get("name", "—"), (r.get("generator") or {}).get("seed", "—"),
                 r.get("status") or "unknown", _first_line(r.get("error")) or "—"] for r in failed]
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
                metric_rows.append([generator.get("name", "—"), generator.get("seed", "—"), metric,
                                    _first_line(message) or "—"])
    if metric_rows:
        lines.append("Metrics that could not be computed in ok jobs:")
        lines.append("")
        lines.append(_table(["generator", "seed", "metric", "message"], metric_rows))
    else:
        lines.append("Metric failures: none.")
    return "\n".join(lines)


def _provenance_section(board: Board, results_label: str) -> str:
    def distinct(key: str, short: bool = False) -> str:
        values = sorted({str((r.get("provenance") or {}).get(key)) for r in board.records
                         if (r.get("provenance") or {}).get(key)})
        if short:
            values = sorted({_short_hash(v) for v in values})
        return ", ".join(f"`{v}`" for v in values) or "—"

    n_ok = sum(1 for r in board.records if r.get("status") == "ok")
    stale = f"; {len(board.stale)} stale record(s) ignored" if board.stale else ""
    return "\n".join([
        "## Provenance", "",
        f"- Generated from {len(board.records)} records ({n_ok} ok) in `{results_label}/{board.folder}/`{stale}.",
        f"- Package version: {distinct('package_version')}; git sha: {distinct('git_sha', short=True)}.",
        f"- Python {distinct('python')}; numpy {distinct('numpy')}; torch {distinct('torch')}.",
        f"- Re-publish: `python -m benchmark publish --results {results_label} --dataset {board.folder}`",
    ])


# --------------------------------------------------------------------------------------------------
# Figures


def _pca_figure(board: Board, path: Path) -> Path | None:
    from benchmark import plots

    real = None
    panels = []
    for g in board.display_order():
        chosen = next((r for r in g.ok if isinstance(r.get("projection"), Mapping)), None)
        if chosen is None:
            continue
        projection = chosen["projection"]
        if real is None and isinstance(projection.get("real"), Mapping):
            real = projection["real"]
        seed = (chosen.get("generator") or {}).get("seed")
        panels.append((f"{g.label} (seed {seed})", projection.get("synthetic")))
    if real is None and not panels:
        return None
    return plots.pca_grid(path, real, panels, [str(c) for c in board.card.get("class_names") or []],
                          f"{board.title}: PCA projection (real test vs synthetic)")


def headline_specs(board: Board) -> list[ScoreSpec]:
    """A few scores for the headline-scores figure: per family the best match of :data:`HEADLINE_HINTS`."""
    chosen: list[ScoreSpec] = []
    for family in board.families:
        available = [s for s in board.family_specs(family)
                     if s.rankable and any(board.generators[g].values(s.name) for g in board.generators)]
        picked: list[ScoreSpec] = []
        for hint in HEADLINE_HINTS.get(family, ()):
            for spec in available:
                if hint in spec.name.lower() and spec not in picked:
                    picked.append(spec)
                    break
            if len(picked) >= HEADLINES_PER_FAMILY:
                break
        for spec in available:
            if len(picked) >= HEADLINES_PER_FAMILY:
                break
            if spec not in picked:
                picked.append(spec)
        chosen.extend(picked)
    return chosen[:MAX_HEADLINES]


def _metrics_figure(board: Board, path: Path) -> Path | None:
    from benchmark import plots

    specs = headline_specs(board)
    shown = [g for g in board.display_order() if g.ok]
    if not specs or not shown:
        return None
    stats: dict[str, dict[str, tuple[float, float]]] = {}
    for spec in specs:
        for g in shown:
            values = g.values(spec.name)
            if values:
                mean, sd = mean_sd(values)
                stats.setdefault(spec.name, {})[g.name] = (mean, sd or 0.0)
    best = {s.name: board.best(s) for s in specs}
    return plots.metric_points(path, specs, stats, [g.name for g in shown], set(CONTROLS), best,
                             f"{board.title}: headline scores (seed mean ± sd)")


__all__ = ["publish", "publish_folder", "render_markdown", "Board", "fmt", "fmt_mean_sd"]
