"""Genomics metrics: allele frequencies and LD r² by hand, end-to-end on toy genotypes."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext
from metrics.genomics import allele_frequencies, ld_r2_window, pearson
from metrics.testing import ToyGenotypes, balanced_labels, toy_split

# columns: SNP0 .. SNP3 (SNP3 monomorphic)
G = np.array([[0, 0, 0, 1], [1, 1, 0, 1], [2, 1, 2, 1], [1, 1, 2, 1]], dtype=np.int8)


def test_allele_frequencies_by_hand():
    np.testing.assert_allclose(allele_frequencies(G), [0.5, 0.375, 0.5, 0.5])


def test_ld_r2_by_hand():
    r2, ok = ld_r2_window(G, window=2)
    # order: offset 1 -> (0,1), (1,2), (2,3); offset 2 -> (0,2), (1,3)
    np.testing.assert_allclose(r2[ok], [2 / 3, 1 / 3, 1 / 2])
    assert ok.tolist() == [True, True, False, True, False]
    r2, ok = ld_r2_window(G, window=1)
    assert len(r2) == 3
    r2_all, _ = ld_r2_window(G, window=50)  # window larger than the panel
    assert len(r2_all) == 3 + 2 + 1


def test_pearson_raises_on_constant():
    with pytest.raises(ValueError, match="constant"):
        pearson(np.ones(3), np.arange(3.0))


@pytest.fixture(scope="module")
def setting():
    g = ToyGenotypes(60, 3)
    split = toy_split(g, 600, 200, 200, seed=1, modality="genotype")
    return g, split, EvalContext(split)


def test_genotype_end_to_end(setting):
    g, _, ctx = setting
    ys = balanced_labels(600, 3)
    out = ctx.evaluate(g.sample(ys, 5), ys)
    assert out["failures"] == {} and ctx.reference()["failures"] == {}
    s = {k: v["value"] for k, v in out["metrics"].items()}
    ref = ctx.reference()["scores"]
    assert s["af_corr"] > 0.98 and s["af_rmse"] < 0.05
    assert s["ld_corr"] == pytest.approx(ref["ld_corr"], abs=0.05)
    assert s["ld_error"] == pytest.approx(ref["ld_error"], abs=0.01)
    assert s["ld_skipped_frac"] == 0.0
    assert s["detect_lr_auc"] == pytest.approx(0.5, abs=0.08)


def test_broken_ld_is_detected(setting):
    """Permuting each SNP column keeps allele frequencies but destroys LD."""
    g, _, ctx = setting
    ys = balanced_labels(600, 3)
    X = g.sample(ys, 5)
    rng = np.random.default_rng(0)
    X = np.stack([rng.permutation(col) for col in X.T], axis=1)
    s = {k: v["value"] for k, v in ctx.evaluate(X, ys)["metrics"].items()}
    ref = ctx.reference()["scores"]
    assert s["af_corr"] > 0.98
    assert s["ld_corr"] < 0.2 < ref["ld_corr"]
    assert s["ld_error"] > 2 * ref["ld_error"]


def test_monomorphic_snps_are_skipped(setting):
    g, _, ctx = setting
    ys = balanced_labels(600, 3)
    X = g.sample(ys, 6)
    X[:, 10] = 0  # monomorphic in S: pairs (i, 10) skipped
    s = {k: v["value"] for k, v in ctx.evaluate(X, ys)["metrics"].items()}
    n_pairs = sum(60 - o for o in range(1, 51))
    n_skipped = sum(1 for o in range(1, 51) for i in range(60 - o) if 10 in (i, i + o))
    assert s["ld_skipped_frac"] == pytest.approx(n_skipped / n_pairs)
