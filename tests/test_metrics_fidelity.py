"""Fidelity metrics: known answers, parity with prdc / scipy, naive reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.spatial.distance import cdist

from metrics import EvalContext
from metrics.distances import Points, cross_min, knn_self
from metrics.fidelity import correlation_scores, frechet_distance, median_heuristic_gamma, mmd2_unbiased, prdc
from metrics.space import TAG_EVAL_ROWS, derive_seed, stratified_indices
from metrics.testing import ToyExpression, balanced_labels, toy_split

FIDELITY = ["precision_recall", "density_coverage", "fd", "mmd", "detect_lr", "correlation"]


def scores(out):
    return {k: v["value"] for k, v in out["metrics"].items()}


@pytest.fixture(scope="module")
def setting():
    dist = ToyExpression(40, 3, separation=0.3)
    split = toy_split(dist, 1200, 400, 400, seed=0)
    ctx = EvalContext(split, metrics=FIDELITY)
    return dist, split, ctx, ctx.reference()["scores"]


def test_blocked_distances_match_brute_force():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(70, 9)), rng.normal(size=(50, 9))
    np.testing.assert_allclose(Points(A).distances(Points(B), 0, 70), cdist(A, B), atol=1e-10)
    GA, GB = rng.integers(0, 3, (40, 33)), rng.integers(0, 3, (30, 33))
    np.testing.assert_array_equal(
        Points(GA, "l1").distances(Points(GB, "l1"), 0, 40), cdist(GA, GB, "cityblock")
    )
    full = cdist(A, A)
    np.fill_diagonal(full, np.inf)
    np.testing.assert_allclose(knn_self(Points(A), 4), np.sort(full, axis=1)[:, :4], atol=1e-10)
    row, col = cross_min(Points(A), Points(B))
    np.testing.assert_allclose(row, cdist(A, B).min(axis=1), atol=1e-12)
    np.testing.assert_allclose(col, cdist(A, B).min(axis=0), atol=1e-12)
    B[3] = A[5]  # exact copy gives exactly 0
    assert cross_min(Points(A), Points(B))[0][5] == 0.0


@pytest.mark.parametrize("k", [3, 5])
def test_prdc_package_parity(k):
    from prdc import compute_prdc

    rng = np.random.default_rng(k)
    real = rng.normal(size=(300, 12))
    fake = rng.normal(0.3, 1.2, size=(250, 12))
    ours = prdc(real, fake, k_pr=k, k_dc=k)
    theirs = compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name] == pytest.approx(theirs[name], abs=1e-6), name


def test_context_knn_metrics_match_prdc_in_std_space(setting):
    from prdc import compute_prdc

    dist, split, _, _ = setting
    ctx = EvalContext(split, metrics=["precision_recall", "density_coverage"])
    ys = balanced_labels(1200, 3)
    X = dist.sample(ys, 11) * 1.1
    got = scores(ctx.evaluate(X, ys))
    real = ctx.to_std(ctx.R_X)
    rows = stratified_indices(ys, ctx.eval_counts, derive_seed(ctx.seed, TAG_EVAL_ROWS))
    assert len(rows) == 400 and np.array_equal(np.bincount(ys[rows]), ctx.eval_counts)
    fake = ctx.to_std(X[rows])
    p3 = compute_prdc(real_features=real, fake_features=fake, nearest_k=3)
    p5 = compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
    assert got["precision"] == pytest.approx(p3["precision"], abs=1e-6)
    assert got["recall"] == pytest.approx(p3["recall"], abs=1e-6)
    assert got["density"] == pytest.approx(p5["density"], abs=1e-6)
    assert got["coverage"] == pytest.approx(p5["coverage"], abs=1e-6)


def test_knn_k_is_configurable_and_matches_prdc(setting):
    from prdc import compute_prdc

    dist, split, _, _ = setting
    ctx = EvalContext(split, metrics=["precision_recall", "density_coverage"], knn_k=(10, 7))
    ys = balanced_labels(1200, 3)
    X = dist.sample(ys, 11) * 1.1
    got = scores(ctx.evaluate(X, ys))
    rows = stratified_indices(ys, ctx.eval_counts, derive_seed(ctx.seed, TAG_EVAL_ROWS))
    real, fake = ctx.to_std(ctx.R_X), ctx.to_std(X[rows])
    p10 = compute_prdc(real_features=real, fake_features=fake, nearest_k=10)
    p7 = compute_prdc(real_features=real, fake_features=fake, nearest_k=7)
    assert got["precision"] == pytest.approx(p10["precision"], abs=1e-6)
    assert got["recall"] == pytest.approx(p10["recall"], abs=1e-6)
    assert got["density"] == pytest.approx(p7["density"], abs=1e-6)
    assert got["coverage"] == pytest.approx(p7["coverage"], abs=1e-6)
    with pytest.raises(ValueError, match="knn_k"):
        EvalContext(split, knn_k=(11, 5))


def test_density_and_coverage_on_identical_distributions():
    """E[density] = 1 and E[coverage] = 1 − Π_{i=1..k}(N−i)/(N+M−i) for any continuous iid pair."""
    rng = np.random.default_rng(7)
    N = 2000
    out = prdc(rng.normal(size=(N, 8)), rng.normal(size=(N, 8)), k_pr=5, k_dc=5)
    expected_cov = 1 - np.prod([(N - i) / (2 * N - i) for i in range(1, 6)])
    assert expected_cov == pytest.approx(0.969, abs=1e-3)
    assert out["coverage"] == pytest.approx(expected_cov, abs=0.01)
    assert out["density"] == pytest.approx(1.0, abs=0.05)
    assert out["precision"] == pytest.approx(out["recall"], abs=0.03)


def test_identical_distribution_close_to_reference(setting):
    dist, _, ctx, ref = setting
    ys = balanced_labels(1200, 3)
    s = scores(ctx.evaluate(dist.sample(ys, 77), ys))
    assert abs(s["precision"] - ref["precision"]) < 0.05
    assert abs(s["recall"] - ref["recall"]) < 0.05
    assert s["density"] == pytest.approx(1.0, abs=0.1)
    assert s["coverage"] == pytest.approx(0.97, abs=0.02)
    assert s["detect_lr_auc"] == pytest.approx(0.5, abs=0.05)
    assert s["fd"] == pytest.approx(ref["fd"], rel=0.2)
    assert abs(s["mmd"] - ref["mmd"]) < 0.005
    assert abs(s["corr_score"] - ref["corr_score"]) < 0.03
    assert abs(s["corr_error"] - ref["corr_error"]) < 0.005


def test_shifted_copy():
    """S = R + δ with |R| = n: covariances equal, so FD = ‖δ / sd‖² in ``std`` exactly."""
    dist = ToyExpression(25, 3, separation=0.3)
    split = toy_split(dist, 600, 150, 150, seed=1)
    ctx = EvalContext(split, metrics=FIDELITY)
    delta = np.linspace(1.0, 3.0, 25)
    s = scores(ctx.evaluate(split.test_X + delta, split.test_y))
    real = np.vstack([split.train_X, split.holdout_X, split.test_X])
    shift = delta / real.std(axis=0)
    assert s["fd"] == pytest.approx(float(shift @ shift), rel=1e-8)
    assert s["precision"] < 0.02 and s["recall"] < 0.02 and s["coverage"] < 0.02
    assert s["detect_lr_auc"] > 0.99
    assert s["mmd"] > 0.5
    ref = ctx.reference()["scores"]
    assert s["corr_error"] == pytest.approx(0.0, abs=1e-12)  # a shift leaves correlations unchanged
    assert s["corr_score"] == pytest.approx(1.0, abs=1e-12) and ref["corr_score"] < 1


def test_collapsed_modes(setting):
    dist, _, ctx, ref = setting
    ys = balanced_labels(1200, 3)
    few = dist.sample(balanced_labels(6, 3), 5)  # six points repeated
    s = scores(ctx.evaluate(few[np.arange(1200) % 6], ys))
    assert s["recall"] == 0.0 and s["coverage"] < 0.2
    assert ref["recall"] > 0.7 and ref["coverage"] > 0.9


def test_single_mode_covers_one_class():
    """Well-separated classes, S drawn from class 0 only: recall/coverage ≈ 1/3, precision stays high."""
    dist = ToyExpression(40, 3, separation=2.0)
    ctx = EvalContext(toy_split(dist, 600, 300, 300), metrics=["density_coverage", "precision_recall"])
    s = scores(ctx.evaluate(dist.sample(np.zeros(600, dtype=int), 6), balanced_labels(600, 3)))
    assert s["recall"] < 0.4 and s["coverage"] < 0.4 and s["precision"] > 0.75


def test_frechet_against_sqrtm():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    B = rng.normal(0.5, 1.0, size=(150, 6)) @ rng.normal(size=(6, 6))
    ca, cb = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
    mu = A.mean(0) - B.mean(0)
    expected = mu @ mu + np.trace(ca + cb - 2 * np.real(sqrtm(ca @ cb)))
    assert frechet_distance(A, B) == pytest.approx(expected, rel=1e-7)
    assert frechet_distance(A, A) == pytest.approx(0.0, abs=1e-8)
    # rank-deficient covariance (more dimensions than rows) stays real and finite
    C = rng.normal(size=(5, 8))
    assert np.isfinite(frechet_distance(C, rng.normal(size=(5, 8))))


def test_mmd_against_naive():
    rng = np.random.default_rng(4)
    A, B = rng.normal(size=(30, 3)), rng.normal(0.4, 1.0, size=(25, 3))
    pooled = np.vstack([A, B])
    sq = [np.sum((pooled[i] - pooled[j]) ** 2) for i in range(55) for j in range(i + 1, 55)]
    gamma = 1.0 / (2.0 * np.median(sq))
    assert median_heuristic_gamma(pooled, seed=0) == pytest.approx(gamma, rel=1e-10)

    def k(a, b):
        return np.exp(-gamma * np.sum((a - b) ** 2))

    kaa = sum(k(A[i], A[j]) for i in range(30) for j in range(30) if i != j) / (30 * 29)
    kbb = sum(k(B[i], B[j]) for i in range(25) for j in range(25) if i != j) / (25 * 24)
    kab = sum(k(a, b) for a in A for b in B) / (30 * 25)
    assert mmd2_unbiased(A, B, gamma) == pytest.approx(kaa + kbb - 2 * kab, rel=1e-10)


def test_correlation_by_hand():
    A = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 1.0], [3.0, 5.0, 0.0], [4.0, 3.0, 2.0]])
    B = np.array([[1.0, 1.0, 3.0], [2.0, 2.0, 1.0], [3.0, 3.0, 2.0], [4.0, 5.0, 0.0]])
    CA, CB = np.corrcoef(A, rowvar=False), np.corrcoef(B, rowvar=False)
    out = correlation_scores(A, B)
    assert out["corr_error"] == pytest.approx(np.abs(CA - CB).sum() / (2 * 9))
    iu = np.triu_indices(3, 1)
    assert out["corr_score"] == pytest.approx(np.corrcoef(CA[iu], CB[iu])[0, 1])
    assert out["corr_const_features"] == 0
    # a feature constant in B gets correlation 0 everywhere in C_B, diagonal included
    Bc = B.copy()
    Bc[:, 2] = 7.0
    CBc = np.corrcoef(Bc[:, :2], rowvar=False)
    full = np.zeros((3, 3))
    full[:2, :2] = CBc
    out = correlation_scores(A, Bc, block=2)
    assert out["corr_error"] == pytest.approx(np.abs(CA - full).sum() / 18)
    assert out["corr_score"] == pytest.approx(np.corrcoef(CA[iu], full[iu])[0, 1])
    assert out["corr_const_features"] == 1
