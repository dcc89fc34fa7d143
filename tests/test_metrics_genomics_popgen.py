"""Genomics additions: MAF spectrum, LD decay, Hudson F_ST, Gaussian components, population overlap."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext
from metrics.genomics import (
    atoms_w1,
    hudson_fst,
    ks_statistic,
    ld_decay_curves,
    lost_variants,
    maf_w1,
    snp_distances,
)
from metrics.testing import ToyGenotypes, balanced_labels, toy_split

POPGEN = ["maf_spectrum", "ld_decay", "fst", "fst_corr", "gmm_components", "pop_pca_overlap"]


def values(out):
    return {k: v["value"] for k, v in out["metrics"].items()}


def test_maf_w1_and_ks_match_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 0.5, 300), rng.beta(1, 3, 250) / 2
    assert maf_w1(a, b) == pytest.approx(stats.wasserstein_distance(a, b), abs=1e-10)
    assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    ties_a, ties_b = np.round(a, 1), np.round(b, 1)  # many ties, as with MAFs of small panels
    assert ks_statistic(ties_a, ties_b) == pytest.approx(stats.ks_2samp(ties_a, ties_b).statistic, abs=1e-12)
    assert maf_w1(ties_a, ties_b) == pytest.approx(stats.wasserstein_distance(ties_a, ties_b), abs=1e-10)


def test_lost_variants_by_hand():
    R = np.array([[0, 1, 2, 0], [1, 1, 0, 0], [2, 1, 1, 0]])  # SNP1 and SNP3 monomorphic in R
    S = np.array([[0, 0, 1, 1], [0, 1, 1, 0], [0, 2, 1, 0]])  # SNP0 and SNP2 lost
    assert lost_variants(R, S) == pytest.approx(2 / 2)
    S[0, 0] = 1
    assert lost_variants(R, S) == pytest.approx(1 / 2)


def test_hudson_fst_by_hand():
    # pop a: 2 individuals, dosages SNP0 (0, 2) -> p = 0.5; SNP1 (2, 2) -> p = 1
    # pop b: 2 individuals, SNP0 (0, 0) -> p = 0;  SNP1 (1, 1) -> p = 0.5;  n = 4 haplotypes each
    Ga = np.array([[0, 2], [2, 2]])
    Gb = np.array([[0, 1], [0, 1]])
    n0 = 0.25 - 0.25 / 3 - 0.0
    n1 = 0.25 - 0.0 - 0.25 / 3
    d0 = 0.5 * 1 + 0 * 0.5
    d1 = 1 * 0.5 + 0.5 * 0
    assert hudson_fst(Ga, Gb) == pytest.approx((n0 + n1) / (d0 + d1))


def test_hudson_fst_matches_scikit_allel():
    allel = pytest.importorskip("allel")
    g = ToyGenotypes(80, 2)
    y = balanced_labels(400, 2)
    G = g.sample(y, 3)
    Ga, Gb = G[y == 0], G[y == 1]

    def allele_counts(D):
        alt = D.sum(axis=0)
        return np.stack([2 * len(D) - alt, alt], axis=1)

    num, den = allel.hudson_fst(allele_counts(Ga), allele_counts(Gb))
    assert hudson_fst(Ga, Gb) == pytest.approx(num.sum() / den.sum(), abs=1e-10)


def test_fst_near_zero_within_one_population_and_large_between_drifted_ones():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.9, 500)
    one = (rng.random((400, 500)) < p).astype(int) + (rng.random((400, 500)) < p).astype(int)
    assert abs(hudson_fst(one[:200], one[200:])) < 0.005
    q = np.clip(p + rng.normal(0, 0.2, 500), 0.01, 0.99)
    other = (rng.random((200, 500)) < q).astype(int) + (rng.random((200, 500)) < q).astype(int)
    assert hudson_fst(one[:200], other) > 0.05


def test_ld_decay_matches_brute_force_and_uses_positions():
    g = ToyGenotypes(30, 1, block=5, rho=0.8)
    G = g.sample(np.zeros(300, dtype=int), 0)
    pos = np.cumsum(np.random.default_rng(2).integers(100, 2000, 30))
    curves, counts = ld_decay_curves([G], pos, n_bins=4)
    _, _, d_max = snp_distances(30, pos)
    assert d_max == pos[-1] - pos[0]  # short panel: all pairs
    r2 = np.corrcoef(G, rowvar=False) ** 2
    sums, cnt = np.zeros(4), np.zeros(4)
    for i in range(30):
        for j in range(i + 1, 30):
            b = min(int((pos[j] - pos[i]) / d_max * 4), 3)
            sums[b] += r2[i, j]
            cnt[b] += 1
    np.testing.assert_array_equal(counts, cnt)
    np.testing.assert_allclose(curves[0], sums / cnt, rtol=1e-10)
    # without positions: SNP-order distance, all pairs of a short panel
    _, counts_idx = ld_decay_curves([G], None, n_bins=4)
    assert counts_idx.sum() == 30 * 29 / 2


def test_ld_decay_positions_start_new_contig_when_they_decrease():
    coord, contig, d_max = snp_distances(6, np.array([10, 20, 30, 5, 15, 50]))
    assert contig.tolist() == [0, 0, 0, 1, 1, 1] and d_max == 45
    G = ToyGenotypes(6, 1, block=6).sample(np.zeros(200, dtype=int), 1)
    _, counts = ld_decay_curves([G], np.array([10, 20, 30, 5, 15, 50]))
    assert counts.sum() == 3 + 3  # within-contig pairs only


def test_atoms_w1_matches_scipy():
    from scipy import stats

    mu_a, w_a, mu_b, w_b = np.array([-1.0, 2.0]), np.array([0.3, 0.7]), np.array([0.0, 1.5]), np.array([0.6, 0.4])
    assert atoms_w1(mu_a, w_a, mu_b, w_b) == pytest.approx(
        stats.wasserstein_distance(mu_a, mu_b, w_a, w_b), abs=1e-12
    )


@pytest.fixture(scope="module")
def setting():
    g = ToyGenotypes(60, 3)
    split = toy_split(g, 600, 300, 300, seed=1, modality="genotype")
    return g, split, EvalContext(split, metrics=POPGEN)


def test_fresh_draw_is_close_to_reference(setting):
    g, _, ctx = setting
    ys = balanced_labels(600, 3)
    out = ctx.evaluate(g.sample(ys, 5), ys)
    assert out["failures"] == {} and ctx.reference()["failures"] == {}
    s, ref = values(out), ctx.reference()["scores"]
    assert s["maf_w1"] < 0.03 and s["maf_ks"] < 0.2 and s["lost_variants_frac"] == 0.0
    assert s["ld_decay_error"] < 0.01
    assert s["fst_error"] < 0.01
    assert s["gmm_emd"] < 2 * ref["gmm_emd"] + 0.1
    assert s["pop_pca_overlap"] == pytest.approx(ref["pop_pca_overlap"], abs=0.08)


def test_reference_equals_holdout_scored_as_synthetic(setting):
    """Same code path: scoring the holdout through evaluate() reproduces the reference exactly."""
    _, split, ctx = setting
    s = values(ctx.evaluate(split.holdout_X, split.holdout_y))
    assert s == ctx.reference()["scores"]


def test_broken_structure_is_detected(setting):
    g, _, ctx = setting
    ys = balanced_labels(600, 3)
    X = g.sample(ys, 5)
    ref = ctx.reference()["scores"]
    # columns permuted independently: allele frequencies kept, LD destroyed
    rng = np.random.default_rng(0)
    perm = np.stack([rng.permutation(col) for col in X.T], axis=1)
    s = values(ctx.evaluate(perm, ys))
    assert s["ld_decay_error"] > 5 * ref["ld_decay_error"] + 0.005
    assert s["fst_error"] > 0.02  # population structure mixed away
    assert s["pop_pca_overlap"] < 0.6 < ref["pop_pca_overlap"]
    # one population's alleles flipped: its principal-component scores move, its F_ST to the others grows
    X2 = X.copy()
    X2[ys == 1] = 2 - X[ys == 1]
    s2 = values(ctx.evaluate(X2, ys))
    assert s2["gmm_emd"] > 2 * ref["gmm_emd"]
    assert s2["fst_error"] > 0.1
    # rare allele never produced: lost variants
    X3 = X.copy()
    X3[:, :5] = 0
    assert values(ctx.evaluate(X3, ys))["lost_variants_frac"] == pytest.approx(5 / 60)


def test_identical_sets_give_zero_distances(setting):
    """The real test set scored against itself: every distance is exactly 0 (the Gaussian components
    compare each cross-fit half of the test set with the whole set, so they are only small)."""
    _, split, ctx = setting
    s = values(ctx.evaluate(split.test_X, split.test_y))
    for name in ("maf_w1", "maf_ks", "lost_variants_frac", "ld_decay_error", "fst_error"):
        assert s[name] == pytest.approx(0.0, abs=1e-12), name
    assert s["gmm_emd"] < ctx.reference()["scores"]["gmm_emd"]
    assert s["fst_corr"] == pytest.approx(1.0)


def test_fst_corr_needs_three_pairs():
    g = ToyGenotypes(40, 2)
    split = toy_split(g, 200, 100, 100, seed=2, modality="genotype")
    ctx = EvalContext(split, metrics=["fst", "fst_corr"])
    ref = ctx.reference()
    assert "fst_error" in ref["scores"]
    assert "fst_corr" in ref["not_applicable"] and not ref["failures"]
