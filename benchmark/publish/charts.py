"""Leaderboard figures drawn from scores and record summaries: score-pair scatters, utility vs privacy
with its Pareto front, TSTR vs TRTR bars, correlation heatmaps, LD decay curves and allele-frequency
scatters. Same conventions as :mod:`benchmark.plots` (Agg backend imported on use, fixed sizes,
deterministic PNG files); every generator keeps one colour across figures (``generator_colours``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.plots import panel_grid, plain, pyplot, save_figure

REFERENCE_NAME = "real holdout (reference)"


@dataclass(frozen=True)
class Point:
    """One generator's value on two scores: seed mean and every seed's own pair."""

    generator: str
    x: float
    y: float
    seeds: tuple[tuple[float, float], ...]
    control: bool = False


def generator_colours(names: Sequence[str]) -> dict[str, Any]:
    """A fixed colour per generator in display order (tab10, then tab20's lighter shades, then grey)."""
    matplotlib, _ = pyplot()
    tab10 = list(matplotlib.colormaps["tab10"].colors)
    lighter = list(matplotlib.colormaps["tab20"].colors)[1::2]
    palette = tab10 + lighter
    return {name: palette[i] if i < len(palette) else (0.5, 0.5, 0.5) for i, name in enumerate(names)}


def _legend_below(fig: Any, handles: list[Any], columns: int = 4) -> None:
    fig.legend(handles=handles, loc="outside lower center", ncol=max(1, min(columns, len(handles))), fontsize=7,
               frameon=False)


def _marker(point: Point) -> dict[str, Any]:
    """Controls: a hollow square drawn under the generators' filled circles (it may share their place)."""
    return {"marker": "s", "facecolors": "white", "zorder": 2.5} if point.control else {"marker": "o", "zorder": 3}


def score_pairs(path: Path, panels: Sequence[tuple[str, str, Sequence[Point], tuple[float, float] | None]],
                colours: Mapping[str, Any], title: str) -> Path:
    """One panel per (x score, y score, points, reference point): each generator's seed mean (large) and
    seeds (small), the real-holdout reference as a black star, both axes from 0 to 1 when the values fit."""
    matplotlib, plt = pyplot()
    from matplotlib.lines import Line2D

    with matplotlib.style.context("default"):
        fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.9), squeeze=False,
                                 layout="constrained")
        for ax, (x_name, y_name, points, reference) in zip(axes.flat, panels, strict=True):
            _draw_points(ax, points, reference, colours, mean_size=55, star_size=160)
            values = [v for p in points for s in p.seeds for v in s] + list(reference or ())
            if values and min(values) >= 0 and max(values) <= 1:
                ax.set_xlim(-0.02, 1.02)
                ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(plain(x_name), fontsize=9)
            ax.set_ylabel(plain(y_name), fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(color="0.92", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_title(f"{plain(y_name)} vs {plain(x_name)}", fontsize=9)
        handles = [Line2D([], [], marker="*", linestyle="", markersize=10, color="black", label=REFERENCE_NAME)]
        handles += _generator_handles(panels[0][2] if panels else [], colours)
        _legend_below(fig, handles)
        return save_figure(plt, fig, path, title)


def _draw_points(ax: Any, points: Sequence[Point], reference: tuple[float, float] | None,
                 colours: Mapping[str, Any], mean_size: float, star_size: float) -> None:
    """Each generator's seeds (small, faint) and seed mean (large; a control hollow, under the others), and the
    real-holdout reference as a black star on top."""
    for p in points:
        colour = colours.get(p.generator, "0.5")
        ax.scatter([s[0] for s in p.seeds], [s[1] for s in p.seeds], s=10, color=colour, alpha=0.45, linewidths=0)
        ax.scatter([p.x], [p.y], s=mean_size, color=colour, edgecolors=colour if p.control else "black",
                   linewidths=0.8, **_marker(p))
    if reference is not None:
        ax.scatter([reference[0]], [reference[1]], marker="*", s=star_size, color="black", zorder=4)


def _generator_handles(points: Sequence[Point], colours: Mapping[str, Any]) -> list[Any]:
    from matplotlib.lines import Line2D

    return [Line2D([], [], marker="s" if p.control else "o", linestyle="", markersize=6,
                   markerfacecolor="white" if p.control else colours.get(p.generator, "0.5"),
                   markeredgecolor=colours.get(p.generator, "0.5"),
                   label=plain(p.generator) + (" (control)" if p.control else "")) for p in points]


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """Points no other point beats on both axes (x higher is better, y lower is better), by x."""
    front = [p for p in points
             if not any(q.x >= p.x and q.y <= p.y and (q.x > p.x or q.y < p.y) for q in points)]
    return sorted(front, key=lambda p: p.x)


def utility_privacy(path: Path, points: Sequence[Point], x_name: str, y_name: str,
                    reference: tuple[float, float] | None, null_band: tuple[float, float] | None,
                    colours: Mapping[str, Any], title: str) -> Path:
    """Utility (x, higher better) against privacy risk (y, lower better) per generator, the Pareto front
    of the ranked generators as a line, the real-holdout reference as a star and the privacy score's
    null (mean ± 2 sd) as a grey band."""
    matplotlib, plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    with matplotlib.style.context("default"):
        fig, ax = plt.subplots(figsize=(7.5, 5.6), layout="constrained")
        if null_band is not None:
            ax.axhspan(null_band[0], null_band[1], color="0.88", zorder=0)
        _draw_points(ax, points, reference, colours, mean_size=60, star_size=170)
        front = pareto_front([p for p in points if not p.control])
        if front:
            ax.plot([p.x for p in front], [p.y for p in front], color="black", linewidth=1.2, linestyle="-",
                    zorder=2)
        ax.set_xlabel(f"{plain(x_name)} (utility, higher is better)", fontsize=9)
        ax.set_ylabel(f"{plain(y_name)} (privacy risk, lower is better)", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(color="0.92", linewidth=0.6)
        ax.set_axisbelow(True)
        handles = [Line2D([], [], marker="*", linestyle="", markersize=10, color="black", label=REFERENCE_NAME),
                   Line2D([], [], color="black", linewidth=1.2, label="Pareto front (ranked generators)")]
        if null_band is not None:
            handles.append(Patch(color="0.88", label="privacy null, mean ± 2 sd"))
        _legend_below(fig, handles + _generator_handles(points, colours), columns=3)
        return save_figure(plt, fig, path, title)


def tstr_bars(path: Path, panels: Sequence[tuple[str, Sequence[tuple[str, float, float, bool]], float | None,
                                                  float | None]],
              colours: Mapping[str, Any], title: str) -> Path:
    """One panel per classifier: (title, [(generator, TSTR mean, sd, control)], TRTR, real-holdout TSTR):
    a bar per generator, TRTR as a dashed line and the real-holdout reference as a dotted line."""
    matplotlib, plt = pyplot()
    from matplotlib.lines import Line2D

    names = [g for g, *_ in panels[0][1]] if panels else []
    width = max(3.4, 0.32 * len(names) + 1.4)
    with matplotlib.style.context("default"):
        fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 4.2), squeeze=False,
                                 layout="constrained", sharey=True)
        for ax, (name, bars, trtr, reference) in zip(axes.flat, panels, strict=True):
            for x, (g, mean, sd, control) in enumerate(bars):
                colour = colours.get(g, "0.5")
                ax.bar([x], [mean], yerr=[sd], capsize=2, color="white" if control else colour,
                       edgecolor=colour, hatch="//" if control else None, linewidth=1, error_kw={"elinewidth": 0.8})
            if trtr is not None:
                ax.axhline(trtr, color="black", linestyle="--", linewidth=1.1)
            if reference is not None:
                ax.axhline(reference, color="0.35", linestyle=":", linewidth=1.3)
            ax.set_xticks(range(len(bars)), [plain(g) for g, *_ in bars], rotation=45, ha="right", fontsize=7)
            ax.set_ylim(0, 1.0)
            ax.set_title(plain(name), fontsize=9)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(axis="y", color="0.92", linewidth=0.6)
            ax.set_axisbelow(True)
        axes.flat[0].set_ylabel("balanced accuracy on real test", fontsize=8)
        handles = [Line2D([], [], color="black", linestyle="--", label="TRTR: trained on real train"),
                   Line2D([], [], color="0.35", linestyle=":", label="TSTR of the real holdout (reference)")]
        _legend_below(fig, handles, columns=2)
        return save_figure(plt, fig, path, title)


def correlation_heatmaps(path: Path, panels: Sequence[tuple[str, Sequence[Sequence[float | None]],
                                                             Sequence[Sequence[float | None]]]],
                         features: Sequence[str], title: str) -> Path:
    """One heatmap per (title, real matrix, synthetic matrix): real correlations above the diagonal,
    synthetic below, on one -1..1 colour scale; blank where undefined (a constant feature)."""
    matplotlib, plt = pyplot()
    import numpy as np

    k = len(features)
    with matplotlib.style.context("default"):
        fig, axes = plt.subplots(1, len(panels), figsize=(5.4 * len(panels) + 0.6, 5.8), squeeze=False,
                                 layout="constrained")
        image = None
        for ax, (name, real, synthetic) in zip(axes.flat, panels, strict=True):
            R = np.array([[np.nan if v is None else v for v in row] for row in real], dtype=float)
            S = np.array([[np.nan if v is None else v for v in row] for row in synthetic], dtype=float)
            upper = np.triu(np.ones((k, k), dtype=bool), 1)
            shown = np.where(upper, R, np.where(upper.T, S, np.nan))
            image = ax.imshow(np.ma.masked_invalid(shown), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks(range(k), [plain(f, 14) for f in features], rotation=90, fontsize=5)
            ax.set_yticks(range(k), [plain(f, 14) for f in features], fontsize=5)
            ax.set_title("\n".join(plain(line, 90) for line in (*name.split("\n"), "upper: real test, lower: synthetic")),
                         fontsize=8)
            ax.set_xlabel("feature (most variable in real train first)", fontsize=7)
            ax.set_ylabel("feature", fontsize=7)
        if image is not None:
            bar = fig.colorbar(image, ax=list(axes.flat), shrink=0.8)
            bar.set_label("Pearson correlation", fontsize=8)
            bar.ax.tick_params(labelsize=7)
        return save_figure(plt, fig, path, title)


def ld_decay(path: Path, edges: Sequence[float], unit: str, real: Sequence[float | None],
             holdout: Sequence[float | None], curves: Sequence[tuple[str, Sequence[float | None], bool]],
             colours: Mapping[str, Any], title: str) -> Path:
    """Mean r² per distance bin: real test (black), real holdout (grey dashed), one line per generator."""
    matplotlib, plt = pyplot()
    from matplotlib.lines import Line2D

    scale, shown_unit = (1000.0, "kb") if unit == "bp" else (1.0, unit)
    centres = [(a + b) / 2 / scale for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def line(ax: Any, values: Sequence[float | None], **style: Any) -> None:
        xs = [x for x, v in zip(centres, values, strict=True) if v is not None]
        ys = [v for v in values if v is not None]
        ax.plot(xs, ys, **style)

    with matplotlib.style.context("default"):
        fig, ax = plt.subplots(figsize=(7.5, 5.4), layout="constrained")
        for name, values, control in curves:
            line(ax, values, color=colours.get(name, "0.5"), linewidth=1.2, marker="o", markersize=2.5,
                 linestyle=":" if control else "-")
        line(ax, holdout, color="0.45", linewidth=1.6, linestyle="--")
        line(ax, real, color="black", linewidth=2.2)
        ax.set_xlabel(f"distance between SNPs ({shown_unit}, bin centre)", fontsize=9)
        ax.set_ylabel("mean r² (unphased dosages)", fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        ax.grid(color="0.92", linewidth=0.6)
        handles = [Line2D([], [], color="black", linewidth=2.2, label="real test"),
                   Line2D([], [], color="0.45", linewidth=1.6, linestyle="--", label="real holdout")]
        handles += [Line2D([], [], color=colours.get(name, "0.5"), linewidth=1.2, linestyle=":" if control else "-",
                           label=plain(name) + (" (control)" if control else "")) for name, _, control in curves]
        _legend_below(fig, handles)
        return save_figure(plt, fig, path, title)


def allele_frequency_grid(path: Path, panels: Sequence[tuple[str, Sequence[float], Sequence[float]]],
                          colours: Mapping[str, Any], title: str) -> Path:
    """One panel per (generator, real frequencies, synthetic frequencies): a point per SNP, the diagonal,
    and the Pearson r in the title."""
    matplotlib, plt = pyplot()
    import numpy as np

    with matplotlib.style.context("default"):
        fig, axes, ncols = panel_grid(plt, len(panels))
        for index, (ax, (name, real, synthetic)) in enumerate(zip(axes, panels, strict=True)):
            r_values, s_values = np.asarray(real, dtype=float), np.asarray(synthetic, dtype=float)
            ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8)
            ax.scatter(r_values, s_values, s=3, alpha=0.4, linewidths=0, color=colours.get(name, "tab:blue"))
            r = np.corrcoef(r_values, s_values)[0, 1] if r_values.std() > 0 and s_values.std() > 0 else float("nan")
            ax.set_title(f"{plain(name)} (r = {r:.3f})", fontsize=8)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=7)
            if index % ncols == 0:
                ax.set_ylabel("synthetic allele frequency", fontsize=7)
            if index >= len(panels) - ncols:
                ax.set_xlabel("real test allele frequency", fontsize=7)
        return save_figure(plt, fig, path, title)
