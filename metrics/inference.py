"""Inferential utility: does an analysis run on the scored set reach the conclusions it reaches on real data?

Expression / counts: differential expression of each class against the rest, per gene, in the
data's own scale (log-normalised values, so the mean difference is a log fold change): Welch t-test,
Benjamini-Hochberg at 5 %, Welch 95 % confidence interval of the mean difference.

Genotypes: allelic association of each SNP with each population against the rest from the 2 × 2
table of allele counts: log odds ratio with 0.5 added to every cell, Woolf standard error, Wald z
test, Benjamini-Hochberg at 5 %, 95 % Wald interval.

For both, the "truth" is the analysis of the real test set R; the same analysis of the scored set S
(the real holdout for the reference row) gives effects, called hits and intervals. Scores, averaged
over classes (one-vs-rest):

- effect / t correlation: Pearson correlation of per-feature effects (or t statistics), R vs S;
- TPR = |called ∩ true| / |true| (classes with no real hit are left out), FPR = |called \\ true| / |not true|;
- CI coverage: share of real effects inside the 95 % intervals computed from S. The real effect is
  itself an estimate from n rows, so even a perfect generator does not reach 0.95: with equal sizes
  ê_R − ê_S has twice the variance the interval allows for and the expected coverage is
  P(|Z| ≤ 1.96/√2) ≈ 0.83. The score therefore targets the real-holdout reference (computed the same
  way, H vs R), not 0.95. Over-confident synthetic data (too little within-class spread) give much
  less; under-confident data (too much noise) give more.
"""

from __future__ import annotations

import numpy as np

from .base import HIGHER, LOWER, register_metric, target
from .space import Comparison

ALPHA = 0.05  # BH false-discovery rate
LEVEL = 0.95  # confidence level of the intervals
MIN_GROUP = 2  # rows needed in a class and in its complement


def bh_reject(p: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Benjamini-Hochberg step-up: boolean mask of rejected hypotheses at FDR ``alpha``."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    if m == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(p, kind="stable")
    below = p[order] <= alpha * np.arange(1, m + 1) / m
    reject = np.zeros(m, dtype=bool)
    if below.any():
        reject[order[: int(np.flatnonzero(below).max()) + 1]] = True
    return reject


def welch(X: np.ndarray, in_group: np.ndarray) -> dict[str, np.ndarray]:
    """Per-column Welch test of group vs rest: effect (mean difference), se, t, df, two-sided p, CI half-width.

    Columns with zero standard error get t = 0, p = 1 and a zero-width interval (no evidence).
    """
    from scipy import stats

    X = np.asarray(X, dtype=np.float64)
    A, B = X[in_group], X[~in_group]
    n1, n2 = len(A), len(B)
    if n1 < MIN_GROUP or n2 < MIN_GROUP:
        raise ValueError(f"Welch test needs {MIN_GROUP} rows per group, got {n1} and {n2}")
    v1, v2 = A.var(axis=0, ddof=1) / n1, B.var(axis=0, ddof=1) / n2
    effect = A.mean(axis=0) - B.mean(axis=0)
    se2 = v1 + v2
    se = np.sqrt(se2)
    ok = se > 1e-12 * np.maximum(1.0, np.abs(effect))
    t = np.zeros_like(effect)
    t[ok] = effect[ok] / se[ok]
    df = np.full_like(effect, float(n1 + n2 - 2))
    df[ok] = se2[ok] ** 2 / (v1[ok] ** 2 / (n1 - 1) + v2[ok] ** 2 / (n2 - 1))
    p = np.ones_like(effect)
    p[ok] = 2.0 * stats.t.sf(np.abs(t[ok]), df[ok])
    half = np.zeros_like(effect)
    half[ok] = stats.t.ppf(0.5 + LEVEL / 2.0, df[ok]) * se[ok]
    return {"effect": effect, "se": se, "t": t, "df": df, "p": p, "half": half}


def allelic(G: np.ndarray, in_group: np.ndarray) -> dict[str, np.ndarray]:
    """Per-SNP allelic association of group vs rest: log odds ratio (0.5 added to each cell of the
    2 × 2 allele-count table), Woolf se, Wald z, two-sided p, 95 % half-width."""
    from scipy import stats

    G = np.asarray(G, dtype=np.float64)
    n1, n2 = int(in_group.sum()), int((~in_group).sum())
    if n1 < MIN_GROUP or n2 < MIN_GROUP:
        raise ValueError(f"association test needs {MIN_GROUP} rows per group, got {n1} and {n2}")
    a = G[in_group].sum(axis=0) + 0.5  # alternate alleles in the group
    b = 2.0 * n1 - (a - 0.5) + 0.5  # reference alleles in the group
    c = G[~in_group].sum(axis=0) + 0.5
    d = 2.0 * n2 - (c - 0.5) + 0.5
    effect = np.log(a) + np.log(d) - np.log(b) - np.log(c)
    se = np.sqrt(1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d)
    t = effect / se
    p = 2.0 * stats.norm.sf(np.abs(t))
    half = stats.norm.ppf(0.5 + LEVEL / 2.0) * se
    return {"effect": effect, "se": se, "t": t, "p": p, "half": half}


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a @ a) * (b @ b))
    return None if denom == 0 else float(a @ b / denom)


def compare_inference(real: dict[str, np.ndarray], synth: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Agreement of one analysis on S with the same analysis on R (one class vs rest)."""
    true, called = bh_reject(real["p"]), bh_reject(synth["p"])
    n_true, n_false = int(true.sum()), int((~true).sum())
    return {
        "effect_corr": _corr(real["effect"], synth["effect"]),
        "t_corr": _corr(real["t"], synth["t"]),
        "tpr": float((called & true).sum() / n_true) if n_true else None,
        "fpr": float((called & ~true).sum() / n_false) if n_false else None,
        "coverage": float(np.mean(np.abs(real["effect"] - synth["effect"]) <= synth["half"])),
    }


def _mean_over_classes(per_class: list[dict[str, float | None]], key: str, what: str) -> float:
    vals = [d[key] for d in per_class if d[key] is not None]
    if not vals:
        raise ValueError(f"{what} is undefined for every class")
    return float(np.mean(vals))


def _one_vs_rest(c: Comparison, test: str) -> list[dict[str, float | None]]:
    """Per class present (≥ 2 rows in and out of the class) in both R and S: ``compare_inference``."""
    ctx = c.ctx
    fn = welch if test == "welch" else allelic

    def classes(y: np.ndarray) -> set[int]:
        counts = np.bincount(y, minlength=ctx.split.n_classes)
        return {k for k in range(len(counts)) if counts[k] >= MIN_GROUP and len(y) - counts[k] >= MIN_GROUP}

    def make() -> list[dict[str, float | None]]:
        R_X = ctx.cache.get("inference_R_X", lambda: np.asarray(ctx.R_X, dtype=np.float64))
        S_X = np.asarray(c.S_X, dtype=np.float64)
        if test == "welch":
            S_X = clip_like_train(ctx, S_X)
        ks = sorted(classes(ctx.R_y) & classes(c.S_y))
        if not ks:
            raise ValueError("no class has enough rows in and out of it in both sets")
        out = []
        for k in ks:
            real = ctx.cache.get(f"inference_{test}_{k}", lambda k=k: fn(R_X, ctx.R_y == k))
            out.append(compare_inference(real, fn(S_X, c.S_y == k)))
        return out

    return c.get(f"inference_{test}", make)


def clip_like_train(ctx, X: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """Clip scored values at 0 when the train split has no negative value (log-normalised or count data)."""
    nonneg = ctx.cache.get("train_nonnegative", lambda: bool(np.min(ctx.split.train_X) >= 0))
    return np.maximum(X, 0.0) if nonneg else X


@register_metric(
    "diff_expression",
    "utility",
    {"expression", "counts"},
    scores={
        "de_lfc_corr": HIGHER,
        "de_t_corr": HIGHER,
        "de_tpr": HIGHER,
        "de_fpr": LOWER,
        "de_ci_coverage": target(None),
    },
)
def diff_expression(c: Comparison) -> dict[str, float]:
    """Differential expression class vs rest (Welch t, BH 5 %): agreement of S with R, mean over classes."""
    per = _one_vs_rest(c, "welch")
    return {
        "de_lfc_corr": _mean_over_classes(per, "effect_corr", "the fold-change correlation"),
        "de_t_corr": _mean_over_classes(per, "t_corr", "the t correlation"),
        "de_tpr": _mean_over_classes(per, "tpr", "TPR (no real DE gene)"),
        "de_fpr": _mean_over_classes(per, "fpr", "FPR (every gene is DE)"),
        "de_ci_coverage": _mean_over_classes(per, "coverage", "coverage"),
    }


@register_metric(
    "association",
    "utility",
    {"genotype"},
    scores={
        "assoc_effect_corr": HIGHER,
        "assoc_tpr": HIGHER,
        "assoc_fpr": LOWER,
        "assoc_ci_coverage": target(None),
    },
)
def association(c: Comparison) -> dict[str, float]:
    """Allelic association of each SNP with each population vs rest (log OR, Woolf se, BH 5 %): S vs R."""
    per = _one_vs_rest(c, "allelic")
    return {
        "assoc_effect_corr": _mean_over_classes(per, "effect_corr", "the log-OR correlation"),
        "assoc_tpr": _mean_over_classes(per, "tpr", "TPR (no real association)"),
        "assoc_fpr": _mean_over_classes(per, "fpr", "FPR (every SNP is associated)"),
        "assoc_ci_coverage": _mean_over_classes(per, "coverage", "coverage"),
    }
