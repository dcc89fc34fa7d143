"""Fixtures with a known answer for the faithfulness tests of the neural generators."""

from __future__ import annotations

import numpy as np

from benchmark.dataset import DatasetMeta
from metrics.fidelity import correlation_scores


def two_modules(n_per_class: int = 300, genes: int = 24, classes: int = 2, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, DatasetMeta]:
    """Log-expression-like rows: within each class, the first half of the genes follows one latent factor
    and the second half another (loadings ±0.9, so |r| ≈ 0.8 inside a module, 0 across); classes differ
    in their means on separate genes, so a label-blind or marginal model cannot reproduce both."""
    rng = np.random.default_rng(seed)
    half = genes // 2
    loading = np.zeros((2, genes))
    loading[0, :half] = 0.9 * np.where(np.arange(half) % 3 == 0, -1.0, 1.0)
    loading[1, half:] = 0.9
    y = np.repeat(np.arange(classes), n_per_class)
    means = np.full((classes, genes), 5.0)
    for c in range(classes):
        means[c, c::classes] += 2.0
    X = means[y] + rng.standard_normal((len(y), 2)) @ loading + 0.45 * rng.standard_normal((len(y), genes))
    meta = DatasetMeta("two-modules", "expression", tuple(f"g{j}" for j in range(genes)),
                       tuple(f"class{c}" for c in range(classes)))
    return X.astype(np.float32), y, meta


def within_class_corr_score(X: np.ndarray, y: np.ndarray, S: np.ndarray, s_labels: np.ndarray) -> float:
    """The correlation score (Pearson of the gene-gene correlation matrices) averaged over classes."""
    return float(np.mean([correlation_scores(X[y == c].astype(np.float64), S[s_labels == c].astype(np.float64))
                          ["corr_score"] for c in np.unique(y)]))


def real_classifier_accuracy(X: np.ndarray, y: np.ndarray, S: np.ndarray, s_labels: np.ndarray) -> float:
    """Accuracy on synthetic rows of a logistic regression trained on the real rows."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=2000).fit(X, y)
    return float((model.predict(S) == s_labels).mean())


def haplotype_blocks(n_per_class: int = 150, blocks: int = 6, block_snps: int = 8, classes: int = 2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Genotypes with linkage disequilibrium inside blocks and none across: per block, three random
    haplotypes whose frequencies differ by population; each genome sums two haplotype draws per block.
    Rows are class-sorted; dosages int8."""
    rng = np.random.default_rng(seed)
    haplotypes = rng.integers(0, 2, size=(blocks, 3, block_snps))
    frequencies = rng.dirichlet(np.full(3, 0.7), size=(classes, blocks))
    y = np.repeat(np.arange(classes), n_per_class)
    X = np.zeros((len(y), blocks * block_snps), dtype=np.int8)
    for row, c in enumerate(y):
        for b in range(blocks):
            pair = rng.choice(3, size=2, p=frequencies[c, b])
            X[row, b * block_snps:(b + 1) * block_snps] = haplotypes[b, pair].sum(axis=0)
    return X, y


def within_block_ld(X: np.ndarray, y: np.ndarray, block_snps: int) -> float:
    """Mean r² between SNPs of the same block, within each class (SNPs constant in a class skipped)."""
    values = []
    for c in np.unique(y):
        rows = X[y == c].astype(np.float64)
        for start in range(0, X.shape[1], block_snps):
            block = rows[:, start:start + block_snps]
            block = block[:, block.std(axis=0) > 0]
            if block.shape[1] > 1:
                r = np.corrcoef(block.T)
                values.append(np.mean(r[np.triu_indices_from(r, k=1)] ** 2))
    return float(np.mean(values))
