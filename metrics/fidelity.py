"""Fidelity: k-NN precision/recall/density/coverage, Fréchet distance, MMD, correlations, C2ST (spec §1-3).

Every distance-based score works in ``std`` (z-scores with the moments of all real rows), not in a PCA
fitted on train: a train-fitted PCA spreads the rows it was fitted on along its axes, so copies of
training rows looked atypical (see ``docs/metrics.md``, "Membership-blind fidelity").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import HIGHER, INFO, LOWER, register_metric, target
from .distances import ColumnArgmin, Points, knn_self
from .space import (
    TAG_CV,
    TAG_MMD,
    Comparison,
    derive_seed,
    proportional_counts,
    single_thread_blas,
    stratified_indices,
)

K_PR = 3  # improved precision/recall (Kynkäänniemi et al.)
K_DC = 5  # density/coverage (Naeem et al.)
MMD_POOL = 2000
N_ALPHA = 30  # α, β grid: linspace(0, 1, 30)
DETECT_MLP_EPOCHS = 200
DETECT_MLP_MAX_TRAIN = 4000  # training rows per fold of the MLP detector (speed; see docs/metrics.md)
N_PC_CURVE = 20  # principal components in the explained-variance curves
PC_EXACT_MAX = 2000  # exact eigenvalues when min(rows, features) is at most this
KS_ALPHA = 0.05
TAG_PCV = 111


def knn_pass(
    real: Points, fake: Points, real_knn: np.ndarray, fake_knn: np.ndarray, k_pr: int = K_PR, k_dc: int = K_DC
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """One blocked fake x real pass: P/R (k_pr), D/C (k_dc) with the ``<=`` rule, and for every real
    row the distance to and index of its nearest fake row (reused by β-recall).

    ``real_knn``/``fake_knn`` are the ascending self-excluded k-NN distances of each set.
    """
    r_pr, r_dc, s_pr = real_knn[:, k_pr - 1], real_knn[:, k_dc - 1], fake_knn[:, k_pr - 1]
    precision_hit = np.zeros(len(fake), dtype=bool)
    recall_hit = np.zeros(len(real), dtype=bool)
    nearest = ColumnArgmin(len(real))  # nearest fake row of every real row
    density_count = 0
    for start, stop, dist in fake.blocks(real):  # dist: fake rows x real rows
        precision_hit[start:stop] = (dist <= r_pr).any(axis=1)
        density_count += int((dist <= r_dc).sum())
        recall_hit |= (dist <= s_pr[start:stop, None]).any(axis=0)
        nearest.update(dist, start)
    nearest_fake, nearest_idx = nearest.min, nearest.arg
    scores = {
        "precision": float(precision_hit.mean()),
        "recall": float(recall_hit.mean()),
        "density": density_count / (k_dc * len(fake)),
        "coverage": float((nearest_fake <= r_dc).mean()),
    }
    return scores, nearest_fake, nearest_idx


def knn_scores(
    real: Points, fake: Points, real_knn: np.ndarray, fake_knn: np.ndarray, k_pr: int = K_PR, k_dc: int = K_DC
) -> dict[str, float]:
    """Precision, recall (k_pr) and density, coverage (k_dc) from one blocked pass; ``<=`` rule."""
    return knn_pass(real, fake, real_knn, fake_knn, k_pr, k_dc)[0]


def prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = K_PR, k_dc: int = K_DC) -> dict[str, float]:
    """P/R/D/C of two raw point sets in Euclidean space (the function the context caches)."""
    R, S = Points(real), Points(fake)
    k = max(k_pr, k_dc)
    return knn_scores(R, S, knn_self(R, k), knn_self(S, k), k_pr, k_dc)


def _knn_pass(c: Comparison) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    return c.get("knn_pass", lambda: knn_pass(c.ctx.R_pts, c.S_pts, c.ctx.R_knn, c.S_knn, *c.ctx.knn_k))


def _knn(c: Comparison) -> dict[str, float]:
    return _knn_pass(c)[0]


@register_metric("precision_recall", "fidelity", scores={"precision": HIGHER, "recall": HIGHER})
def precision_recall(c: Comparison) -> dict[str, float]:
    """Improved precision and recall (k = 3 unless set with ``knn_k``; ``std``; <= rule)."""
    s = _knn(c)
    return {"precision": s["precision"], "recall": s["recall"]}


@register_metric("density_coverage", "fidelity", scores={"density": target(None), "coverage": HIGHER})
def density_coverage(c: Comparison) -> dict[str, float]:
    """Density and coverage (k = 5 unless set with ``knn_k``; ``std``; <= rule)."""
    s = _knn(c)
    return {"density": s["density"], "coverage": s["coverage"]}


def _psd_sqrt(M: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(_symmetric(M))
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def frechet_distance(A: np.ndarray, B: np.ndarray) -> float:
    """‖μ_A − μ_B‖² + Tr(Σ_A + Σ_B) − 2 Σ √λ(Σ_A^½ Σ_B Σ_A^½); ddof = 1, real symmetric algebra only.

    With more features than rows the p x p covariances are never formed: the λ are the squared singular
    values of the n x m cross-Gram matrix A_c B_cᵀ over (n − 1)(m − 1) (``frechet_trace_term``).
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    mu = A.mean(axis=0) - B.mean(axis=0)
    Ac, Bc = A - A.mean(axis=0), B - B.mean(axis=0)
    trace_a = float(np.einsum("ij,ij->", Ac, Ac)) / (len(A) - 1)
    trace_b = float(np.einsum("ij,ij->", Bc, Bc)) / (len(B) - 1)
    return float(mu @ mu + trace_a + trace_b - 2.0 * frechet_trace_term(Ac, Bc))


def frechet_trace_term(Ac: np.ndarray, Bc: np.ndarray) -> float:
    """Tr((Σ_A^½ Σ_B Σ_A^½)^½) of centred rows, by the cheaper of the covariance and cross-Gram routes.

    Σ_A^½ Σ_B Σ_A^½ has the non-zero eigenvalues of Σ_A Σ_B, hence of M Mᵀ/((n − 1)(m − 1)) with
    M = A_c B_cᵀ (n x m): the trace is the sum of M's singular values over √((n − 1)(m − 1)).
    """
    (n, p), m = Ac.shape, len(Bc)
    small, large = min(n, m), max(n, m)
    if p * p * (n + m) + 2 * p**3 <= n * m * p + small * small * large + small**3:
        cov_a, cov_b = Ac.T @ Ac / (n - 1), Bc.T @ Bc / (m - 1)
        root_a = _psd_sqrt(cov_a)
        lam = np.linalg.eigvalsh(_symmetric(root_a @ cov_b @ root_a))
        return float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    M = Ac @ Bc.T
    lam = np.linalg.eigvalsh(_symmetric(M @ M.T if n <= m else M.T @ M))
    return float(np.sqrt(np.clip(lam, 0.0, None)).sum() / np.sqrt((n - 1) * (m - 1)))


def _symmetric(M: np.ndarray) -> np.ndarray:
    return (M + M.T) / 2.0


@register_metric("fd", "fidelity", scores={"fd": LOWER})
def fd(c: Comparison) -> dict[str, float]:
    """Fréchet distance between test and scored set in ``std`` (biased upward by ≈ p/n: read it against the reference)."""
    return {"fd": frechet_distance(c.ctx.R_std, c.S_std)}


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
    """Unbiased MMD², RBF kernel, median-heuristic bandwidth, ``std``."""
    R, S = c.ctx.R_std, c.S_std
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


def _detector(kind: str, seed: int, n_train: int = 0) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "lr":
        model = LogisticRegression(C=1.0, solver="lbfgs", max_iter=2000)
    elif kind == "mlp":
        model = MLPClassifier(
            hidden_layer_sizes=(256,),
            activation="relu",
            solver="adam",
            learning_rate_init=1e-3,
            alpha=1e-4,
            early_stopping=n_train >= 1000,  # as in metrics.utility: a validation split of >= 100 rows
            validation_fraction=0.1,
            max_iter=DETECT_MLP_EPOCHS,
            random_state=seed,
        )
    else:
        raise ValueError(f"unknown detector {kind!r}")
    return make_pipeline(StandardScaler(), model)


def c2st_auc(
    A: np.ndarray, B: np.ndarray, seed: int, folds: int = 5, model: str = "lr", max_train: int | None = None
) -> float:
    """Out-of-fold ROC AUC of a classifier separating A (label 0) from B (label 1).

    ``model``: ``lr`` (logistic regression, C = 1) or ``mlp`` (256 ReLU units, early stopping); a
    StandardScaler is fit inside each fold. ``max_train`` caps the training rows of each fold
    (stratified subsample drawn with ``seed``); every out-of-fold row is still scored.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    X = np.vstack([A, B])
    if model == "mlp":
        X = X.astype(np.float32)  # sklearn's MLP keeps float32: half the matrix-product time
    y = np.r_[np.zeros(len(A), dtype=int), np.ones(len(B), dtype=int)]
    oof = np.empty(len(y))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    rng = np.random.default_rng(seed)
    for train, test in cv.split(X, y):
        if max_train is not None and len(train) > max_train:
            keep = stratified_indices(y[train], proportional_counts(y[train], 2, max_train), int(rng.integers(2**31)))
            train = train[keep]
        clf = _detector(model, seed, len(train))
        with warnings.catch_warnings(), single_thread_blas():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X[train], y[train])
        oof[test] = clf.predict_proba(X[test])[:, 1]
    return float(roc_auc_score(y, oof))


@register_metric("detect_lr", "fidelity", scores={"detect_lr_auc": target(0.5)})
def detect_lr(c: Comparison) -> dict[str, float]:
    """Classifier two-sample test: logistic regression AUC, test (0) vs scored set (1), 5-fold CV in ``std``."""
    return {"detect_lr_auc": c2st_auc(c.ctx.R_std, c.S_std, derive_seed(c.ctx.seed, TAG_CV))}


@register_metric("detect_mlp", "fidelity", scores={"detect_mlp_auc": target(0.5)})
def detect_mlp(c: Comparison) -> dict[str, float]:
    """Classifier two-sample test with an MLP (256 ReLU, early stopping, <= 200 epochs), 5-fold CV in ``std``."""
    auc = c2st_auc(
        c.ctx.R_std,
        c.S_std,
        derive_seed(c.ctx.seed, TAG_CV),
        model="mlp",
        max_train=DETECT_MLP_MAX_TRAIN,
    )
    return {"detect_mlp_auc": auc}


# ---- α-precision, β-recall, authenticity (Alaa et al. 2022, spec §1) ------------------------------


def alpha_beta_scores(
    R: np.ndarray,
    S: np.ndarray,
    r1_R: np.ndarray,
    nearest_d: np.ndarray,
    nearest_idx: np.ndarray,
    n_grid: int = N_ALPHA,
) -> dict[str, float]:
    """ΔP_α and ΔR_β with the naive ball embedding (centres = means of R and S).

    ``r1_R``: distance of each real row to its nearest other real row; ``nearest_d``/``nearest_idx``:
    distance to and index of each real row's nearest synthetic row. P_α = share of S within the
    α-quantile radius of ‖x − c_R‖ over R; R_β = share of R whose nearest synthetic ŷ is in the
    β-quantile ball around c_S and within r_1(x; R) of x. Δ = 1 − 2·mean |curve − grid|.
    """
    grid = np.linspace(0.0, 1.0, n_grid)
    d_real = np.linalg.norm(R - R.mean(axis=0), axis=1)
    d_fake_to_real = np.linalg.norm(S - R.mean(axis=0), axis=1)
    rho = np.quantile(d_real, grid)
    p_alpha = (d_fake_to_real[:, None] <= rho[None, :]).mean(axis=0)
    d_fake = np.linalg.norm(S - S.mean(axis=0), axis=1)
    q = np.quantile(d_fake, grid)
    close = nearest_d <= r1_R
    r_beta = ((d_fake[nearest_idx][:, None] <= q[None, :]) & close[:, None]).mean(axis=0)
    return {
        "alpha_precision": float(1.0 - 2.0 * np.abs(p_alpha - grid).mean()),
        "beta_recall": float(1.0 - 2.0 * np.abs(r_beta - grid).mean()),
    }


@register_metric("alpha_beta", "fidelity", scores={"alpha_precision": HIGHER, "beta_recall": HIGHER})
def alpha_beta(c: Comparison) -> dict[str, float]:
    """α-precision and β-recall (Alaa et al. 2022, naive ball embedding) in ``std``."""
    _, nearest_d, nearest_idx = _knn_pass(c)
    return alpha_beta_scores(c.ctx.R_std, c.S_std, c.ctx.R_knn[:, 0], nearest_d, nearest_idx)


# ---- Fréchet distance in the classifier embedding ---------------------------------------------------


@register_metric("fd_emb", "fidelity", scores={"fd_emb": LOWER})
def fd_emb(c: Comparison) -> dict[str, float]:
    """Fréchet distance in the 16-d embedding of an MLP classifier (``emb``), cross-fitted on halves of
    the test subsample: each half's network embeds the other half and the scored set; mean of the two."""
    from .embedding import crossfit_embeddings, embed

    values = [frechet_distance(real, embed(net, c.S_std)) for net, real in crossfit_embeddings(c.ctx)]
    return {"fd_emb": float(np.mean(values))}


# ---- per-feature Wasserstein-1 and Kolmogorov-Smirnov -------------------------------------------------


def marginal_distances(A: np.ndarray, B: np.ndarray, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Per-column Wasserstein-1 and two-sample KS statistics between the rows of A and of B.

    Both from the empirical CDFs on the pooled sorted values: W1 = Σ |F_A − F_B|·Δt, KS = max
    |F_A − F_B| at the last position of each run of tied values (right-continuous ECDFs). Columns
    are processed in blocks so only one block of the pooled matrix is sorted at a time.
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    n, m = len(A), len(B)
    G = A.shape[1]
    w1, ks = np.empty(G), np.empty(G)
    for s in range(0, G, block):
        # features as rows (contiguous), pooled samples along the last axis
        pooled = np.concatenate([A[:, s : s + block].T, B[:, s : s + block].T], axis=1)
        order = np.argsort(pooled, axis=1)  # order within ties is irrelevant (see above)
        t = np.take_along_axis(pooled, order, axis=1)
        from_a = order < n
        diff = np.cumsum(from_a, axis=1) / n - np.cumsum(~from_a, axis=1) / m
        del order, from_a
        gaps = np.diff(t, axis=1)
        w1[s : s + block] = np.einsum("ji,ji->j", np.abs(diff[:, :-1]), gaps)
        last_of_run = np.ones_like(t, dtype=bool)
        last_of_run[:, :-1] = gaps > 0
        ks[s : s + block] = np.where(last_of_run, np.abs(diff), 0.0).max(axis=1)
    return w1, ks


def worst_decile_mean(v: np.ndarray) -> float:
    """Mean of the largest ⌈10 %⌉ of the values."""
    k = max(1, int(np.ceil(0.1 * len(v))))
    return float(np.partition(v, len(v) - k)[len(v) - k :].mean())


def ks_critical(n: int, m: int, alpha: float = KS_ALPHA) -> float:
    """Asymptotic two-sample KS critical value c(α)·√((n + m)/(n·m)), c(α) = √(−ln(α/2)/2)."""
    return float(np.sqrt(-np.log(alpha / 2.0) / 2.0) * np.sqrt((n + m) / (n * m)))


def _marginals(c: Comparison) -> tuple[np.ndarray, np.ndarray]:
    return c.get("marginal_w1_ks", lambda: marginal_distances(c.ctx.R_std, c.S_std))


@register_metric("wasserstein", "fidelity", scores={"w1_mean": LOWER, "w1_worst_decile": LOWER})
def wasserstein(c: Comparison) -> dict[str, float]:
    """Per-feature Wasserstein-1 in ``std``: mean over features and mean of the worst 10 % of features."""
    w1, _ = _marginals(c)
    return {"w1_mean": float(w1.mean()), "w1_worst_decile": worst_decile_mean(w1)}


@register_metric(
    "ks", "fidelity", scores={"ks_mean": LOWER, "ks_worst_decile": LOWER, "ks_reject_frac": LOWER}
)
def ks(c: Comparison) -> dict[str, float]:
    """Per-feature two-sample KS statistic in ``std``: mean, worst-decile mean, share above the α = 0.05 critical value."""
    _, stat = _marginals(c)
    crit = ks_critical(len(c.ctx.R_y), len(c.S_y))
    return {
        "ks_mean": float(stat.mean()),
        "ks_worst_decile": worst_decile_mean(stat),
        "ks_reject_frac": float((stat > crit).mean()),
    }


# ---- variance explained by the top principal components -------------------------------------------


def pc_variance_curve(Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cumulative share of the total variance of Z explained by Z's own first k principal components."""
    Zc = np.asarray(Z, dtype=np.float64) - np.mean(Z, axis=0)
    total = float(np.einsum("ij,ij->", Zc, Zc))
    if total <= 0:
        raise ValueError("the set has zero total variance")
    k = min(k, min(Zc.shape) - 1) if min(Zc.shape) > 1 else 1
    if min(Zc.shape) <= PC_EXACT_MAX:  # exact: eigenvalues of the smaller Gram matrix
        gram = Zc.T @ Zc if Zc.shape[1] <= Zc.shape[0] else Zc @ Zc.T
        lam = np.clip(np.linalg.eigvalsh(gram)[::-1][:k], 0.0, None)
    else:  # many rows and features: randomized SVD (accurate for the decaying spectra of omics data)
        from sklearn.utils.extmath import randomized_svd

        lam = randomized_svd(Zc, k, n_oversamples=20, n_iter=7, random_state=seed)[1] ** 2
    return np.cumsum(lam) / total


@register_metric("pc_variance", "fidelity", scores={"pc_variance_error": LOWER})
def pc_variance(c: Comparison) -> dict[str, float]:
    """Mean |difference| of the cumulative explained-variance curves (first 20 PCs of each set) of R and S in ``std``."""
    ctx = c.ctx
    seed = derive_seed(ctx.seed, TAG_PCV)
    real = ctx.cache.get("R_pc_curve", lambda: pc_variance_curve(ctx.R_std, N_PC_CURVE, seed))
    fake = pc_variance_curve(c.S_std, N_PC_CURVE, seed)
    k = min(len(real), len(fake))
    return {"pc_variance_error": float(np.abs(real[:k] - fake[:k]).mean())}
