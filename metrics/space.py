"""Evaluation context: real-data caches (scaler, PCA, k-NN radii, subsamples) and blocked distances.

Only numpy is imported at module level; scipy and scikit-learn are imported where they are used.

Spaces (spec §0): ``std`` = z-scores with train mean/sd, train-constant features dropped; ``pca50`` =
PCA of ``std`` fit on train (not whitened); ``pcag`` = PCA of Patterson-scaled dosages fit on train.
The k-NN metrics, Fréchet distance and MMD run in the context's ``embedding`` space: ``pca50`` for
expression/counts and ``pcag`` for genotypes. Privacy distances are Euclidean in ``std`` for
continuous data and L1 on raw dosages for genotypes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import ALL_MODALITIES, MetricSpec, NotApplicable, metrics_for

N_MAX = 5000
K_MAX = 10
N_PCS = 50
PRIVACY_PCA_ROWS = 6000
BLOCK_ELEMENTS = 1 << 22  # ~32 MB of float64 per distance block
_SNAP = 1e-12  # squared distances below this fraction of |a|^2 + max|b|^2 are rounding noise: set to 0

# Seed-sequence tags: one independent random stream per purpose.
TAG_EVAL_ROWS, TAG_TEST_ROWS, TAG_MEMBERS, TAG_MMD, TAG_CV, TAG_PCA, TAG_PROJECTION = range(1, 8)


def derive_seed(seed: int, tag: int) -> int:
    """A 32-bit seed for ``tag`` derived from the split's metric seed."""
    return int(np.random.SeedSequence([int(seed), int(tag)]).generate_state(1)[0])


def single_thread_blas() -> AbstractContextManager[Any]:
    """Limit BLAS to one thread: lbfgs logistic regression (matrix-vector work) runs several times
    faster that way than with threads fighting over two cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


# ----------------------------------------------------------------------------------------------
# Blocked distances


GPU_MIN_WORK = 1 << 27  # multiply-adds in one distance block above which a CUDA device is used
_CUDA: list[Any] = []  # [torch module or None], decided once


def _cuda_torch() -> Any:
    """torch if a CUDA device is usable, else None. Decided once per process; torch is imported only
    when it is installed and an NVIDIA or ROCm device node exists, so CPU-only runs never load it."""
    if not _CUDA:
        import importlib.util
        import os

        torch = None
        nodes = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/proc/driver/nvidia")
        if importlib.util.find_spec("torch") is not None and any(os.path.exists(n) for n in nodes):
            import torch as _torch

            torch = _torch if _torch.cuda.is_available() else None
        _CUDA.append(torch)
    return _CUDA[0]


class Points:
    """Rows prepared for blocked distances: Euclidean on floats, or L1 on 0/1/2 dosages.

    L1 on dosages uses the threshold code u1 = [g >= 1], u2 = [g >= 2]: |g - h| = sum of |u - v| over
    both thresholds, and |u - v| = u + v - 2uv for binary values, so distances come from one exact
    integer matrix product.
    """

    def __init__(self, X: np.ndarray, metric: str = "euclidean") -> None:
        if metric == "euclidean":
            self.X = np.ascontiguousarray(X, dtype=np.float64)
        elif metric == "l1":
            g = np.asarray(X)
            self.X = np.ascontiguousarray(np.concatenate([g >= 1, g >= 2], axis=1), dtype=np.float32)
        else:
            raise ValueError(f"unknown metric {metric!r}")
        self.metric = metric
        self.sq = np.einsum("ij,ij->i", self.X, self.X, dtype=np.float64)

    def __len__(self) -> int:
        return self.X.shape[0]

    def block_rows(self, other: Points) -> int:
        return max(1, BLOCK_ELEMENTS // max(len(other), 1))

    def distances(self, other: Points, start: int, stop: int, squared: bool = False) -> np.ndarray:
        """Distances from rows ``start:stop`` of self to every row of ``other`` (float64, in place ops)."""
        d = self._product(other, start, stop)
        d *= -2.0
        d += self.sq[start:stop, None]
        d += other.sq[None, :]
        if self.metric == "l1":
            return d
        d[d < _SNAP * (self.sq[start:stop, None] + other.sq.max())] = 0.0
        return d if squared else np.sqrt(d, out=d)

    def _product(self, other: Points, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of self times other.T in float64; on a CUDA device for large blocks."""
        torch = _cuda_torch() if (stop - start) * len(other) * self.X.shape[1] >= GPU_MIN_WORK else None
        if torch is None:
            return (self.X[start:stop] @ other.X.T).astype(np.float64, copy=False)
        dev = getattr(other, "_cuda_X", None)
        if dev is None:
            dev = other._cuda_X = torch.from_numpy(other.X).to("cuda", torch.float64)
        block = torch.from_numpy(self.X[start:stop]).to("cuda", torch.float64)
        return (block @ dev.T).cpu().numpy()

    def blocks(self, other: Points, squared: bool = False) -> Iterator[tuple[int, int, np.ndarray]]:
        step = self.block_rows(other)
        for start in range(0, len(self), step):
            stop = min(start + step, len(self))
            yield start, stop, self.distances(other, start, stop, squared)

    def exact_pair_distances(self, other: Points, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Distances of the row pairs (i[t], j[t]) computed directly (no expansion rounding)."""
        out = np.empty(len(i))
        step = max(1, BLOCK_ELEMENTS // max(self.X.shape[1], 1))
        for s in range(0, len(i), step):
            diff = self.X[i[s : s + step]] - other.X[j[s : s + step]]
            out[s : s + step] = (
                np.abs(diff).sum(axis=1)
                if self.metric == "l1"
                else np.sqrt(np.einsum("ij,ij->i", diff, diff))
            )
        return out


def knn_self(P: Points, k: int) -> np.ndarray:
    """(n, k) ascending distances from each row to its k nearest other rows (self excluded by index)."""
    n = len(P)
    if n - 1 < k:
        raise ValueError(f"k-NN with k={k} needs at least {k + 1} rows, got {n}")
    out = np.empty((n, k))
    for start, stop, D in P.blocks(P):
        D[np.arange(stop - start), np.arange(start, stop)] = np.inf
        part = np.partition(D, k - 1, axis=1)[:, :k]
        out[start:stop] = np.sort(part, axis=1)
    return out


def cross_min(A: Points, B: Points) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour distances A->B (per row of A) and B->A (per row of B), recomputed exactly."""
    row_arg = np.zeros(len(A), dtype=np.int64)
    nearest_in_A = ColumnArgmin(len(B))
    for start, stop, D in A.blocks(B):
        row_arg[start:stop] = D.argmin(axis=1)
        nearest_in_A.update(D, start)
    rows = np.arange(len(A))
    return A.exact_pair_distances(B, rows, row_arg), nearest_in_A.distances(A, B)


class ColumnArgmin:
    """For every row of B, the nearest row of A so far, updated one distance block (rows of A) at a time."""

    def __init__(self, n_columns: int) -> None:
        self.min = np.full(n_columns, np.inf)
        self.arg = np.zeros(n_columns, dtype=np.int64)

    def update(self, D: np.ndarray, start: int) -> None:
        """Take a block of distances from rows ``start:start + len(D)`` of A to every row of B."""
        c = D.argmin(axis=0)
        cmin = D[c, np.arange(D.shape[1])]
        better = cmin < self.min
        self.min[better] = cmin[better]
        self.arg[better] = c[better] + start

    def distances(self, A: Points, B: Points, columns: np.ndarray | None = None) -> np.ndarray:
        """Exact distances from each row of B (or B's ``columns``) to its nearest row of A."""
        cols = np.arange(len(self.arg)) if columns is None else columns
        return A.exact_pair_distances(B, self.arg, cols)


# ----------------------------------------------------------------------------------------------
# Subsampling


def proportional_counts(y: np.ndarray, n_classes: int, n: int) -> np.ndarray:
    """Per-class counts summing to n, proportional to the label counts of y (largest remainder)."""
    counts = np.bincount(y, minlength=n_classes)
    if n >= len(y):
        return counts
    quota = counts * n / len(y)
    base = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - base), kind="stable")
    base[order[: n - base.sum()]] += 1
    return base


def stratified_indices(y: np.ndarray, counts: np.ndarray, seed: int) -> np.ndarray:
    """Sorted row indices with ``counts[c]`` rows of class c where available; shortfalls filled at random."""
    rng = np.random.default_rng(seed)
    total = min(int(counts.sum()), len(y))
    picked = [rng.permutation(np.flatnonzero(y == c))[: int(m)] for c, m in enumerate(counts)]
    chosen = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    if len(chosen) < total:
        rest = np.setdiff1d(np.arange(len(y)), chosen)
        chosen = np.concatenate([chosen, rng.permutation(rest)[: total - len(chosen)]])
    return np.sort(chosen)


# ----------------------------------------------------------------------------------------------
# Inputs


@dataclass(eq=False)
class SplitData:
    """Real data of one split; y are int class codes 0..C-1, genotype X are 0/1/2 dosages."""

    train_X: np.ndarray
    train_y: np.ndarray
    holdout_X: np.ndarray
    holdout_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray
    modality: str
    class_names: tuple[str, ...]
    seed: int = 0
    positions: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.modality not in ALL_MODALITIES:
            raise ValueError(f"modality must be one of {sorted(ALL_MODALITIES)}, got {self.modality!r}")
        n_features = np.asarray(self.train_X).shape[1]
        for part in ("train", "holdout", "test"):
            X, y = np.asarray(getattr(self, f"{part}_X")), np.asarray(getattr(self, f"{part}_y"))
            if X.ndim != 2 or X.shape[1] != n_features:
                raise ValueError(f"{part}_X has shape {X.shape}, expected (rows, {n_features})")
            if y.shape != (X.shape[0],):
                raise ValueError(f"{part}_y has shape {y.shape}, expected ({X.shape[0]},)")
            if len(y) and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise ValueError(f"{part}_y has codes outside 0..{len(self.class_names) - 1}")
            setattr(self, f"{part}_y", y.astype(np.int64))
        if self.feature_names is not None and len(self.feature_names) != n_features:
            raise ValueError(f"{len(self.feature_names)} feature names for {n_features} features")

    @property
    def n_features(self) -> int:
        return int(np.asarray(self.train_X).shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass
class _Cache:
    """Lazily computed shared objects, keyed by name; metric modules may add their own keys."""

    store: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.store:
            self.store[key] = make()
        return self.store[key]


class Comparison:
    """One scored set (synthetic S, or the real holdout for the reference) against the real data.

    Roles (spec §0, §8.1): ``R`` = test subsample, ``members`` = T_n, ``nonmembers`` = holdout for
    generator output and test for the reference row, ``S`` = the scored set (n rows), ``released`` =
    the generator's whole output (the real holdout itself for the reference row).
    """

    def __init__(
        self, ctx: EvalContext, S_X: np.ndarray, S_y: np.ndarray, nonmembers: str, released_X: np.ndarray
    ) -> None:
        self.ctx = ctx
        self.S_X = S_X
        self.S_y = S_y
        self.nonmembers = nonmembers
        self.released_X = released_X  # everything the generator output (the attacker's view)
        self.cache = _Cache()

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        return self.cache.get(key, make)

    def _std_if_used(self) -> np.ndarray | None:
        return None if self.ctx.modality == "genotype" else self.S_std

    @property
    def S_std(self) -> np.ndarray:
        return self.get("S_std", lambda: self.ctx.to_std(self.S_X))

    @property
    def S_emb(self) -> Points:
        return self.get("S_emb", lambda: Points(self.ctx.to_embedding(self.S_X, self._std_if_used())))

    @property
    def S_knn(self) -> np.ndarray:
        return self.get("S_knn", lambda: knn_self(self.S_emb, min(K_MAX, len(self.S_y) - 1)))

    @property
    def S_priv(self) -> Points:
        return self.get("S_priv", lambda: self.ctx.privacy_points(self.S_X))

    @property
    def released_priv(self) -> Points:
        return self.get("released_priv", lambda: self.ctx.privacy_points(self.released_X))

    @property
    def NM_priv(self) -> Points:
        return self.ctx.H_priv if self.nonmembers == "holdout" else self.ctx.R_priv


class EvalContext:
    """Everything that depends only on the real data, computed once and shared by all metrics."""

    def __init__(self, split: SplitData, metrics: Sequence[str] | None = None, n_max: int = N_MAX,
                 knn_k: tuple[int, int] = (3, 5)) -> None:
        self.split = split
        self.modality = split.modality
        self.seed = int(split.seed)
        if not all(1 <= k <= K_MAX for k in knn_k) or len(knn_k) != 2:
            raise ValueError(f"knn_k must be two neighbour counts in 1..{K_MAX} (precision/recall, "
                             f"density/coverage), got {knn_k}")
        self.knn_k = (int(knn_k[0]), int(knn_k[1]))
        available = metrics_for(self.modality)
        if metrics is not None:
            names = {s.name for s in available}
            unknown = sorted(set(metrics) - names)
            if unknown:
                raise ValueError(f"unknown metric(s) for modality {self.modality!r}: {unknown}")
            available = [s for s in available if s.name in set(metrics)]
        self.specs: list[MetricSpec] = available
        self.cache = _Cache()
        self._reference: dict[str, Any] | None = None

        C = split.n_classes
        self.n = min(len(split.holdout_y), len(split.test_y), n_max)
        if self.n < K_MAX + 1:
            raise ValueError(f"holdout and test need at least {K_MAX + 1} rows each, got n={self.n}")
        self.h_idx = stratified_indices(
            split.holdout_y,
            proportional_counts(split.holdout_y, C, self.n),
            derive_seed(self.seed, TAG_EVAL_ROWS),
        )
        self.eval_counts = np.bincount(split.holdout_y[self.h_idx], minlength=C)
        self.r_idx = stratified_indices(
            split.test_y, proportional_counts(split.test_y, C, self.n), derive_seed(self.seed, TAG_TEST_ROWS)
        )
        self.tn_idx = stratified_indices(split.train_y, self.eval_counts, derive_seed(self.seed, TAG_MEMBERS))

    # ---- real sets ------------------------------------------------------------------------------
    @property
    def H_X(self) -> np.ndarray:
        return np.asarray(self.split.holdout_X)[self.h_idx]

    @property
    def H_y(self) -> np.ndarray:
        return self.split.holdout_y[self.h_idx]

    @property
    def R_X(self) -> np.ndarray:
        return np.asarray(self.split.test_X)[self.r_idx]

    @property
    def R_y(self) -> np.ndarray:
        return self.split.test_y[self.r_idx]

    @property
    def T_std(self) -> np.ndarray:
        return self.cache.get("T_std", lambda: self.to_std(self.split.train_X))

    @property
    def R_std(self) -> np.ndarray:
        return self.cache.get("R_std", lambda: self.to_std(self.R_X))

    def _R_std_if_used(self) -> np.ndarray | None:
        return None if self.modality == "genotype" else self.R_std

    @property
    def R_emb(self) -> Points:
        return self.cache.get("R_emb", lambda: Points(self.to_embedding(self.R_X, self._R_std_if_used())))

    @property
    def R_knn(self) -> np.ndarray:
        return self.cache.get("R_knn", lambda: knn_self(self.R_emb, K_MAX))

    @property
    def Tn_priv(self) -> Points:
        return self.cache.get(
            "Tn_priv", lambda: self.privacy_points(np.asarray(self.split.train_X)[self.tn_idx])
        )

    @property
    def T_priv(self) -> Points:
        return self.cache.get("T_priv", lambda: self.privacy_points(self.split.train_X))

    @property
    def H_priv(self) -> Points:
        return self.cache.get("H_priv", lambda: self.privacy_points(self.H_X))

    @property
    def R_priv(self) -> Points:
        return self.cache.get("R_priv", lambda: self.privacy_points(self.R_X))

    # ---- spaces -------------------------------------------------------------------------------
    def _std_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            T = np.asarray(self.split.train_X, dtype=np.float64)
            mean, sd = T.mean(axis=0), T.std(axis=0)
            keep = np.flatnonzero(sd > 1e-12 * np.maximum(1.0, np.abs(mean)))
            if len(keep) == 0:
                raise ValueError("every feature is constant in the training split")
            return keep, mean[keep], sd[keep]

        return self.cache.get("std_params", make)

    def to_std(self, X: np.ndarray) -> np.ndarray:
        """``std`` space: z-scores with train mean/sd, train-constant features dropped."""
        keep, mean, sd = self._std_params()
        return (np.asarray(X)[:, keep].astype(np.float64) - mean) / sd

    def _pca(self, name: str, T: Callable[[], np.ndarray]) -> Any:
        def make() -> Any:
            from sklearn.decomposition import PCA

            data = T()
            k = min(N_PCS, data.shape[0] - 1, data.shape[1])
            return PCA(n_components=k, random_state=derive_seed(self.seed, TAG_PCA)).fit(data)

        return self.cache.get(name, make)

    def to_pca50(self, X: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        """``pca50`` space: PCA of ``std`` fit on train (``Z``: X already in ``std``, if at hand)."""
        return self._pca("pca50", lambda: self.T_std).transform(self.to_std(X) if Z is None else Z)

    def _patterson_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            p = np.asarray(self.split.train_X, dtype=np.float64).mean(axis=0) / 2.0
            keep = np.flatnonzero((p > 0) & (p < 1))
            if len(keep) == 0:
                raise ValueError("every SNP is monomorphic in the training split")
            return keep, 2.0 * p[keep], np.sqrt(2.0 * p[keep] * (1.0 - p[keep]))

        return self.cache.get("patterson", make)

    def to_pcag(self, X: np.ndarray) -> np.ndarray:
        """``pcag`` space: PCA of Patterson-scaled dosages (train allele frequencies) fit on train."""
        keep, center, scale = self._patterson_params()

        def scaled(G: np.ndarray) -> np.ndarray:
            return (np.asarray(G)[:, keep].astype(np.float64) - center) / scale

        return self._pca("pcag", lambda: scaled(self.split.train_X)).transform(scaled(X))

    def to_embedding(self, X: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        """Space of the k-NN metrics, FD and MMD: ``pcag`` for genotypes, ``pca50`` otherwise."""
        return self.to_pcag(X) if self.modality == "genotype" else self.to_pca50(X, Z)

    def _privacy_space(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
        """Standardiser and PCA fitted on *all* real rows (train, holdout, test) for privacy distances.

        Fitting on train alone makes train rows special: their z-scores and principal-component
        scores are in-sample (bounded, inflated along train-specific directions) while holdout
        rows are not, so every set looks nearer to or farther from train for reasons unrelated to
        memorisation. Fitting on the pooled real rows treats members and non-members alike.
        Moments are accumulated part by part; the PCA sees at most ``PRIVACY_PCA_ROWS`` rows.
        """

        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
            from sklearn.decomposition import PCA

            parts = [np.asarray(X) for X in (self.split.train_X, self.split.holdout_X, self.split.test_X)]
            rows = sum(len(X) for X in parts)
            total = sum(X.sum(axis=0, dtype=np.float64) for X in parts)
            mean = total / rows
            sd = np.sqrt(sum(((X - mean) ** 2).sum(axis=0) for X in parts) / rows)
            keep = np.flatnonzero(sd > 1e-12 * np.maximum(1.0, np.abs(mean)))
            # PCA on at most PRIVACY_PCA_ROWS pooled rows, so 20,000 features stay within memory
            offsets = np.cumsum([0] + [len(X) for X in parts])
            rng = np.random.default_rng(derive_seed(self.seed, TAG_PCA))
            picked = np.sort(rng.choice(rows, size=min(rows, PRIVACY_PCA_ROWS), replace=False))
            Z = np.vstack([
                (parts[i][picked[(picked >= offsets[i]) & (picked < offsets[i + 1])] - offsets[i]][:, keep]
                 - mean[keep]) / sd[keep]
                for i in range(len(parts))
            ])
            k = min(N_PCS, Z.shape[0] - 1, Z.shape[1])
            pca = PCA(n_components=k, random_state=derive_seed(self.seed, TAG_PCA)).fit(Z)
            return keep, mean[keep], sd[keep], pca

        return self.cache.get("privacy_space", make)

    def privacy_points(self, X: np.ndarray) -> Points:
        """Privacy distance space: L1 on dosages (genotype), else Euclidean in PCA-50 of standardised
        features with both fitted on all real rows (``_privacy_space``)."""
        if self.modality == "genotype":
            return Points(np.asarray(X, dtype=np.int8), metric="l1")
        keep, mean, sd, pca = self._privacy_space()
        return Points(pca.transform((np.asarray(X)[:, keep].astype(np.float64) - mean) / sd))

    def project_2d(self, X: np.ndarray) -> np.ndarray:
        """(n, 2) coordinates on the first two train-fit principal components of ``std`` features."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.split.n_features:
            raise ValueError(f"expected shape (rows, {self.split.n_features}), got {X.shape}")
        return self.to_pca50(X)[:, :2]

    # ---- scoring ------------------------------------------------------------------------------
    def validate(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Check synthetic output; raise ValueError naming the first bad row/column."""
        X, y = np.asarray(X), np.asarray(y)
        G, C = self.split.n_features, self.split.n_classes
        if X.ndim != 2:
            raise ValueError(f"synthetic data must be 2-D (rows x features), got shape {X.shape}")
        if X.shape[1] != G:
            raise ValueError(f"synthetic data has {X.shape[1]} features, expected {G}")
        if X.shape[0] < K_MAX + 1:
            raise ValueError(f"synthetic data has {X.shape[0]} rows, need at least {K_MAX + 1}")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"synthetic data must be numeric, got dtype {X.dtype}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"synthetic labels have shape {y.shape}, expected ({X.shape[0]},)")
        if y.dtype.kind not in "biu" and not (
            y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
        ):
            raise ValueError(f"synthetic labels must be integer class codes, got dtype {y.dtype}")
        bad_y = (y < 0) | (y >= C)
        if bad_y.any():
            i = int(np.argmax(bad_y))
            raise ValueError(
                f"synthetic label at row {i} is {y[i].item()!r}, expected a class code in 0..{C - 1}"
            )

        def where(mask: np.ndarray) -> tuple[int, int, str]:
            i, j = np.unravel_index(int(np.argmax(mask)), mask.shape)
            names = self.split.feature_names
            return int(i), int(j), f" ({names[j]!r})" if names is not None else ""

        if X.dtype.kind == "f":
            bad = ~np.isfinite(X)
            if bad.any():
                i, j, name = where(bad)
                what = "NaN" if np.isnan(X[i, j]) else "infinite"
                raise ValueError(f"synthetic row {i}, feature {j}{name} is {what}")
        if self.modality == "genotype":
            bad = (X != 0) & (X != 1) & (X != 2)
            if bad.any():
                i, j, name = where(bad)
                raise ValueError(
                    f"synthetic row {i}, feature {j}{name} has value {X[i, j].item()!r}; genotype dosages must be 0, 1 or 2"
                )
            X = X.astype(np.int8)
        return X, y.astype(np.int64)

    def _score(
        self, comp: Comparison, progress: Callable[[str, int, int], None] | None = None
    ) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
        """(scores, failures, not applicable) of every metric; ``progress(name, done, total)`` before each."""
        scores: dict[str, float] = {}
        failures: dict[str, str] = {}
        not_applicable: dict[str, str] = {}
        for done, spec in enumerate(self.specs):
            if progress is not None:
                progress(spec.name, done, len(self.specs))
            try:
                out = spec.fn(comp)
                if set(out) != set(spec.scores):
                    raise RuntimeError(f"returned scores {sorted(out)}, declared {sorted(spec.scores)}")
                values = {k: float(v) for k, v in out.items()}
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    raise FloatingPointError(f"non-finite score(s) {bad}")
            except NotApplicable as exc:
                not_applicable[spec.name] = str(exc)
                continue
            except Exception as exc:  # a failing metric must not stop the others
                failures[spec.name] = f"{type(exc).__name__}: {exc}"
                continue
            scores.update(values)
        if progress is not None:
            progress("done", len(self.specs), len(self.specs))
        return scores, failures, not_applicable

    def reference(self, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
        """Real holdout scored as if synthetic (same code path); cached. ``progress`` as in ``_score``."""
        if self._reference is None:
            comp = Comparison(self, self.H_X, self.H_y, nonmembers="test", released_X=self.H_X)
            scores, failures, not_applicable = self._score(comp, progress)
            self._reference = {"scores": scores, "failures": failures, "not_applicable": not_applicable}
        return self._reference

    def evaluate(self, synth_X: Any, synth_y: Any, reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """Score synthetic output (validated, then subsampled to n rows with the holdout label counts)."""
        X, y = self.validate(synth_X, synth_y)
        idx = stratified_indices(y, self.eval_counts, derive_seed(self.seed, TAG_EVAL_ROWS))
        scores, failures, not_applicable = self._score(
            Comparison(self, X[idx], y[idx], nonmembers="holdout", released_X=X)
        )
        ref_scores = (reference if reference is not None else self.reference())["scores"]
        metrics: dict[str, dict[str, Any]] = {}
        for spec in self.specs:
            for name, direction in spec.scores.items():
                if name in scores:
                    metrics[name] = {
                        "value": scores[name],
                        "reference": ref_scores.get(name),
                        "direction": direction.kind,
                        "target": direction.target,
                        "family": spec.family,
                    }
        return {"metrics": metrics, "failures": failures, "not_applicable": not_applicable}
