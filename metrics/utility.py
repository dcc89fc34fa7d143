"""Utility (spec §4): train-on-synthetic/test-on-real (TSTR), train-on-real context (TRTR), train-on-real/
test-on-synthetic (TRTS) and CAMDA feature-importance overlap.

All classifiers see ``std`` features (scaled with the moments of the real rows, never of S, so a
location shift in S is not normalised away). Models: ``lr`` multinomial logistic regression (C = 1,
lbfgs, max_iter 2,000); ``mlp`` hidden
(256, 128), ReLU, Adam 1e-3, L2 1e-4, early stopping on 10 % (from 1,000 training rows up;
smaller sets stop on the training loss), ≤ 300 epochs; ``rf`` 500 trees,
max_features = √G, min_samples_leaf 1, 500 trees (spec §4). Scores: accuracy, balanced accuracy (mean recall over the
classes of the test set), macro-F1 and macro average precision (mean over the test set's classes of
the one-vs-rest AP of the class probability). Probabilities are re-aligned to the full label set (a
class absent from the training rows gets probability 0); a single-class training set predicts that
class. TRTR's models (train split) and TRTS's (test subsample, so that copies of training rows are not
favoured) are fitted once per context. The CAMDA feature overlap compares S's top features with the
test subsample's for the same reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import HIGHER, INFO, register_metric
from .space import Comparison, EvalContext, derive_seed, single_thread_blas

MODELS = ("lr", "mlp", "rf")
SCORES = ("accuracy", "balanced_accuracy", "macro_f1", "macro_ap")
TAG_MODEL = {"lr": 121, "mlp": 122, "rf": 123}
RF_TREES = 500  # spec §4; 10k x 1,000: TSTR-RF fit ~40 s on 2 cores, utility evaluate < 60 s
MLP_EPOCHS = 300
MLP_EARLY_MIN_ROWS = 1000  # early stopping only with a validation split of >= 100 rows
OVERLAP_TOP = 10


def make_model(kind: str, seed: int, y: np.ndarray | None = None) -> Any:
    """An unfitted classifier of the given kind with the spec §4 settings."""
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0, solver="lbfgs", max_iter=2000)
    if kind == "mlp":
        from sklearn.neural_network import MLPClassifier

        # Early stopping on a 10 % validation split of fewer than 100 rows stops on noise (a handful
        # of rows decide "no improvement"); small sets train up to 300 epochs on the training-loss rule.
        early = True
        if y is not None:
            counts = np.bincount(y)
            early = len(y) >= MLP_EARLY_MIN_ROWS and counts[counts > 0].min() >= 2
        return MLPClassifier(
            hidden_layer_sizes=(256, 128),
            activation="relu",
            solver="adam",
            learning_rate_init=1e-3,
            alpha=1e-4,
            early_stopping=early,
            validation_fraction=0.1,
            max_iter=MLP_EPOCHS,
            random_state=seed,
        )
    if kind == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=RF_TREES, max_features="sqrt", min_samples_leaf=1, n_jobs=2, random_state=seed
        )
    raise ValueError(f"unknown model {kind!r}; expected one of {MODELS}")


class Fitted:
    """A fitted classifier whose probabilities cover all ``n_classes`` labels."""

    def __init__(self, kind: str, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> None:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        self.kind, self.n_classes = kind, n_classes
        self.classes = np.unique(y)
        self.model = None
        if len(self.classes) > 1:
            self.model = make_model(kind, seed, y)
            with warnings.catch_warnings(), single_thread_blas():
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.model.fit(self._prep(X), y)

    def _prep(self, X: np.ndarray) -> np.ndarray:
        # sklearn's MLP and trees work in float32 when given float32 (half the time of float64)
        return np.asarray(X, dtype=np.float32) if self.kind in ("mlp", "rf") else X

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(X), self.n_classes))
        if self.model is None:
            proba[:, self.classes[0]] = 1.0
            return proba
        with single_thread_blas():
            proba[:, self.model.classes_] = self.model.predict_proba(self._prep(X))
        return proba


def train_predict_proba(
    kind: str, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, n_classes: int, seed: int
) -> np.ndarray:
    """Fit ``kind`` on (X_train, y_train) and return its (len(X_test), n_classes) probabilities."""
    return Fitted(kind, X_train, y_train, n_classes, seed).predict_proba(X_test)


def lr_predict(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, n_classes: int) -> np.ndarray:
    """Multinomial logistic regression (C=1, lbfgs, max_iter 2000) class predictions on X_test."""
    return train_predict_proba("lr", X_train, y_train, X_test, n_classes, 0).argmax(axis=1)


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """(accuracy, macro-F1 over the labels present in y_true or y_pred)."""
    from sklearn.metrics import f1_score

    return float(np.mean(y_true == y_pred)), float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over the classes present in y_true of the recall of that class."""
    return float(np.mean([np.mean(y_pred[y_true == k] == k) for k in np.unique(y_true)]))


def macro_average_precision(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Mean over the classes present in y_true of the one-vs-rest average precision of the class probability."""
    from sklearn.metrics import average_precision_score

    return float(np.mean([average_precision_score(y_true == k, proba[:, k]) for k in np.unique(y_true)]))


def utility_scores(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 and macro AP of probabilities (prediction = argmax)."""
    pred = proba.argmax(axis=1)
    acc, f1 = classification_scores(y_true, pred)
    return {
        "accuracy": acc,
        "balanced_accuracy": balanced_accuracy(y_true, pred),
        "macro_f1": f1,
        "macro_ap": macro_average_precision(y_true, proba),
    }


def model_seed(ctx: EvalContext, kind: str) -> int:
    return derive_seed(ctx.seed, TAG_MODEL[kind])


def real_model(ctx: EvalContext, kind: str) -> Fitted:
    """``kind`` fitted on the full train split (``std``), once per context."""
    return ctx.cache.get(
        f"T_model_{kind}",
        lambda: Fitted(kind, ctx.T_std, ctx.split.train_y, ctx.split.n_classes, model_seed(ctx, kind)),
    )


def _tstr(c: Comparison, kind: str) -> dict[str, float]:
    ctx = c.ctx
    proba = train_predict_proba(kind, c.S_std, c.S_y, ctx.R_std, ctx.split.n_classes, model_seed(ctx, kind))
    return {f"tstr_{kind}_{k}": v for k, v in utility_scores(ctx.R_y, proba).items()}


def _trtr(c: Comparison, kind: str) -> dict[str, float]:
    ctx = c.ctx
    out = ctx.cache.get(
        f"trtr_{kind}", lambda: utility_scores(ctx.R_y, real_model(ctx, kind).predict_proba(ctx.R_std))
    )
    return {f"trtr_{kind}_{k}": v for k, v in out.items()}


def trts_model(ctx: EvalContext, kind: str) -> Fitted:
    """``kind`` fitted on the test subsample R (``std``), once per context: the TRTS classifier.

    Not the train split (spec §4): a classifier scores the rows it was trained on better than unseen
    rows, so copies of training rows would beat the real-holdout reference."""
    return ctx.cache.get(
        f"R_model_{kind}", lambda: Fitted(kind, ctx.R_std, ctx.R_y, ctx.split.n_classes, model_seed(ctx, kind))
    )


def _trts(c: Comparison, kind: str) -> dict[str, float]:
    pred = trts_model(c.ctx, kind).predict_proba(c.S_std).argmax(axis=1)
    return {f"trts_{kind}_accuracy": float(np.mean(pred == c.S_y))}


def _register(kind: str) -> None:
    name = {"lr": "logistic regression", "mlp": "MLP (256, 128)", "rf": "random forest (500 trees)"}[kind]

    def tstr(c: Comparison) -> dict[str, float]:
        return _tstr(c, kind)

    def trtr(c: Comparison) -> dict[str, float]:
        return _trtr(c, kind)

    def trts(c: Comparison) -> dict[str, float]:
        return _trts(c, kind)

    tstr.__doc__ = f"TSTR: {name} trained on the scored set (n rows), tested on the real test set, ``std`` features."
    trtr.__doc__ = f"Context: {name} trained on the full train split, tested on the test set (independent of S)."
    trts.__doc__ = f"TRTS: {name} trained on the real test set, accuracy on the scored set's own labels."
    register_metric(f"tstr_{kind}", "utility", scores={f"tstr_{kind}_{s}": HIGHER for s in SCORES})(tstr)
    register_metric(f"trtr_{kind}", "utility", scores={f"trtr_{kind}_{s}": INFO for s in SCORES})(trtr)
    register_metric(f"trts_{kind}", "utility", scores={f"trts_{kind}_accuracy": HIGHER})(trts)


for _kind in MODELS:
    _register(_kind)


# ---- feature-importance overlap (CAMDA 2025) --------------------------------------------------------


def camda_top_features(X: np.ndarray, y: np.ndarray, top: int = OVERLAP_TOP) -> set[int]:
    """Union over the one-vs-rest logistic regressions (max_iter 1,000) of the indices of the ``top``
    largest signed coefficients. Two classes give one estimator (the second class against the first),
    as in scikit-learn's OneVsRestClassifier; fewer than two classes give the empty set."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(y)
    if len(classes) < 2:
        return set()
    chosen: set[int] = set()
    for k in classes[1:] if len(classes) == 2 else classes:
        model = LogisticRegression(max_iter=1000)
        with warnings.catch_warnings(), single_thread_blas():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, (y == k).astype(np.int64))
        chosen |= {int(j) for j in np.argsort(-model.coef_[0], kind="stable")[:top]}
    return chosen


@register_metric(
    "feature_overlap",
    "utility",
    scores={"feature_overlap_count": HIGHER, "feature_overlap_frac": HIGHER},
)
def feature_overlap(c: Comparison) -> dict[str, float]:
    """CAMDA feature-importance overlap: top-10 one-vs-rest LR coefficients per class, S vs the real test set
    (|F_S ∩ F_R|, / |F_S|; CAMDA compares with train, which favours copies of training rows)."""
    ctx = c.ctx
    real = ctx.cache.get("camda_R_features", lambda: camda_top_features(ctx.R_std, ctx.R_y))
    fake = camda_top_features(c.S_std, c.S_y)
    common = len(fake & real)
    return {"feature_overlap_count": float(common), "feature_overlap_frac": common / len(fake) if fake else 0.0}
