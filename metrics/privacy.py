"""Privacy (spec §7): identical matches, distance to closest record (share, median and 5th-percentile
ratios), NNDR, distance-based membership inference, DOMIAS density-ratio attack and nearest-neighbour
adversarial accuracy (AATS) with its privacy loss.

Members are train rows, non-members are the holdout for generator output and the test split for the
reference row (where the holdout plays the synthetic set). Distances: L1 on dosages (genotype);
otherwise Euclidean in PCA-50 of standardised features, both fitted on all real rows so that
members and non-members are treated alike (``EvalContext.privacy_points``). Identical matches are
checked in ``std`` against the full train split.

Two deliberate departures from a T_n-only protocol, so that a memorizer is caught whatever the
train/holdout size ratio: the DCR share compares against the *full* train split and is calibrated
by its null expectation |T| / (|T| + |H|) (see ``calibrated_share``), and the membership attack
scores members against the generator's *whole* output, which is what an attacker holds.
"""

from __future__ import annotations

import numpy as np

from .base import register_metric, target
from .space import ColumnArgmin, Comparison, Points, cross_min


def nn_cross(A: Points, B: Points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One blocked pass over A × B: (nearest and second-nearest distance from each row of A to B,
    nearest distance from each row of B to A); nearest pairs recomputed exactly (no expansion
    rounding), so a copied row is at distance exactly 0."""
    if len(B) < 2:
        raise ValueError("need at least two rows to find two nearest neighbours")
    two = np.zeros((len(A), 2), dtype=np.int64)
    nearest_in_A = ColumnArgmin(len(B))
    for start, stop, D in A.blocks(B):
        two[start:stop] = np.argpartition(D, 1, axis=1)[:, :2]
        nearest_in_A.update(D, start)
    rows = np.arange(len(A))
    d = np.stack([A.exact_pair_distances(B, rows, two[:, 0]), A.exact_pair_distances(B, rows, two[:, 1])], 1)
    d.sort(axis=1)
    return d[:, 0], d[:, 1], nearest_in_A.distances(A, B)


def nn_self(P: Points) -> np.ndarray:
    """Distance from each row to its nearest *other* row (self excluded by index), recomputed exactly."""
    if len(P) < 2:
        raise ValueError("need at least two rows for a nearest other row")
    arg = np.zeros(len(P), dtype=np.int64)
    for start, stop, D in P.blocks(P):
        D[np.arange(stop - start), np.arange(start, stop)] = np.inf
        arg[start:stop] = D.argmin(axis=1)
    return P.exact_pair_distances(P, np.arange(len(P)), arg)


def train_pass(S: Points, T: Points, members: np.ndarray) -> tuple[np.ndarray, ...]:
    """One blocked pass over S × (full train split), members = indices of T_n in T.

    Returns (S -> nearest train row, S -> nearest member, S -> second-nearest member,
    member -> nearest S row), nearest pairs recomputed exactly. Sharing the pass saves the separate
    S × T_n product.
    """
    if len(members) < 2:
        raise ValueError("need at least two members")
    full_arg = np.zeros(len(S), dtype=np.int64)
    two = np.zeros((len(S), 2), dtype=np.int64)
    nearest_in_S = ColumnArgmin(len(members))
    for start, stop, D in S.blocks(T):
        full_arg[start:stop] = D.argmin(axis=1)
        Dm = D[:, members]
        two[start:stop] = members[np.argpartition(Dm, 1, axis=1)[:, :2]]
        nearest_in_S.update(Dm, start)
    rows = np.arange(len(S))
    d = np.stack([S.exact_pair_distances(T, rows, two[:, 0]), S.exact_pair_distances(T, rows, two[:, 1])], 1)
    d.sort(axis=1)
    return (
        S.exact_pair_distances(T, rows, full_arg),
        d[:, 0],
        d[:, 1],
        nearest_in_S.distances(S, T, members),
    )


def _train_pass(c: Comparison) -> tuple[np.ndarray, ...]:
    return c.get("priv_train_pass", lambda: train_pass(c.S_priv, c.ctx.T_priv, np.asarray(c.ctx.tn_idx)))


def _members_pass(c: Comparison) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S -> nearest member, S -> second-nearest member, member -> nearest S row)."""
    return _train_pass(c)[1:]


def _nonmembers_pass(c: Comparison) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S -> nearest non-member, S -> second-nearest non-member, non-member -> nearest S row)."""
    return c.get("priv_nonmembers_pass", lambda: nn_cross(c.S_priv, c.NM_priv))


def _members(c: Comparison) -> tuple[np.ndarray, np.ndarray]:
    """(distance S -> nearest member, distance member -> nearest S row)."""
    d1, _, back = _members_pass(c)
    return d1, back


def _nonmembers(c: Comparison) -> tuple[np.ndarray, np.ndarray]:
    """(distance S -> nearest non-member, distance non-member -> nearest S row)."""
    d1, _, back = _nonmembers_pass(c)
    return d1, back


def match_epsilon(c: Comparison) -> float:
    """ε of the identical-match test: 0 for dosages, 1e-6·√G for continuous (G = ``std`` features)."""
    return 0.0 if c.ctx.modality == "genotype" else 1e-6 * float(np.sqrt(c.S_std.shape[1]))


def _train_matches(c: Comparison) -> np.ndarray:
    """Per scored row: is some row of the full train split within ε?

    Genotypes (ε = 0): exact row lookup. Continuous: PCA is a contraction, so only pairs within ε in
    ``pca50`` (plus a rounding margin) can match; those candidates are checked exactly in ``std``.
    """
    ctx = c.ctx
    if ctx.modality == "genotype":
        keys = ctx.cache.get(
            "train_row_keys", lambda: {r.tobytes() for r in np.asarray(ctx.split.train_X, np.int8)}
        )
        return np.array([r.tobytes() in keys for r in np.ascontiguousarray(c.S_X, dtype=np.int8)])
    eps = match_epsilon(c)
    S, T = c.S_emb, ctx.cache.get("T_pca50", lambda: Points(ctx.to_pca50(ctx.split.train_X, ctx.T_std)))
    T_std = ctx.cache.get("T_std_points", lambda: Points(ctx.T_std))
    matched = np.zeros(len(S), dtype=bool)
    for start, stop, d2 in S.blocks(T, squared=True):
        i, j = np.nonzero(d2 <= eps**2 + 1e-10 * (S.sq[start:stop, None] + T.sq.max()))
        if len(i):
            d = c.get("S_std_points", lambda: Points(c.S_std)).exact_pair_distances(T_std, i + start, j)
            matched[np.unique(i[d <= eps] + start)] = True
    return matched


@register_metric("exact_match", "privacy", scores={"exact_match_rate": target(None)})
def exact_match(c: Comparison) -> dict[str, float]:
    """Identical-match share: fraction of scored rows within ε of a row of the full train split."""
    return {"exact_match_rate": float(np.mean(_train_matches(c)))}


def dcr_share(dcr_members: np.ndarray, dcr_nonmembers: np.ndarray) -> float:
    """mean(1[dcr_T < dcr_H] + ½·1[dcr_T = dcr_H])."""
    return float(np.mean((dcr_members < dcr_nonmembers) + 0.5 * (dcr_members == dcr_nonmembers)))


def calibrated_share(raw: float, null: float) -> float:
    """Map a raw share to [0, 1] with its null expectation at 0.5 (piecewise linear).

    A row drawn from the real distribution, independent of both sets, has its nearest record in the
    train split with probability ``null`` = |T| / (|T| + |H|) (exchangeability). Raw shares in
    [0, null] map to [0, 0.5] and [null, 1] to [0.5, 1]: 0.5 = no closer to train than fresh real
    data, 1 = every row closest to a train record (a copy of train).
    """
    return raw / (2.0 * null) if raw <= null else 0.5 + (raw - null) / (2.0 * (1.0 - null))


@register_metric("dcr", "privacy", scores={"dcr_share": target(0.5), "dcr_ratio": target(1.0)})
def dcr(c: Comparison) -> dict[str, float]:
    """Distance to closest record: calibrated share closer to train than to non-members; median ratio.

    ``dcr_share`` uses the full train split (every copied row counts) calibrated by its null
    expectation; ``dcr_ratio`` = median dcr to T_n / median dcr to non-members (equal sizes).
    """
    dcr_full = _train_pass(c)[0]
    dcr_t, _ = _members(c)
    dcr_h, _ = _nonmembers(c)
    med_h = float(np.median(dcr_h))
    if med_h == 0.0:
        raise ValueError("median distance to the closest non-member is 0; the ratio is undefined")
    null = len(c.ctx.split.train_y) / (len(c.ctx.split.train_y) + len(dcr_h))
    share = calibrated_share(dcr_share(dcr_full, dcr_h), null)
    return {"dcr_share": share, "dcr_ratio": float(np.median(dcr_t)) / med_h}


def _released_rest(c: Comparison) -> np.ndarray:
    """Released rows not identical to a row of the scored set (identical rows have identical distances)."""
    S = np.ascontiguousarray(c.S_X)
    keys = {r.tobytes() for r in S}
    released = np.ascontiguousarray(np.asarray(c.released_X, dtype=S.dtype))
    keep = np.fromiter((r.tobytes() not in keys for r in released), dtype=bool, count=len(released))
    return released[keep]


@register_metric("mia", "privacy", scores={"mia_auc": target(0.5)})
def mia(c: Comparison) -> dict[str, float]:
    """Distance membership attack: AUC of −(distance to the nearest released row), T_n (1) vs non-members (0)."""
    from sklearn.metrics import roc_auc_score

    # The scored set S is part of the released output: reuse its passes and scan only the other rows.
    member_d, nonmember_d = _members_pass(c)[2], _nonmembers_pass(c)[2]
    rest = _released_rest(c)
    if len(rest):
        rest_priv = c.ctx.privacy_points(rest)
        member_d = np.minimum(member_d, c.get("mia_members", lambda: cross_min(c.ctx.Tn_priv, rest_priv)[0]))
        nonmember_d = np.minimum(nonmember_d, c.get("mia_nonmembers", lambda: cross_min(c.NM_priv, rest_priv)[0]))
    y = np.r_[np.ones(len(member_d)), np.zeros(len(nonmember_d))]
    return {"mia_auc": float(roc_auc_score(y, -np.r_[member_d, nonmember_d]))}


@register_metric("dcr_p5", "privacy", scores={"dcr_p5_ratio": target(1.0)})
def dcr_p5(c: Comparison) -> dict[str, float]:
    """5th percentile of the distance to the closest member (T_n) over that to the closest non-member."""
    dcr_t, _ = _members(c)
    dcr_h, _ = _nonmembers(c)
    low_h = float(np.percentile(dcr_h, 5))
    if low_h == 0.0:
        raise ValueError("5th percentile of the distance to the closest non-member is 0; ratio undefined")
    return {"dcr_p5_ratio": float(np.percentile(dcr_t, 5)) / low_h}


NNDR_EPS = 1e-12


def nndr(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance ratio (d_1 + 1e-12) / (d_2 + 1e-12)."""
    return (d1 + NNDR_EPS) / (d2 + NNDR_EPS)


@register_metric("nndr", "privacy", scores={"nndr_ratio": target(1.0)})
def nndr_metric(c: Comparison) -> dict[str, float]:
    """10th percentile of the NNDR of scored rows against T_n over that against non-members (small = near-copies)."""
    t1, t2, _ = _members_pass(c)
    h1, h2, _ = _nonmembers_pass(c)
    return {"nndr_ratio": float(np.percentile(nndr(t1, t2), 10) / np.percentile(nndr(h1, h2), 10))}


def adversarial_accuracy(d_xs: np.ndarray, d_xx: np.ndarray, d_sx: np.ndarray, d_ss: np.ndarray) -> float:
    """AA = ½[mean_x 1(d_XS > d_XX) + mean_s 1(d_SX > d_SS)] (Yale et al. 2020; strict >)."""
    return 0.5 * (float(np.mean(d_xs > d_xx)) + float(np.mean(d_sx > d_ss)))


@register_metric(
    "aats",
    "privacy",
    scores={"aats_train": target(0.5), "aats_test": target(0.5), "aats_privacy_loss": target(0.0)},
)
def aats(c: Comparison) -> dict[str, float]:
    """Nearest-neighbour adversarial accuracy with members (train) and non-members (test); loss = test − train."""
    ctx = c.ctx
    d_ss = c.get("priv_self_S", lambda: nn_self(c.S_priv))
    d_tt = ctx.cache.get("priv_self_Tn", lambda: nn_self(ctx.Tn_priv))
    d_hh = ctx.cache.get(f"priv_self_{c.nonmembers}", lambda: nn_self(c.NM_priv))
    s_t, _, t_s = _members_pass(c)
    s_h, _, h_s = _nonmembers_pass(c)
    train = adversarial_accuracy(t_s, d_tt, s_t, d_ss)
    test = adversarial_accuracy(h_s, d_hh, s_h, d_ss)
    return {"aats_train": train, "aats_test": test, "aats_privacy_loss": test - train}


# ----------------------------------------------------------------------------------------------
# DOMIAS (van Breugel et al. 2023): density ratio of the scored set over a real reference set

DOMIAS_DIMS = 10
TAG_DOMIAS_REF = 301


def kde_logpdf(data: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Log density of a Gaussian KDE on ``data`` (Scott bandwidth, as ``scipy.stats.gaussian_kde``) at
    ``query`` rows, from blocked distances in the whitened space and a log-sum-exp per row."""
    data, query = np.asarray(data, np.float64), np.asarray(query, np.float64)
    n, d = data.shape
    if n <= d:
        raise ValueError(f"a {d}-dimensional KDE needs more than {d} rows, got {n}")
    factor = n ** (-1.0 / (d + 4))
    cov = np.atleast_2d(np.cov(data, rowvar=False, ddof=1)) * factor**2
    try:
        L = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise ValueError("KDE covariance is singular (the rows span fewer than all dimensions)") from exc
    from scipy.linalg import solve_triangular

    white_data = Points(solve_triangular(L, data.T, lower=True).T)
    white_query = Points(solve_triangular(L, query.T, lower=True).T)
    log_norm = np.log(n) + 0.5 * d * np.log(2.0 * np.pi) + np.log(np.diag(L)).sum()
    out = np.empty(len(query))
    for start, stop, d2 in white_query.blocks(white_data, squared=True):
        low = d2.min(axis=1)
        d2 -= low[:, None]
        d2 *= -0.5
        np.exp(d2, out=d2)
        out[start:stop] = np.log(d2.sum(axis=1)) - 0.5 * low - log_norm
    return out


DOMIAS_POOL = 6000  # pooled real rows used to fit the genotype PCA-10


def _domias_coords(ctx, X: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """PCA-10 coordinates for DOMIAS, fitted on real rows of all splits (members and non-members alike).

    Expression/counts: the first 10 components of the privacy space (standardiser and PCA-50 fitted
    on all real rows). Genotypes: PCA-10 of dosages standardised with pooled allele frequencies,
    fitted on up to 6,000 rows drawn from train, holdout and test together.
    """
    if ctx.modality != "genotype":
        return ctx.privacy_points(X).X[:, :DOMIAS_DIMS]

    def make():  # noqa: ANN202
        from sklearn.decomposition import PCA

        from .space import TAG_PCA, derive_seed

        split = ctx.split
        pool = np.vstack([split.train_X, split.holdout_X, split.test_X])
        rng = np.random.default_rng(derive_seed(ctx.seed, TAG_DOMIAS_REF + 1))
        if len(pool) > DOMIAS_POOL:
            pool = pool[np.sort(rng.choice(len(pool), DOMIAS_POOL, replace=False))]
        mean, sd = pool.mean(axis=0), pool.std(axis=0)
        keep = np.flatnonzero(sd > 0)
        Z = (pool[:, keep] - mean[keep]) / sd[keep]
        k = min(DOMIAS_DIMS, Z.shape[0] - 1, Z.shape[1])
        return keep, mean[keep], sd[keep], PCA(n_components=k, random_state=derive_seed(ctx.seed, TAG_PCA)).fit(Z)

    keep, mean, sd, pca = ctx.cache.get("domias_genotype_space", make)
    return pca.transform((np.asarray(X)[:, keep].astype(np.float64) - mean) / sd)


def domias_reference_rows(ctx) -> np.ndarray:  # noqa: ANN001
    """Train rows outside T_n (stratified, up to n rows): the DOMIAS reference set of the reference row."""
    from .space import derive_seed, stratified_indices

    y = ctx.split.train_y
    rest = np.setdiff1d(np.arange(len(y)), ctx.tn_idx)
    if len(rest) == 0:
        raise ValueError("no train rows outside T_n for the DOMIAS reference set")
    pick = stratified_indices(y[rest], ctx.eval_counts, derive_seed(ctx.seed, TAG_DOMIAS_REF))
    return rest[pick]


@register_metric("domias", "privacy", scores={"domias_auc": target(0.5)})
def domias(c: Comparison) -> dict[str, float]:
    """DOMIAS: AUC of log p_S − log p_ref (Gaussian KDEs in PCA-10), members T_n vs non-members.

    The real reference density comes from the test split for generator output and from train rows
    outside T_n for the reference row (holdout scored as synthetic, test as non-members).
    """
    from sklearn.metrics import roc_auc_score

    ctx = c.ctx
    members = ctx.cache.get("domias_Tn", lambda: _domias_coords(ctx, np.asarray(ctx.split.train_X)[ctx.tn_idx]))
    if c.nonmembers == "holdout":
        nonmembers = ctx.cache.get("domias_H", lambda: _domias_coords(ctx, ctx.H_X))
        ref = ctx.cache.get("domias_R", lambda: _domias_coords(ctx, ctx.R_X))
    else:
        nonmembers = ctx.cache.get("domias_R", lambda: _domias_coords(ctx, ctx.R_X))
        ref = ctx.cache.get(
            "domias_Tref",
            lambda: _domias_coords(ctx, np.asarray(ctx.split.train_X)[domias_reference_rows(ctx)]),
        )
    S = _domias_coords(ctx, c.S_X)
    query = np.vstack([members, nonmembers])
    key = f"domias_ref_logpdf_{c.nonmembers}"
    score = kde_logpdf(S, query) - ctx.cache.get(key, lambda: kde_logpdf(ref, query))
    y = np.r_[np.ones(len(members)), np.zeros(len(nonmembers))]
    return {"domias_auc": float(roc_auc_score(y, score))}
