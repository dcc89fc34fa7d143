"""Data-augmentation gain (Lacan et al.; spec §4), for the small-n protocol. Not a registered metric.

    augmentation_gain(real_X, real_y, extra_X, extra_y, test_X, test_y, *,
                      n_extra=(0, 1000, 3000), models=("lr", "mlp"), n_classes, seed,
                      scaler_X=None) -> dict[str, float]

Trains each model on the real rows alone and on the real rows plus M extra rows (synthetic rows, or
real holdout rows for the reference), tests on ``test``, and returns flat scalar scores:

- ``aug_{model}_{metric}@{M}``: metric of the model trained on real ∪ extra_M (``@0`` = real only);
- ``aug_{model}_gain_{metric}@{M}`` for M > 0: m(real ∪ extra_M) − m(real);
- ``aug_n_extra@{M}``: the number of extra rows actually used (M capped at len(extra)).

``model`` ∈ {lr, mlp, rf} with the TSTR settings of ``metrics.utility``; ``metric`` ∈ {accuracy,
balanced_accuracy, macro_f1}. The extra rows are a stratified draw with the class proportions of
``real_y`` (largest remainder; a class short of rows in ``extra`` is topped up at random from the
others), seeded from ``seed`` and M. Features are standardised before training: ``scaler_X`` may be a
callable mapping raw rows to standardised rows (e.g. ``EvalContext.to_std``), an array whose column
means and sds are used (e.g. the train split), or None (statistics of ``real_X``). Constant columns
get sd 1. Same inputs and seed give identical outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .space import derive_seed, stratified_indices
from .utility import balanced_accuracy, classification_scores, train_predict_proba

AUG_METRICS = ("accuracy", "balanced_accuracy", "macro_f1")
TAG_AUG_ROWS, TAG_AUG_MODEL = 131, 132


def allocate(proportions_of: np.ndarray, n_classes: int, m: int) -> np.ndarray:
    """Per-class counts summing to m, proportional to the label counts of ``proportions_of``."""
    counts = np.bincount(proportions_of, minlength=n_classes).astype(np.float64)
    quota = counts * m / counts.sum()
    base = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - base), kind="stable")
    base[order[: m - int(base.sum())]] += 1
    return base


def _scaler(real_X: np.ndarray, scaler_X: Any) -> Callable[[np.ndarray], np.ndarray]:
    if callable(scaler_X):
        return scaler_X
    ref = np.asarray(real_X if scaler_X is None else scaler_X, dtype=np.float64)
    mean, sd = ref.mean(axis=0), ref.std(axis=0)
    sd = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mean)), sd, 1.0)
    return lambda X: (np.asarray(X, dtype=np.float64) - mean) / sd


def augmentation_gain(
    real_X: np.ndarray,
    real_y: np.ndarray,
    extra_X: np.ndarray,
    extra_y: np.ndarray,
    test_X: np.ndarray,
    test_y: np.ndarray,
    *,
    n_extra: Sequence[int] = (0, 1000, 3000),
    models: Sequence[str] = ("lr", "mlp"),
    n_classes: int,
    seed: int,
    scaler_X: Any = None,
) -> dict[str, float]:
    """Scores of classifiers trained on real ∪ M extra rows, and their gains over real alone (see module doc)."""
    real_y, extra_y, test_y = (np.asarray(v, dtype=np.int64) for v in (real_y, extra_y, test_y))
    if len(real_y) == 0 or len(test_y) == 0:
        raise ValueError("augmentation gain needs real training rows and test rows")
    scale = _scaler(real_X, scaler_X)
    Zr, Ze, Zt = scale(real_X), scale(extra_X), scale(test_X)
    sizes = sorted({0, *(int(m) for m in n_extra)})
    if sizes[0] < 0:
        raise ValueError(f"n_extra must be >= 0, got {list(n_extra)}")
    out: dict[str, float] = {}
    for m in sizes:
        used = min(m, len(extra_y))
        rows = np.zeros(0, dtype=np.int64)
        if used:
            rows = stratified_indices(
                extra_y, allocate(real_y, n_classes, used), derive_seed(seed, TAG_AUG_ROWS * 100_003 + m)
            )
        X = np.vstack([Zr, Ze[rows]]) if used else Zr
        y = np.r_[real_y, extra_y[rows]] if used else real_y
        out[f"aug_n_extra@{m}"] = float(used)
        for kind in models:
            proba = train_predict_proba(kind, X, y, Zt, n_classes, derive_seed(seed, TAG_AUG_MODEL))
            pred = proba.argmax(axis=1)
            acc, f1 = classification_scores(test_y, pred)
            values = (acc, balanced_accuracy(test_y, pred), f1)
            for metric, value in zip(AUG_METRICS, values, strict=True):
                out[f"aug_{kind}_{metric}@{m}"] = value
                if m > 0:
                    out[f"aug_{kind}_gain_{metric}@{m}"] = value - out[f"aug_{kind}_{metric}@0"]
    return out
