"""Sanity baselines every leaderboard carries: per-class Gaussian, independent marginals, copy of train."""

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
    """Per-class multivariate normal; covariance made PSD, Ledoit-Wolf shrinkage when n_c <= p."""

    name = "gaussian"
    modalities = ALL_MODALITIES
    budgets: ClassVar[dict] = {b: {"shrinkage": "auto", "extra_noise": 0.0} for b in ("smoke", "default", "paper")}

    def fit_class(self, X: np.ndarray) -> dict[str, np.ndarray]:
        mean = X.mean(axis=0)
        if len(X) < 2:
            return {"mean": mean, "factor": np.zeros((X.shape[1], X.shape[1]))}
        shrink = self.hparams["shrinkage"]
        if shrink is True or (shrink == "auto" and len(X) <= X.shape[1]):
            from sklearn.covariance import ledoit_wolf

            cov = ledoit_wolf(X)[0]
        else:
            cov = np.cov(X, rowvar=False)
        cov = np.atleast_2d(cov) * (1.0 + float(self.hparams["extra_noise"]))
        return {"mean": mean, "factor": psd_factor(cov)}

    def sample_class(self, model: dict[str, np.ndarray], n: int) -> np.ndarray:
        z = self.rng.standard_normal((n, model["factor"].shape[1]))
        return model["mean"] + z @ model["factor"].T


def psd_factor(cov: np.ndarray) -> np.ndarray:
    """F with F Fᵀ = the PSD repair of ``cov``: symmetrise, clip eigenvalues at 1e-6·mean(λ) and 0."""
    cov = (cov + cov.T) / 2.0
    eigval, eigvec = np.linalg.eigh(cov)
    floor = max(1e-6 * float(np.mean(np.abs(eigval))), 0.0)
    eigval = np.clip(eigval, floor, None)
    return eigvec * np.sqrt(eigval)


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
