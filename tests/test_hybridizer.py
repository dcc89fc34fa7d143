"""The Mendelian hybridizer (block-recombinant offspring) and the ``mendelian`` generator built on it."""

from __future__ import annotations

import numpy as np
import pytest
from generator_fixtures import haplotype_blocks, within_block_ld

from benchmark.conformance import check_generator
from benchmark.dataset import DatasetMeta
from generators.baselines import MarginalsGenerator
from generators.hybridizer import block_bounds, default_block_snps, hybridize, recombinants_for, recombine
from generators.mendelian import Mendelian


def genotypes(n: int, snps: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 3, size=(n, snps)).astype(np.int8)


def test_block_lengths():
    assert default_block_snps(741) == 106  # ceil(741 / 7): seven blocks
    assert default_block_snps(64) == 10
    assert default_block_snps(6999) == 1000 and default_block_snps(7160) == 1000 and default_block_snps(50_000) == 1000
    assert block_bounds(7160, 1000)[-1] == (7000, 7160) and len(block_bounds(7160, 1000)) == 8
    assert block_bounds(741, 106) == [(s, min(s + 106, 741)) for s in range(0, 741, 106)]
    with pytest.raises(ValueError, match="at least 1 SNP"):
        block_bounds(10, 0)


def test_allele_frequencies_kept_exactly_per_label_and_labels_never_mixed():
    rng = np.random.default_rng(1)
    X = np.concatenate([genotypes(30, 50, seed=2), 2 - genotypes(12, 50, seed=3)])
    y = np.array([0] * 30 + [1] * 12)
    y[[3, 35]] = y[[35, 3]]  # labels interleaved in the input order
    X_off, y_off = hybridize(X, y, [0, 1], copies=4, block_snps=8, rng=rng)
    for label in (0, 1):
        parents = X[y == label]
        offspring = X_off[y_off == label]
        assert len(offspring) == 4 * len(parents)
        np.testing.assert_array_equal(offspring.sum(axis=0, dtype=np.int64), 4 * parents.sum(axis=0, dtype=np.int64))
        for start, stop in block_bounds(50, 8):  # every block of an offspring row is a block of a parent of its label
            own = {row.tobytes() for row in parents[:, start:stop]}
            assert all(row.tobytes() in own for row in offspring[:, start:stop])


def test_only_the_requested_labels_are_hybridized():
    X, y = genotypes(20, 30), np.repeat([0, 1], 10)
    X_off, y_off = hybridize(X, y, [1], copies=2, block_snps=5, rng=np.random.default_rng(0))
    assert set(y_off.tolist()) == {1} and len(X_off) == 20
    empty, empty_labels = hybridize(X, y, [], copies=2, block_snps=5, rng=np.random.default_rng(0))
    assert empty.shape == (0, 30) and len(empty_labels) == 0


def test_one_block_returns_permuted_real_rows():
    X = genotypes(15, 40)
    offspring = recombine(X, copies=3, block_snps=40, rng=np.random.default_rng(0))
    for copy in np.split(offspring, 3):
        assert sorted(map(bytes, copy)) == sorted(map(bytes, X))


def test_offspring_are_not_copies_of_parents():
    X = genotypes(20, 70)
    offspring = recombine(X, copies=5, block_snps=10, rng=np.random.default_rng(0))
    parents = {row.tobytes() for row in X}
    assert not any(row.tobytes() in parents for row in offspring)
    # three parents, seven blocks: an offspring row repeats one parent with probability 3 x (1/3)^7 ≈ 0.14 %
    few = recombine(X[:3], copies=400, block_snps=10, rng=np.random.default_rng(1))
    repeats = np.mean([row.tobytes() in {p.tobytes() for p in X[:3]} for row in few])
    assert repeats < 0.01


def test_parents_untouched_and_copies_independent():
    """The source's quirks are not reproduced: the input is not shuffled in place and copies differ."""
    X = genotypes(25, 60)
    before = X.copy()
    offspring = recombine(X, copies=2, block_snps=10, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(X, before)
    assert not np.array_equal(offspring[:25], offspring[25:])


def test_deterministic_under_a_seed_and_valid_values():
    X = genotypes(30, 50)
    first = recombine(X, copies=3, block_snps=7, rng=np.random.default_rng(5))
    again = recombine(X, copies=3, block_snps=7, rng=np.random.default_rng(5))
    other = recombine(X, copies=3, block_snps=7, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == X.dtype and set(np.unique(first).tolist()) <= {0, 1, 2}


def test_recombinants_for_any_count():
    X = genotypes(10, 35)
    same = recombinants_for(X, 10, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(same.sum(axis=0), X.sum(axis=0))
    assert recombinants_for(X, 23, 5, np.random.default_rng(0)).shape == (23, 35)
    assert recombinants_for(X, 3, 5, np.random.default_rng(0)).shape == (3, 35)


def meta_for(X: np.ndarray, classes: int) -> DatasetMeta:
    return DatasetMeta("blocks", "genotype", tuple(f"snp{j}" for j in range(X.shape[1])),
                       tuple(f"pop{c}" for c in range(classes)))


def test_mendelian_generator_keeps_class_frequencies_and_within_block_ld():
    """A per-class Hardy-Weinberg model (``marginals``) has the frequencies but no LD; the hybridizer has both."""
    X, y = haplotype_blocks(n_per_class=150, blocks=6, block_snps=8, classes=2, seed=0)
    meta = meta_for(X, 2)
    generator = Mendelian(seed=0, block_snps=8).fit(X, y, meta)
    S = generator.sample(y)
    assert S.dtype == np.int8
    for label in (0, 1):
        np.testing.assert_array_equal(S[y == label].sum(axis=0), X[y == label].sum(axis=0))
    real_ld = within_block_ld(X, y, 8)
    marginal_ld = within_block_ld(MarginalsGenerator(seed=0).fit(X, y, meta).sample(y), y, 8)
    assert real_ld > 0.5 and marginal_ld < 0.1
    assert within_block_ld(S, y, 8) == pytest.approx(real_ld, abs=0.02)
    assert generator.derived_hparams == {"effective_block_snps": 8}
    assert Mendelian(seed=0).fit(X, y, meta).block_snps == 7  # ceil(48 / 7)


def test_mendelian_rejects_unseen_labels():
    X, y = genotypes(20, 14), np.repeat([0, 1], 10)
    generator = Mendelian(seed=0).fit(X, y, meta_for(X, 3))
    with pytest.raises(ValueError, match="label 2 was not in the training data"):
        generator.sample(np.array([0, 2]))


def test_mendelian_passes_the_conformance_kit():
    report = check_generator("mendelian")
    assert report.passed, report.render()
