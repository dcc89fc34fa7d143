"""Fidelity scores: α-precision/β-recall, FD in the classifier embedding, per-feature W1/KS, MLP
detection and the PC variance curve (with authenticity, now a privacy score). Known answers,
brute-force and scipy parity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp, wasserstein_distance

from metrics import EvalContext
from metrics.distances import Points, knn_self
from metrics.fidelity import (
    alpha_beta_scores,
    ks_critical,
    marginal_distances,
    pc_variance_curve,
    worst_decile_mean,
)
from metrics.testing import ToyExpression, ToyGenotypes, balanced_labels, toy_split

NEW = ["alpha_beta", "authenticity", "fd_emb", "wasserstein", "ks", "detect_mlp", "pc_variance"]
NEW_SCORES = {
    "alpha_precision", "beta_recall", "authenticity", "fd_emb", "w1_mean", "w1_worst_decile",
    "ks_mean", "ks_worst_decile", "ks_reject_frac", "detect_mlp_auc", "pc_variance_error",
}


def scores(out):
    assert out["failures"] == {}
    return {k: v["value"] for k, v in out["metrics"].items()}


@pytest.fixture(scope="module")
def setting():
    dist = ToyExpression(24, 3, separation=0.4)
    split = toy_split(dist, 900, 300, 300, seed=2)
    ctx = EvalContext(split, metrics=NEW)
    ref = ctx.reference()
    assert ref["failures"] == {}
    return dist, split, ctx, ref["scores"]


# ---- exact values on small inputs ---------------------------------------------------------------


def test_w1_ks_match_scipy_with_ties_and_unequal_sizes():
    rng = np.random.default_rng(0)
    A = rng.integers(0, 4, (31, 7)).astype(float)
    B = rng.normal(1.5, 1.0, (19, 7))
    B[:, :3] = rng.integers(0, 4, (19, 3))  # heavy ties across the sets
    w1, ks = marginal_distances(A, B, block=3)
    for j in range(7):
        assert w1[j] == pytest.approx(wasserstein_distance(A[:, j], B[:, j]), abs=1e-12)
        assert ks[j] == pytest.approx(ks_2samp(A[:, j], B[:, j]).statistic, abs=1e-12)
    hand_a, hand_b = np.array([[0.0], [1.0], [2.0]]), np.array([[0.5], [1.0], [3.0]])
    w, k = marginal_distances(hand_a, hand_b)
    assert w[0] == pytest.approx((0.5 + 0.0 + 1.0) / 3)  # equal n: mean |sorted differences|
    assert k[0] == pytest.approx(1 / 3)
    assert worst_decile_mean(np.arange(20.0)) == pytest.approx(18.5)
    assert ks_critical(100, 100) == pytest.approx(1.3581 * np.sqrt(2 / 100), rel=1e-4)


def naive_alpha_beta(R, S, grid):
    c_r, c_s = R.mean(0), S.mean(0)
    rho = np.quantile(np.linalg.norm(R - c_r, axis=1), grid)
    P = [np.mean(np.linalg.norm(S - c_r, axis=1) <= r) for r in rho]
    d_rr = cdist(R, R)
    np.fill_diagonal(d_rr, np.inf)
    d_rs = cdist(R, S)
    q = np.quantile(np.linalg.norm(S - c_s, axis=1), grid)
    Rb = []
    for qb in q:
        hits = 0
        for i in range(len(R)):
            j = int(np.argmin(d_rs[i]))
            hits += (np.linalg.norm(S[j] - c_s) <= qb) and (d_rs[i, j] <= d_rr[i].min())
        Rb.append(hits / len(R))
    return 1 - 2 * np.mean(np.abs(np.array(P) - grid)), 1 - 2 * np.mean(np.abs(np.array(Rb) - grid))


def test_alpha_beta_against_brute_force():
    rng = np.random.default_rng(1)
    R, S = rng.normal(size=(80, 5)), rng.normal(0.3, 1.3, size=(70, 5))
    d = cdist(R, S)
    out = alpha_beta_scores(R, S, knn_self(Points(R), 1)[:, 0], d.min(1), d.argmin(1))
    p, r = naive_alpha_beta(R, S, np.linspace(0, 1, 30))
    assert out["alpha_precision"] == pytest.approx(p, abs=1e-12)
    assert out["beta_recall"] == pytest.approx(r, abs=1e-12)


def test_pc_variance_curve_exact_and_randomized():
    rng = np.random.default_rng(2)
    for shape in [(60, 12), (400, 300)]:
        Z = rng.normal(size=shape) @ np.diag(np.linspace(3, 0.1, shape[1]))
        Zc = Z - Z.mean(0)
        ev = np.sort(np.linalg.eigvalsh(Zc.T @ Zc))[::-1]
        expected = np.cumsum(ev[:10]) / ev.sum()
        np.testing.assert_allclose(pc_variance_curve(Z, 10, seed=0), expected, atol=1e-6)


# ---- known answers through the context ------------------------------------------------------------


def test_reference_equals_evaluate_holdout(setting):
    _, split, ctx, ref = setting
    out = scores(ctx.evaluate(split.holdout_X, split.holdout_y, reference=ctx.reference()))
    assert set(out) == NEW_SCORES
    for name in NEW_SCORES:
        assert out[name] == ref[name], name


def test_identical_distribution_near_reference(setting):
    dist, _, ctx, ref = setting
    ys = balanced_labels(900, 3)
    s = scores(ctx.evaluate(dist.sample(ys, 41), ys))
    assert ref["authenticity"] == pytest.approx(0.6, abs=0.15)  # fresh data: not 1
    for name, tol in [("alpha_precision", 0.06), ("beta_recall", 0.08), ("authenticity", 0.06),
                      ("ks_mean", 0.02), ("w1_mean", 0.03), ("pc_variance_error", 0.02)]:
        assert abs(s[name] - ref[name]) < tol, name
    assert ref["alpha_precision"] > 0.9 and s["alpha_precision"] > 0.9
    assert s["ks_reject_frac"] < 0.2 and s["w1_worst_decile"] < 0.25
    assert s["detect_mlp_auc"] == pytest.approx(0.5, abs=0.06)
    assert s["fd_emb"] < 3 * ref["fd_emb"] + 0.5


def test_shifted_copy_known_w1(setting):
    _, split, ctx, ref = setting
    sd = np.vstack([split.train_X, split.holdout_X, split.test_X]).std(axis=0)
    delta = 1.5 * sd
    s = scores(ctx.evaluate(ctx.R_X + delta, ctx.R_y))  # exactly R shifted by 1.5 real sd per feature
    assert s["w1_mean"] == pytest.approx(1.5, rel=1e-9) and s["w1_worst_decile"] == pytest.approx(1.5, rel=1e-9)
    assert s["ks_mean"] > 0.5 and s["ks_reject_frac"] == 1.0
    assert s["pc_variance_error"] == pytest.approx(0.0, abs=1e-9)  # a shift keeps the spectrum
    assert s["detect_mlp_auc"] > 0.95
    assert s["alpha_precision"] < ref["alpha_precision"] - 0.3
    assert s["fd_emb"] > 5 * ref["fd_emb"]


def test_collapsed_modes_lower_beta_recall(setting):
    dist, _, ctx, ref = setting
    ys = balanced_labels(900, 3)
    few = dist.sample(balanced_labels(6, 3), 5)
    s = scores(ctx.evaluate(few[np.arange(900) % 6], ys))
    assert s["beta_recall"] < ref["beta_recall"] - 0.3
    assert s["pc_variance_error"] > ref["pc_variance_error"] + 0.1
    assert s["detect_mlp_auc"] > 0.9


def test_memorized_copy_is_not_authentic(setting):
    _, split, ctx, ref = setting
    s = scores(ctx.evaluate(split.train_X, split.train_y))
    assert s["authenticity"] == 0.0
    assert ref["authenticity"] > 0.4


def test_fd_emb_deterministic_and_genotypes_run():
    dist = ToyExpression(16, 2, separation=0.5)
    split = toy_split(dist, 240, 80, 80, seed=4)
    a = EvalContext(split, metrics=["fd_emb"]).reference()["scores"]["fd_emb"]
    b = EvalContext(split, metrics=["fd_emb"]).reference()["scores"]["fd_emb"]
    assert a == b
    g = ToyGenotypes(30, 2)
    gsplit = toy_split(g, 240, 80, 80, seed=1, modality="genotype")
    ctx = EvalContext(gsplit, metrics=NEW)
    ys = balanced_labels(240, 2)
    out = ctx.evaluate(g.sample(ys, 3), ys)
    assert out["failures"] == {} and set(out["metrics"]) == NEW_SCORES
    assert scores(ctx.evaluate(gsplit.train_X, gsplit.train_y))["authenticity"] < 0.05
