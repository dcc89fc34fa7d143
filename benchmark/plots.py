"""Leaderboard figures: a PCA or UMAP grid (real test vs each generator) and bar charts of headline scores
(the others: :mod:`benchmark.publish.charts`).

matplotlib is imported inside the functions (Agg backend), so importing this module is cheap.
Figures are deterministic: fixed size and dpi, default style whatever the user's matplotlibrc says,
and no software or date metadata in the PNG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.ranking import ScoreSpec

PANEL_INCHES = 3.0
DPI = 110
MAX_LABEL_CHARS = 40  # names from records are cut to this length in figures
_PNG_METADATA = {"Software": None}


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return matplotlib, plt


def class_colours(class_names: Sequence[str]) -> dict[str, Any]:
    """One fixed colour per class, in the order given (the dataset card's class order)."""
    matplotlib, _ = pyplot()
    n = len(class_names)
    if n <= 10:
        palette = list(matplotlib.colormaps["tab10"].colors)
    elif n <= 20:
        palette = list(matplotlib.colormaps["tab20"].colors)
    elif n <= 40:
        palette = list(matplotlib.colormaps["tab20"].colors) + list(matplotlib.colormaps["tab20b"].colors)
    else:
        cmap = matplotlib.colormaps["gist_ncar"]
        palette = [cmap(i / n) for i in range(n)]
    return {name: palette[i] for i, name in enumerate(class_names)}


def plain(text: Any, limit: int = MAX_LABEL_CHARS) -> str:
    """Text from a record shown literally by matplotlib: one line, no mathtext ('$'), at most ``limit`` chars."""
    line = " ".join(str(text).split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line.replace("$", r"\$")


def _finite_points(block: Mapping[str, Any] | None) -> tuple[list[float], list[float], list[str]]:
    if not isinstance(block, Mapping):
        return [], [], []
    xs, ys, labels = (block.get(key) if isinstance(block.get(key), list) else [] for key in ("x", "y", "label"))
    out_x, out_y, out_l = [], [], []
    for x, y, label in zip(xs, ys, labels, strict=False):
        if _is_real(x) and _is_real(y):
            out_x.append(float(x))
            out_y.append(float(y))
            out_l.append(plain(label))
    return out_x, out_y, out_l


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _density(block: Any) -> tuple[list[float], list[float], list[list[float]], int] | None:
    """(x edges, y edges, counts, rows outside) of a density block (see benchmark.projection), or None."""
    if not isinstance(block, Mapping):
        return None
    x_edges, y_edges, counts = block.get("x_edges"), block.get("y_edges"), block.get("counts")
    if not (isinstance(x_edges, list) and isinstance(y_edges, list) and isinstance(counts, list)):
        return None
    if not all(_is_real(v) for v in x_edges + y_edges) or len(x_edges) < 2 or len(y_edges) < 2:
        return None
    if len(counts) != len(x_edges) - 1 or not all(
            isinstance(row, list) and len(row) == len(y_edges) - 1 and all(_is_real(c) for c in row) for row in counts):
        return None
    outside = block.get("outside")
    return x_edges, y_edges, counts, int(outside) if _is_real(outside) else 0


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _view_limits(panels: Sequence[tuple[list[float], list[float]]]) -> tuple[tuple[float, float], ...]:
    """Shared axes for all panels; the first panel is the real data.

    The view is the union of each panel's central 98 %, but never more than one real-data span beyond
    the real range, so a few wild synthetic points cannot squash every panel (they are counted instead).
    """
    limits = []
    for axis in (0, 1):
        real = panels[0][axis] if panels else []
        if real:
            rlo, rhi = _quantile(real, 0.0), _quantile(real, 1.0)
            span = (rhi - rlo) or 1.0
            allowed = (rlo - span, rhi + span)
        else:
            allowed = (-math.inf, math.inf)
        lows, highs = [], []
        for panel in panels:
            values = panel[axis]
            if values:
                lows.append(max(_quantile(values, 0.01), allowed[0]))
                highs.append(min(_quantile(values, 0.99), allowed[1]))
        if real:
            lows.append(rlo)
            highs.append(rhi)
        lo, hi = (min(lows), max(highs)) if lows else (-1.0, 1.0)
        pad = (hi - lo) * 0.05 or 1.0
        limits.append((lo - pad, hi + pad))
    return tuple(limits)


def pca_grid(
    path: Path,
    real: Mapping[str, Any] | None,
    panels: Sequence[tuple[str, Mapping[str, Any] | None]],
    class_names: Sequence[str],
    title: str,
    axis_names: tuple[str, str] = ("PC1", "PC2"),
) -> Path:
    """Scatter grid: 'real test' first, then one panel per (title, synthetic projection block), on shared
    axes named ``axis_names``; a grid of densities instead when the real block is one (data with so few
    features that points show rows)."""
    if _density(real) is not None:
        return density_grid(path, real, panels, title)
    matplotlib, plt = pyplot()
    from matplotlib.lines import Line2D

    blocks = [("real test", _finite_points(real))] + [(name, _finite_points(block)) for name, block in panels]
    seen = [label for _, (_, _, labels) in blocks for label in labels]
    shown = list(dict.fromkeys(plain(c) for c in class_names))
    order = shown + sorted(set(seen) - set(shown))
    colours = class_colours(order)
    (xlo, xhi), (ylo, yhi) = _view_limits([(xs, ys) for _, (xs, ys, _) in blocks])

    ncols = min(4, len(blocks))
    nrows = math.ceil(len(blocks) / ncols)
    used = [c for c in order if c in set(seen)] or order
    legend_cols = min(len(used), 4 if ncols <= 2 else 6)
    legend_rows = math.ceil(len(used) / max(legend_cols, 1))
    size = (PANEL_INCHES * ncols, PANEL_INCHES * nrows + 0.5 + 0.22 * legend_rows)
    with matplotlib.style.context("default"):
        fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False, layout="constrained")
        for index, ax in enumerate(axes.flat):
            if index >= len(blocks):
                ax.set_axis_off()
                continue
            name, (xs, ys, labels) = blocks[index]
            ax.scatter(xs, ys, c=[colours[label] for label in labels], s=5, alpha=0.75, linewidths=0)
            ax.set_xlim(xlo, xhi)
            ax.set_ylim(ylo, yhi)
            ax.set_title(plain(name), fontsize=9)
            ax.tick_params(labelsize=7)
            if index % ncols == 0:
                ax.set_ylabel(axis_names[1], fontsize=8)
            if index >= len(blocks) - ncols:
                ax.set_xlabel(axis_names[0], fontsize=8)
            outside = sum(1 for x, y in zip(xs, ys, strict=True) if not (xlo <= x <= xhi and ylo <= y <= yhi))
            if not xs:
                ax.text(0.5, 0.5, "no projection", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            elif outside:
                _outside_note(ax, f"{outside} pts outside view")
        handles = [Line2D([], [], marker="o", linestyle="", markersize=5, color=colours[c], label=c) for c in used]
        fig.legend(handles=handles, loc="outside lower center", ncol=max(legend_cols, 1), fontsize=7, frameon=False)
        return save_figure(plt, fig, path, title)


def _outside_note(ax: Any, text: str) -> None:
    ax.text(0.98, 0.02, text, ha="right", va="bottom", transform=ax.transAxes, fontsize=6, color="0.3")


def save_figure(plt: Any, fig: Any, path: Path, title: str) -> Path:
    """Title the figure, write it as a PNG without software or date metadata, and close it."""
    fig.suptitle(plain(title, 120), fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, metadata=_PNG_METADATA)
    plt.close(fig)
    return path


def panel_grid(plt: Any, n: int, extra_height: float = 0.5, max_columns: int = 4) -> tuple[Any, list[Any], int]:
    """(figure, its first ``n`` axes in reading order, columns) of a grid of PANEL_INCHES panels, at most
    ``max_columns`` a row; the unused axes of the last row are switched off."""
    ncols = max(1, min(max_columns, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(PANEL_INCHES * ncols, PANEL_INCHES * nrows + extra_height),
                             squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    return fig, list(axes.flat[:n]), ncols


def density_grid(
    path: Path,
    real: Mapping[str, Any],
    panels: Sequence[tuple[str, Mapping[str, Any] | None]],
    title: str,
) -> Path:
    """Grid of 2-D histograms (share of each side's rows per bin): 'real test' first, then one per generator."""
    matplotlib, plt = pyplot()
    blocks = [("real test", _density(real))] + [(name, _density(block)) for name, block in panels]
    with matplotlib.style.context("default"):
        fig, axes, _ = panel_grid(plt, len(blocks))
        for ax, (name, grid) in zip(axes, blocks, strict=True):
            ax.set_title(plain(name), fontsize=9)
            ax.tick_params(labelsize=7)
            if grid is None:
                ax.text(0.5, 0.5, "no projection", ha="center", va="center", transform=ax.transAxes, fontsize=8)
                continue
            x_edges, y_edges, counts, outside = grid
            total = sum(map(sum, counts)) or 1
            shares = [[c / total for c in row] for row in counts]
            ax.pcolormesh(x_edges, y_edges, list(map(list, zip(*shares, strict=True))), cmap="Greys", vmin=0)
            ax.set_xlabel("PC1", fontsize=8)
            ax.set_ylabel("PC2", fontsize=8)
            if outside:
                _outside_note(ax, f"{outside} rows outside view")
        return save_figure(plt, fig, path, title)


def metric_points(
    path: Path,
    specs: Sequence[ScoreSpec],
    stats: Mapping[str, Mapping[str, tuple[float, float]]],
    generators: Sequence[str],
    controls: set[str],
    best: Mapping[str, set[str]],
    title: str,
) -> Path:
    """One panel per score: generator means ± sd as points with error bars, the real-holdout reference
    as a dashed line, a numeric target as a dotted line and, for privacy scores, the null's mean ± 2 sd
    as a grey band (y axis zoomed to the data, not from 0).

    ``stats[score][generator] = (mean, sd)``; ``best[score]`` = generators drawn highlighted;
    ``controls`` are drawn grey with a hollow marker (not ranked).
    """
    matplotlib, plt = pyplot()
    ncols = min(4, max(len(specs), 1))
    nrows = max(math.ceil(len(specs) / ncols), 1)
    width = max(3.0, 0.3 * len(generators) + 1.4)
    with matplotlib.style.context("default"):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 2.9 * nrows + 0.5),
                                 squeeze=False, layout="constrained")
        for index, ax in enumerate(axes.flat):
            if index >= len(specs):
                ax.set_axis_off()
                continue
            spec = specs[index]
            values = stats.get(spec.name, {})
            for x, g in enumerate(generators):
                if g not in values:
                    ax.text(x, 0.02, "n/a", ha="center", va="bottom", fontsize=6, transform=ax.get_xaxis_transform())
                    continue
                mean, sd = values[g]
                if g in controls:
                    style = {"color": "0.55", "markerfacecolor": "white", "marker": "s"}
                elif g in best.get(spec.name, set()):
                    style = {"color": "tab:orange", "marker": "D"}
                else:
                    style = {"color": "tab:blue", "marker": "o"}
                ax.errorbar([x], [mean], yerr=[sd], capsize=3, markersize=6, linestyle="", elinewidth=1, **style)
            if spec.reference is not None:
                ax.axhline(spec.reference, color="black", linestyle="--", linewidth=1, label="real holdout")
            if spec.null_mean is not None and spec.null_sd is not None:
                ax.axhspan(spec.null_mean - 2 * spec.null_sd, spec.null_mean + 2 * spec.null_sd, color="0.85",
                           zorder=0, label="null ± 2 sd")
            if spec.direction == "target" and spec.target is not None:
                ax.axhline(spec.target, color="tab:green", linestyle=":", linewidth=1.4,
                           label=f"target {spec.target:g}")
            ax.set_xlim(-0.6, len(generators) - 0.4)
            ax.margins(y=0.15)
            ax.set_xticks(range(len(generators)), [plain(g) + ("†" if g in controls else "") for g in generators],
                          rotation=45, ha="right", fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(axis="y", color="0.9", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_title(f"{plain(spec.name)} ({spec.arrow})  [{plain(spec.family)}]", fontsize=8)
            if spec.reference is not None or spec.target is not None or spec.null_mean is not None:
                ax.legend(fontsize=6, loc="best", frameon=False)
        return save_figure(plt, fig, path, title)
