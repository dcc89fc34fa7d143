"""Fidelity: k-NN precision/recall/density/coverage, Fréchet distance, MMD, correlations, C2ST (spec §1-3)."""

from __future__ import annotations

import numpy as np

from .base import HIGHER, INFO, LOWER, register_metric, target
from .space import TAG_CV, TAG_MMD, Comparison, Points, derive_seed, knn_self, single_thread_blas

K_PR = 3  # improved precision/recall (Kynkäänniemi et al.)
K_DC = 5  # density/coverage (Naeem et al.)
MMD_POOL = 2000


def knn_scores(
    real: Points, fake: Points, real_knn: np.ndarray, fake_knn: np.ndarray, k_pr: int = K_PR, k_dc: int = K_DC
) -> dict[str, float]:
    """Precision, recall (k_pr) and density, coverage (k_dc) from one blocked pass; ``<=`` rule.

    ``real_knn``/``fake_knn`` are the ascending self-excluded k-NN distances of each set.
    """
    r_pr, r_dc, s_pr = real_knn[:, k_pr - 1], real_knn[:, k_dc - 1], fake_knn[:, k_pr - 1]
    precision_hit = np.zeros(len(fake), dtype=bool)
    recall_hit = np.zeros(len(real), dtype=bool)
    nearest_fake = np.full(len(real), np.inf)
    density_count = 0
    for start, stop, dist in fake.blocks(real):  # dist: fake rows x real rows
        precision_hit[start:stop] = (dist <= r_pr).any(axis=1)
        density_count += int((dist <= r_dc).sum())
        recall_hit |= (dist <= s_pr[start:stop, None]).any(axis=0)
        np.minimum(nearest_fake, dist.min(axis=0), out=nearest_fake)
    return {
        "precision": float(precision_hit.mean()),
        "recall": float(recall_hit.mean()),
        "density": density_count / (k_dc * len(fake)),
        "coverage": float((nearest_fake <= r_dc).mean()),
    }


def prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = K_PR, k_dc: int = K_DC) -> dict[str, float]:
    """P/R/D/C of two raw point sets in Euclidean space (the function the context caches)."""
    R, S = Points(real), Points(fake)
    k = max(k_pr, k_dc)
    return knn_scores(R, S, knn_self(R, k), knn_self(S, k), k_pr, k_dc)


def _knn(c: Comparison) -> dict[str, float]:
    return c.get("knn_scores", lambda: knn_scores(c.ctx.R_emb, c.S_emb, c.ctx.R_knn, c.S_knn))


@register_metric("precision_recall", "fidelity", scores={"precision": HIGHER, "recall": HIGHER})
def precision_recall(c: Comparison) -> dict[str, float]:
    """Improved precision and recall (k=3, embedding space, <= rule)."""
    s = _knn(c)
    return {"precision": s["precision"], "recall": s["recall"]}


@register_metric("density_coverage", "fidelity", scores={"density": target(None), "coverage": HIGHER})
def density_coverage(c: Comparison) -> dict[str, float]:
    """Density and coverage (k=5, embedding space, <= rule)."""
    s = _knn(c)
    return {"density": s["density"], "coverage": s["coverage"]}


def _psd_sqrt(M: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh((M + M.T) / 2.0)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def frechet_distance(A: np.ndarray, B: np.ndarray) -> float:
    """‖μ_A − μ_B‖² + Tr(Σ_A + Σ_B) − 2 Σ √λ(Σ_A^½ Σ_B Σ_A^½); ddof = 1, real symmetric algebra only."""
    mu = A.mean(axis=0) - B.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(A, rowvar=False, ddof=1))
    cov_b = np.atleast_2d(np.cov(B, rowvar=False, ddof=1))
    root_a = _psd_sqrt(cov_a)
    M = root_a @ cov_b @ root_a
    lam = np.clip(np.linalg.eigvalsh((M + M.T) / 2.0), 0.0, None)
    return float(mu @ mu + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.sqrt(lam).sum())


@register_metric("fd_pca", "fidelity", scores={"fd_pca": LOWER})
def fd_pca(c: Comparison) -> dict[str, float]:
    """Fréchet distance between test and scored set in the embedding space (pca50 / pcag)."""
    return {"fd_pca": frechet_distance(c.ctx.R_emb.X, c.S_emb.X)}


def median_heuristic_gamma(pooled: np.ndarray, seed: int, max_rows: int = MMD_POOL) -> float:
    """γ = 1 / (2 · median pairwise squared distance) on at most ``max_rows`` pooled rows."""
    rng = np.random.default_rng(seed)
    if len(pooled) > max_rows:
        pooled = pooled[np.sort(rng.choice(len(pooled), max_rows, replace=False))]
    P = Points(pooled)
    iu = np.triu_indices(len(P), k=1)
    med = float(np.median(P.distances(P, 0, len(P), squared=True)[iu]))
    if med <= 0:
        raise ValueError("median pairwise squared distance is 0 (most pooled rows identical)")
    return 1.0 / (2.0 * med)


def _kernel_sum(A: Points, B: Points, gamma: float, same: bool) -> float:
    total = 0.0
    for start, stop, K in A.blocks(B, squared=True):
        K *= -gamma
        np.exp(K, out=K)
        if same:
            K[np.arange(stop - start), np.arange(start, stop)] = 0.0
        total += float(K.sum())
    return total


def mmd2_unbiased(A: np.ndarray, B: np.ndarray, gamma: float) -> float:
    """Unbiased MMD² with the RBF kernel exp(−γ‖a − b‖²)."""
    PA, PB = Points(A), Points(B)
    m, n = len(PA), len(PB)
    kaa = _kernel_sum(PA, PA, gamma, same=True) / (m * (m - 1))
    kbb = _kernel_sum(PB, PB, gamma, same=True) / (n * (n - 1))
    kab = _kernel_sum(PA, PB, gamma, same=False) / (m * n)
    return kaa + kbb - 2.0 * kab


@register_metric("mmd", "fidelity", scores={"mmd": LOWER})
def mmd(c: Comparison) -> dict[str, float]:
    """Unbiased MMD², RBF kernel, median-heuristic bandwidth, embedding space."""
    R, S = c.ctx.R_emb.X, c.S_emb.X
    gamma = median_heuristic_gamma(np.vstack([R, S]), derive_seed(c.ctx.seed, TAG_MMD))
    return {"mmd": mmd2_unbiased(R, S, gamma)}


def _column_z(X: np.ndarray) -> tuple[np.ndarray, int]:
    """Columns centred and scaled so that ZᵀZ/(n−1) is the Pearson matrix; constant columns are 0."""
    Z = X - X.mean(axis=0)
    sd = Z.std(axis=0, ddof=1)
    const = sd <= 1e-12 * np.maximum(1.0, np.abs(X).max(axis=0))
    Z[:, const] = 0.0
    Z[:, ~const] /= sd[~const]
    return Z, int(const.sum())


def correlation_scores(A: np.ndarray, B: np.ndarray, block: int = 512) -> dict[str, float]:
    """GMDA correlation error (diagonal included) and Pearson of the strict upper triangles.

    Row blocks of both correlation matrices are formed in turn; no G x G matrix is kept.
    Features constant in a set get correlation 0 there (including the diagonal).
    """
    ZA, _ = _column_z(A)
    ZB, n_const_b = _column_z(B)
    G = A.shape[1]
    if G < 2:
        raise ValueError("correlation metrics need at least 2 features")
    abs_err = 0.0
    sums = np.zeros(5)  # Σa, Σb, Σa², Σb², Σab over the strict upper triangle
    for start in range(0, G, block):
        stop = min(start + block, G)
        CA = ZA[:, start:stop].T @ ZA / (len(A) - 1)
        CB = ZB[:, start:stop].T @ ZB / (len(B) - 1)
        abs_err += float(np.abs(CA - CB).sum())
        upper = np.arange(G)[None, :] > np.arange(start, stop)[:, None]
        a, b = CA[upper], CB[upper]
        sums += [a.sum(), b.sum(), a @ a, b @ b, a @ b]
    m = G * (G - 1) / 2
    sa, sb, saa, sbb, sab = sums
    cov = sab - sa * sb / m
    var_a, var_b = saa - sa**2 / m, sbb - sb**2 / m
    if var_a <= 0 or var_b <= 0:
        raise ValueError("a correlation matrix has constant off-diagonal entries")
    return {
        "corr_error": abs_err / (2.0 * G * G),
        "corr_score": float(cov / np.sqrt(var_a * var_b)),
        "corr_const_features": float(n_const_b),
    }


@register_metric(
    "correlation",
    "fidelity",
    scores={"corr_error": LOWER, "corr_score": HIGHER, "corr_const_features": INFO},
)
def correlation(c: Comparison) -> dict[str, float]:
    """Correlation error (GMDA) and correlation score in ``std``; corr_const_features = features constant in S."""
    return correlation_scores(c.ctx.R_std, c.S_std)


def c2st_auc(A: np.ndarray, B: np.ndarray, seed: int, folds: int = 5) -> float:
    """Out-of-fold ROC AUC of logistic regression separating A (label 0) from B (label 1)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.vstack([A, B])
    y = np.r_[np.zeros(len(A), dtype=int), np.ones(len(B), dtype=int)]
    oof = np.empty(len(y))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in cv.split(X, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="lbfgs", max_iter=2000))
        with warnings.catch_warnings(), single_thread_blas():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[train], y[train])
        oof[test] = model.predict_proba(X[test])[:, 1]
    return float(roc_auc_score(y, oof))


@register_metric("detect_lr", "fidelity", scores={"detect_lr_auc": target(0.5)})
def detect_lr(c: Comparison) -> dict[str, float]:
    """Classifier two-sample test: logistic regression AUC, test (0) vs scored set (1), 5-fold CV in ``std``."""
    return {"detect_lr_auc": c2st_auc(c.ctx.R_std, c.S_std, derive_seed(c.ctx.seed, TAG_CV))}
