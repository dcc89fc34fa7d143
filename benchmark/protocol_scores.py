"""Scores that only the biased and small-n protocols have: does synthetic data repair a real training set?

Gains (``*_gain_*``) are ranked; baselines on real rows alone and row counts are context.

Both add generated rows to the real training rows a protocol leaves, train a classifier on the
union (``std`` features: z-scores with the moments of all real rows) and score it on the whole real test split. The reference
adds real holdout rows instead of generated ones, computed once per protocol view.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.protocols import ProtocolView
from metrics.space import derive_seed

TAG_BIASED = 71
TAG_SMALL_N = 72


def protocol_reference_scores(view: ProtocolView, context: Any) -> dict[str, float]:
    """The protocol's scores with real holdout rows in place of generated ones."""
    holdout = view.parts["holdout"]
    return raw_protocol_scores(view, context, holdout.X, holdout.y)


def protocol_scores(view: ProtocolView, context: Any, synthetic: np.ndarray, labels: np.ndarray,
                    reference: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Record entries (value, reference, direction, family) for the protocol's scores."""
    values = raw_protocol_scores(view, context, synthetic, labels)
    return {
        name: {"value": value, "reference": reference.get(name),
               "direction": "higher" if "_gain_" in name else "info", "target": None, "family": "augmentation"}
        for name, value in values.items()
    }


def raw_protocol_scores(view: ProtocolView, context: Any, extra_X: np.ndarray,
                        extra_y: np.ndarray) -> dict[str, float]:
    if view.info.get("name") == "biased":
        return biased_scores(view, context, extra_X, extra_y)
    if view.info.get("name") == "small-n":
        from metrics.augmentation import augmentation_gain

        train, test = view.parts["train"], view.parts["test"]
        scores = augmentation_gain(
            train.X, train.y, extra_X, extra_y, test.X, test.y, n_extra=tuple(view.info["n_fake"]),
            models=("lr", "mlp"), n_classes=len(view.class_names),
            seed=derive_seed(context.seed, TAG_SMALL_N), scaler_X=context.to_std,
        )
        # keep the N-real-rows baseline (@0), the gains and the rows used; the rest is baseline + gain
        return {name: value for name, value in scores.items()
                if name.endswith("@0") or "_gain_" in name or name.startswith("aug_n_extra")}
    return {}


def biased_scores(view: ProtocolView, context: Any, extra_X: np.ndarray, extra_y: np.ndarray) -> dict[str, float]:
    """Classifier on train′ alone (``bias_base_*``, context) and the gain from adding extra rows of the
    cut classes up to their unbiased train counts (``bias_gain_*``), both scored on the whole test split."""
    names = view.class_names
    biased = [names.index(label) for label in view.info["biased_labels"]]
    missing = {c: view.info["train_counts"][names[c]] - view.info["biased_train_counts"][names[c]] for c in biased}
    rng = np.random.default_rng(derive_seed(context.seed, TAG_BIASED))
    rows = [rng.choice(pool, size=min(len(pool), missing[c]), replace=False)
            for c in biased if (pool := np.flatnonzero(extra_y == c)).size]
    added = np.sort(np.concatenate(rows)) if rows else np.array([], dtype=int)
    train, test = view.parts["train"], view.parts["test"]
    X_test = context.to_std(test.X)
    base = fit_and_score(context.to_std(train.X), train.y, X_test, test.y, len(names), biased)
    augmented = fit_and_score(
        context.to_std(np.vstack([train.X, extra_X[added]])), np.concatenate([train.y, extra_y[added]]),
        X_test, test.y, len(names), biased,
    )
    return {**{f"bias_base_{k}": v for k, v in base.items()},
            **{f"bias_gain_{k}": augmented[k] - base[k] for k in base}}


def fit_and_score(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, n_classes: int,
                  biased: list[int]) -> dict[str, float]:
    """Logistic regression (metrics §4 settings): accuracy, balanced accuracy, macro-F1, and the mean
    recall of the cut classes."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score

    from metrics.utility import lr_predict

    predicted = lr_predict(X, y, X_test, n_classes)
    return {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(y_test, predicted)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro", labels=range(n_classes), zero_division=0)),
        "recall_cut_classes": float(np.mean(recall_score(y_test, predicted, labels=biased, average=None,
                                                         zero_division=0))),
    }
