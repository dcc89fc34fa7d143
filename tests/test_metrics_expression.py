"""Expression extras: per-gene means/variances and zero fractions on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext, SplitData
from metrics.expression import log_variance_error, zero_fractions, zero_threshold
from metrics.testing import ToyExpression, balanced_labels, toy_split


def values(out):
    return {k: v["value"] for k, v in out["metrics"].items()}


def test_zero_threshold_and_fractions_by_hand():
    T = np.array([[0.0, 0.4, 2.0], [0.0, 0.0, 1.0], [0.8, 0.0, 0.0]])
    assert zero_threshold(T) == pytest.approx(0.2)
    X = np.array([[0.1, 0.3, 0.0], [0.25, 0.0, 5.0]])
    genes, cells = zero_fractions(X, 0.2)
    np.testing.assert_allclose(genes, [0.5, 0.5, 0.5])
    np.testing.assert_allclose(cells, [2 / 3, 1 / 3])
    with pytest.raises(ValueError, match="not count-like"):
        zero_threshold(np.ones((5, 5)))


def test_log_variance_error_by_hand():
    assert log_variance_error(np.array([1.0, 10.0]), np.array([10.0, 10.0])) == pytest.approx(0.5, abs=1e-5)
    assert log_variance_error(np.array([1.0, 0.0]), np.array([1.0, 3.0])) == 0.0  # R-constant gene skipped


def sparse_split(seed=0):
    """Log-normalised-like data: 3 classes, about half the values exactly 0."""
    dist = ToyExpression(50, 3)

    def draw(n, s):
        y = balanced_labels(n, 3)
        return np.maximum(dist.sample(y, s) - 0.3, 0.0), y

    parts = [a for k, n in enumerate((600, 300, 300)) for a in draw(n, 100 * seed + k)]
    return dist, SplitData(*parts, modality="counts", class_names=("a", "b", "c"), seed=seed)


def test_sparse_data_fresh_draw_dense_generator_and_reference():
    dist, split = sparse_split()
    ctx = EvalContext(split, metrics=["mean_variance", "zero_fraction"])
    y = balanced_labels(600, 3)
    ref = ctx.reference()["scores"]
    fresh = values(ctx.evaluate(np.maximum(dist.sample(y, 9) - 0.3, 0.0), y))
    assert fresh["gene_mean_corr"] > 0.95 and fresh["gene_var_corr"] > 0.8
    assert fresh["mean_var_error"] == pytest.approx(ref["mean_var_error"], abs=0.03)
    assert fresh["zero_frac_gene_mae"] < 0.05 and fresh["zero_frac_cell_w1"] < 0.03
    # a shifted generator: clipped at 0 it has too few zeros
    dense = dist.sample(y, 9) - 0.3 + 0.5
    s = values(ctx.evaluate(dense, y))
    assert s["zero_frac_gene_mae"] > 0.1 > 0.05 > fresh["zero_frac_gene_mae"]
    assert s["zero_frac_cell_w1"] > 0.1
    # a collapsed generator (class means): variances far too small
    s = values(ctx.evaluate(np.maximum(dist.means[y] - 0.3, 0.0) + 1e-3, y))
    assert s["mean_var_error"] > 1.0 > 0.1 > ref["mean_var_error"]
    assert values(ctx.evaluate(split.holdout_X, split.holdout_y)) == ref


def test_dense_expression_reports_not_applicable():
    dist = ToyExpression(30, 3)
    split = toy_split(dist, 300, 150, 150, seed=1)
    ctx = EvalContext(split, metrics=["mean_variance", "zero_fraction"])
    ref = ctx.reference()
    assert "count-like" in ref["not_applicable"]["zero_fraction"] and not ref["failures"]
    assert set(ref["scores"]) == {"gene_mean_corr", "gene_var_corr", "mean_var_error"}
