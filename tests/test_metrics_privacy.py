"""Privacy metrics: memorised copies are flagged, fresh draws look like the real holdout."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext
from metrics.privacy import calibrated_share, class_dcr_share, nearer_train
from metrics.testing import ToyExpression, ToyGenotypes, balanced_labels, toy_split

PRIVACY = ["exact_match", "dcr", "mia"]


def values(out):
    return {k: v["value"] for k, v in out["metrics"].items()}


def test_dcr_ties_are_split_by_exchangeability():
    d_train, d_nonmember = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0, 3.0])
    np.testing.assert_allclose(nearer_train(d_train, d_nonmember), [1, 0.5, 0, 0.5])  # without counts: ½
    # 3 train rows and 1 non-member at the tied distance: the nearest record is a train row 3 times in 4
    np.testing.assert_allclose(nearer_train(d_train, d_nonmember, np.array([1, 3, 1, 1]), np.array([1, 1, 1, 2])),
                               [1, 0.75, 0, 1 / 3])


def test_class_dcr_share_uses_each_class_null():
    """Class 0 has 3 train rows per non-member (null 0.75), class 1 one (null 0.5): rows at their null
    map to 0.5, copies to 1, whatever the class."""
    counts_T, counts_H = np.array([30, 10]), np.array([10, 10])
    labels = np.array([0, 0, 0, 0, 1, 1])
    nearer = np.array([1, 1, 1, 0, 1, 0], dtype=float)  # class 0 at 0.75, class 1 at 0.5
    assert class_dcr_share(nearer, labels, counts_T, counts_H) == pytest.approx(0.5)
    assert class_dcr_share(np.ones(6), labels, counts_T, counts_H) == pytest.approx(1.0)


def test_memorised_copy_when_train_has_n_rows():
    """|T| = n, so T_n = T and a copy of train is a copy of the members."""
    dist = ToyExpression(30, 3)
    split = toy_split(dist, 300, 300, 300, seed=2)
    ctx = EvalContext(split, metrics=PRIVACY)
    s = values(ctx.evaluate(split.train_X, split.train_y))
    assert s["exact_match_rate"] == 1.0
    assert s["dcr_share"] >= 0.95
    assert s["mia_auc"] >= 0.95
    assert s["dcr_ratio"] == 0.0
    ref = ctx.reference()["scores"]
    assert ref["exact_match_rate"] == 0.0
    assert ref["dcr_share"] == pytest.approx(0.5, abs=0.08)
    assert ref["mia_auc"] == pytest.approx(0.5, abs=0.08)


def test_memorised_copy_with_larger_train():
    """|T| = 3n (the 60/20/20 protocol): the calibrated share and the attack on the whole output still
    flag a copy of train, and fresh real data still sit at 0.5."""
    dist = ToyExpression(30, 3)
    split = toy_split(dist, 600, 200, 200, seed=3)
    ctx = EvalContext(split, metrics=PRIVACY)
    s = values(ctx.evaluate(split.train_X, split.train_y))
    assert s["exact_match_rate"] == 1.0
    assert s["dcr_share"] >= 0.95 and s["mia_auc"] >= 0.95
    y = balanced_labels(600, 3)
    fresh = [values(ctx.evaluate(dist.sample(y, seed=seed), y)) for seed in (9, 10, 11, 12)]
    assert np.mean([f["dcr_share"] for f in fresh]) == pytest.approx(0.5, abs=0.08)
    assert np.mean([f["mia_auc"] for f in fresh]) == pytest.approx(0.5, abs=0.08)
    ref = ctx.reference()["scores"]
    assert ref["dcr_share"] == pytest.approx(0.5, abs=0.08)


def test_calibrated_share_is_linear_with_the_null_at_one_half():
    assert calibrated_share(0.75, 0.75) == 0.5
    assert calibrated_share(1.0, 0.75) == 1.0
    assert calibrated_share(0.0, 0.75) == pytest.approx(-1.0)  # farther from train than fresh data
    # linear, so the expectation of raw shares spread around the null maps to exactly 0.5
    raw = np.array([0.6, 0.75, 0.9])
    assert np.mean([calibrated_share(r, 0.75) for r in raw]) == pytest.approx(0.5)


def test_near_copies_within_epsilon_match():
    dist = ToyExpression(30, 3)
    split = toy_split(dist, 300, 150, 150, seed=4)
    ctx = EvalContext(split, metrics=["exact_match"])
    eps = 1e-6 * np.sqrt(30)
    sd = split.train_X.std(axis=0)
    X = split.train_X.copy()
    X[::2] += 0.5 * eps / np.sqrt(30) * sd  # half the rows within ε in std space, the others 3ε away
    X[1::2] += 3.0 * eps / np.sqrt(30) * sd
    assert values(ctx.evaluate(X, split.train_y))["exact_match_rate"] == pytest.approx(0.5, abs=0.02)


def test_fresh_draw_looks_like_reference():
    dist = ToyExpression(40, 3, separation=0.3)
    split = toy_split(dist, 1200, 400, 400, seed=0)
    ctx = EvalContext(split, metrics=PRIVACY)
    ys = balanced_labels(1200, 3)
    s = values(ctx.evaluate(dist.sample(ys, 501), ys))
    assert s["exact_match_rate"] == 0.0
    assert s["dcr_share"] == pytest.approx(0.5, abs=0.05)
    assert s["dcr_ratio"] == pytest.approx(1.0, abs=0.05)
    assert s["mia_auc"] == pytest.approx(0.5, abs=0.05)


def test_genotype_privacy_uses_l1_on_dosages():
    g = ToyGenotypes(40, 2)
    split = toy_split(g, 200, 200, 200, seed=5, modality="genotype")
    ctx = EvalContext(split, metrics=PRIVACY)
    s = values(ctx.evaluate(split.train_X, split.train_y))
    assert s["exact_match_rate"] == 1.0 and s["dcr_share"] >= 0.95 and s["mia_auc"] >= 0.95
    ys = balanced_labels(200, 2)
    fresh = values(ctx.evaluate(g.sample(ys, 8), ys))
    ref = ctx.reference()["scores"]
    assert fresh["exact_match_rate"] == pytest.approx(ref["exact_match_rate"], abs=0.05)
    assert fresh["dcr_share"] == pytest.approx(0.5, abs=0.08) and fresh["mia_auc"] == pytest.approx(
        0.5, abs=0.08
    )
