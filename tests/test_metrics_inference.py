"""Inferential utility: differential expression and allelic association, S vs R."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext
from metrics.inference import allelic, bh_reject, welch
from metrics.testing import ToyExpression, ToyGenotypes, balanced_labels, toy_split


def values(out):
    return {k: v["value"] for k, v in out["metrics"].items()}


def test_welch_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 12)) * rng.uniform(0.5, 3, 12) + rng.normal(size=12)
    g = np.arange(70) < 25
    X[g] += 0.7
    out = welch(X, g)
    res = stats.ttest_ind(X[g], X[~g], equal_var=False, axis=0)
    np.testing.assert_allclose(out["t"], res.statistic, rtol=1e-10)
    np.testing.assert_allclose(out["p"], res.pvalue, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(out["df"], res.df, rtol=1e-10)
    ci = res.confidence_interval(0.95)
    np.testing.assert_allclose(out["effect"] - out["half"], ci.low, atol=1e-9)
    np.testing.assert_allclose(out["effect"] + out["half"], ci.high, atol=1e-9)


def test_bh_matches_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    rng = np.random.default_rng(1)
    p = np.r_[rng.uniform(0, 0.01, 30), rng.uniform(0, 1, 200), [0.05, 0.05]]
    np.testing.assert_array_equal(bh_reject(p), multipletests(p, alpha=0.05, method="fdr_bh")[0])


def test_allelic_matches_statsmodels_table2x2():
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    G = ToyGenotypes(15, 2).sample(balanced_labels(120, 2), 4)
    g = balanced_labels(120, 2) == 0
    out = allelic(G, g)
    for j in range(15):
        a = G[g, j].sum()
        c = G[~g, j].sum()
        table = np.array([[a, 2 * g.sum() - a], [c, 2 * (~g).sum() - c]], dtype=float) + 0.5
        t = contingency.Table2x2(table, shift_zeros=False)
        assert out["effect"][j] == pytest.approx(t.log_oddsratio, abs=1e-10)
        assert out["se"][j] == pytest.approx(t.log_oddsratio_se, abs=1e-10)
        assert out["p"][j] == pytest.approx(t.log_oddsratio_pvalue(), abs=1e-10)
        lo, hi = t.log_oddsratio_confint(0.05)
        assert out["effect"][j] - out["half"][j] == pytest.approx(lo, abs=1e-8)
        assert out["effect"][j] + out["half"][j] == pytest.approx(hi, abs=1e-8)


DE = ["diff_expression"]


@pytest.fixture(scope="module")
def expr():
    dist = ToyExpression(200, 3, separation=0.25)
    split = toy_split(dist, 1800, 600, 600, seed=0)
    return dist, split, EvalContext(split, metrics=DE)


def test_fresh_draw_reaches_the_real_conclusions(expr):
    dist, _, ctx = expr
    y = balanced_labels(1800, 3)
    s, ref = values(ctx.evaluate(dist.sample(y, 77), y)), ctx.reference()["scores"]
    assert s["de_lfc_corr"] > 0.9 and s["de_t_corr"] > 0.9
    # every gene has some true effect, so "not significant in R" includes weak real effects that S
    # may call: the FPR of fresh data is not 0, and matches the reference
    assert s["de_tpr"] > 0.8 and s["de_fpr"] < 0.3
    # the real effect is itself estimated: expected coverage P(|Z| <= 1.96/sqrt(2)) ~ 0.83, as the reference
    assert s["de_ci_coverage"] == pytest.approx(0.834, abs=0.06)
    assert s["de_ci_coverage"] == pytest.approx(ref["de_ci_coverage"], abs=0.06)
    for k in ("de_lfc_corr", "de_tpr", "de_fpr"):
        assert s[k] == pytest.approx(ref[k], abs=0.1)


def test_over_confident_synthetic_data_lose_coverage(expr):
    """Class means with tiny noise: right direction of effects, intervals far too narrow."""
    dist, _, ctx = expr
    y = balanced_labels(1800, 3)
    X = dist.means[y] + 0.01 * np.random.default_rng(3).normal(size=(1800, 200))
    s = values(ctx.evaluate(X, y))
    assert s["de_lfc_corr"] > 0.9
    assert s["de_ci_coverage"] < 0.2 < 0.7 < ctx.reference()["scores"]["de_ci_coverage"]
    assert s["de_fpr"] > 0.5  # every gene with any mean difference is called


def test_shuffled_labels_destroy_the_conclusions(expr):
    dist, _, ctx = expr
    y = balanced_labels(1800, 3)
    X = dist.sample(y, 78)
    s = values(ctx.evaluate(X, np.random.default_rng(0).permutation(y)))
    assert abs(s["de_lfc_corr"]) < 0.2 and abs(s["de_t_corr"]) < 0.2
    assert s["de_tpr"] < 0.2


def test_reference_equals_holdout_scored_as_synthetic(expr):
    _, split, ctx = expr
    assert values(ctx.evaluate(split.holdout_X, split.holdout_y)) == ctx.reference()["scores"]


@pytest.fixture(scope="module")
def geno():
    g = ToyGenotypes(300, 3)
    split = toy_split(g, 1800, 600, 600, seed=1, modality="genotype")
    return g, split, EvalContext(split, metrics=["association"])


def test_association_fresh_draw_and_shuffled_labels(geno):
    g, split, ctx = geno
    y = balanced_labels(1800, 3)
    ref = ctx.reference()["scores"]
    s = values(ctx.evaluate(g.sample(y, 11), y))
    assert s["assoc_effect_corr"] > 0.8
    assert s["assoc_tpr"] > 0.7 and s["assoc_fpr"] < 0.3
    assert s["assoc_fpr"] == pytest.approx(ref["assoc_fpr"], abs=0.1)
    assert s["assoc_ci_coverage"] == pytest.approx(ref["assoc_ci_coverage"], abs=0.06)
    shuffled = values(ctx.evaluate(g.sample(y, 11), np.random.default_rng(0).permutation(y)))
    assert abs(shuffled["assoc_effect_corr"]) < 0.2 and shuffled["assoc_tpr"] < 0.2
    assert values(ctx.evaluate(split.holdout_X, split.holdout_y)) == ref


def test_association_over_confident_copies_lose_coverage(geno):
    """Each real row repeated many times: allele frequencies right, standard errors far too small."""
    g, split, ctx = geno
    y = balanced_labels(90, 3)
    X = np.repeat(g.sample(y, 12), 20, axis=0)
    s = values(ctx.evaluate(X, np.repeat(y, 20)))
    assert s["assoc_ci_coverage"] < ctx.reference()["scores"]["assoc_ci_coverage"] - 0.3
