"""Sanity baselines every leaderboard carries: per-class Gaussian, independent marginals, uniform noise floor,
copy of train."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from benchmark.dataset import DatasetMeta
from benchmark.registry import register_generator
from generators.base import Generator, finish_output, rows_by_class

ALL_MODALITIES = frozenset({"expression", "counts", "genotype"})


class PerClassGenerator(Generator):
    """Fits one model per class and samples each requested class from its own model."""

    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> PerClassGenerator:
        self.meta = meta
        self.n_features = X.shape[1]
        self.models = {c: self.fit_class(np.asarray(X[rows], dtype=np.float64)) for c, rows in rows_by_class(y).items()}
        return self

    def sample(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        out = np.empty((len(y), self.n_features), dtype=np.float64)
        for c, rows in rows_by_class(y).items():
            if c not in self.models:
                raise ValueError(f"{self.name}: label {c} was not in the training data")
            out[rows] = self.sample_class(self.models[c], len(rows))
        return finish_output(out, self.meta.modality)

    def fit_class(self, X: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def sample_class(self, model: dict[str, np.ndarray], n: int) -> np.ndarray:
        raise NotImplementedError

    def n_params(self) -> int:
        return int(sum(v.size for model in self.models.values() for v in model.values()))


@register_generator
class GaussianGenerator(PerClassGenerator):
    """Per-class multivariate normal; Ledoit-Wolf shrinkage when n_c <= p, never a p x p matrix."""

    name = "gaussian"
    modalities = ALL_MODALITIES
    budgets: ClassVar[dict] = {b: {"shrinkage": "auto", "extra_noise": 0.0} for b in ("smoke", "default", "paper")}

    def fit_class(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Draws are x = mean + z1 @ factor + noise * z2, so the covariance is factorᵀ factor + noise² I.

        The factor is built from the centred class rows themselves (unique, no decomposition): the
        Ledoit-Wolf covariance (1 - δ) S + δ μ I with S = XᵀX / n, or the sample covariance XᵀX / (n - 1).
        ``extra_noise`` scales the covariance by (1 + extra_noise) (the CAMDA variant).
        """
        n, p = X.shape
        mean = X.mean(axis=0)
        if n < 2:
            return {"mean": mean, "factor": np.zeros((0, p)), "noise": np.zeros(())}
        centred = X - mean
        scale = 1.0 + float(self.hparams["extra_noise"])
        if self.shrinks(n, p):
            delta, mu = ledoit_wolf_shrinkage(centred)
            factor, noise = centred * np.sqrt((1.0 - delta) * scale / n), np.sqrt(delta * mu * scale)
        else:
            factor, noise = centred * np.sqrt(scale / (n - 1)), 0.0
        return {"mean": mean, "factor": factor, "noise": np.asarray(noise)}

    def shrinks(self, n: int, p: int) -> bool:
        """Whether a class of ``n`` rows and ``p`` features gets Ledoit-Wolf shrinkage."""
        shrinkage = self.hparams["shrinkage"]
        if shrinkage not in ("auto", True, False):
            raise ValueError(f"{self.name}: shrinkage must be 'auto', True or False, got {shrinkage!r}")
        return shrinkage is True or (shrinkage == "auto" and n <= p)

    def sample_class(self, model: dict[str, np.ndarray], n: int) -> np.ndarray:
        factor, noise = model["factor"], float(model["noise"])
        out = model["mean"] + self.rng.standard_normal((n, len(factor))) @ factor
        if noise > 0:
            out += noise * self.rng.standard_normal(out.shape)
        return out


def ledoit_wolf_shrinkage(centred: np.ndarray) -> tuple[float, float]:
    """Ledoit & Wolf (2004) shrinkage δ of S = XᵀX / n towards μ I, and μ = tr(S) / p, for centred rows X.

    With ‖A‖² = tr(AAᵀ) / p and x_k the rows: d² = ‖S - μI‖² = (‖S‖_F² - p μ²) / p and
    b̄² = Σ_k ‖x_k x_kᵀ - S‖² / n² = (Σ_k ‖x_k‖⁴ - n ‖S‖_F²) / (n² p); δ = min(b̄², d²) / d² (0 if d² = 0).
    ‖XᵀX‖_F = ‖XXᵀ‖_F, so the smaller of the two Gram matrices gives ‖S‖_F: O(min(n, p)² max(n, p)).
    """
    n, p = centred.shape
    gram = centred @ centred.T if n <= p else centred.T @ centred
    row_sq = np.einsum("ij,ij->i", centred, centred)
    mu = row_sq.sum() / (n * p)
    s_frob_sq = float(np.sum(gram**2)) / n**2
    d_sq = (s_frob_sq - p * mu**2) / p
    b_sq = (float(np.sum(row_sq**2)) - n * s_frob_sq) / (n**2 * p)
    delta = 0.0 if d_sq <= 0 else min(max(b_sq, 0.0), d_sq) / d_sq
    return delta, float(mu)


@register_generator
class MarginalsGenerator(PerClassGenerator):
    """Independent per-class, per-feature marginals; genotypes Binomial(2, p) per class and SNP."""

    name = "marginals"
    modalities = ALL_MODALITIES

    def fit_class(self, X: np.ndarray) -> dict[str, np.ndarray]:
        if self.meta.modality == "genotype":
            return {"allele_freq": X.mean(axis=0) / 2.0}
        return {"values": X}

    def sample_class(self, model: dict[str, np.ndarray], n: int) -> np.ndarray:
        if "allele_freq" in model:
            return self.rng.binomial(2, model["allele_freq"], size=(n, model["allele_freq"].size))
        values = model["values"]
        picks = self.rng.integers(0, len(values), size=(n, values.shape[1]))
        return np.take_along_axis(values, picks, axis=0)


@register_generator
class UniformGenerator(Generator):
    """Noise floor: each feature uniform between its train min and max (genotypes uniform on {0,1,2}); label-blind."""

    name = "uniform"
    modalities = ALL_MODALITIES
    conditional = False

    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> UniformGenerator:
        X = np.asarray(X, dtype=np.float64)
        self.low, self.high = X.min(axis=0), X.max(axis=0)
        self.modality = meta.modality
        return self

    def sample(self, y: np.ndarray) -> np.ndarray:
        shape = (len(y), self.low.size)
        if self.modality == "genotype":
            return finish_output(self.rng.integers(0, 3, size=shape), self.modality)
        return finish_output(self.rng.uniform(self.low, self.high, size=shape), self.modality)

    def n_params(self) -> int:
        return 0 if self.modality == "genotype" else 2 * self.low.size


@register_generator
class CopyTrainGenerator(Generator):
    """Privacy control: returns real training rows of the requested labels (a perfect memorizer)."""

    name = "copy-train"
    modalities = ALL_MODALITIES

    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> CopyTrainGenerator:
        self.X = np.array(X, copy=True)
        self.rows = rows_by_class(np.asarray(y))
        self.modality = meta.modality
        return self

    def sample(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        out = np.empty((len(y), self.X.shape[1]), dtype=self.X.dtype)
        for c, want in rows_by_class(y).items():
            if c not in self.rows:
                raise ValueError(f"{self.name}: label {c} was not in the training data")
            pool = self.rows[c]
            repeats = -(-len(want) // len(pool))  # without replacement while the pool lasts
            picks = np.concatenate([self.rng.permutation(pool) for _ in range(repeats)])[: len(want)]
            out[want] = self.X[picks]
        return finish_output(out, self.modality)
