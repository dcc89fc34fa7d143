"""Known answer for the privacy references (issue 7, part 2).

On exchangeable data every privacy score of the real-holdout reference must sit, in expectation over
re-splits, at the value a row exchangeable with the real data gets (0.5 for the shares, AUCs and
adversarial accuracies, the false-positive rate for a TPR at that rate, 1 for the ratios, 0 for the
privacy loss), on a fixture with more features than rows and on integer dosages (whose distances tie).
The re-split null the page prints (``metrics/privacy_null.py``) must agree with those independent
data sets in mean and spread.
"""

from __future__ import annotations

import numpy as np
import pytest

from metrics import EvalContext, SplitData
from metrics.base import metrics_for
from metrics.privacy_null import privacy_null
from metrics.testing import ToyFactorModel, ToyGenotypes, toy_split

PRIVACY = [s.name for s in metrics_for() if s.family == "privacy"]
TARGETS = {
    "dcr_share": 0.5, "mia_auc": 0.5, "domias_auc": 0.5, "aats_train": 0.5, "aats_test": 0.5,
    "aats_privacy_loss": 0.0, "mia_tpr_at_1fpr": 0.01, "mia_tpr_at_10fpr": 0.1,
    "dcr_ratio": 1.0, "dcr_p5_ratio": 1.0, "nndr_ratio": 1.0,
}
DATASETS = 60


def references(dist, sizes, modality):
    """The reference's privacy scores on ``DATASETS`` independent draws of exchangeable data."""
    out = []
    for seed in range(DATASETS):
        split = toy_split(dist, *sizes, seed=100 + seed, modality=modality)
        ref = EvalContext(split, metrics=PRIVACY, null_draws=0).reference()
        assert ref["failures"] == {}, ref["failures"]
        out.append(ref["scores"])
    return {name: np.array([r[name] for r in out]) for name in out[0]}


def check_at_target(values: dict[str, np.ndarray], n: int) -> None:
    for name, target in TARGETS.items():
        v = values[name]
        # 4 standard errors of the mean over the data sets, plus the small-sample biases of the
        # definitions: AATS compares n − 1 other real rows with n synthetic ones ((n − 1)/(2n − 1)),
        # a ratio of medians is biased by its variance (Jensen)
        allowance = 1.0 / (2 * n) if name.startswith("aats_t") else (v.var() if "ratio" in name else 0.0)
        tolerance = 4.0 * v.std(ddof=1) / np.sqrt(len(v)) + allowance + 1e-9
        assert abs(v.mean() - target) <= tolerance, f"{name}: mean {v.mean():.4f}, target {target}, ± {tolerance:.4f}"


@pytest.fixture(scope="module", params=[((150, 50, 50), 400), ((66, 22, 22), 2000)], ids=["150x400", "66x2000"])
def wide(request):
    """More features than rows; the second has the shape of a small microarray study (66 train rows)."""
    sizes, p = request.param
    dist = ToyFactorModel(n_features=p, n_classes=3)
    return dist, sizes, references(dist, sizes, "expression")


@pytest.mark.slow
def test_reference_sits_at_the_null_with_more_features_than_rows(wide):
    _, sizes, values = wide
    check_at_target(values, sizes[1])
    assert values["exact_match_rate"].max() == 0.0


@pytest.mark.slow
def test_reference_sits_at_the_null_on_tied_dosages():
    dist = ToyGenotypes(n_snps=30, n_classes=2, block=5)
    values = references(dist, (180, 60, 60), "genotype")
    check_at_target(values, 60)


def resplit(split: SplitData, seed: int) -> SplitData:
    """The same real rows dealt again into train, holdout and test, stratified, with the same class counts."""
    X = np.vstack([split.train_X, split.holdout_X, split.test_X])
    y = np.concatenate([split.train_y, split.holdout_y, split.test_y])
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        counts = [int(np.sum(part == c)) for part in (split.train_y, split.holdout_y, split.test_y)]
        for k, (start, stop) in enumerate(zip(np.cumsum([0, *counts[:-1]]), np.cumsum(counts), strict=True)):
            parts[k].extend(rows[start:stop])
    arrays = [a for rows in parts for a in (X[rows], y[rows])]
    return SplitData(*arrays, modality=split.modality, class_names=split.class_names, seed=split.seed)


@pytest.mark.slow
def test_resplit_null_matches_actual_resplits(wide):
    """The neighbour-list null of one data set against that data set really re-split 40 times."""
    dist, sizes, _ = wide
    split = toy_split(dist, *sizes, seed=7)
    scores = [*TARGETS, "exact_match_rate", "authenticity"]
    null = privacy_null(EvalContext(split, metrics=PRIVACY), scores, draws=200)
    actual = [EvalContext(resplit(split, seed), metrics=PRIVACY, null_draws=0).reference()["scores"]
              for seed in range(40)]
    for name in scores:
        v = np.array([a[name] for a in actual])
        if name == "domias_auc":  # analytic Mann-Whitney null
            assert null[name]["mean"] == 0.5 and 0.6 * v.std() <= null[name]["sd"] <= 1.5 * v.std(), name
            continue
        error = 4.0 * np.sqrt(v.var(ddof=1) / len(v) + null[name]["sd"] ** 2 / 200) + 1e-12
        assert abs(null[name]["mean"] - v.mean()) <= error, (name, null[name]["mean"], v.mean())
        assert 0.6 * v.std(ddof=1) - 1e-12 <= null[name]["sd"] <= 1.5 * v.std(ddof=1) + 1e-12, (
            name, null[name]["sd"], v.std(ddof=1))
    # the page shows these next to every privacy score of every record
    ctx = EvalContext(split, metrics=PRIVACY)
    entry = ctx.evaluate(split.train_X, split.train_y)["metrics"]["dcr_share"]
    assert entry["null_mean"] == ctx.reference()["null"]["dcr_share"]["mean"] and entry["null_sd"] > 0


def cut_split(dist, seed: int) -> SplitData:
    """Exchangeable data whose class 0 keeps a fifth of its train rows, as the biased protocol does."""
    split = toy_split(dist, 240, 80, 80, seed=seed)
    keep = (split.train_y != 0) | (np.arange(len(split.train_y)) % 5 == 0)
    return SplitData(split.train_X[keep], split.train_y[keep], split.holdout_X, split.holdout_y, split.test_X,
                     split.test_y, modality="expression", class_names=split.class_names, seed=seed)


@pytest.mark.slow
def test_cut_classes_keep_the_null_at_one_half():
    """With a class cut from train, the DCR share compares each row with records of its own class and
    calibrates by that class's |T_c| / (|T_c| + |H_c|), and members and non-members are class-matched: the
    reference, fresh rows and even label-blind fresh rows (labels shuffled) sit at 0.5."""
    dist = ToyFactorModel(n_features=300, n_classes=3)
    names = ["dcr_share", "mia_auc", "mia_tpr_at_10fpr", "domias_auc"]
    rows = {"reference": [], "fresh": [], "label-blind": []}
    for seed in range(30):
        split = cut_split(dist, 200 + seed)
        ctx = EvalContext(split, metrics=["dcr", "mia", "domias"], null_draws=0)
        rows["reference"].append(ctx.reference()["scores"])
        y = np.repeat(np.arange(3), 80)
        X = dist.sample(y, seed=5000 + seed)
        rows["fresh"].append({k: v["value"] for k, v in ctx.evaluate(X, y)["metrics"].items()})
        shuffled = np.random.default_rng(seed).permutation(y)
        rows["label-blind"].append({k: v["value"] for k, v in ctx.evaluate(X, shuffled)["metrics"].items()})
    targets = {"dcr_share": 0.5, "mia_auc": 0.5, "mia_tpr_at_10fpr": 0.1, "domias_auc": 0.5}
    for label, runs in rows.items():
        for name in names:
            v = np.array([r[name] for r in runs])
            assert abs(v.mean() - targets[name]) <= 4 * v.std(ddof=1) / np.sqrt(len(v)) + 1e-9, (label, name, v.mean())
    null = privacy_null(EvalContext(cut_split(dist, 1), metrics=PRIVACY), names, draws=200)
    assert null["dcr_share"]["mean"] == pytest.approx(0.5, abs=4 * null["dcr_share"]["sd"] / np.sqrt(200))
