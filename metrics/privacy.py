"""Privacy (spec §7): identical matches, distance to closest record (share, median and 5th-percentile
ratios), NNDR, distance-based membership inference (AUC and true-positive rate at 1 % and 10 % false
positives), DOMIAS density-ratio attack, nearest-neighbour adversarial accuracy (AATS) with its privacy
loss, and authenticity (Alaa et al.).

Members are train rows, non-members are the holdout for generator output and the test split for the
reference row (where the holdout plays the synthetic set). Distances: L1 on dosages (genotype),
otherwise Euclidean in ``std`` (z-scores with the moments of all real rows, so members and non-members
are treated alike).

Every score's value for data exchangeable with the real rows (its *null*) is known: 0.5 for the shares
and AUCs, the false-positive rate for a TPR at that rate, 1 for the ratios, 0 for the privacy loss;
``metrics.privacy_null`` measures the null's mean and spread on the split's own sizes by re-splitting
the real rows, so a reader can tell noise from leakage. The score functions below are shared with it.

Two deliberate departures from a T_n-only protocol, so that a memorizer is caught whatever the
train/holdout size ratio: the DCR share compares against the *full* train split and is calibrated
linearly by its null expectation |T| / (|T| + |H|) (see ``calibrated_share``), and the membership
attack scores members against the generator's *whole* output, which is what an attacker holds.
Ties (frequent with integer distances on dosages) are split by exchangeability, never by a strict
inequality, so that the null stays at its value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import register_metric, target
from .distances import ColumnArgmin, Points, cross_min, nearest_same_label, nn_cross, nn_self
from .space import Comparison

MIA_FPRS = (0.01, 0.1)


# ----------------------------------------------------------------------------------------------
# Score functions (shared with the re-split null)


def nearer_train(d_train: np.ndarray, d_nonmember: np.ndarray, ties_train: np.ndarray | None = None,
                 ties_nonmember: np.ndarray | None = None) -> np.ndarray:
    """Per row, 1 when its nearest train row is nearer than its nearest non-member, 0 when farther.

    A tie is split by exchangeability: with a train rows and b non-members at the nearest distance,
    the nearest record is a train row with probability a / (a + b) (½ without counts)."""
    closer = (d_train < d_nonmember).astype(np.float64)
    tie = d_train == d_nonmember
    if tie.any():
        if ties_train is None or ties_nonmember is None:
            closer[tie] = 0.5
        else:
            a, b = ties_train[tie].astype(np.float64), ties_nonmember[tie].astype(np.float64)
            closer[tie] = a / (a + b)
    return closer


def calibrated_share(raw: float | np.ndarray, null: float | np.ndarray) -> float:
    """Map a raw share to a score with its null expectation at 0.5 and a copy of train at 1 (linear).

    A row exchangeable with the real rows has its nearest record in the train split with probability
    ``null`` = |T| / (|T| + |H|). The map 0.5 + (raw − null) / (2 (1 − null)) is linear, so the score's
    expectation for such rows is exactly 0.5 (a piecewise map is not: it biased small-sample nulls
    upward); rows farther from train than fresh data score below 0.5, down to 0.5 − null/(2(1 − null)).
    Given per-row indicators and per-row nulls, each row is mapped and the mean returned.
    """
    return float(np.mean(0.5 + (np.asarray(raw) - null) / (2.0 * (1.0 - np.asarray(null)))))


def share_null(n_train: int | np.ndarray, n_nonmembers: int | np.ndarray) -> float | np.ndarray:
    """|T| / (|T| + |H|): the DCR share of a row exchangeable with the real rows."""
    return n_train / (n_train + n_nonmembers)


def class_dcr_share(nearer: np.ndarray, labels: np.ndarray, train_counts: np.ndarray,
                    nonmember_counts: np.ndarray) -> float:
    """The calibrated DCR share with records of each row's own class: per row, the indicator mapped with
    its class's null |T_c| / (|T_c| + |H_c|), then the mean."""
    return calibrated_share(nearer, share_null(train_counts[labels], nonmember_counts[labels]))


NNDR_EPS = 1e-12


def nndr(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance ratio (d_1 + 1e-12) / (d_2 + 1e-12)."""
    return (d1 + NNDR_EPS) / (d2 + NNDR_EPS)


def ratio(numerator: float, denominator: float, what: str) -> float:
    if denominator == 0.0:
        raise ValueError(f"{what} is 0; the ratio is undefined")
    return numerator / denominator


def distance_ratios(d_member1: np.ndarray, d_member2: np.ndarray, d_nonmember1: np.ndarray,
                    d_nonmember2: np.ndarray) -> dict[str, float]:
    """Median and 5th-percentile DCR ratios and the NNDR ratio, members (T_n) over non-members."""
    return {
        "dcr_ratio": ratio(float(np.median(d_member1)), float(np.median(d_nonmember1)),
                           "median distance to the closest non-member"),
        "dcr_p5_ratio": ratio(float(np.percentile(d_member1, 5)), float(np.percentile(d_nonmember1, 5)),
                              "5th percentile of the distance to the closest non-member"),
        "nndr_ratio": ratio(float(np.percentile(nndr(d_member1, d_member2), 10)),
                            float(np.percentile(nndr(d_nonmember1, d_nonmember2), 10)),
                            "10th percentile of the non-members' NNDR"),
    }


def exceedances(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """For each positive score, how many negative scores exceed it (ties ½)."""
    ordered = np.sort(negative)
    above = len(ordered) - np.searchsorted(ordered, positive, side="right")
    tied = np.searchsorted(ordered, positive, side="right") - np.searchsorted(ordered, positive, side="left")
    return above + 0.5 * tied


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """ROC AUC of "higher score = positive" (the Mann–Whitney statistic, ties ½)."""
    return 1.0 - float(exceedances(positive, negative).mean()) / len(negative)


def tpr_at_fpr(positive: np.ndarray, negative: np.ndarray, alpha: float) -> float:
    """True-positive rate at false-positive rate ``alpha`` with an interpolated threshold.

    A positive with j negatives above it is caught at any FPR above j / n₂; counting it with weight
    clip(α (n₂ + 1) − j, 0, 1) makes an attack with no information score exactly ``alpha`` in
    expectation (j is uniform on 0..n₂ then), and caps what n₂ negatives can certify: with 25
    non-members a row above them all counts 0.26 at 1 % FPR.
    """
    j = exceedances(positive, negative)
    return float(np.clip(alpha * (len(negative) + 1) - j, 0.0, 1.0).mean())


def membership_scores(member_d: np.ndarray, nonmember_d: np.ndarray) -> dict[str, float]:
    """AUC and TPR at 1 % / 10 % FPR of the attack "nearer to a released row = member"."""
    out = {"mia_auc": roc_auc(-member_d, -nonmember_d)}
    for alpha in MIA_FPRS:
        out[mia_tpr_name(alpha)] = tpr_at_fpr(-member_d, -nonmember_d, alpha)
    return out


def mia_tpr_name(alpha: float) -> str:
    return f"mia_tpr_at_{round(100 * alpha)}fpr"


def beyond_share(d: np.ndarray, radius: np.ndarray) -> float:
    """mean(1[d > radius] + ½·1[d = radius]): a strict '>' would put ties (integer distances) on one side."""
    return float(np.mean((d > radius) + 0.5 * (d == radius)))


def adversarial_accuracy(d_xs: np.ndarray, d_xx: np.ndarray, d_sx: np.ndarray, d_ss: np.ndarray) -> float:
    """AA = ½[mean_x 1(d_XS > d_XX) + mean_s 1(d_SX > d_SS)] (Yale et al. 2020), ties counted ½."""
    return 0.5 * (beyond_share(d_xs, d_xx) + beyond_share(d_sx, d_ss))


# ----------------------------------------------------------------------------------------------
# Shared distance passes


@dataclass(frozen=True)
class TrainPass:
    """One blocked pass of the scored set S against the full train split (members T_n among its rows)."""

    d_train: np.ndarray  # S -> nearest train row (exact)
    i_train: np.ndarray  # its index in the train split
    d_class: np.ndarray  # S -> nearest train row of the row's own class (exact)
    ties_class: np.ndarray  # train rows of that class at that distance
    d_member1: np.ndarray  # S -> nearest member
    d_member2: np.ndarray  # S -> second-nearest member
    member_to_S: np.ndarray  # member -> nearest S row


def train_pass(S: Points, S_y: np.ndarray, T: Points, T_y: np.ndarray, members: np.ndarray) -> TrainPass:
    """Everything privacy needs from S × (full train split), in one pass; nearest pairs recomputed exactly."""
    if len(members) < 2:
        raise ValueError("need at least two members")
    full_arg = np.zeros(len(S), dtype=np.int64)
    class_arg = np.zeros(len(S), dtype=np.int64)
    ties = np.zeros(len(S), dtype=np.int64)
    two = np.zeros((len(S), 2), dtype=np.int64)
    nearest_in_S = ColumnArgmin(len(members))
    for start, stop, D in S.blocks(T):
        full_arg[start:stop] = D.argmin(axis=1)
        Dm = D[:, members]
        two[start:stop] = members[np.argpartition(Dm, 1, axis=1)[:, :2]]
        nearest_in_S.update(Dm, start)
        class_arg[start:stop], ties[start:stop] = nearest_same_label(D, S_y[start:stop], T_y)
    rows = np.arange(len(S))
    d = np.stack([S.exact_pair_distances(T, rows, two[:, 0]), S.exact_pair_distances(T, rows, two[:, 1])], 1)
    d.sort(axis=1)
    return TrainPass(S.exact_pair_distances(T, rows, full_arg), full_arg, S.exact_pair_distances(T, rows, class_arg),
                     ties, d[:, 0], d[:, 1], nearest_in_S.distances(S, T, members))


def same_class_nearest(A: Points, A_y: np.ndarray, B: Points, B_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of A: exact distance to the nearest row of B with the same label, and how many rows of B
    of that label are at that distance."""
    arg = np.zeros(len(A), dtype=np.int64)
    ties = np.zeros(len(A), dtype=np.int64)
    for start, stop, D in A.blocks(B):
        arg[start:stop], ties[start:stop] = nearest_same_label(D, A_y[start:stop], B_y)
    return A.exact_pair_distances(B, np.arange(len(A)), arg), ties


def _train_pass(c: Comparison) -> TrainPass:
    ctx = c.ctx
    return c.get("priv_train_pass", lambda: train_pass(c.S_priv, c.S_y, ctx.T_priv, ctx.split.train_y,
                                                       np.asarray(ctx.tn_idx)))


def _nonmembers_pass(c: Comparison) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S -> nearest non-member, S -> second nearest, non-member -> nearest S)."""
    return c.get("priv_nonmembers_pass", lambda: nn_cross(c.S_priv, c.NM_priv))


# ----------------------------------------------------------------------------------------------
# Metrics


@register_metric("exact_match", "privacy", scores={"exact_match_rate": target(None)})
def exact_match(c: Comparison) -> dict[str, float]:
    """Identical-match share: fraction of scored rows within ε of a row of the full train split."""
    return {"exact_match_rate": float(np.mean(_train_pass(c).d_train <= c.ctx.match_epsilon))}


@register_metric("dcr", "privacy", scores={"dcr_share": target(0.5), "dcr_ratio": target(1.0)})
def dcr(c: Comparison) -> dict[str, float]:
    """Distance to closest record: calibrated share closer to train than to non-members; median ratio.

    ``dcr_share`` compares each row's nearest record of its own class in the full train split (every
    copied row counts) and among the class-matched non-members, calibrated linearly by that class's
    null |T_c| / (|T_c| + |H_c|), so that protocols which cut classes from train keep the null at 0.5
    (a label-blind generator included). ``dcr_ratio`` = median dcr to T_n / median dcr to non-members.
    """
    ctx = c.ctx
    tp = _train_pass(c)
    d_h, d_h2, _ = _nonmembers_pass(c)
    d_hc, ties_hc = c.get("priv_nonmembers_class", lambda: same_class_nearest(c.S_priv, c.S_y, c.NM_priv, c.NM_y))
    C = ctx.split.n_classes
    nearer = nearer_train(tp.d_class, d_hc, tp.ties_class, ties_hc)
    share = class_dcr_share(nearer, c.S_y, np.bincount(ctx.split.train_y, minlength=C),
                            np.bincount(c.NM_y, minlength=C))
    ratios = distance_ratios(tp.d_member1, tp.d_member2, d_h, d_h2)
    return {"dcr_share": share, "dcr_ratio": ratios["dcr_ratio"]}


@register_metric("dcr_p5", "privacy", scores={"dcr_p5_ratio": target(1.0)})
def dcr_p5(c: Comparison) -> dict[str, float]:
    """5th percentile of the distance to the closest member (T_n) over that to the closest non-member."""
    tp = _train_pass(c)
    d_h, d_h2, _ = _nonmembers_pass(c)
    return {"dcr_p5_ratio": distance_ratios(tp.d_member1, tp.d_member2, d_h, d_h2)["dcr_p5_ratio"]}


@register_metric("nndr", "privacy", scores={"nndr_ratio": target(1.0)})
def nndr_metric(c: Comparison) -> dict[str, float]:
    """10th percentile of the NNDR of scored rows against T_n over that against non-members (small = near-copies)."""
    tp = _train_pass(c)
    d_h, d_h2, _ = _nonmembers_pass(c)
    return {"nndr_ratio": distance_ratios(tp.d_member1, tp.d_member2, d_h, d_h2)["nndr_ratio"]}


def _released_rest(c: Comparison) -> np.ndarray:
    """Released rows not identical to a row of the scored set (identical rows have identical distances)."""
    S = np.ascontiguousarray(c.S_X)
    keys = {r.tobytes() for r in S}
    released = np.ascontiguousarray(np.asarray(c.released_X, dtype=S.dtype))
    keep = np.fromiter((r.tobytes() not in keys for r in released), dtype=bool, count=len(released))
    return released[keep]


@register_metric(
    "mia",
    "privacy",
    scores={"mia_auc": target(0.5), **{mia_tpr_name(a): target(a) for a in MIA_FPRS}},
)
def mia(c: Comparison) -> dict[str, float]:
    """Distance membership attack on the whole released output, members T_n vs non-members: ROC AUC and
    the true-positive rate at 1 % and 10 % false positives (the low-FPR view of Carlini et al. 2022)."""
    # The scored set S is part of the released output: reuse its passes and scan only the other rows.
    member_d, nonmember_d = _train_pass(c).member_to_S, _nonmembers_pass(c)[2]
    rest = _released_rest(c)
    if len(rest):
        rest_priv = c.ctx.privacy_points(rest)
        member_d = np.minimum(member_d, c.get("mia_members", lambda: cross_min(c.ctx.Tn_priv, rest_priv)[0]))
        nonmember_d = np.minimum(nonmember_d, c.get("mia_nonmembers", lambda: cross_min(c.NM_priv, rest_priv)[0]))
    return membership_scores(member_d, nonmember_d)


@register_metric(
    "aats",
    "privacy",
    scores={"aats_train": target(0.5), "aats_test": target(0.5), "aats_privacy_loss": target(0.0)},
)
def aats(c: Comparison) -> dict[str, float]:
    """Nearest-neighbour adversarial accuracy with members (train) and non-members (test); loss = test − train."""
    ctx = c.ctx
    d_ss = c.get("priv_self_S", lambda: c.S_knn[:, 0] if ctx.modality != "genotype" else nn_self(c.S_priv))
    d_tt = ctx.cache.get("priv_self_Tn", lambda: nn_self(ctx.Tn_priv))
    d_hh = ctx.cache.get(f"priv_self_{c.nonmembers}", lambda: nn_self(c.NM_priv))
    tp = _train_pass(c)
    s_h, _, h_s = _nonmembers_pass(c)
    train = adversarial_accuracy(tp.member_to_S, d_tt, tp.d_member1, d_ss)
    test = adversarial_accuracy(h_s, d_hh, s_h, d_ss)
    return {"aats_train": train, "aats_test": test, "aats_privacy_loss": test - train}


def train_radii(c: Comparison) -> np.ndarray:
    """Distance from every train row to its nearest other train row (privacy space), once per context."""
    return c.ctx.cache.get("priv_self_T", lambda: nn_self(c.ctx.T_priv))


@register_metric("authenticity", "privacy", scores={"authenticity": target(None)})
def authenticity(c: Comparison) -> dict[str, float]:
    """Alaa et al.: share of scored rows farther from their nearest train row x* than x*'s own nearest
    train neighbour (ties ½); fresh data score near 0.5, copies 0. Full train split, privacy space."""
    tp = _train_pass(c)
    return {"authenticity": beyond_share(tp.d_train, train_radii(c)[tp.i_train])}


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


def _domias_coords(ctx, X: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """PCA-10 coordinates for DOMIAS: exact PCA of ``std`` fitted on up to 3,000 rows drawn from all real
    splits (members and non-members alike; dosages standardised the same way)."""
    return ctx.pooled_pca(DOMIAS_DIMS).transform(ctx.to_std(X))


def domias_reference_rows(ctx) -> np.ndarray:  # noqa: ANN001
    """Train rows outside T_n (stratified like the members): the DOMIAS reference set of the reference row."""
    from .space import derive_seed, stratified_indices

    y = ctx.split.train_y
    rest = np.setdiff1d(np.arange(len(y)), ctx.tn_idx)
    if len(rest) == 0:
        raise ValueError("no train rows outside T_n for the DOMIAS reference set")
    pick = stratified_indices(y[rest], ctx.member_counts, derive_seed(ctx.seed, TAG_DOMIAS_REF))
    return rest[pick]


@register_metric("domias", "privacy", scores={"domias_auc": target(0.5)})
def domias(c: Comparison) -> dict[str, float]:
    """DOMIAS: AUC of log p_S − log p_ref (Gaussian KDEs in PCA-10), members T_n vs non-members.

    The real reference density comes from the test split for generator output and from train rows
    outside T_n for the reference row (holdout scored as synthetic, test as non-members).
    """
    ctx = c.ctx
    members = ctx.cache.get("domias_Tn", lambda: _domias_coords(ctx, np.asarray(ctx.split.train_X)[ctx.tn_idx]))
    nonmembers = ctx.cache.get(f"domias_NM_{c.nonmembers}",
                               lambda: _domias_coords(ctx, ctx.nonmembers_X(c.nonmembers)))
    if c.nonmembers == "holdout":
        ref = ctx.cache.get("domias_R", lambda: _domias_coords(ctx, ctx.R_X))
    else:
        ref = ctx.cache.get(
            "domias_Tref",
            lambda: _domias_coords(ctx, np.asarray(ctx.split.train_X)[domias_reference_rows(ctx)]),
        )
    S = _domias_coords(ctx, c.S_X)
    query = np.vstack([members, nonmembers])
    key = f"domias_ref_logpdf_{c.nonmembers}"
    score = kde_logpdf(S, query) - ctx.cache.get(key, lambda: kde_logpdf(ref, query))
    return {"domias_auc": roc_auc(score[: len(members)], score[len(members):])}
