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
