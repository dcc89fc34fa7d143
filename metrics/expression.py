"""Expression extras (spec §6): per-gene mean and variance agreement, zero fractions of count-like data.

All scores are computed in the data's own scale (not ``std``), R = real test set, S = scored set.
When the train split has no negative value (log-normalised or count data), scored values are clipped
at 0 first, so a generator emitting small negative values is judged on what a user would keep.
"""

from __future__ import annotations

import numpy as np

from .base import HIGHER, LOWER, NotApplicable, register_metric
from .inference import clip_like_train
from .space import Comparison

COUNT_LIKE_ZEROS = 0.10  # data are count-like when at least 10 % of the train values are exactly 0


def gene_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and variance (ddof = 1)."""
    X = np.asarray(X, dtype=np.float64)
    return X.mean(axis=0), X.var(axis=0, ddof=1)


def _pearson_or_fail(a: np.ndarray, b: np.ndarray, what: str) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a @ a) * (b @ b))
    if denom == 0:
        raise ValueError(f"{what}: Pearson correlation undefined (constant input)")
    return float(a @ b / denom)


def log_variance_error(var_real: np.ndarray, var_synth: np.ndarray) -> float:
    """mean_j |log10(v_S,j + δ) − log10(v_R,j + δ)| over genes with v_R,j > 0; δ = 1e-6 · mean v_R."""
    keep = var_real > 0
    if not keep.any():
        raise ValueError("every gene is constant in the real test set")
    delta = 1e-6 * float(var_real[keep].mean())
    return float(np.mean(np.abs(np.log10(var_synth[keep] + delta) - np.log10(var_real[keep] + delta))))


@register_metric(
    "mean_variance",
    "fidelity",
    {"expression", "counts"},
    scores={"gene_mean_corr": HIGHER, "gene_var_corr": HIGHER, "mean_var_error": LOWER},
)
def mean_variance(c: Comparison) -> dict[str, float]:
    """Per-gene means and variances, R vs S: Pearson of each, and the mean |log10 variance ratio|."""
    ctx = c.ctx
    m_r, v_r = ctx.cache.get("gene_moments_R", lambda: gene_moments(ctx.R_X))
    m_s, v_s = gene_moments(clip_like_train(ctx, np.asarray(c.S_X, dtype=np.float64)))
    return {
        "gene_mean_corr": _pearson_or_fail(m_r, m_s, "per-gene means"),
        "gene_var_corr": _pearson_or_fail(v_r, v_s, "per-gene variances"),
        "mean_var_error": log_variance_error(v_r, v_s),
    }


def zero_threshold(T: np.ndarray) -> float:
    """τ = half the smallest positive value of the train split; raises if the data are not count-like."""
    T = np.asarray(T)
    zeros = float(np.mean(T == 0))
    if zeros < COUNT_LIKE_ZEROS:
        raise NotApplicable(
            f"not count-like data ({100 * zeros:.1f} % zeros in train, "
            f"need {100 * COUNT_LIKE_ZEROS:.0f} %)"
        )
    positive = T[T > 0]
    return 0.5 * float(positive.min()) if positive.size else 0.5


def zero_fractions(X: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """(per-gene, per-cell) fraction of values ≤ τ."""
    Z = np.asarray(X) <= tau
    return Z.mean(axis=0), Z.mean(axis=1)


def w1_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 between two 1-D samples (any sizes)."""
    from .genomics import maf_w1

    return maf_w1(a, b)


@register_metric(
    "zero_fraction",
    "fidelity",
    {"expression", "counts"},
    scores={"zero_frac_gene_mae": LOWER, "zero_frac_cell_w1": LOWER},
)
def zero_fraction(c: Comparison) -> dict[str, float]:
    """Count-like data (≥ 10 % zeros in train): MAE of per-gene zero fractions and W1 of per-cell ones.

    A value counts as zero when ≤ τ = half the smallest positive train value; scored values are
    clipped at 0 first. Other data: not applicable.
    """
    ctx = c.ctx
    tau = ctx.cache.get("zero_tau", lambda: zero_threshold(ctx.split.train_X))
    zg_r, zc_r = ctx.cache.get("zero_fractions_R", lambda: zero_fractions(ctx.R_X, tau))
    zg_s, zc_s = zero_fractions(np.maximum(np.asarray(c.S_X, dtype=np.float64), 0.0), tau)
    return {"zero_frac_gene_mae": float(np.mean(np.abs(zg_r - zg_s))), "zero_frac_cell_w1": w1_1d(zc_r, zc_s)}
