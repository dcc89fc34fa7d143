"""Population-genetics fidelity on dosages (spec §5): allele frequencies, MAF spectrum, LD r² within
windows and LD decay, Hudson F_ST between populations, Gaussian-component EMD and population overlap
on the first 10 principal axes of ``std`` dosages (cross-fitted on halves of the test subsample, so
no compared row is in sample)."""

from __future__ import annotations

import numpy as np

from .base import HIGHER, INFO, LOWER, NotApplicable, register_metric, target
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


# ----------------------------------------------------------------------------------------------
# Minor-allele-frequency spectrum


def maf_w1(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 between two 1-D samples: ∫ |F_a − F_b| over the pooled support."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a, b])
    grid.sort()
    fa = np.searchsorted(a, grid[:-1], side="right") / len(a)
    fb = np.searchsorted(b, grid[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * np.diff(grid)))


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """max over pooled values t of |F_a(t) − F_b(t)| (right-continuous ECDFs)."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def lost_variants(G_real: np.ndarray, G_synth: np.ndarray) -> float:
    """Fraction of SNPs polymorphic in the real set that are monomorphic in the scored set."""
    G_real, G_synth = np.asarray(G_real), np.asarray(G_synth)
    poly_r = G_real.max(axis=0) > G_real.min(axis=0)
    if not poly_r.any():
        raise ValueError("no SNP is polymorphic in the real test set")
    mono_s = G_synth.max(axis=0) == G_synth.min(axis=0)
    return float(np.mean(mono_s[poly_r]))


@register_metric(
    "maf_spectrum",
    "genomics",
    {"genotype"},
    scores={"maf_w1": LOWER, "maf_ks": LOWER, "lost_variants_frac": LOWER},
)
def maf_spectrum(c: Comparison) -> dict[str, float]:
    """Minor-allele-frequency spectrum: W1 and KS between per-SNP MAFs, and variants lost in S."""
    p_r, p_s = allele_frequencies(c.ctx.R_X), allele_frequencies(c.S_X)
    m_r, m_s = np.minimum(p_r, 1.0 - p_r), np.minimum(p_s, 1.0 - p_s)
    return {
        "maf_w1": maf_w1(m_r, m_s),
        "maf_ks": ks_statistic(m_r, m_s),
        "lost_variants_frac": lost_variants(c.ctx.R_X, c.S_X),
    }


# ----------------------------------------------------------------------------------------------
# LD decay

LD_DECAY_BINS = 20
LD_DECAY_MAX_BP = 100_000  # D_max with base-pair positions
LD_DECAY_MAX_SNPS = 1000  # D_max in SNP-order distance when positions are missing
LD_DECAY_BLOCK = 256  # SNP columns per block of the banded correlation product


def snp_distances(n_snps: int, positions: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
    """(coordinate per SNP, contig id per SNP, D_max).

    With base-pair positions, a position lower than its predecessor starts a new contig (pairs across
    contigs are never used) and D_max = min(100 kb, largest within-contig span), so short panels use
    all pairs. Without positions the coordinate is the SNP index and D_max = min(G − 1, 1000).
    """
    if positions is None:
        return np.arange(n_snps, dtype=np.float64), np.zeros(n_snps, dtype=np.int64), float(
            min(max(n_snps - 1, 1), LD_DECAY_MAX_SNPS)
        )
    pos = np.asarray(positions, dtype=np.float64)
    if pos.shape != (n_snps,):
        raise ValueError(f"{pos.shape[0]} positions for {n_snps} SNPs")
    contig = np.r_[0, np.cumsum(np.diff(pos) < 0)]
    span = max(float(pos[contig == k].max() - pos[contig == k].min()) for k in np.unique(contig))
    return pos, contig, float(min(LD_DECAY_MAX_BP, span)) if span > 0 else 1.0


def _unit_columns(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred, unit-norm dosage columns (monomorphic columns left at 0) and the polymorphic mask."""
    G = np.asarray(G, dtype=np.float64)
    Z = G - G.mean(axis=0)
    norm = np.sqrt(np.einsum("ij,ij->j", Z, Z))
    poly = G.max(axis=0) > G.min(axis=0)
    Z[:, poly] /= norm[poly]
    return Z, poly


def ld_decay_curves(
    sets: list[np.ndarray], positions: np.ndarray | None = None, n_bins: int = LD_DECAY_BINS
) -> tuple[np.ndarray, np.ndarray]:
    """Mean r² per distance bin for each dosage matrix in ``sets``: (curves (len(sets), n_bins), counts).

    Pairs i < j on one contig with distance d_ij ≤ D_max (see ``snp_distances``) fall into
    ``n_bins`` equal-width bins of (0, D_max] (a distance of 0 goes to the first bin). Only pairs
    whose two SNPs are polymorphic in *every* set are used, so all curves share the same pairs; the
    correlations come from banded blocked products, never a full G × G matrix.
    """
    G = sets[0].shape[1]
    coord, contig, d_max = snp_distances(G, positions)
    unit = [_unit_columns(X) for X in sets]
    poly = np.logical_and.reduce([p for _, p in unit])
    sums = np.zeros((len(sets), n_bins))
    counts = np.zeros(n_bins)
    # one past the last column within reach of each SNP (coordinates increase within a contig)
    key = contig * (coord.max() - coord.min() + 2.0 * d_max + 1.0) + coord
    reach = np.searchsorted(key, key + d_max, side="right")
    for a in range(0, G, LD_DECAY_BLOCK):
        b = min(a + LD_DECAY_BLOCK, G)
        hi = int(reach[a:b].max())
        hi = max(hi, b)
        d = np.abs(coord[None, a:hi] - coord[a:b, None])
        ok = (
            (np.arange(a, hi)[None, :] > np.arange(a, b)[:, None])
            & (d <= d_max)
            & (contig[a:b, None] == contig[None, a:hi])
            & poly[a:b, None]
            & poly[None, a:hi]
        )
        if not ok.any():
            continue
        bins = np.minimum((d[ok] / d_max * n_bins).astype(np.int64), n_bins - 1)
        counts += np.bincount(bins, minlength=n_bins)
        for k, (Z, _) in enumerate(unit):
            r = Z[:, a:b].T @ Z[:, a:hi]
            sums[k] += np.bincount(bins, weights=np.clip(r[ok] ** 2, 0.0, 1.0), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        curves = sums / counts
    return curves, counts


@register_metric("ld_decay", "genomics", {"genotype"}, scores={"ld_decay_error": LOWER})
def ld_decay(c: Comparison) -> dict[str, float]:
    """LD decay: mean |curve_R − curve_S| over non-empty distance bins (20 bins up to 100 kb or the panel span)."""
    curves, counts = ld_decay_curves([c.ctx.R_X, c.S_X], c.ctx.split.positions)
    filled = counts > 0
    if not filled.any():
        raise ValueError("no SNP pair within the LD-decay distance range is polymorphic in both sets")
    return {"ld_decay_error": float(np.mean(np.abs(curves[0, filled] - curves[1, filled])))}


# ----------------------------------------------------------------------------------------------
# F_ST between populations


def hudson_fst(G_a: np.ndarray, G_b: np.ndarray) -> float:
    """Hudson F_ST of two populations, ratio of averages (Bhatia et al. 2013), from 0/1/2 dosages.

    Per SNP: N = (p_a − p_b)² − p_a(1 − p_a)/(n_a − 1) − p_b(1 − p_b)/(n_b − 1),
    D = p_a(1 − p_b) + p_b(1 − p_a), n = haplotype counts (2 × individuals); F_ST = ΣN / ΣD.
    """
    n_a, n_b = 2.0 * len(G_a), 2.0 * len(G_b)
    if n_a < 2 or n_b < 2:
        raise ValueError("Hudson F_ST needs at least one individual (two haplotypes) per population")
    p_a, p_b = allele_frequencies(G_a), allele_frequencies(G_b)
    num = (p_a - p_b) ** 2 - p_a * (1 - p_a) / (n_a - 1) - p_b * (1 - p_b) / (n_b - 1)
    den = p_a * (1 - p_b) + p_b * (1 - p_a)
    if den.sum() <= 0:
        raise ValueError("F_ST undefined: every SNP is monomorphic and fixed for the same allele")
    return float(num.sum() / den.sum())


MIN_POP_ROWS = 2


def pairwise_fst(G: np.ndarray, y: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    return np.array([hudson_fst(G[y == a], G[y == b]) for a, b in pairs])


def _fst_pairs(c: Comparison) -> tuple[np.ndarray, np.ndarray]:
    """(F_ST of the real test set, F_ST of the scored set) for every population pair with at least
    two rows in both sets; scored rows use their conditioning label."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        C = c.ctx.split.n_classes
        n_r = np.bincount(c.ctx.R_y, minlength=C)
        n_s = np.bincount(c.S_y, minlength=C)
        ok = (n_r >= MIN_POP_ROWS) & (n_s >= MIN_POP_ROWS)
        pairs = [(a, b) for a in range(C) for b in range(a + 1, C) if ok[a] and ok[b]]
        if not pairs:
            raise ValueError("F_ST needs two populations with at least 2 rows in both sets")
        R = np.asarray(c.ctx.R_X)
        f_r = c.ctx.cache.get(f"fst_real_{pairs}", lambda: pairwise_fst(R, c.ctx.R_y, pairs))
        return f_r, pairwise_fst(np.asarray(c.S_X), c.S_y, pairs)

    return c.get("fst_pairs", make)


@register_metric("fst", "genomics", {"genotype"}, scores={"fst_error": LOWER})
def fst(c: Comparison) -> dict[str, float]:
    """Hudson F_ST per population pair: mean |F_R − F_S| (scored rows grouped by their label)."""
    f_r, f_s = _fst_pairs(c)
    return {"fst_error": float(np.mean(np.abs(f_r - f_s)))}


@register_metric("fst_corr", "genomics", {"genotype"}, scores={"fst_corr": HIGHER})
def fst_corr(c: Comparison) -> dict[str, float]:
    """Pearson correlation of per-pair Hudson F_ST, R vs S (needs at least 3 population pairs)."""
    f_r, f_s = _fst_pairs(c)
    if len(f_r) < 3:
        raise NotApplicable(f"{len(f_r)} population pair(s), the correlation needs 3")
    return {"fst_corr": pearson(f_r, f_s)}


# ----------------------------------------------------------------------------------------------
# Gaussian-component comparison (Offspring GAN style) and population overlap in pcag

GMM_AXES = 10
GMM_MIN_ROWS = 10


GMM_MAX_ITER = 200
GMM_TOL = 1e-9  # stop when no axis's mean log-likelihood improves by more
GMM_REG = 1e-6  # added to each component variance (as sklearn's reg_covar)


def gmm_1d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-component 1-D Gaussian mixtures fitted by EM to every column of X at once.

    Deterministic start: means at the 25th and 75th percentiles, equal weights, both variances the
    column variance. Returns (means (A, 2), weights (A, 2)), components ordered by mean. The same EM
    as ``sklearn.mixture.GaussianMixture(2)`` from that start (tested), vectorised over columns.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    n = len(X)
    mu = np.stack([np.percentile(X, 25, axis=0), np.percentile(X, 75, axis=0)], axis=1)  # (A, 2)
    var = np.repeat(X.var(axis=0)[:, None], 2, axis=1) + GMM_REG
    w = np.full_like(mu, 0.5)
    prev = np.full(X.shape[1], -np.inf)
    x = X[:, :, None]
    tiny = 10 * np.finfo(np.float64).eps
    for _ in range(GMM_MAX_ITER):
        logp = np.log(w) - 0.5 * np.log(2 * np.pi * var) - (x - mu) ** 2 / (2 * var)  # (n, A, 2)
        ll = np.logaddexp(logp[:, :, 0], logp[:, :, 1])
        resp = np.exp(logp - ll[:, :, None])
        nk = resp.sum(axis=0) + tiny
        w = nk / n
        mu = (resp * x).sum(axis=0) / nk
        var = (resp * (x - mu) ** 2).sum(axis=0) / nk + GMM_REG
        cur = ll.mean(axis=0)
        if np.all(np.abs(cur - prev) < GMM_TOL):
            break
        prev = cur
    order = np.argsort(mu, axis=1)
    return np.take_along_axis(mu, order, 1), np.take_along_axis(w, order, 1)


def atoms_w1(mu_a: np.ndarray, w_a: np.ndarray, mu_b: np.ndarray, w_b: np.ndarray) -> float:
    """1-D Wasserstein-1 (EMD) between the discrete measures Σ w_k δ_{μ_k}."""
    grid = np.sort(np.concatenate([mu_a, mu_b]))
    Fa = np.array([w_a[mu_a <= t].sum() for t in grid[:-1]]) / w_a.sum()
    Fb = np.array([w_b[mu_b <= t].sum() for t in grid[:-1]]) / w_b.sum()
    return float(np.sum(np.abs(Fa - Fb) * np.diff(grid)))


def _gmm_fits(E: np.ndarray, y: np.ndarray, n_classes: int) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per class with enough rows: (means (axes, 2), weights (axes, 2), sd per axis) of 1-D two-component fits."""
    out = {}
    for k in range(n_classes):
        Ek = E[y == k]
        if len(Ek) >= GMM_MIN_ROWS:
            mu, w = gmm_1d(Ek)
            out[k] = (mu, w, Ek.std(axis=0, ddof=1))
    return out


def _axes(c: Comparison) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per cross-fit half: (real compared half on the first 10 axes, its labels, scored set on those axes)."""
    ctx = c.ctx
    real = ctx.cache.get("pop_axes_real", lambda: [
        (pca.transform(ctx.R_std[compare]), ctx.R_y[compare]) for pca, compare in ctx.crossfit_pca(GMM_AXES)
    ])
    fits = ctx.crossfit_pca(GMM_AXES)
    return c.get("pop_axes", lambda: [
        (E_r, y_r, pca.transform(c.S_std)) for (E_r, y_r), (pca, _) in zip(real, fits, strict=True)
    ])


@register_metric("gmm_components", "genomics", {"genotype"}, scores={"gmm_emd": LOWER, "gmm_rmse": LOWER})
def gmm_components(c: Comparison) -> dict[str, float]:
    """Two-component 1-D Gaussian mixtures per population on the first 10 principal axes: EMD and RMSE of
    the components, in units of the real scores' sd on that axis (both cross-fit halves pooled)."""
    C = c.ctx.split.n_classes
    emd, sq = [], []
    for half, (E_r, y_r, E_s) in enumerate(_axes(c)):
        real = c.ctx.cache.get(f"gmm_real_{half}", lambda E_r=E_r, y_r=y_r: _gmm_fits(E_r, y_r, C))
        for k, (mu_s, w_s, _) in _gmm_fits(E_s, c.S_y, C).items():
            if k not in real:
                continue
            mu_r, w_r, sd = real[k]
            for a in range(E_s.shape[1]):
                if sd[a] <= 0:
                    continue
                emd.append(atoms_w1(mu_r[a], w_r[a], mu_s[a], w_s[a]) / sd[a])
                sq.append(np.r_[((mu_r[a] - mu_s[a]) / sd[a]) ** 2, (w_r[a] - w_s[a]) ** 2])
    if not emd:
        raise ValueError(f"no population has {GMM_MIN_ROWS} rows in both the real and the scored set")
    return {"gmm_emd": float(np.mean(emd)), "gmm_rmse": float(np.sqrt(np.mean(sq)))}


@register_metric("pop_pca_overlap", "genomics", {"genotype"}, scores={"pop_pca_overlap": target(None)})
def pop_pca_overlap(c: Comparison) -> dict[str, float]:
    """Mean over populations of the share of scored rows whose nearest real population centroid (first
    10 principal axes) is their own population (mean of the two cross-fit halves)."""
    values = []
    for E_r, y_r, E_s in _axes(c):
        present = [k for k in range(c.ctx.split.n_classes) if np.any(y_r == k)]
        if len(present) < 2:
            raise NotApplicable("fewer than two populations in the real test set")
        centroids = np.stack([E_r[y_r == k].mean(axis=0) for k in present])
        d = ((E_s[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        nearest = np.asarray(present)[d.argmin(axis=1)]
        values.append(np.mean([np.mean(nearest[c.S_y == k] == k) for k in present if np.any(c.S_y == k)]))
    return {"pop_pca_overlap": float(np.mean(values))}
