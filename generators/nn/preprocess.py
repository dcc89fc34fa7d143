"""Transforms fit on the train split and inverted on generated rows (numpy in, numpy out)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

GENOTYPE_STATES = 3  # dosages 0, 1, 2: hom-ref, het, hom-alt


class Transform(Protocol):
    width: int  # columns of the transformed data

    def fit(self, X: np.ndarray) -> Transform: ...

    def transform(self, X: np.ndarray) -> np.ndarray: ...

    def inverse(self, Z: np.ndarray) -> np.ndarray: ...


class ZScore:
    """Per-gene standardisation; constant genes are dropped and re-inserted as their constant on output."""

    def fit(self, X: np.ndarray) -> ZScore:
        X = np.asarray(X, dtype=np.float64)
        self.n_features = X.shape[1]
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.varying = std > 1e-12 * np.maximum(1.0, np.abs(self.mean))
        self.constant = X[0, ~self.varying] if len(X) else self.mean[~self.varying]
        self.std = std[self.varying]
        self.mean_varying = self.mean[self.varying]
        return self

    @property
    def width(self) -> int:
        """Columns of the transformed data (the varying genes)."""
        return int(self.varying.sum())

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return (X[:, self.varying] - self.mean_varying) / self.std

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        out = np.empty((len(Z), self.n_features), dtype=np.float64)
        out[:, self.varying] = np.asarray(Z, dtype=np.float64) * self.std + self.mean_varying
        out[:, ~self.varying] = self.constant
        return out


class QuantileNormal:
    """Each gene mapped through its train quantiles to a standard normal (GMDA's preprocessing for
    expression); the inverse interpolates back between the train quantiles.

    The same map as scikit-learn's ``QuantileTransformer(output_distribution="normal")``, which the
    authors used (values at a gene's train minimum or maximum get rank 0 or 1, other ties the mean of
    their forward and backward interpolated ranks; ranks clipped to [1e-7, 1 - 1e-7], and ranks within
    1e-7 of an end inverted to that end's value), with the
    quantiles read off one sort of each column: its per-gene ``np.partition`` took ~0.1 s a gene at
    10,000 quantiles, two minutes at 1,000 genes.
    """

    CLIP = 1e-7

    def __init__(self, n_quantiles: int = 10_000):
        self.n_quantiles = n_quantiles

    def fit(self, X: np.ndarray) -> QuantileNormal:
        X = np.sort(np.asarray(X, dtype=np.float64), axis=0)
        self.levels = np.linspace(0.0, 1.0, min(self.n_quantiles, len(X)))
        position = self.levels * (len(X) - 1)
        below = np.floor(position).astype(int)
        above = np.minimum(below + 1, len(X) - 1)
        weight = (position - below)[:, None]
        self.quantiles = X[below] + weight * (X[above] - X[below])
        self.width = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import ndtri

        X = np.asarray(X, dtype=np.float64)
        ranks = np.empty_like(X)
        for j in range(X.shape[1]):
            x, q = X[:, j], self.quantiles[:, j]
            up = np.interp(x, q, self.levels)
            down = np.interp(-x, -q[::-1], -self.levels[::-1])
            ranks[:, j] = np.where(x == q[0], 0.0, np.where(x == q[-1], 1.0, 0.5 * (up - down)))
        inside = self.CLIP - np.spacing(1.0)  # just inside the clip, so the inverse maps the ends back exactly
        return ndtri(np.clip(ranks, inside, 1.0 - inside))

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        from scipy.special import ndtr

        ranks = ndtr(np.asarray(Z, dtype=np.float64))
        out = np.empty_like(ranks)
        for j in range(ranks.shape[1]):
            r, q = ranks[:, j], self.quantiles[:, j]
            out[:, j] = np.where(r - self.CLIP < 0, q[0], np.where(r + self.CLIP > 1, q[-1],
                                                                  np.interp(r, self.levels, q)))
        return out


class Chain:
    """Transforms applied in order and inverted in reverse order."""

    def __init__(self, *steps: Transform):
        self.steps = steps

    def fit(self, X: np.ndarray) -> Chain:
        for step in self.steps:
            X = step.fit(X).transform(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        for step in self.steps:
            X = step.transform(X)
        return X

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        for step in reversed(self.steps):
            Z = step.inverse(Z)
        return Z

    @property
    def width(self) -> int:
        return self.steps[-1].width


def genotype_one_hot(X: np.ndarray) -> np.ndarray:
    """Dosages 0/1/2 (n x L) to one-hot channels (n x 3 x L), float32."""
    X = np.asarray(X)
    if X.size and (X.min() < 0 or X.max() >= GENOTYPE_STATES or not np.array_equal(X, np.rint(X))):
        raise ValueError("genotype one-hot needs integer dosages in {0, 1, 2}")
    return (X[:, None, :] == np.arange(GENOTYPE_STATES)[None, :, None]).astype(np.float32)


def genotype_from_channels(scores: np.ndarray) -> np.ndarray:
    """Channel scores or probabilities (n x 3 x L) to dosages (n x L) by argmax, int8."""
    return np.asarray(scores).argmax(axis=1).astype(np.int8)
