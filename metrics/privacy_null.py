"""The null of every privacy score: what rows exchangeable with the real data score on this split's sizes.

A privacy score is read against its null, the value a generator whose rows were fresh draws of the
real distribution would get. Its expectation is known (0.5 for the shares and AUCs, the false-positive
rate for a TPR at that rate, 1 for the ratios, 0 for the privacy loss, about 0.5 for AATS and
authenticity) but its spread depends on the sizes: on a 25-row holdout a real-data DCR share of 0.77 is
noise, on 5,000 rows it is a leak. The null is measured by re-splitting: the real rows (train, holdout
and test together) are dealt again at random, stratified by class, into a train split T' (the real
train split's class counts), a scored set S' (the evaluation's class counts), and class-matched
non-members NM' and members T_n' ⊂ T', and every score is computed for S' as for a generator's
output, ``NULL_DRAWS`` times.
Its mean also shows any bias of a score's definition (the piecewise DCR calibration had one).

One blocked pass finds every pooled row's K nearest pooled rows, K ≈ 20 N / n so that the nearest rows
of each role are in the list with overwhelming probability; each draw reads them off the lists. A row
whose list holds no row of a role (rare) takes the K-th distance, a lower bound. The membership attack
releases S' itself (a generator releases |T| rows: the same null mean, a similar spread). DOMIAS's null
is the Mann-Whitney distribution of an AUC between exchangeable members and non-members (mean 0.5,
variance (n₁ + n₂ + 1)/(12 n₁ n₂)): re-running its kernel density estimates per draw would cost
minutes for nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .distances import neighbour_lists
from .privacy import (
    adversarial_accuracy,
    beyond_share,
    class_dcr_share,
    distance_ratios,
    membership_scores,
    nearer_train,
)
from .space import derive_seed

if TYPE_CHECKING:
    from .space import EvalContext

NULL_DRAWS = 200
TAG_NULL = 401
NEIGHBOURS_PER_ROLE = 20  # expected rows of the rarest role in each neighbour list
MAX_NEIGHBOURS = 400
UNUSED, TRAIN, MEMBER, SCORED, NONMEMBER = range(5)  # roles of pooled rows in one draw (MEMBER ⊂ train)


@dataclass(frozen=True)
class NeighbourPool:
    """The pooled real rows' neighbour lists (self removed) and labels."""

    index: np.ndarray  # (N, K) indices of the nearest other pooled rows, nearest first
    dist: np.ndarray  # (N, K) their distances
    y: np.ndarray  # (N,) class codes

    @property
    def size(self) -> int:
        return len(self.y)


def neighbour_pool(ctx: EvalContext) -> NeighbourPool:
    """Neighbour lists of train, holdout and test rows (stacked in that order) in the privacy space."""
    split = ctx.split
    parts = [ctx.T_priv, ctx.privacy_points(split.holdout_X), ctx.privacy_points(split.test_X)]
    total = sum(len(p) for p in parts)
    k = int(min(total - 1, MAX_NEIGHBOURS, max(32, math.ceil(NEIGHBOURS_PER_ROLE * total / ctx.n))))
    lists = [neighbour_lists(part, parts, k + 1) for part in parts]
    index, dist = np.vstack([i for i, _ in lists]), np.vstack([d for _, d in lists])
    own = np.arange(total)[:, None]
    is_self = index == own
    keep = ~is_self
    keep[~is_self.any(axis=1), -1] = False  # self not listed (a tie beyond the list): drop the farthest
    shape = (total, k)
    y = np.concatenate([split.train_y, split.holdout_y, split.test_y])
    return NeighbourPool(index[keep].reshape(shape), dist[keep].reshape(shape), y)


class Draw:
    """One re-split of the pooled rows into roles, with look-ups of each row's nearest row of a role."""

    def __init__(self, pool: NeighbourPool, role: np.ndarray) -> None:
        self.pool, self.role = pool, role
        self.rows = {r: np.flatnonzero(role == r) for r in (MEMBER, SCORED, NONMEMBER)}

    def hits(self, rows: np.ndarray, roles: tuple[int, ...], same_class: bool) -> np.ndarray:
        """(len(rows), K): which listed neighbours have one of ``roles`` (and, optionally, the row's class)."""
        listed = self.pool.index[rows]
        hit = np.isin(self.role[listed], roles)
        return hit & (self.pool.y[listed] == self.pool.y[rows][:, None]) if same_class else hit

    def nearest(self, rows: np.ndarray, roles: tuple[int, ...], nth: int = 0,
                same_class: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(distance, pooled index) of each row's (nth + 1)-th nearest row with one of ``roles``."""
        hit = self.hits(rows, roles, same_class)
        reached = np.cumsum(hit, axis=1) > nth
        found = reached[:, -1]
        pos = np.where(found, reached.argmax(axis=1), hit.shape[1] - 1)
        return self.pool.dist[rows, pos], np.where(found, self.pool.index[rows, pos], -1)

    def ties(self, rows: np.ndarray, roles: tuple[int, ...], d: np.ndarray, same_class: bool = False) -> np.ndarray:
        """How many rows with one of ``roles`` are at distance ``d`` from each row (within its list)."""
        hit = self.hits(rows, roles, same_class) & (self.pool.dist[rows] == d[:, None])
        return np.maximum(hit.sum(axis=1), 1)


def draw_scores(draw: Draw, epsilon: float) -> dict[str, float]:
    """Every neighbour-based privacy score of one draw, computed as for a generator's output."""
    train = (TRAIN, MEMBER)
    S, Tn, NM = draw.rows[SCORED], draw.rows[MEMBER], draw.rows[NONMEMBER]
    d_t, x_star = draw.nearest(S, train)
    d_tc, _ = draw.nearest(S, train, same_class=True)
    d_hc, _ = draw.nearest(S, (NONMEMBER,), same_class=True)
    d_h1, _ = draw.nearest(S, (NONMEMBER,))
    d_h2, _ = draw.nearest(S, (NONMEMBER,), nth=1)
    d_m1, _ = draw.nearest(S, (MEMBER,))
    d_m2, _ = draw.nearest(S, (MEMBER,), nth=1)
    d_ss, _ = draw.nearest(S, (SCORED,))
    t_s, _ = draw.nearest(Tn, (SCORED,))
    d_tt, _ = draw.nearest(Tn, (MEMBER,))
    h_s, _ = draw.nearest(NM, (SCORED,))
    d_hh, _ = draw.nearest(NM, (NONMEMBER,))
    r1 = np.zeros(len(S))
    listed = x_star >= 0
    r1[listed] = draw.nearest(x_star[listed], train)[0]
    nearer = nearer_train(d_tc, d_hc, draw.ties(S, train, d_tc, True), draw.ties(S, (NONMEMBER,), d_hc, True))
    C = int(draw.pool.y.max()) + 1
    y = draw.pool.y
    train_counts = np.bincount(y[np.isin(draw.role, train)], minlength=C)
    out = {
        "exact_match_rate": float(np.mean(d_t <= epsilon)),
        "dcr_share": class_dcr_share(nearer, y[S], train_counts, np.bincount(y[NM], minlength=C)),
        **membership_scores(t_s, h_s),
        "authenticity": beyond_share(d_t[listed], r1[listed]) if listed.any() else math.nan,
    }
    try:
        out.update(distance_ratios(d_m1, d_m2, d_h1, d_h2))
    except ValueError:  # a zero denominator in this draw: the ratios are undefined here
        out.update(dict.fromkeys(("dcr_ratio", "dcr_p5_ratio", "nndr_ratio"), math.nan))
    aa_train = adversarial_accuracy(t_s, d_tt, d_m1, d_ss)
    aa_test = adversarial_accuracy(h_s, d_hh, d_h1, d_ss)
    out.update(aats_train=aa_train, aats_test=aa_test, aats_privacy_loss=aa_test - aa_train)
    return out


def deal(pool: NeighbourPool, counts: dict[int, np.ndarray], members: np.ndarray,
         rng: np.random.Generator) -> np.ndarray:
    """Roles of the pooled rows for one draw: per class, a random permutation cut into train (its first
    ``members[c]`` rows members), scored and non-member rows with the given class counts."""
    role = np.full(pool.size, UNUSED, dtype=np.int8)
    order = (TRAIN, SCORED, NONMEMBER)
    for c in np.unique(pool.y):
        rows = rng.permutation(np.flatnonzero(pool.y == c))
        start = 0
        for r in order:
            stop = start + int(counts[r][c])
            role[rows[start:stop]] = r
            if r == TRAIN:
                role[rows[start : start + int(members[c])]] = MEMBER
            start = stop
    return role


def mann_whitney_null(n_positive: int, n_negative: int) -> dict[str, float]:
    """Mean and sd of an AUC between exchangeable groups (continuous scores)."""
    sd = math.sqrt((n_positive + n_negative + 1) / (12.0 * n_positive * n_negative))
    return {"mean": 0.5, "sd": sd, "draws": 0}


def privacy_null(ctx: EvalContext, scores: Iterable[str], draws: int = NULL_DRAWS,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, dict[str, float]]:
    """{score: {mean, sd, draws}} of the privacy ``scores`` over ``draws`` re-splits of the real rows."""
    wanted = set(scores)
    out: dict[str, dict[str, float]] = {}
    if "domias_auc" in wanted:
        n = int(ctx.member_counts.sum())
        out["domias_auc"] = mann_whitney_null(n, n)
    wanted.discard("domias_auc")
    if not wanted:
        return out
    split, C = ctx.split, ctx.split.n_classes
    pool = neighbour_pool(ctx)
    counts = {TRAIN: np.bincount(split.train_y, minlength=C), SCORED: ctx.eval_counts, NONMEMBER: ctx.member_counts}
    rng = np.random.default_rng(derive_seed(ctx.seed, TAG_NULL))
    values: dict[str, list[float]] = {name: [] for name in wanted}
    for b in range(draws):
        result = draw_scores(Draw(pool, deal(pool, counts, ctx.member_counts, rng)), ctx.match_epsilon)
        for name in wanted:
            values[name].append(result.get(name, math.nan))
        if progress is not None:
            progress(b + 1, draws)
    for name, v in values.items():
        arr = np.asarray(v, dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        if len(arr) >= 2:
            out[name] = {"mean": float(arr.mean()), "sd": float(arr.std(ddof=1)), "draws": int(len(arr))}
    return out
