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


# ---- three models, four scores, TRTS, feature overlap ---------------------------------------------

ALL_UTILITY = ["tstr_lr", "tstr_mlp", "tstr_rf", "trtr_lr", "trtr_mlp", "trtr_rf",
               "trts_lr", "trts_mlp", "trts_rf", "feature_overlap"]


@pytest.fixture(scope="module")
def full_setting():
    dist = ToyExpression(20, 3, separation=0.35)
    split = toy_split(dist, 450, 150, 150, seed=6)
    ctx = EvalContext(split, metrics=ALL_UTILITY)
    ref = ctx.reference()
    assert ref["failures"] == {}
    return dist, split, ctx, ref["scores"]


def test_score_functions_match_sklearn():
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
    from sklearn.preprocessing import label_binarize

    from metrics.utility import utility_scores

    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 200)
    proba = rng.dirichlet(np.ones(4), 200) + 0.4 * np.eye(4)[y] * rng.uniform(size=(200, 1))
    out = utility_scores(y, proba)
    pred = proba.argmax(1)
    assert out["accuracy"] == pytest.approx(np.mean(pred == y))
    assert out["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred), abs=1e-12)
    assert out["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-12)
    ap = average_precision_score(label_binarize(y, classes=range(4)), proba, average="macro")
    assert out["macro_ap"] == pytest.approx(ap, abs=1e-12)


def test_all_models_reference_path_and_known_answers(full_setting):
    dist, split, ctx, ref = full_setting
    same = ctx.evaluate(split.holdout_X, split.holdout_y, reference=ctx.reference())
    assert same["failures"] == {}
    for name, rec in same["metrics"].items():
        assert rec["value"] == ref[name], name  # reference = evaluate(holdout): one code path
    assert len(same["metrics"]) == 3 * 4 * 2 + 3 + 2
    ys = balanced_labels(450, 3)
    good = {k: v["value"] for k, v in ctx.evaluate(dist.sample(ys, 8), ys)["metrics"].items()}
    delta = 3.0 * np.where(np.arange(20) % 2, 1.0, -1.0)
    shifted = {k: v["value"] for k, v in ctx.evaluate(dist.sample(ys, 8) + delta, ys)["metrics"].items()}
    for kind in ("lr", "mlp", "rf"):
        assert ref[f"tstr_{kind}_accuracy"] > 0.75, kind
        for s in ("accuracy", "balanced_accuracy", "macro_f1", "macro_ap"):
            assert abs(good[f"tstr_{kind}_{s}"] - ref[f"tstr_{kind}_{s}"]) < 0.08, (kind, s)
            assert good[f"trtr_{kind}_{s}"] == ref[f"trtr_{kind}_{s}"]
        assert abs(good[f"trts_{kind}_accuracy"] - ref[f"trts_{kind}_accuracy"]) < 0.08, kind
        assert shifted[f"tstr_{kind}_balanced_accuracy"] < ref[f"tstr_{kind}_balanced_accuracy"] - 0.2, kind
        assert shifted[f"trts_{kind}_accuracy"] < ref[f"trts_{kind}_accuracy"] - 0.2, kind


def test_feature_overlap_finds_class_specific_genes():
    from metrics.utility import camda_top_features

    rng = np.random.default_rng(5)
    G, C, n = 60, 3, 600

    def draw(n_rows, seed, marker_shift=0):
        r = np.random.default_rng(seed)
        y = np.arange(n_rows) % C
        X = r.normal(size=(n_rows, G))
        for c in range(C):  # class c over-expresses genes 10c .. 10c+9
            X[y == c, (10 * c + marker_shift) % G : (10 * c + marker_shift) % G + 10] += 2.0
        return X, y

    X, y = draw(n, 1)
    assert camda_top_features(X, y) == set(range(30))
    two = y < 2
    assert len(camda_top_features(X[two], y[two])) == 10  # binary: one estimator
    assert camda_top_features(X[y == 0], y[y == 0]) == set()
    split = toy_split(ToyExpression(G, C), 30, 30, 30)  # shapes only; replaced below
    parts = [draw(n, s) for s in (11, 12, 13)]
    from metrics import SplitData

    split = SplitData(parts[0][0], parts[0][1], parts[1][0], parts[1][1], parts[2][0], parts[2][1],
                      modality="expression", class_names=("a", "b", "c"), seed=1)
    ctx = EvalContext(split, metrics=["feature_overlap"])
    ref = ctx.reference()["scores"]
    assert ref["feature_overlap_count"] == 30 and ref["feature_overlap_frac"] == 1.0
    good = ctx.evaluate(*draw(n, 14))["metrics"]
    moved = ctx.evaluate(*draw(n, 15, marker_shift=30))["metrics"]  # markers on the wrong genes
    assert good["feature_overlap_count"]["value"] == 30
    assert moved["feature_overlap_count"]["value"] == 0 and moved["feature_overlap_frac"]["value"] == 0.0
    assert rng is not None
