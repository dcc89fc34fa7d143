"""Exact principal components (no randomized solver), with a fixed sign per component.

scikit-learn's PCA picks a randomized solver for large inputs; its components then depend on the
random state and, on an 805-SNP panel, the smallest principal-angle cosine against an exact fit was
0.05. These components are exact: an eigendecomposition of the smaller of the covariance (p x p) and
Gram (n x n) matrices, each component's sign fixed so that its largest-magnitude loading is positive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PCAFit:
    """Centre and orthonormal components (k x p) of an exact PCA."""

    mean: np.ndarray
    components: np.ndarray

    def transform(self, Z: np.ndarray) -> np.ndarray:
        return (np.asarray(Z, dtype=np.float64) - self.mean) @ self.components.T


def exact_pca(Z: np.ndarray, k: int) -> PCAFit:
    """The first min(k, n − 1, p) principal components of the rows of ``Z``."""
    Z = np.asarray(Z, dtype=np.float64)
    n, p = Z.shape
    k = min(k, n - 1, p)
    if k < 1:
        raise ValueError(f"a PCA needs at least 2 rows and 1 column, got {Z.shape}")
    mean = Z.mean(axis=0)
    C = Z - mean
    if p <= n:
        _, V = np.linalg.eigh(C.T @ C)
        components = V[:, ::-1][:, :k].T
    else:
        w, U = np.linalg.eigh(C @ C.T)
        w, U = w[::-1][:k], U[:, ::-1][:, :k]
        components = (C.T @ U / np.sqrt(np.clip(w, np.finfo(float).tiny, None))).T
    largest = np.abs(components).argmax(axis=1)
    components = components * np.sign(components[np.arange(k), largest])[:, None]
    return PCAFit(mean, np.ascontiguousarray(components))
