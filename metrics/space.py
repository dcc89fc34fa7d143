"""Evaluation context: the real data's roles, their feature spaces and the caches metrics share.

Only numpy is imported at module level; scipy and scikit-learn are imported where they are used.

One feature space, ``std``, serves every metric that compares rows: z-scores of each feature with the
mean and standard deviation of *all real rows* (train, holdout and test; features constant there
dropped), genotype dosages included. Its Euclidean distances are those of the k-NN fidelity scores,
Fréchet distance, MMD and α/β (membership-blind: a real row is scored the same whether or not it was
in the train split, see ``docs/metrics.md``) and of the privacy scores on continuous data; genotype
privacy distances are L1 on the dosages. Metrics that need a few principal axes (population structure,
the classifier embedding) fit them on one half of the test subsample and compare the other half,
so every compared row is out of sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import ALL_MODALITIES, MetricSpec, NotApplicable, metrics_for
from .distances import Points, knn_self
from .pca import PCAFit, exact_pca

N_MAX = 5000
K_MAX = 10
PCA_POOL_ROWS = 3000  # real rows (drawn from all splits) behind the pooled PCAs of DOMIAS and the figures
MOMENT_BLOCK_ROWS = 4096

# Seed-sequence tags: one independent random stream per purpose.
TAG_EVAL_ROWS, TAG_TEST_ROWS, TAG_MEMBERS, TAG_MMD, TAG_CV, TAG_PCA, TAG_PROJECTION, TAG_HALVES = range(1, 9)
TAG_NONMEMBERS = 9


def derive_seed(seed: int, tag: int) -> int:
    """A 32-bit seed for ``tag`` derived from the split's metric seed."""
    return int(np.random.SeedSequence([int(seed), int(tag)]).generate_state(1)[0])


def single_thread_blas() -> AbstractContextManager[Any]:
    """Limit BLAS to one thread: lbfgs logistic regression (matrix-vector work) runs several times
    faster that way than with threads fighting over two cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


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
    generator output and test for the reference row (class-matched with T_n:
    ``EvalContext.nonmember_idx``), ``S`` = the scored set (n rows), ``released`` = the generator's
    whole output (the real holdout itself for the reference row).
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

    @property
    def S_std(self) -> np.ndarray:
        return self.get("S_std", lambda: self.ctx.to_std(self.S_X))

    @property
    def S_pts(self) -> Points:
        """The scored set in ``std`` for blocked Euclidean distances."""
        return self.get("S_pts", lambda: Points(self.S_std))

    @property
    def S_knn(self) -> np.ndarray:
        return self.get("S_knn", lambda: knn_self(self.S_pts, min(K_MAX, len(self.S_y) - 1)))

    @property
    def S_priv(self) -> Points:
        return self.S_pts if self.ctx.modality != "genotype" else self.get("S_priv", lambda: dosages(self.S_X))

    @property
    def NM_priv(self) -> Points:
        return self.ctx.nonmember_points(self.nonmembers)

    @property
    def NM_y(self) -> np.ndarray:
        return self.ctx.nonmembers_y(self.nonmembers)


def dosages(X: np.ndarray) -> Points:
    """Genotype rows as points for L1 distances on 0/1/2 dosages."""
    return Points(np.asarray(X, dtype=np.int8), metric="l1")


class EvalContext:
    """Everything that depends only on the real data, computed once and shared by all metrics."""

    def __init__(self, split: SplitData, metrics: Sequence[str] | None = None, n_max: int = N_MAX,
                 knn_k: tuple[int, int] = (3, 5), null_draws: int | None = None) -> None:
        self.split = split
        self.null_draws = null_draws  # re-splits behind the privacy nulls (None: the default; 0: none)
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
        # Privacy members (T_n) and non-members have the same class counts, so that no score reads a
        # class difference as membership: the evaluation counts, capped where a class has fewer train
        # or test rows (protocols that cut classes from train).
        self.member_counts = np.minimum.reduce([
            self.eval_counts, np.bincount(split.train_y, minlength=C), np.bincount(self.R_y, minlength=C)
        ])
        self.tn_idx = stratified_indices(split.train_y, self.member_counts, derive_seed(self.seed, TAG_MEMBERS))
        self.nonmember_idx = {  # rows of H (generator output) or R (the reference row) used as non-members
            "holdout": stratified_indices(self.H_y, self.member_counts, derive_seed(self.seed, TAG_NONMEMBERS)),
            "test": stratified_indices(self.R_y, self.member_counts, derive_seed(self.seed, TAG_NONMEMBERS)),
        }

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

    @property
    def R_pts(self) -> Points:
        return self.cache.get("R_pts", lambda: Points(self.R_std))

    @property
    def R_knn(self) -> np.ndarray:
        return self.cache.get("R_knn", lambda: knn_self(self.R_pts, K_MAX))

    @property
    def R_halves(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Two (fit, compare) index pairs into the test subsample: its stratified halves, each way round.

        Transforms fitted on data (principal axes, the classifier embedding) are fitted on one half and
        compare the other half with the scored set, so no compared row is in sample."""

        def make() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
            y = self.R_y
            a = stratified_indices(y, (np.bincount(y, minlength=self.split.n_classes) + 1) // 2,
                                   derive_seed(self.seed, TAG_HALVES))
            b = np.setdiff1d(np.arange(len(y)), a)
            return (a, b), (b, a)

        return self.cache.get("R_halves", make)

    def crossfit_pca(self, k: int) -> list[tuple[PCAFit, np.ndarray]]:
        """Exact PCA-k of ``std`` fitted on each half of the test subsample, with the other half's indices."""
        return self.cache.get(f"crossfit_pca_{k}", lambda: [
            (exact_pca(self.R_std[fit], k), compare) for fit, compare in self.R_halves
        ])

    @property
    def Tn_priv(self) -> Points:
        return self.cache.get(
            "Tn_priv", lambda: self.privacy_points(np.asarray(self.split.train_X)[self.tn_idx])
        )

    @property
    def T_priv(self) -> Points:
        if self.modality != "genotype":
            return self.cache.get("T_pts", lambda: Points(self.T_std))
        return self.cache.get("T_priv", lambda: dosages(self.split.train_X))

    def nonmembers_X(self, role: str) -> np.ndarray:
        """The privacy non-members: class-matched rows of the holdout (generator output) or test (reference)."""
        rows = self.H_X if role == "holdout" else self.R_X
        return rows[self.nonmember_idx[role]]

    def nonmembers_y(self, role: str) -> np.ndarray:
        return (self.H_y if role == "holdout" else self.R_y)[self.nonmember_idx[role]]

    def nonmember_points(self, role: str) -> Points:
        return self.cache.get(f"NM_priv_{role}", lambda: self.privacy_points(self.nonmembers_X(role)))

    # ---- spaces -------------------------------------------------------------------------------
    def _std_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kept features, mean and sd of all real rows (train, holdout, test), accumulated in row blocks."""

        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            parts = [np.asarray(X) for X in (self.split.train_X, self.split.holdout_X, self.split.test_X)]
            rows = sum(len(X) for X in parts)
            mean = sum(X.sum(axis=0, dtype=np.float64) for X in parts) / rows
            ss = np.zeros_like(mean)
            for X in parts:
                for s in range(0, len(X), MOMENT_BLOCK_ROWS):
                    block = X[s : s + MOMENT_BLOCK_ROWS].astype(np.float64) - mean
                    ss += np.einsum("ij,ij->j", block, block)
            sd = np.sqrt(ss / rows)
            keep = np.flatnonzero(sd > 1e-12 * np.maximum(1.0, np.abs(mean)))
            if len(keep) == 0:
                raise ValueError("every feature is constant in the real data")
            return keep, mean[keep], sd[keep]

        return self.cache.get("std_params", make)

    @property
    def match_epsilon(self) -> float:
        """ε of the identical-match test: 0 for dosages, 1e-6·√G for continuous (G = ``std`` features)."""
        return 0.0 if self.modality == "genotype" else 1e-6 * math.sqrt(len(self._std_params()[0]))

    def to_std(self, X: np.ndarray) -> np.ndarray:
        """``std`` space: z-scores with the mean/sd of all real rows; features constant there dropped."""
        keep, mean, sd = self._std_params()
        return (np.asarray(X)[:, keep].astype(np.float64) - mean) / sd

    def privacy_points(self, X: np.ndarray) -> Points:
        """Privacy distance space: L1 on dosages (genotype), else Euclidean in ``std``."""
        return dosages(X) if self.modality == "genotype" else Points(self.to_std(X))

    def pooled_pca(self, k: int) -> PCAFit:
        """Exact PCA-k of ``std`` fitted on up to ``PCA_POOL_ROWS`` rows drawn from all real splits."""

        def make() -> PCAFit:
            split = self.split
            parts = [np.asarray(X) for X in (split.train_X, split.holdout_X, split.test_X)]
            offsets = np.cumsum([0] + [len(X) for X in parts])
            rng = np.random.default_rng(derive_seed(self.seed, TAG_PCA))
            picked = np.sort(rng.choice(offsets[-1], size=min(offsets[-1], PCA_POOL_ROWS), replace=False))
            rows = np.vstack([parts[i][picked[(picked >= offsets[i]) & (picked < offsets[i + 1])] - offsets[i]]
                              for i in range(len(parts))])
            return exact_pca(self.to_std(rows), k)

        return self.cache.get(f"pooled_pca_{k}", make)

    def project_2d(self, X: np.ndarray) -> np.ndarray:
        """(n, 2) coordinates on the first two principal components of ``std`` (pooled real rows)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.split.n_features:
            raise ValueError(f"expected shape (rows, {self.split.n_features}), got {X.shape}")
        return self.pooled_pca(2).transform(self.to_std(X))

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
        """Real holdout scored as if synthetic (same code path), and the null of each privacy score
        (``metrics.privacy_null``); cached. ``progress`` as in ``_score``."""
        if self._reference is None:
            comp = Comparison(self, self.H_X, self.H_y, nonmembers="test", released_X=self.H_X)
            scores, failures, not_applicable = self._score(comp, progress)
            privacy = [name for spec in self.specs if spec.family == "privacy" for name in spec.scores]
            null: dict[str, Any] = {}
            if privacy and self.null_draws != 0:
                from .privacy_null import NULL_DRAWS, privacy_null

                def step(done: int, total: int) -> None:
                    if progress is not None and (done == total or done % 20 == 0):
                        progress(f"privacy null {done}/{total}", len(self.specs), len(self.specs))

                null = privacy_null(self, privacy, self.null_draws or NULL_DRAWS, progress=step)
            self._reference = {"scores": scores, "failures": failures, "not_applicable": not_applicable,
                               "null": null}
        return self._reference

    def evaluate(self, synth_X: Any, synth_y: Any, reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """Score synthetic output (validated, then subsampled to n rows with the holdout label counts)."""
        X, y = self.validate(synth_X, synth_y)
        idx = stratified_indices(y, self.eval_counts, derive_seed(self.seed, TAG_EVAL_ROWS))
        scores, failures, not_applicable = self._score(
            Comparison(self, X[idx], y[idx], nonmembers="holdout", released_X=X)
        )
        reference = reference if reference is not None else self.reference()
        ref_scores, null = reference["scores"], reference.get("null", {})
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
                    if name in null:
                        metrics[name]["null_mean"] = null[name]["mean"]
                        metrics[name]["null_sd"] = null[name]["sd"]
        return {"metrics": metrics, "failures": failures, "not_applicable": not_applicable}
