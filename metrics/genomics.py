"""Population-genetics fidelity on dosages: allele frequencies and linkage disequilibrium (spec §5)."""

from __future__ import annotations

import numpy as np

from .base import HIGHER, INFO, LOWER, register_metric
from .space import Comparison

LD_WINDOW = 50  # SNP pairs with |i - j| <= LD_WINDOW in column (SNP) order


def allele_frequencies(G: np.ndarray) -> np.ndarray:
    """p = mean dosage / 2 per SNP."""
    return np.asarray(G, dtype=np.float64).mean(axis=0) / 2.0


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; raises if either vector is constant."""
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a @ a) * (b @ b))
    if denom == 0:
        raise ValueError("Pearson correlation undefined: constant input")
    return float(a @ b / denom)


@register_metric("allele_freq", "genomics", {"genotype"}, scores={"af_corr": HIGHER, "af_rmse": LOWER})
def allele_freq(c: Comparison) -> dict[str, float]:
    """Pearson correlation and RMSE of per-SNP allele frequencies, test vs scored set."""
    p_r, p_s = allele_frequencies(c.ctx.R_X), allele_frequencies(c.S_X)
    return {"af_corr": pearson(p_r, p_s), "af_rmse": float(np.sqrt(np.mean((p_r - p_s) ** 2)))}


def ld_r2_window(G: np.ndarray, window: int = LD_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """r² of every SNP pair (i, j), 0 < j − i <= window, ordered by offset then i; and a mask that is
    False where either SNP is monomorphic (r² undefined, reported as 0)."""
    G = np.asarray(G, dtype=np.float64)
    Z = G - G.mean(axis=0)
    norm = np.sqrt(np.einsum("ij,ij->j", Z, Z))
    poly = G.max(axis=0) > G.min(axis=0)
    Z[:, poly] /= norm[poly]
    r2, ok = [], []
    for offset in range(1, min(window, G.shape[1] - 1) + 1):
        r = np.einsum("ij,ij->j", Z[:, :-offset], Z[:, offset:])
        r2.append(np.clip(r * r, 0.0, 1.0))
        ok.append(poly[:-offset] & poly[offset:])
    if not r2:
        return np.zeros(0), np.zeros(0, dtype=bool)
    return np.concatenate(r2), np.concatenate(ok)


@register_metric(
    "ld",
    "genomics",
    {"genotype"},
    scores={"ld_error": LOWER, "ld_corr": HIGHER, "ld_skipped_frac": INFO},
)
def ld(c: Comparison) -> dict[str, float]:
    """LD r² within 50-SNP windows: mean |r²_R − r²_S| and Pearson; ld_skipped_frac = pairs with a monomorphic SNP."""
    r2_r, ok_r = ld_r2_window(c.ctx.R_X)
    r2_s, ok_s = ld_r2_window(c.S_X)
    ok = ok_r & ok_s
    if ok.sum() < 2:
        raise ValueError(f"only {int(ok.sum())} SNP pairs are polymorphic in both sets")
    return {
        "ld_error": float(np.mean(np.abs(r2_r[ok] - r2_s[ok]))),
        "ld_corr": pearson(r2_r[ok], r2_s[ok]),
        "ld_skipped_frac": float(1.0 - ok.mean()),
    }
