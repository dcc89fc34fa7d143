"""Metrics API: registry, validation, failure isolation, reference code path, determinism."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from metrics import REGISTRY, EvalContext, list_metrics
from metrics.base import HIGHER, MetricSpec
from metrics.testing import ToyExpression, ToyGenotypes, balanced_labels, toy_split

REQUIRED = {
    "precision": ("fidelity", "higher", None),
    "recall": ("fidelity", "higher", None),
    "density": ("fidelity", "target", None),
    "coverage": ("fidelity", "higher", None),
    "fd": ("fidelity", "lower", None),
    "corr_error": ("fidelity", "lower", None),
    "corr_score": ("fidelity", "higher", None),
    "mmd": ("fidelity", "lower", None),
    "detect_lr_auc": ("fidelity", "target", 0.5),
    "tstr_lr_accuracy": ("utility", "higher", None),
    "tstr_lr_macro_f1": ("utility", "higher", None),
    "trtr_lr_accuracy": ("utility", "info", None),
    "trtr_lr_macro_f1": ("utility", "info", None),
    "exact_match_rate": ("privacy", "target", None),
    "dcr_share": ("privacy", "target", 0.5),
    "dcr_ratio": ("privacy", "target", 1.0),
    "mia_auc": ("privacy", "target", 0.5),
    "af_corr": ("genomics", "higher", None),
    "af_rmse": ("genomics", "lower", None),
    "ld_error": ("genomics", "lower", None),
    "ld_corr": ("genomics", "higher", None),
}
GENOMICS = {k for k, v in REQUIRED.items() if v[0] == "genomics"}


@pytest.fixture(scope="module")
def expr():
    dist = ToyExpression(30, 3, separation=0.5)
    split = toy_split(dist, 300, 150, 120, seed=3, feature_names=True)
    return dist, split


def test_list_metrics_declares_required_scores():
    by_score = {
        s: (m["family"], d["direction"], d["target"]) for m in list_metrics() for s, d in m["scores"].items()
    }
    for score, expected in REQUIRED.items():
        assert by_score[score] == expected, score
    expr_scores = {s for m in list_metrics("expression") for s in m["scores"]}
    assert not (GENOMICS & expr_scores)
    assert GENOMICS.issubset({s for m in list_metrics("genotype") for s in m["scores"]})


def test_list_metrics_imports_numpy_only():
    code = (
        "import sys, metrics; metrics.list_metrics();"
        "bad = [m for m in ('scipy', 'sklearn', 'torch', 'pandas') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1])
    )


def test_output_format_and_reference(expr):
    dist, split = expr
    ctx = EvalContext(split)
    ys = balanced_labels(300, 3)
    out = ctx.evaluate(dist.sample(ys, 9), ys)
    assert not out["failures"], out["failures"]
    assert set(out["not_applicable"]) <= {"zero_fraction"}, out["not_applicable"]
    assert set(REQUIRED) - GENOMICS <= set(out["metrics"])
    assert not GENOMICS & set(out["metrics"])
    ref = ctx.reference()
    assert ref is ctx.reference()  # cached
    for name, rec in out["metrics"].items():
        null = {"null_mean", "null_sd"} if rec["family"] == "privacy" else set()
        assert set(rec) == {"value", "reference", "direction", "target", "family"} | null, name
        assert isinstance(rec["value"], float) and rec["reference"] == ref["scores"][name]
    import json

    json.dumps(out, allow_nan=False)
    json.dumps(ref, allow_nan=False)


@pytest.mark.parametrize("sizes", [(240, 90, 120), (240, 120, 90)])
def test_evaluate_holdout_equals_reference(sizes):
    """Scoring the holdout as synthetic output goes through exactly the reference code path."""
    split = toy_split(ToyExpression(20, 3), *sizes, seed=5)
    ctx = EvalContext(split)
    ref = ctx.reference()["scores"]
    out = ctx.evaluate(split.holdout_X, split.holdout_y, reference=ctx.reference())["metrics"]
    for name, rec in out.items():
        if rec["family"] != "privacy":  # privacy non-members differ by design (test vs holdout)
            assert rec["value"] == ref[name], name
    assert out["exact_match_rate"]["value"] == ref["exact_match_rate"] == 0.0


def test_deterministic(expr):
    dist, split = expr
    ys = balanced_labels(300, 3)
    X = dist.sample(ys, 4)
    a = EvalContext(split).evaluate(X, ys)
    b = EvalContext(split).evaluate(X.copy(), ys.copy())
    assert a == b


def test_project_2d(expr):
    _, split = expr
    ctx = EvalContext(split, metrics=[])
    xy = ctx.project_2d(split.test_X)
    assert xy.shape == (len(split.test_y), 2)
    np.testing.assert_allclose(xy, ctx.pooled_pca(2).transform(ctx.to_std(split.test_X)))
    assert np.var(xy[:, 0]) >= np.var(xy[:, 1])
    with pytest.raises(ValueError, match="expected shape"):
        ctx.project_2d(split.test_X[:, :5])


def test_bad_synthetic_input(expr):
    dist, split = expr
    ctx = EvalContext(split, metrics=["fd"])
    ys = balanced_labels(300, 3)
    X = dist.sample(ys, 1)
    bad = X.copy()
    bad[12, 3] = np.nan
    with pytest.raises(ValueError, match=r"synthetic row 12, feature 3 \('F3'\) is NaN"):
        ctx.evaluate(bad, ys)
    bad[12, 3] = 0.0
    bad[40, 7] = np.inf
    with pytest.raises(ValueError, match=r"row 40, feature 7 \('F7'\) is infinite"):
        ctx.evaluate(bad, ys)
    with pytest.raises(ValueError, match="has 29 features, expected 30"):
        ctx.evaluate(X[:, :-1], ys)
    with pytest.raises(ValueError, match="2-D"):
        ctx.evaluate(X[0], ys[:1])
    with pytest.raises(ValueError, match="labels have shape"):
        ctx.evaluate(X, ys[:-1])
    with pytest.raises(ValueError, match="label at row 5 is 3"):
        ctx.evaluate(X, np.where(np.arange(300) == 5, 3, ys))


def test_bad_genotype_value():
    g = ToyGenotypes(20, 2)
    split = toy_split(g, 120, 60, 60, seed=2, modality="genotype")
    ctx = EvalContext(split, metrics=["allele_freq"])
    ys = balanced_labels(120, 2)
    X = g.sample(ys, 3)
    X[7, 11] = 3
    with pytest.raises(
        ValueError, match=r"synthetic row 7, feature 11 has value 3; genotype dosages must be 0, 1 or 2"
    ):
        ctx.evaluate(X, ys)
    with pytest.raises(ValueError, match="row 0, feature 0 has value 0.5"):
        ctx.evaluate(np.full((120, 20), 0.5), ys)


def test_failing_metric_is_isolated(expr, monkeypatch):
    dist, split = expr

    def boom(c):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        REGISTRY,
        "boom",
        MetricSpec("boom", "fidelity", frozenset({"expression"}), {"boom_score": HIGHER}, boom, ""),
    )
    ctx = EvalContext(split, metrics=["boom", "fd", "mia"])
    ys = balanced_labels(300, 3)
    out = ctx.evaluate(dist.sample(ys, 2), ys)
    assert out["failures"] == {"boom": "RuntimeError: boom"}
    assert ctx.reference()["failures"] == {"boom": "RuntimeError: boom"}
    assert set(out["metrics"]) == {"fd", "mia_auc", "mia_tpr_at_1fpr", "mia_tpr_at_10fpr"}


def test_unknown_metric_name(expr):
    with pytest.raises(ValueError, match="unknown metric"):
        EvalContext(expr[1], metrics=["nope"])
    with pytest.raises(ValueError, match="unknown metric"):
        EvalContext(expr[1], metrics=["ld"])  # genotype-only


def test_fewer_synthetic_rows_than_n(expr):
    dist, split = expr
    ctx = EvalContext(split, metrics=["precision_recall", "dcr"])
    ys = balanced_labels(60, 3)
    out = ctx.evaluate(dist.sample(ys, 8), ys)
    assert out["failures"] == {} and 0 <= out["metrics"]["precision"]["value"] <= 1
