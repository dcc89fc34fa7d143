"""Privacy: identical matches, distance to closest record, distance-based membership inference (spec §7).

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
from .space import Comparison, Points, cross_min


def _members(c: Comparison) -> tuple[np.ndarray, np.ndarray]:
    """(distance S -> nearest member, distance member -> nearest S row)."""
    return c.get("priv_members", lambda: cross_min(c.S_priv, c.ctx.Tn_priv))


def _nonmembers(c: Comparison) -> tuple[np.ndarray, np.ndarray]:
    """(distance S -> nearest non-member, distance non-member -> nearest S row)."""
    return c.get("priv_nonmembers", lambda: cross_min(c.S_priv, c.NM_priv))


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
    dcr_full, _ = c.get("priv_train", lambda: cross_min(c.S_priv, c.ctx.T_priv))
    dcr_t, _ = _members(c)
    dcr_h, _ = _nonmembers(c)
    med_h = float(np.median(dcr_h))
    if med_h == 0.0:
        raise ValueError("median distance to the closest non-member is 0; the ratio is undefined")
    null = len(c.ctx.split.train_y) / (len(c.ctx.split.train_y) + len(dcr_h))
    share = calibrated_share(dcr_share(dcr_full, dcr_h), null)
    return {"dcr_share": share, "dcr_ratio": float(np.median(dcr_t)) / med_h}


@register_metric("mia", "privacy", scores={"mia_auc": target(0.5)})
def mia(c: Comparison) -> dict[str, float]:
    """Distance membership attack: AUC of −(distance to the nearest released row), T_n (1) vs non-members (0)."""
    from sklearn.metrics import roc_auc_score

    released = c.released_priv
    member_d, _ = c.get("mia_members", lambda: cross_min(c.ctx.Tn_priv, released))
    nonmember_d, _ = c.get("mia_nonmembers", lambda: cross_min(c.NM_priv, released))
    y = np.r_[np.ones(len(member_d)), np.zeros(len(nonmember_d))]
    return {"mia_auc": float(roc_auc_score(y, -np.r_[member_d, nonmember_d]))}
