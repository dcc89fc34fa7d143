"""Which figures a leaderboard page gets, drawn from its records, and the caption of each.

Figures read only records: scores (``metrics``), the PCA ``projection`` and the ``summaries`` block
(:mod:`benchmark.summaries`). A figure whose inputs no record has is left out and the page says why.
Panels that need one seed's data use each generator's first ok seed that has them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.ranking import ScoreSpec

if TYPE_CHECKING:
    from benchmark.leaderboard import Board, GeneratorRows

#: Substrings picking the headline scores of the bar-chart figure, per family, in preference order.
HEADLINE_HINTS = {
    "fidelity": ("detect_lr_auc", "detect", "precision", "recall", "density", "coverage", "fd", "mmd"),
    "utility": ("tstr", "tstr", "balanced", "f1", "auc"),  # TRTR is the same for every generator
    "privacy": ("mia_auc", "mia_tpr_at_1fpr", "exact_match", "domias", "dcr_share"),  # the deciding scores first
    "genomics": ("ld_error", "af_corr", "ld", "fst", "af", "maf"),
}
HEADLINES_PER_FAMILY = 2
MAX_HEADLINES = 8
SCORE_PAIRS = (("recall", "precision"), ("coverage", "density"))  # (x, y) of the fidelity scatter
UTILITY_SCORES = ("tstr_lr_balanced_accuracy", "tstr_rf_balanced_accuracy", "tstr_mlp_balanced_accuracy")
PRIVACY_SCORES = ("dcr_share", "mia_auc", "domias_auc")  # privacy risk axis: the first one recorded
CLASSIFIERS = (("lr", "logistic regression"), ("rf", "random forest"), ("mlp", "MLP"))
#: Figures drawn from record summaries, in page order, with their names in the missing-figure note.
SUMMARY_FIGURES = {"umap": "UMAP", "correlation": "correlation", "ld_decay": "LD-decay",
                   "allele_frequency": "allele-frequency"}


@dataclass(frozen=True)
class Figure:
    """One PNG of a page: ``link`` relative to the page, alt text and the caption under it."""

    kind: str
    path: Path
    alt: str
    caption: str

    @property
    def link(self) -> str:
        return f"figures/{self.path.name}"


def draw_figures(board: Board, figures_dir: Path) -> list[Figure]:
    """Every figure the board's records allow, in page order."""
    from benchmark.publish import charts

    shown = [g for g in board.display_order() if g.ok]
    colours = charts.generator_colours([g.label for g in shown])
    base = figures_dir / board.folder
    made = [
        _projection_figure(board, shown, Path(f"{base}_pca.png")),
        _umap_figure(board, shown, Path(f"{base}_umap.png")),
        _metrics_figure(board, shown, Path(f"{base}_metrics.png")),
        _score_pairs_figure(board, shown, colours, Path(f"{base}_precision_recall.png")),
        _utility_privacy_figure(board, shown, colours, Path(f"{base}_utility_privacy.png")),
        _tstr_figure(board, shown, colours, Path(f"{base}_tstr.png")),
        _correlation_figure(board, shown, Path(f"{base}_correlation.png")),
        _ld_decay_figure(board, shown, colours, Path(f"{base}_ld_decay.png")),
        _allele_frequency_figure(board, shown, colours, Path(f"{base}_allele_frequency.png")),
    ]
    return [figure for figure in made if figure is not None]


def figures_section(board: Board, figures: Sequence[Figure]) -> str:
    """The page's Figures section: each figure with its caption, and which summary figures are missing and why."""
    lines = ["## Figures", ""]
    if not figures:
        lines.append("No record has scores, a projection or summaries to draw: no figures.")
    for figure in figures:
        lines += [f"![{figure.alt}]({_link(figure.link)})", "", figure.caption, ""]
    missing = [name for kind, name in SUMMARY_FIGURES.items()
               if kind in _expected_summaries(board) and kind not in {f.kind for f in figures}]
    if figures and missing:
        lines.append(f"No record has figure summaries for the {', '.join(missing)} figure"
                     f"{'s' if len(missing) > 1 else ''} (records made before summaries existed, or a block that failed "
                     "to compute, kept under `summaries.failed`; UMAP is also left out of `--budget smoke` runs).")
    return "\n".join(lines).rstrip("\n")


def _expected_summaries(board: Board) -> set[str]:
    """The summary figures this board's data allow: UMAP unless points would show rows, genotype figures for genotypes."""
    from benchmark.projection import shows_rows

    p = board.card.get("p")
    expected = {"correlation"} | (set() if isinstance(p, int) and shows_rows(p) else {"umap"})
    return expected | ({"ld_decay", "allele_frequency"} if board.card.get("modality") == "genotype" else set())


def _link(path: str) -> str:
    """A relative figure path as a Markdown link target (spaces, parentheses and the like percent-encoded)."""
    from urllib.parse import quote

    return quote(path, safe="/@~+")


# --------------------------------------------------------------------------------------------------
# What each figure reads


def _first_with(g: GeneratorRows, key: str) -> tuple[Any, Mapping[str, Any]] | None:
    """(seed, block) of the generator's first ok record whose summaries have ``key``."""
    for record in g.ok:
        block = (record.get("summaries") or {}).get(key)
        if isinstance(block, Mapping):
            return (record.get("generator") or {}).get("seed"), block
    return None


def _points(shown: Sequence[GeneratorRows], x: str, y: str) -> list[Any]:
    """Per generator with both scores in some seed: seed means and seed pairs."""
    from benchmark.publish.charts import Point

    points = []
    for g in shown:
        pairs = tuple((float(r["metrics"][x]["value"]), float(r["metrics"][y]["value"])) for r in g.ok
                      if x in r.get("metrics", {}) and y in r.get("metrics", {}))
        if pairs:
            points.append(Point(g.label, sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs),
                                pairs, g.is_control))
    return points


def _reference_pair(board: Board, x: str, y: str) -> tuple[float, float] | None:
    rx, ry = board.specs[x].reference, board.specs[y].reference
    return None if rx is None or ry is None else (rx, ry)


def _seeds_note(used: Sequence[tuple[str, Any]]) -> str:
    seeds = sorted({str(seed) for _, seed in used})
    return f"seed {seeds[0]}" if len(seeds) == 1 else "each generator's first seed with them"


# --------------------------------------------------------------------------------------------------
# The figures


def _projection_figure(board: Board, shown: Sequence[GeneratorRows], path: Path) -> Figure | None:
    from benchmark import plots

    real, panels, method, density = None, [], "", False
    for g in shown:
        chosen = next((r for r in g.ok if isinstance(r.get("projection"), Mapping)), None)
        if chosen is None:
            continue
        projection = chosen["projection"]
        if real is None and isinstance(projection.get("real"), Mapping):
            real = projection["real"]
            method = str(projection.get("method") or "")
            density = "counts" in real
        panels.append((f"{g.label} (seed {(chosen.get('generator') or {}).get('seed')})", projection.get("synthetic")))
    if real is None:
        return None
    plots.pca_grid(path, real, panels, _class_names(board), f"{board.title}: PCA projection (real test vs synthetic)")
    shown_as = "as densities (share of rows per bin)" if density else "on shared axes, coloured by class"
    return Figure("pca", path, "PCA of real test and synthetic samples",
                  f"Real test samples and each generator's samples (first ok seed) {shown_as}"
                  + (f"; projection: {_plain_text(method)}." if method else "."))


def _umap_figure(board: Board, shown: Sequence[GeneratorRows], path: Path) -> Figure | None:
    from benchmark import plots

    real, panels, used = None, [], []
    for g in shown:
        found = _first_with(g, "umap")
        if found is None:
            continue
        seed, block = found
        real = real or block.get("real")
        panels.append((f"{g.label} (seed {seed})", block.get("synthetic")))
        used.append((g.label, seed))
    if real is None:
        return None
    plots.pca_grid(path, real, panels, _class_names(board), f"{board.title}: UMAP (real test vs synthetic)",
                   axis_names=("UMAP1", "UMAP2"))
    return Figure("umap", path, "UMAP of real test and synthetic samples",
                  "UMAP fitted on the real test samples' first 30 principal components; each generator's samples "
                  f"({_seeds_note(used)}) are placed into that embedding, so all panels share the real samples' "
                  "axes; colours are classes. Synthetic clusters away from every real cluster are samples unlike "
                  "any real cell type.")


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


def _metrics_figure(board: Board, shown: Sequence[GeneratorRows], path: Path) -> Figure | None:
    from benchmark import plots
    from benchmark.leaderboard import mean_sd

    specs = headline_specs(board)
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
    controls = {g.name for g in shown if g.is_control}
    plots.metric_points(path, specs, stats, [g.name for g in shown], controls, best,
                        f"{board.title}: headline scores (seed mean ± sd)")
    return Figure("metrics", path, "Headline scores",
                  "Headline scores: seed mean ± sd per generator (orange diamond = best ranked, grey hollow square "
                  "= control, not ranked); dashed line = real-holdout reference, dotted line = numeric target, grey "
                  "band = privacy null mean ± 2 sd.")


def _score_pairs_figure(board: Board, shown: Sequence[GeneratorRows], colours: Mapping[str, Any],
                        path: Path) -> Figure | None:
    from benchmark.publish import charts

    panels = [(x, y, points, _reference_pair(board, x, y)) for x, y in SCORE_PAIRS
              if x in board.specs and y in board.specs and (points := _points(shown, x, y))]
    if not panels:
        return None
    charts.score_pairs(path, panels, colours, f"{board.title}: fidelity score pairs")
    names = " and ".join(f"`{y}` vs `{x}`" for x, y, _, _ in panels)
    return Figure("precision_recall", path, "Precision vs recall and density vs coverage",
                  f"{names}: each generator's seed mean (large marker) and seeds (small); the black star is the "
                  "real holdout scored as if synthetic, the value a perfect generator reaches on these sample sizes. "
                  "Top right is better; high precision with low recall is a generator that covers only part of the "
                  "real data (mode collapse).")


def _utility_privacy_figure(board: Board, shown: Sequence[GeneratorRows], colours: Mapping[str, Any],
                            path: Path) -> Figure | None:
    from benchmark.publish import charts

    x = next((s for s in UTILITY_SCORES if s in board.specs), None)
    y = next((s for s in PRIVACY_SCORES if s in board.specs), None)
    points = _points(shown, x, y) if x and y else []
    if not points:
        return None
    spec = board.specs[y]
    band = None if spec.null_mean is None or spec.null_sd is None else (
        spec.null_mean - 2 * spec.null_sd, spec.null_mean + 2 * spec.null_sd)
    charts.utility_privacy(path, points, x, y, _reference_pair(board, x, y), band, colours,
                           f"{board.title}: utility vs privacy risk")
    front = ", ".join(p.generator for p in charts.pareto_front([p for p in points if not p.control]))
    return Figure("utility_privacy", path, "Utility vs privacy risk",
                  f"`{x}` (train on synthetic, test on real; higher is better) against `{y}` (lower is less privacy "
                  f"risk) per generator, seed means and seeds. The grey band is `{y}` for real rows exchangeable with "
                  "the training rows (null mean ± 2 sd): inside it a generator reveals no more than fresh real data "
                  f"would. The black line is the Pareto front of the ranked generators ({front}): none of the "
                  "others is both more useful and less risky than a generator on it.")


def _tstr_figure(board: Board, shown: Sequence[GeneratorRows], colours: Mapping[str, Any],
                 path: Path) -> Figure | None:
    from benchmark.leaderboard import mean_sd
    from benchmark.publish import charts

    panels = []
    for short, name in CLASSIFIERS:
        tstr, trtr = f"tstr_{short}_balanced_accuracy", f"trtr_{short}_balanced_accuracy"
        if tstr not in board.specs:
            continue
        bars = [(g.label, *_mean_and_sd(mean_sd(g.values(tstr))), g.is_control) for g in shown if g.values(tstr)]
        trtr_values = [v for g in shown for v in g.values(trtr)]
        panels.append((name, bars, sum(trtr_values) / len(trtr_values) if trtr_values else None,
                       board.specs[tstr].reference))
    if not panels:
        return None
    charts.tstr_bars(path, panels, colours, f"{board.title}: train on synthetic vs train on real")
    return Figure("tstr", path, "TSTR vs TRTR balanced accuracy",
                  "Balanced accuracy on real test samples of a classifier trained on each generator's samples (TSTR, "
                  "seed mean ± sd; hatched = control), per classifier. Dashed: the same classifier trained on real "
                  "train samples (TRTR); dotted: trained on the real holdout (the reference). A bar near the dotted "
                  "line means the synthetic samples teach the class boundaries as well as real samples do.")


def _mean_and_sd(stats: tuple[float, float | None]) -> tuple[float, float]:
    return stats[0], stats[1] or 0.0


def _correlation_figure(board: Board, shown: Sequence[GeneratorRows], path: Path) -> Figure | None:
    from benchmark.publish import charts

    ranked = [g for g in shown if not g.is_control and g.mean("corr_error") is not None
              and len((_first_with(g, "correlation") or (None, {}))[1].get("features", [])) >= 2]
    if not ranked:
        return None
    ordered = sorted(ranked, key=lambda g: (g.mean("corr_error"), g.label))
    picks = [("lowest", ordered[0])] + ([("highest", ordered[-1])] if len(ordered) > 1 else [])
    panels = []
    features = [str(f) for f in _first_with(picks[0][1], "correlation")[1]["features"]]
    for which, g in picks:
        seed, block = _first_with(g, "correlation")
        if len(block["features"]) != len(features):
            continue
        panels.append((f"{which} corr_error: {g.label}\nseed {seed}; corr_error {g.mean('corr_error'):.3f} (seed mean)",
                       block["real"], block["synthetic"]))
    charts.correlation_heatmaps(path, panels, features, f"{board.title}: correlation matrices, real vs synthetic")
    extremes = " and ".join(f"{which} {g.label}" for which, g in picks)
    return Figure("correlation", path, "Correlation matrices, real vs synthetic",
                  f"Pearson correlations among the {len(features)} features with the largest variance in real train, "
                  f"for the ranked generators with the lowest and the highest `corr_error` (seed mean; {extremes}): "
                  "above the diagonal the real test samples, below it the generator's samples, so a good generator "
                  "mirrors the upper triangle in the lower one. Blank cells: a feature constant in that set.")


def _ld_decay_figure(board: Board, shown: Sequence[GeneratorRows], colours: Mapping[str, Any],
                     path: Path) -> Figure | None:
    from benchmark.publish import charts

    found = [(g, _first_with(g, "ld_decay")) for g in shown]
    found = [(g, hit) for g, hit in found if hit is not None]
    if not found:
        return None
    first = found[0][1][1]
    bins = len(first["bin_edges"]) - 1
    curves = [(g.label, hit[1]["synthetic"], g.is_control) for g, hit in found if len(hit[1]["synthetic"]) == bins]
    charts.ld_decay(path, first["bin_edges"], first["unit"], first["real"], first["holdout"], curves, colours,
                    f"{board.title}: LD decay")
    return Figure("ld_decay", path, "LD decay curves",
                  "Mean r² between SNP pairs by their distance, in the `ld_decay` metric's 20 bins over the same pairs "
                  f"for every set ({_seeds_note([(g.label, hit[0]) for g, hit in found])}): real test samples "
                  "(black), the real holdout (grey dashed, how much two real samples of this size differ) and each "
                  "generator (dotted: a control). A curve below the real one lost linkage; one that stays flat "
                  "treats SNPs as independent.")


def _allele_frequency_figure(board: Board, shown: Sequence[GeneratorRows], colours: Mapping[str, Any],
                             path: Path) -> Figure | None:
    from benchmark.publish import charts

    panels, used, snps = [], [], ""
    for g in shown:
        found = _first_with(g, "allele_frequency")
        if found is None:
            continue
        seed, block = found
        if len(block["real"]) < 2:
            continue
        panels.append((g.label, block["real"], block["synthetic"]))
        used.append((g.label, seed))
        snps = str(block.get("snps", ""))
    if not panels:
        return None
    charts.allele_frequency_grid(path, panels, colours, f"{board.title}: allele frequencies, real vs synthetic")
    return Figure("allele_frequency", path, "Allele frequencies, real vs synthetic",
                  f"Per-SNP allele frequency in the real test samples (x) and in each generator's samples (y), "
                  f"{_plain_text(snps)} ({_seeds_note(used)}); r is their Pearson correlation. Points on the "
                  "diagonal are SNPs whose frequency the generator kept.")


def _class_names(board: Board) -> list[str]:
    return [str(c) for c in board.card.get("class_names") or []]


def _plain_text(text: str) -> str:
    from benchmark.leaderboard import md_text, public

    return md_text(public(text))
