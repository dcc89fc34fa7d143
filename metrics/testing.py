"""Toy data with known structure for tests: class-conditional Gaussians with block correlation, and
population genotypes with LD blocks. Every draw is reproducible from its seed."""

from __future__ import annotations

import numpy as np

from .space import SplitData


class ToyExpression:
    """C classes; x = μ_y + √ρ·(shared factor of the feature's block) + √(1−ρ)·ε."""

    def __init__(
        self,
        n_features: int = 40,
        n_classes: int = 3,
        separation: float = 1.0,
        n_blocks: int = 5,
        rho: float = 0.5,
    ) -> None:
        self.n_features, self.n_classes, self.rho = n_features, n_classes, rho
        self.means = np.random.default_rng(1234).normal(0.0, separation, (n_classes, n_features))
        self.block = np.arange(n_features) % n_blocks
        self.n_blocks = n_blocks

    def sample(self, y: np.ndarray, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        factors = rng.normal(size=(len(y), self.n_blocks))[:, self.block]
        noise = rng.normal(size=(len(y), self.n_features))
        return self.means[y] + np.sqrt(self.rho) * factors + np.sqrt(1.0 - self.rho) * noise


class ToyFactorModel:
    """C classes in many dimensions with low-rank structure: x = μ_y + W f + ε, f ~ N(0, I_k), ε ~ N(0, I)."""

    def __init__(self, n_features: int = 1000, n_classes: int = 4, n_factors: int = 10,
                 separation: float = 0.6) -> None:
        rng = np.random.default_rng(2468)
        self.n_features, self.n_classes = n_features, n_classes
        self.means = rng.normal(0.0, separation, (n_classes, n_features))
        self.loadings = rng.normal(0.0, 1.0, (n_features, n_factors)) * rng.uniform(0.3, 1.5, n_factors)

    def sample(self, y: np.ndarray, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        factors = rng.normal(size=(len(y), self.loadings.shape[1]))
        return self.means[y] + factors @ self.loadings.T + rng.normal(size=(len(y), self.n_features))


class ToyGenotypes:
    """Populations with their own allele frequencies; LD from a latent Gaussian correlated within
    blocks of consecutive SNPs, thresholded per haplotype; dosage = sum of two haplotypes."""

    def __init__(self, n_snps: int = 60, n_classes: int = 3, block: int = 10, rho: float = 0.8) -> None:
        rng = np.random.default_rng(4321)
        base = rng.uniform(0.1, 0.9, n_snps)
        self.freqs = np.clip(base + rng.normal(0.0, 0.08, (n_classes, n_snps)), 0.05, 0.95)
        self.n_features, self.n_classes = n_snps, n_classes
        self.block_of = np.arange(n_snps) // block
        self.rho = rho

    def sample(self, y: np.ndarray, seed: int) -> np.ndarray:
        from scipy.stats import norm

        rng = np.random.default_rng(seed)
        thresholds = norm.ppf(self.freqs)[y]
        dosage = np.zeros((len(y), self.n_features), dtype=np.int8)
        for _ in range(2):
            shared = rng.normal(size=(len(y), self.block_of.max() + 1))[:, self.block_of]
            latent = np.sqrt(self.rho) * shared + np.sqrt(1.0 - self.rho) * rng.normal(
                size=(len(y), self.n_features)
            )
            dosage += (latent < thresholds).astype(np.int8)
        return dosage


def balanced_labels(n: int, n_classes: int) -> np.ndarray:
    """Labels 0..C-1 repeated in turn (equal class counts when C divides n)."""
    return np.arange(n) % n_classes


def toy_split(
    dist: ToyExpression | ToyFactorModel | ToyGenotypes,
    n_train: int,
    n_holdout: int,
    n_test: int,
    seed: int = 0,
    modality: str = "expression",
    feature_names: bool = False,
) -> SplitData:
    """Train/holdout/test drawn independently from ``dist`` with balanced labels."""
    C = dist.n_classes
    parts = []
    for k, n in enumerate((n_train, n_holdout, n_test)):
        y = balanced_labels(n, C)
        parts += [dist.sample(y, seed=1000 * seed + k), y]
    names = tuple(f"F{j}" for j in range(dist.n_features)) if feature_names else None
    return SplitData(
        *parts,
        modality=modality,
        class_names=tuple(f"c{c}" for c in range(C)),
        seed=seed,
        feature_names=names,
    )
