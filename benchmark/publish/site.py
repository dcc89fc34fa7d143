"""``<out>/site/``: the published leaderboards as a static web site (sortable and filterable tables, the
figures and an interactive score scatter), built from what ``publish`` already wrote into ``<out>``: the
``<folder>.json`` summaries, the ``<folder>.csv`` long tables and ``figures/``. The folder is self-contained
(figures, CSV and JSON files are copied into it), needs no network and no server (it works from ``file://``
and on GitHub Pages); the same inputs give byte-identical files."""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from benchmark.leaderboard import CONTROL_MARK, EXTERNAL_MARK, first_line, fmt, fmt_rank
from benchmark.publish.index import leader_text
from benchmark.ranking import ScoreSpec, family_sort_key

#: Registered generator name -> generator family (filters and colours); anything else is "other".
GENERATOR_FAMILIES = {
    "gaussian": "baseline", "marginals": "baseline", "uniform": "baseline",
    "copy-train": "privacy control",
    "attgan": "GAN", "attgan-random": "GAN", "ctgan": "GAN", "offspring-gan": "GAN", "ppo-gan": "GAN",
    "wgan-gp": "GAN",
    "tvae": "VAE",
    "tabddpm": "diffusion", "latent-diffusion": "diffusion",
}
FAMILY_ORDER = ("baseline", "privacy control", "GAN", "VAE", "diffusion", "other")
ASSETS = ("site.css", "site.js")
DIRECTION_WORDS = {"higher": "higher is better", "lower": "lower is better"}
COMPUTE_HEADERS = (("fit s", "seconds to fit, mean over ok seeds"),
                   ("sample s", "seconds to sample, mean over ok seeds"),
                   ("peak MB", "the largest peak memory of a seed"), ("params", "trained parameters"),
                   ("ok seeds", "ok seeds / seeds run"))


@dataclass(frozen=True)
class Leaderboard:
    """One published folder: its JSON summary, its ok scores per generator and seed, and its figures."""

    folder: str
    summary: dict[str, Any]
    points: list[dict[str, Any]]
    figures: list[tuple[Path, str, str]]  # (PNG in <out>/figures, caption, alt text)

    @property
    def modality(self) -> str:
        return str(self.summary.get("modality") or "—")

    @property
    def size(self) -> str:
        n, p = self.summary.get("n"), self.summary.get("p")
        return f"{n} × {p}" if n is not None and p is not None else "—"

    @property
    def page(self) -> str:
        return quote(self.folder) + ".html"

    @property
    def title(self) -> str:
        protocol = self.summary.get("protocol") or "standard"
        dataset = self.summary.get("dataset") or self.folder
        return dataset if protocol == "standard" else f"{dataset} (protocol: {protocol})"

    @property
    def generators(self) -> list[dict[str, Any]]:
        return list(self.summary.get("generators") or [])

    @property
    def ranked_families(self) -> list[str]:
        return list(self.summary.get("ranked_families") or [])

    @property
    def score_families(self) -> list[str]:
        return sorted({s["family"] for s in self.scores.values()}, key=family_sort_key)

    @property
    def scores(self) -> dict[str, dict[str, Any]]:
        return dict(self.summary.get("scores") or {})


def write_site(out_dir: Path) -> list[Path]:
    """Write ``out_dir/site/`` from the leaderboards published in ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    site = out_dir / "site"
    boards = load_leaderboards(out_dir)
    (site / "assets").mkdir(parents=True, exist_ok=True)
    (site / "figures").mkdir(exist_ok=True)
    written = [_write(site / "index.html", index_page(boards))]
    (site / "data").mkdir(exist_ok=True)
    for board in boards:
        written.append(_write(site / f"{board.folder}.html", dataset_page(board, boards)))
        for suffix in (".csv", ".json"):
            source = out_dir / f"{board.folder}{suffix}"
            if source.is_file():
                written.append(_copy(source.read_bytes(), site / "data" / source.name))
        for source, _, _ in board.figures:
            written.append(_copy(source.read_bytes(), site / "figures" / source.name))
    assets = resources.files("benchmark.publish").joinpath("site_assets")
    written += [_copy(assets.joinpath(name).read_bytes(), site / "assets" / name) for name in ASSETS]
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def _copy(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path


def load_leaderboards(out_dir: Path) -> list[Leaderboard]:
    """Every ``<folder>.json`` summary in ``out_dir`` with its CSV, figures and card line, sorted by folder."""
    summaries = {}
    for path in sorted(out_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("folder") == path.stem and "generators" in data:
            summaries[path.stem] = data
    boards = []
    for folder, summary in summaries.items():
        boards.append(Leaderboard(folder, summary, _points(out_dir / f"{folder}.csv", summary),
                                  _figures(out_dir, folder, summary, list(summaries))))
    return boards


def generator_family(generator: Mapping[str, Any]) -> str:
    """The family of a JSON summary's generator, by its registered (``base``) name; controls by their flag."""
    if generator.get("control"):
        return "privacy control"
    return GENERATOR_FAMILIES.get(str(generator.get("base") or generator.get("name")), "other")


def _points(path: Path, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One point per generator and ok seed of the long CSV: {generator, family, seed, values {score: value}}."""
    if not path.is_file():
        return []
    values: dict[tuple[str, int], dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("status") == "ok" and row.get("value") and row.get("score"):
                values.setdefault((row["generator"], int(row["seed"])), {})[row["score"]] = float(row["value"])
    order = {g["name"]: i for i, g in enumerate(summary.get("generators") or [])}
    families = {g["name"]: generator_family(g) for g in summary.get("generators") or []}
    keys = sorted(values, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
    return [{"generator": g, "family": families.get(g, "other"), "seed": seed,
             "values": dict(sorted(values[g, seed].items()))} for g, seed in keys]


def _figures(out_dir: Path, folder: str, summary: Mapping[str, Any],
             folders: Sequence[str]) -> list[tuple[Path, str, str]]:
    """(file, caption, alt text) of the summary's ``figures`` list when it has one, else of every
    ``figures/<folder>_*.png`` that belongs to no longer folder name, captioned by its file name; figures whose
    file is missing are left out."""
    listed = summary.get("figures")
    if listed is not None:
        figures = [(out_dir / "figures" / PurePosixPath(str(f.get("path", ""))).name, str(f.get("caption") or ""),
                    str(f.get("alt") or "")) for f in listed]
        return [(path, caption or path.name, alt or caption or path.name)
                for path, caption, alt in figures if path.is_file()]
    longer = [f"{other}_" for other in folders if other != folder and other.startswith(f"{folder}_")]
    files = sorted(p for p in (out_dir / "figures").glob("*.png")
                   if p.name.startswith(f"{folder}_") and not any(p.name.startswith(o) for o in longer))
    return [(path, path.name, path.name) for path in files]


# ---------------------------------------------------------------- HTML pieces


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """`` key="value"`` pairs in the given order; None values are left out."""
    return "".join(f' {key}="{_e(value)}"' for key, value in attrs.items() if value is not None)


def _sort_value(value: Any) -> str | None:
    """A number as the ``data-sort`` text the table sorter compares (None: a blank cell, sorted last)."""
    return repr(float(value)) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _td(text: str, **attrs: Any) -> str:
    return f"<td{_attrs(attrs)}>{_e(text)}</td>"


def _num(text: str, value: Any) -> str:
    """A right-aligned cell that sorts by ``value`` (blank when it is not a number)."""
    return _td(text, **{"class": "num", "data-sort": _sort_value(value)})


def _th(text: str, *, numeric: bool = False, title: str | None = None, **attrs: Any) -> str:
    """A sortable header: a button (clicked to sort) inside the cell."""
    cell_attrs = {"data-type": "number" if numeric else "text", "title": title, **attrs}
    return f'<th{_attrs(cell_attrs)}><button type="button" class="sort">{_e(text)}</button></th>'


def _table(table_id: str, head: Iterable[str], rows: Iterable[str]) -> str:
    return (f'<div class="table-wrap"><table class="sortable" id="{_e(table_id)}">\n'
            f"<thead><tr>{''.join(head)}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>\n")


def _json_script(element_id: str, data: Any) -> str:
    """``data`` as a JSON data block; ``<``, ``>`` and ``&`` are escaped so no text can end the script."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{_e(element_id)}">{text}</script>\n'


def _page(title: str, body: str) -> str:
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{_e(title)}</title>\n<link rel="icon" href="data:,">\n'
            '<link rel="stylesheet" href="assets/site.css">\n<script src="assets/site.js" defer></script>\n'
            f"</head>\n<body>\n{body}</body>\n</html>\n")


def _select(select_id: str, label: str, attr: str, options: Sequence[str], everything: str) -> str:
    """A row filter: rows (and points) whose ``data-<attr>`` differs from the chosen value are hidden."""
    choices = [f'<option value="">{_e(everything)}</option>',
               *(f'<option value="{_e(o)}">{_e(o)}</option>' for o in options)]
    return (f'<label>{_e(label)} <select class="row-filter" id="{_e(select_id)}" data-attr="{_e(attr)}">'
            + "".join(choices) + "</select></label>")


def _family_select(families: Iterable[str]) -> str:
    present = set(families)
    return _select("family-filter", "Generator family", "family", [f for f in FAMILY_ORDER if f in present],
                   "all families")


def _nav(current: str, boards: Sequence[Leaderboard]) -> str:
    """Links to the index and to every leaderboard; ``current`` is the folder shown ("" for the index)."""
    pages = [("", "index.html", "All leaderboards"), *((b.folder, b.page, b.folder) for b in boards)]
    links = [f'<a href="{_e(href)}"{_attrs({"aria-current": "page" if folder == current else None})}>{_e(text)}</a>'
             for folder, href, text in pages]
    return '<nav class="site-nav">' + " ".join(links) + "</nav>\n"


# ---------------------------------------------------------------- shared cells


def _rank_text(rank: Any, interval: Sequence[Any] | None) -> str:
    if not isinstance(rank, int | float):
        return "—"
    return fmt_rank(rank, interval if interval and all(isinstance(x, int | float) for x in interval) else None)


def _overall_cell(g: Mapping[str, Any]) -> str:
    if g.get("control"):
        return _td("not ranked", **{"class": "num"})
    if not g.get("seeds_ok"):
        return _td("failed", **{"class": "num failed"})
    return _num(_rank_text(g.get("overall_rank"), g.get("overall_rank_ci95")), g.get("overall_rank"))


def _verdict_cell(g: Mapping[str, Any]) -> str:
    verdict = g.get("privacy_verdict") or "—"
    return _td(verdict, **{"class": f"verdict verdict-{verdict.replace(' ', '-')}"})


def _generator_label(g: Mapping[str, Any]) -> str:
    """The name as the markdown page shows it (GeneratorRows.label, without the early-stop mark the JSON lacks)."""
    return str(g["name"]) + (EXTERNAL_MARK if g.get("external") else "") + (CONTROL_MARK if g.get("control") else "")


def _compute_cells(g: Mapping[str, Any]) -> list[str]:
    compute = g.get("compute") or {}
    params = compute.get("n_params")
    runs = len(g.get("seeds") or [])
    return [*(_num(fmt(compute.get(key)), compute.get(key)) for key in ("fit_s", "sample_s", "peak_rss_mb")),
            _num(f"{int(params):,}" if isinstance(params, int | float) else "—", params),
            _num(f"{g.get('seeds_ok', 0)}/{runs}", g.get("seeds_ok"))]


# ---------------------------------------------------------------- dataset page


def dataset_page(board: Leaderboard, boards: Sequence[Leaderboard]) -> str:
    """The page of one leaderboard (``boards``: every leaderboard, for the navigation bar): ranking, per-score
    tables, figures and the score scatter."""
    summary = board.summary
    facts = [f"modality {board.modality}", f"samples × features {board.size}", f"{len(board.generators)} generators",
             f"{summary.get('records', 0)} records ({summary.get('records_ok', 0)} ok)"]
    downloads = (f'<a href="data/{_e(quote(board.folder))}.csv">CSV</a> (one row per generator × seed × score) · '
                 f'<a href="data/{_e(quote(board.folder))}.json">JSON</a> (this page as data)')
    body = [
        _nav(board.folder, boards),
        "<main>\n",
        f"<h1>Leaderboard: {_e(board.title)}</h1>\n",
        f'<p class="facts">{" · ".join(_e(f) for f in facts)}</p>\n',
        f'<p class="downloads">Data: {downloads}</p>\n',
        '<p class="toc"><a href="#ranking-section">Ranking</a> · <a href="#scores-section">Scores</a> · '
        '<a href="#figures-section">Figures</a> · <a href="#scatter-section">Scatter</a></p>\n',
        _controls(board),
        _ranking_section(board),
        _scores_section(board),
        _figures_section(board),
        _scatter_section(board),
        "</main>\n",
    ]
    return _page(f"Leaderboard: {board.title}", "".join(body))


def _controls(board: Leaderboard) -> str:
    boxes = "".join(f'<label><input type="checkbox" class="column-toggle" value="{_e(f)}" checked> {_e(f)}</label>'
                    for f in board.score_families)
    return ('<div class="controls">'
            + _family_select(generator_family(g) for g in board.generators)
            + f'<fieldset class="score-families"><legend>Score families</legend>{boxes}</fieldset></div>\n')


def _ranking_section(board: Leaderboard) -> str:
    families = board.ranked_families
    head = [_th("#", numeric=True, title="position (tied generators share it)"),
            _th("generator"), _th("family", title="generator family"),
            *(_th(f"{f} rank", numeric=True, title=f"mean rank over the {f} scores (95 % interval)",
                  **{"data-score-family": f}) for f in families),
            _th("overall rank", numeric=True, title="mean of the family ranks (95 % bootstrap interval)"),
            _th("privacy", title="privacy verdict"),
            *(_th(name, numeric=True, title=title) for name, title in COMPUTE_HEADERS)]
    rows = [_ranking_row(g, families) for g in board.generators]
    return ('<section id="ranking-section">\n<h2>Overall ranking</h2>\n'
            + _table("ranking", head, rows)
            + "<p class=\"note\">Ranks: 1 = best; each family rank is the mean of the generator's score ranks in "
              "that family and the overall rank the mean of the family ranks, each with its 95 % bootstrap interval "
              "over seeds. Privacy is a verdict, not a rank: generators whose verdict is leak are ranked after all "
              "others. Click a column header to sort, again to reverse.</p>\n"
            + _footnotes(board) + "</section>\n")


def _ranking_row(g: Mapping[str, Any], families: Sequence[str]) -> str:
    position = g.get("position")
    family_ranks = g.get("family_ranks") or {}
    intervals = g.get("family_rank_ci95") or {}
    cells = [_num(str(position) if position is not None else "—", position),
             _td(_generator_label(g), **{"class": "name"}), _td(generator_family(g)),
             *(_td(_rank_text(family_ranks.get(f), intervals.get(f)), **{
                 "class": "num", "data-score-family": f, "data-sort": _sort_value(family_ranks.get(f))}) for f in families),
             _overall_cell(g), _verdict_cell(g), *_compute_cells(g)]
    attrs = {"data-filterable": "", "data-family": generator_family(g), "data-generator": g["name"]}
    return f"<tr{_attrs(attrs)}>" + "".join(cells) + "</tr>"


def _footnotes(board: Leaderboard) -> str:
    notes = [f"† {_e(g['name'])}: privacy control (memorises the training set), not ranked."
             for g in board.generators if g.get("control")]
    failures = [(g["name"], seed, f) for g in board.generators
                for seed, f in sorted((g.get("failures") or {}).items(), key=lambda item: _seed_key(item[0]))]
    if failures:
        items = "".join(f"<li>{_e(name)}, seed {_e(seed)}: {_e(f.get('status'))}: "
                        f"{_e(first_line(f.get('error')) or 'no error message')}</li>" for name, seed, f in failures)
        notes.append(f'Failed seeds (a generator without an ok seed is not ranked):<ul class="failures">{items}</ul>')
    return "".join(f'<div class="note">{n}</div>\n' for n in notes)


def _seed_key(seed: str) -> tuple[int, str]:
    return (int(seed), "") if seed.lstrip("-").isdigit() else (0, seed)


def _spec(name: str, score: Mapping[str, Any]) -> ScoreSpec:
    """A JSON summary's score as the ranking's ScoreSpec (its direction marks and words come from there)."""
    return ScoreSpec(name, str(score.get("family")), str(score.get("direction")), score.get("target"),
                     score.get("reference"))


def _scores_section(board: Leaderboard) -> str:
    parts = ['<section id="scores-section">\n<h2>Scores</h2>\n'
             '<p class="note">Cells are mean ± sd over ok seeds; (n=k) when only k ok seeds have the score. The '
             "first row is the real holdout scored as if it were synthetic: compare each cell with it. ↑ higher is "
             "better, ↓ lower is better, → x closest to x, → ref closest to the reference row.</p>\n"]
    generators = [g for g in board.generators if g.get("seeds_ok")]
    for family in board.score_families:
        names = sorted(n for n, s in board.scores.items() if s["family"] == family)
        head = [_th("generator"), *(_th(f"{n} {_spec(n, board.scores[n]).arrow}", numeric=True) for n in names)]
        reference = ('<tr class="pinned reference"><td class="name">real holdout (reference)</td>'
                     + "".join(_num(fmt(board.scores[n].get("reference")), board.scores[n].get("reference"))
                               for n in names) + "</tr>")
        rows = [reference, *(_score_row(g, names) for g in generators)]
        parts.append(f'<section class="family" data-score-family="{_e(family)}">\n<h3>{_e(family)}</h3>\n'
                     + _table(f"scores-{family}", head, rows) + "</section>\n")
    parts.append("</section>\n")
    return "".join(parts)


def _score_row(g: Mapping[str, Any], names: Sequence[str]) -> str:
    scores = g.get("scores") or {}
    cells = [_td(_generator_label(g), **{"class": "name"})]
    for name in names:
        entry = scores.get(name)
        if not entry:
            cells.append(_num("—", None))
            continue
        text = fmt(entry["mean"]) if entry.get("sd") is None else f"{fmt(entry['mean'])} ± {fmt(entry['sd'])}"
        if entry.get("n", 0) < g.get("seeds_ok", 0):
            text += f" (n={entry['n']})"
        cells.append(_num(text, entry["mean"]))
    attrs = {"data-filterable": "", "data-family": generator_family(g), "data-generator": g["name"]}
    return f"<tr{_attrs(attrs)}>" + "".join(cells) + "</tr>"


def _figures_section(board: Leaderboard) -> str:
    figures = "".join(f'<figure><a href="figures/{_e(quote(path.name))}"><img src="figures/{_e(quote(path.name))}" '
                      f'alt="{_e(alt)}" loading="lazy"></a><figcaption>{_e(caption)}</figcaption></figure>\n'
                      for path, caption, alt in board.figures)
    return ('<section id="figures-section">\n<h2>Figures</h2>\n'
            + (figures or '<p class="note">No figures were published for this leaderboard.</p>\n') + "</section>\n")


def _better(spec: ScoreSpec) -> str:
    """Which way is better, in words (the scatter's axis titles)."""
    if spec.direction in DIRECTION_WORDS:
        return DIRECTION_WORDS[spec.direction]
    if spec.direction == "target":
        return "closest to the reference" if spec.target is None else f"closest to {spec.target:g}"
    return "context, not ranked"


def scatter_data(board: Leaderboard) -> dict[str, Any]:
    """What the scatter draws: every score's family, direction (mark and words) and reference, the score
    families in page order, the default axes (precision and recall when present) and one point per generator x
    ok seed."""
    specs = {name: _spec(name, s) for name, s in sorted(board.scores.items())}
    scores = {name: {"family": spec.family, "direction": spec.arrow, "better": _better(spec),
                     "reference": spec.reference} for name, spec in specs.items()}
    names = list(scores)
    default = ["precision", "recall"] if {"precision", "recall"} <= set(names) else (names * 2)[:2]
    return {"scores": scores, "families": board.score_families, "points": board.points, "default": default}


def _scatter_section(board: Leaderboard) -> str:
    return ('<section id="scatter-section">\n<h2>Scores per seed</h2>\n'
            '<p class="note">One point per generator and ok seed; the black diamond is the real holdout (reference). '
            "Hover a point for its values.</p>\n"
            '<div class="controls"><label>x <select id="scatter-x"></select></label> '
            '<label>y <select id="scatter-y"></select></label></div>\n'
            '<div class="scatter" id="scatter" data-source="scatter-data"></div>\n'
            + _json_script("scatter-data", scatter_data(board)) + "</section>\n")


# ---------------------------------------------------------------- index page


def index_page(boards: Sequence[Leaderboard]) -> str:
    """Every leaderboard with its leaders, then every generator row of every leaderboard in one table."""
    body = [
        _nav("", boards),
        "<main>\n<h1>Synthetic omics generator leaderboards</h1>\n",
        '<p class="note">One leaderboard per dataset and protocol. A family\'s leader has the best (lowest) mean rank '
        "over the family's scores among generators whose privacy verdict is not leak; privacy controls are never "
        "ranked. How to read a leaderboard: docs/leaderboard.md in the repository.</p>\n",
        _datasets_section(boards),
        _generators_section(boards),
        "</main>\n",
    ]
    return _page("Synthetic omics generator leaderboards", "".join(body))


def _datasets_section(boards: Sequence[Leaderboard]) -> str:
    families = sorted({f for b in boards for f in b.ranked_families}, key=family_sort_key)
    head = [_th("dataset"), _th("modality"), _th("n × p"), _th("generators", numeric=True),
            *(_th(f"{f} leader") for f in families), _th("overall leader"), _th("data")]
    rows = []
    for b in boards:
        link = f'<td class="name"><a href="{_e(b.page)}">{_e(b.folder)}</a></td>'
        data = (f'<td><a href="data/{_e(quote(b.folder))}.csv">CSV</a> · '
                f'<a href="data/{_e(quote(b.folder))}.json">JSON</a></td>')
        rows.append("<tr>" + link + _td(b.modality) + _td(b.size)
                    + _num(str(len(b.generators)), len(b.generators))
                    + "".join(_td(_leader(b, f)) for f in families) + _td(_overall_leader(b)) + data + "</tr>")
    return '<section id="datasets-section">\n<h2>Leaderboards</h2>\n' + _table("datasets", head, rows) + "</section>\n"


def _leader(board: Leaderboard, family: str) -> str:
    """The summary's leaders of ``family`` (best family rank among generators that do not leak), or a dash."""
    return leader_text(list((board.summary.get("leaders") or {}).get(family) or []))


def _overall_leader(board: Leaderboard) -> str:
    return next((g["name"] for g in board.generators if g.get("position") is not None), "—")


def _generators_section(boards: Sequence[Leaderboard]) -> str:
    head = [_th("dataset"), _th("modality"), _th("generator"), _th("family"), _th("#", numeric=True),
            _th("overall rank", numeric=True, title="mean of the family ranks (95 % bootstrap interval)"),
            _th("privacy", title="privacy verdict"),
            *(_th(name, numeric=True, title=title) for name, title in COMPUTE_HEADERS)]
    rows = []
    for b in boards:
        for g in b.generators:
            position = g.get("position")
            attrs = {"data-filterable": "", "data-modality": b.modality, "data-family": generator_family(g),
                     "data-generator": g["name"]}
            rows.append(f"<tr{_attrs(attrs)}>" + f'<td><a href="{_e(b.page)}">{_e(b.folder)}</a></td>'
                        + _td(b.modality) + _td(_generator_label(g), **{"class": "name"}) + _td(generator_family(g))
                        + _num(str(position) if position is not None else "—", position)
                        + _overall_cell(g) + _verdict_cell(g) + "".join(_compute_cells(g)) + "</tr>")
    modalities = sorted({b.modality for b in boards})
    filters = ('<div class="controls">'
               + _select("modality-filter", "Modality", "modality", modalities, "all modalities")
               + _family_select(generator_family(g) for b in boards for g in b.generators) + "</div>\n")
    return ('<section id="generators-section">\n<h2>Every generator on every leaderboard</h2>\n' + filters
            + _table("generators", head, rows)
            + '<p class="note">Ranks compare generators within one leaderboard only. Click a column header to sort, '
              "again to reverse.</p>\n</section>\n")
