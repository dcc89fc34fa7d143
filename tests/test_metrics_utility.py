"""Utility metrics: TSTR/TRTR with logistic regression."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext
from metrics.testing import ToyExpression, balanced_labels, toy_split
from metrics.utility import lr_predict

UTILITY = ["tstr_lr", "trtr_lr"]


@pytest.fixture(scope="module")
def setting():
    dist = ToyExpression(30, 3, separation=0.3)
    split = toy_split(dist, 600, 200, 200, seed=1)
    ctx = EvalContext(split, metrics=UTILITY)
    return dist, split, ctx


def test_good_data_near_reference_and_shift_hurts(setting):
    dist, _, ctx = setting
    ys = balanced_labels(600, 3)
    good = ctx.evaluate(dist.sample(ys, 3), ys)["metrics"]
    ref = ctx.reference()["scores"]
    assert ref["tstr_lr_accuracy"] > 0.8
    assert good["tstr_lr_accuracy"]["value"] == pytest.approx(ref["tstr_lr_accuracy"], abs=0.06)
    delta = 3.0 * np.where(np.arange(30) % 2, 1.0, -1.0)
    shifted = ctx.evaluate(dist.sample(ys, 3) + delta, ys)["metrics"]
    assert shifted["tstr_lr_accuracy"]["value"] < ref["tstr_lr_accuracy"] - 0.2
    assert shifted["tstr_lr_macro_f1"]["value"] < ref["tstr_lr_macro_f1"] - 0.2
    # TRTR is context: independent of S, value equals reference
    for out in (good, shifted):
        assert (
            out["trtr_lr_accuracy"]["value"]
            == out["trtr_lr_accuracy"]["reference"]
            == ref["trtr_lr_accuracy"]
        )
        assert out["trtr_lr_macro_f1"]["value"] == ref["trtr_lr_macro_f1"]


def test_missing_class_and_single_class(setting):
    dist, split, ctx = setting
    two = np.arange(600) % 2  # class 2 absent from the synthetic data
    out = ctx.evaluate(dist.sample(two, 4), two)
    assert out["failures"] == {}
    assert 0.4 < out["metrics"]["tstr_lr_accuracy"]["value"] < 0.7  # class 2 (a third of R) always wrong
    one = np.zeros(600, dtype=int)
    out = ctx.evaluate(dist.sample(one, 5), one)["metrics"]
    q = np.mean(ctx.R_y == 0)  # predicting class 0 everywhere: F1_0 = 2q / (1 + q), others 0
    assert out["tstr_lr_accuracy"]["value"] == pytest.approx(q)
    assert out["tstr_lr_macro_f1"]["value"] == pytest.approx(2 * q / (1 + q) / 3)


def test_lr_predict_realigns_probabilities():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-3, 1, (20, 2)), rng.normal(3, 1, (20, 2))]
    y = np.r_[np.zeros(20, int), np.full(20, 2)]  # classes 0 and 2 of 4
    pred = lr_predict(X, y, np.array([[-3.0, -3.0], [3.0, 3.0]]), n_classes=4)
    assert pred.tolist() == [0, 2]
    assert lr_predict(X[:20], np.full(20, 3), X, n_classes=4).tolist() == [3] * 40
