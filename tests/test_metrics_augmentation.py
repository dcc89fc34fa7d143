"""Augmentation gain (small-n protocol): informative extra rows help, label noise hurts."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.augmentation import allocate, augmentation_gain
from metrics.testing import ToyExpression, balanced_labels


@pytest.fixture(scope="module")
def data():
    dist = ToyExpression(20, 3, separation=0.45)
    real_y = balanced_labels(24, 3)
    test_y = balanced_labels(600, 3)
    extra_y = balanced_labels(1500, 3)
    return dist, dist.sample(real_y, 1), real_y, dist.sample(extra_y, 2), extra_y, dist.sample(test_y, 3), test_y


def test_informative_extra_rows_help_and_noise_hurts(data):
    _, Xr, yr, Xe, ye, Xt, yt = data
    good = augmentation_gain(Xr, yr, Xe, ye, Xt, yt, n_extra=(0, 1000), models=("lr", "mlp"), n_classes=3, seed=0)
    for kind in ("lr", "mlp"):
        for m in ("accuracy", "balanced_accuracy", "macro_f1"):
            gain = good[f"aug_{kind}_gain_{m}@1000"]
            assert gain == pytest.approx(good[f"aug_{kind}_{m}@1000"] - good[f"aug_{kind}_{m}@0"])
            assert gain > 0.03, (kind, m)
    noisy_y = np.random.default_rng(9).permutation(ye)  # labels unrelated to the rows
    bad = augmentation_gain(Xr, yr, Xe, noisy_y, Xt, yt, n_extra=(0, 1000), models=("lr",), n_classes=3, seed=0)
    assert bad["aug_lr_gain_accuracy@1000"] < -0.1
    assert bad["aug_lr_accuracy@0"] == good["aug_lr_accuracy@0"]  # same real-only baseline


def test_cap_stratification_scaler_and_determinism(data):
    dist, Xr, yr, Xe, ye, Xt, yt = data
    kw = dict(n_extra=(0, 300, 5000), models=("lr",), n_classes=3, seed=4)
    out = augmentation_gain(Xr, yr, Xe, ye, Xt, yt, **kw)
    assert out["aug_n_extra@0"] == 0 and out["aug_n_extra@300"] == 300 and out["aug_n_extra@5000"] == 1500
    assert set(out) == {f"aug_n_extra@{m}" for m in (0, 300, 5000)} | {
        f"aug_lr_{m}@{k}" for m in ("accuracy", "balanced_accuracy", "macro_f1") for k in (0, 300, 5000)
    } | {f"aug_lr_gain_{m}@{k}" for m in ("accuracy", "balanced_accuracy", "macro_f1") for k in (300, 5000)}
    assert out == augmentation_gain(Xr, yr, Xe, ye, Xt, yt, **kw)
    # scaler given as train statistics or as a callable gives the same as fitting on real_X itself
    mean, sd = Xr.mean(0), Xr.std(0)
    same = augmentation_gain(Xr, yr, Xe, ye, Xt, yt, scaler_X=lambda X: (X - mean) / sd, **kw)
    assert same == pytest.approx(out)
    assert augmentation_gain(Xr, yr, Xe, ye, Xt, yt, scaler_X=Xr, **kw) == pytest.approx(out)
    assert allocate(np.r_[np.zeros(10, int), np.ones(30, int)], 3, 1000).tolist() == [250, 750, 0]
