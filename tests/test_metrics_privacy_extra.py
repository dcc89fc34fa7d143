"""Privacy additions: DCR 5th-percentile ratio, NNDR, AATS, DOMIAS; shared blocked passes."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext
from metrics.distances import Points, nn_cross, nn_self
from metrics.privacy import adversarial_accuracy, kde_logpdf, nndr, same_class_nearest, train_pass
from metrics.testing import ToyExpression, ToyGenotypes, balanced_labels, toy_split

EXTRA = ["dcr_p5", "nndr", "aats", "domias"]


def values(out):
    return {k: v["value"] for k, v in out["metrics"].items()}


def brute(A, B, l1=False):
    diff = A[:, None, :] - B[None, :, :]
    return np.abs(diff).sum(axis=2) if l1 else np.sqrt((diff**2).sum(axis=2))


@pytest.mark.parametrize("l1", [False, True])
def test_blocked_passes_match_brute_force(l1):
    rng = np.random.default_rng(0)
    A = rng.integers(0, 3, (40, 25)) if l1 else rng.normal(size=(40, 6))
    B = rng.integers(0, 3, (30, 25)) if l1 else rng.normal(size=(30, 6))
    PA, PB = (Points(A, "l1"), Points(B, "l1")) if l1 else (Points(A), Points(B))
    D = brute(A.astype(float), B.astype(float), l1)
    d1, d2, back = nn_cross(PA, PB)
    srt = np.sort(D, axis=1)
    np.testing.assert_allclose(d1, srt[:, 0], atol=1e-9)
    np.testing.assert_allclose(d2, srt[:, 1], atol=1e-9)
    np.testing.assert_allclose(back, D.min(axis=0), atol=1e-9)
    members = np.array([3, 7, 11, 20, 29])
    A_y, B_y = np.arange(len(A)) % 2, np.arange(len(B)) % 2
    tp = train_pass(PA, A_y, PB, B_y, members)
    same = np.where(A_y[:, None] == B_y[None, :], D, np.inf)
    np.testing.assert_allclose(tp.d_class, same.min(axis=1), atol=1e-9)
    np.testing.assert_array_equal(tp.ties_class, (np.abs(same - same.min(axis=1, keepdims=True)) < 1e-9).sum(axis=1))
    d_same, ties_same = same_class_nearest(PA, A_y, PB, B_y)
    np.testing.assert_allclose(d_same, same.min(axis=1), atol=1e-9)
    np.testing.assert_array_equal(ties_same, tp.ties_class)
    if l1:
        assert ties_same.max() > 1  # integer distances do tie
    np.testing.assert_allclose(tp.d_train, srt[:, 0], atol=1e-9)
    np.testing.assert_allclose(D[np.arange(len(A)), tp.i_train], srt[:, 0], atol=1e-9)
    Dm = np.sort(D[:, members], axis=1)
    np.testing.assert_allclose(tp.d_member1, Dm[:, 0], atol=1e-9)
    np.testing.assert_allclose(tp.d_member2, Dm[:, 1], atol=1e-9)
    np.testing.assert_allclose(tp.member_to_S, D[:, members].min(axis=0), atol=1e-9)
    S = brute(A.astype(float), A.astype(float), l1)
    np.fill_diagonal(S, np.inf)
    np.testing.assert_allclose(nn_self(PA), S.min(axis=1), atol=1e-9)


def test_adversarial_accuracy_and_nndr_by_hand():
    # X rows: 2 of 4 closer to S than to other X; S rows: 1 of 2 farther from X than from other S
    aa = adversarial_accuracy(
        np.array([1.0, 1.0, 3.0, 3.0]), np.array([2.0, 2.0, 2.0, 2.0]), np.array([1.0, 3.0]), np.array([2.0, 2.0])
    )
    assert aa == pytest.approx(0.5 * (2 / 4 + 1 / 2))
    assert adversarial_accuracy(np.ones(2), np.ones(2), np.ones(2), np.ones(2)) == 0.5  # ties count ½
    np.testing.assert_allclose(nndr(np.array([0.0, 1.0]), np.array([2.0, 4.0])), [1e-12 / (2 + 1e-12), 0.25])


def test_kde_matches_scipy():
    from scipy.stats import gaussian_kde

    rng = np.random.default_rng(1)
    data = rng.normal(size=(400, 10)) @ rng.normal(size=(10, 10))
    query = 2.0 * rng.normal(size=(150, 10))
    np.testing.assert_allclose(kde_logpdf(data, query), gaussian_kde(data.T).logpdf(query.T), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="more than 10 rows"):
        kde_logpdf(data[:10], query)


def test_memorised_copy_is_flagged():
    dist = ToyExpression(30, 3)
    split = toy_split(dist, 300, 300, 300, seed=2)
    ctx = EvalContext(split, metrics=EXTRA)
    s = values(ctx.evaluate(split.train_X, split.train_y))
    assert s["dcr_p5_ratio"] == 0.0
    assert s["nndr_ratio"] < 1e-6
    assert s["aats_train"] < 0.1 and s["aats_privacy_loss"] > 0.3
    assert s["domias_auc"] > 0.8
    ref = ctx.reference()["scores"]
    assert ref["dcr_p5_ratio"] == pytest.approx(1.0, abs=0.25)
    assert ref["nndr_ratio"] == pytest.approx(1.0, abs=0.25)
    assert ref["aats_train"] == pytest.approx(0.5, abs=0.06) and ref["aats_test"] == pytest.approx(0.5, abs=0.06)
    assert ref["aats_privacy_loss"] == pytest.approx(0.0, abs=0.06)
    # T_n is all of train: no disjoint real reference set for the reference row, said explicitly
    assert "no train rows outside T_n" in ctx.reference()["failures"]["domias"]


def test_domias_with_a_larger_train_split():
    dist = ToyExpression(30, 3)
    split = toy_split(dist, 900, 300, 300, seed=3)
    ctx = EvalContext(split, metrics=["domias"])
    assert values(ctx.evaluate(split.train_X, split.train_y))["domias_auc"] > 0.7
    y = balanced_labels(900, 3)
    fresh = np.mean([values(ctx.evaluate(dist.sample(y, k), y))["domias_auc"] for k in (1, 2, 3)])
    assert fresh == pytest.approx(0.5, abs=0.05)
    assert ctx.reference()["scores"]["domias_auc"] == pytest.approx(0.5, abs=0.07)


def test_fresh_draw_sits_at_the_targets():
    dist = ToyExpression(30, 3, separation=0.3)
    split = toy_split(dist, 1200, 400, 400, seed=0)
    ctx = EvalContext(split, metrics=EXTRA)
    y = balanced_labels(1200, 3)
    runs = [values(ctx.evaluate(dist.sample(y, k), y)) for k in (501, 502, 503)]
    s = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    assert s["dcr_p5_ratio"] == pytest.approx(1.0, abs=0.2)
    assert s["nndr_ratio"] == pytest.approx(1.0, abs=0.2)
    assert s["aats_train"] == pytest.approx(0.5, abs=0.05) and s["aats_test"] == pytest.approx(0.5, abs=0.05)
    assert s["aats_privacy_loss"] == pytest.approx(0.0, abs=0.05)
    assert s["domias_auc"] == pytest.approx(0.5, abs=0.06)


def test_genotype_memoriser_and_fresh_draw():
    g = ToyGenotypes(40, 2)
    split = toy_split(g, 600, 200, 200, seed=5, modality="genotype")
    ctx = EvalContext(split, metrics=EXTRA)
    s = values(ctx.evaluate(split.train_X, split.train_y))  # |T| = 3n: a third of T_n is copied in S
    assert s["dcr_p5_ratio"] == 0.0 and s["nndr_ratio"] < 1e-6
    assert s["aats_privacy_loss"] > 0.1 and s["domias_auc"] > 0.55
    ref = ctx.reference()["scores"]
    y = balanced_labels(600, 2)
    fresh = values(ctx.evaluate(g.sample(y, 8), y))
    for k in ("aats_train", "aats_test", "aats_privacy_loss", "domias_auc"):
        assert fresh[k] == pytest.approx(ref[k], abs=0.08), k
    assert fresh["domias_auc"] == pytest.approx(0.5, abs=0.08)
