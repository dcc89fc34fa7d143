"""Utility: train-on-synthetic/test-on-real (TSTR) and train-on-real context (TRTR), spec §4."""

from __future__ import annotations

import numpy as np

from .base import HIGHER, INFO, register_metric
from .space import Comparison, single_thread_blas


def lr_predict(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, n_classes: int) -> np.ndarray:
    """Multinomial logistic regression (C=1, lbfgs, max_iter 2000) predictions on X_test.

    Probabilities are re-aligned to all ``n_classes`` (absent classes get 0); a single-class training
    set predicts that class.
    """
    classes = np.unique(y_train)
    if len(classes) == 1:
        return np.full(len(X_test), classes[0], dtype=np.int64)
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, solver="lbfgs", max_iter=2000)
    with warnings.catch_warnings(), single_thread_blas():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    proba = np.zeros((len(X_test), n_classes))
    proba[:, model.classes_] = model.predict_proba(X_test)
    return proba.argmax(axis=1)


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """(accuracy, macro-F1 over the labels present in y_true or y_pred)."""
    from sklearn.metrics import f1_score

    return float(np.mean(y_true == y_pred)), float(f1_score(y_true, y_pred, average="macro", zero_division=0))


@register_metric("tstr_lr", "utility", scores={"tstr_lr_accuracy": HIGHER, "tstr_lr_macro_f1": HIGHER})
def tstr_lr(c: Comparison) -> dict[str, float]:
    """Logistic regression trained on the scored set (n rows), tested on the real test set, ``std`` features."""
    ctx = c.ctx
    pred = lr_predict(c.S_std, c.S_y, ctx.R_std, ctx.split.n_classes)
    acc, f1 = classification_scores(ctx.R_y, pred)
    return {"tstr_lr_accuracy": acc, "tstr_lr_macro_f1": f1}


@register_metric("trtr_lr", "utility", scores={"trtr_lr_accuracy": INFO, "trtr_lr_macro_f1": INFO})
def trtr_lr(c: Comparison) -> dict[str, float]:
    """Context: logistic regression trained on the full train split, tested on the test set (independent of S)."""
    ctx = c.ctx

    def make() -> tuple[float, float]:
        pred = lr_predict(ctx.T_std, ctx.split.train_y, ctx.R_std, ctx.split.n_classes)
        return classification_scores(ctx.R_y, pred)

    acc, f1 = ctx.cache.get("trtr_lr", make)
    return {"trtr_lr_accuracy": acc, "trtr_lr_macro_f1": f1}
