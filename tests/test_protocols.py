"""Biased-training and small-n protocols: who trains on what, what is asked for, what is scored."""

import numpy as np
import pandas as pd
import pytest
from conftest import blob_table

from benchmark.errors import ConfigError
from benchmark.protocols import Part, ProtocolConfig, biased_view, small_n_view, stratified_rows
from benchmark.run.config import LoadOptions, RunConfig
from benchmark.run.runner import run
from benchmark.store import iter_records

NAMES = ("a", "b", "c", "d")


def parts(counts=(100, 80, 40, 20), seed=0):
    rng = np.random.default_rng(seed)
    made = {}
    for name in ("train", "holdout", "test"):
        scale = 1.0 if name == "train" else 0.33
        y = np.repeat(np.arange(len(counts)), [max(3, int(c * scale)) for c in counts])
        made[name] = Part(rng.normal(size=(len(y), 4)) + y[:, None], y, np.array([f"{name}{i}" for i in range(len(y))]))
    return made


def test_biased_cuts_all_but_the_two_largest_and_asks_for_unbiased_counts():
    real = parts()
    view = biased_view(real, NAMES, ProtocolConfig(name="biased"), data_seed=1)
    assert view.info["biased_labels"] == ["c", "d"]
    assert np.bincount(view.parts["train"].y).tolist() == [100, 80, 8, 5]  # 20 %, at least 5 rows
    assert np.bincount(view.requested).tolist() == [100, 80, 40, 20]
    assert view.parts["test"] is real["test"] and view.parts["holdout"] is real["holdout"]
    assert set(view.parts["train"].ids) <= set(real["train"].ids)


def test_biased_labels_can_be_chosen_and_are_checked():
    view = biased_view(parts(), NAMES, ProtocolConfig(name="biased", biased_labels=("a",), biased_fraction=0.5),
                       data_seed=1)
    assert np.bincount(view.parts["train"].y).tolist() == [50, 80, 40, 20]
    with pytest.raises(ConfigError, match="not classes of this dataset"):
        biased_view(parts(), NAMES, ProtocolConfig(name="biased", biased_labels=("zzz",)), data_seed=1)


def test_small_n_subsample_keeps_two_per_class_and_changes_with_the_seed():
    real = parts()
    protocol = ProtocolConfig(name="small-n", small_n=(12,), n_fake=(0, 100))
    first, second = (small_n_view(real, NAMES, protocol, 12, seed) for seed in (0, 1))
    counts = np.bincount(first.parts["train"].y)
    assert counts.sum() == 12 and counts.min() >= 2
    assert set(first.parts["train"].ids) != set(second.parts["train"].ids)
    assert len(first.requested) == 100
    assert np.bincount(first.requested).tolist() == [42, 33, 17, 8]  # train proportions, largest remainder
    assert first.seeds == (0,) and first.tag == "small-n-12"


def test_small_n_keeps_only_the_n_over_2_largest_classes():
    view = small_n_view(parts(), NAMES, ProtocolConfig(name="small-n", small_n=(4,)), 4, 0)
    assert view.class_names == ("a", "b")
    assert set(np.unique(view.parts["test"].y)) == {0, 1}


def test_stratified_rows_refuses_impossible_requests():
    with pytest.raises(ConfigError, match=">= 2 of each"):
        stratified_rows(np.repeat([0, 1, 2], 10), 3, 5, np.random.default_rng(0))


@pytest.fixture(scope="module")
def imbalanced_csv(tmp_path_factory):
    X, y = blob_table(n_per_class=150, p=10, classes=4, seed=5)
    keep = np.concatenate([np.flatnonzero(y == c)[: n] for c, n in enumerate((150, 150, 100, 100))])
    frame = pd.DataFrame(X[keep], columns=[f"g{j}" for j in range(X.shape[1])])
    frame.insert(0, "id", [f"s{i:04d}" for i in range(len(frame))])
    frame["label"] = np.array(list("abcd"))[y[keep]]
    path = tmp_path_factory.mktemp("imbalanced") / "imb.csv"
    frame.to_csv(path, index=False)
    return path


def test_biased_run_records_the_protocol_and_repair_scores(imbalanced_csv, tmp_path):
    summary = run(RunConfig(dataset=str(imbalanced_csv), generators="gaussian", seeds=1, results_dir=tmp_path,
                            progress=False, load=LoadOptions(label_column="label"),
                            protocol=ProtocolConfig(name="biased", biased_fraction=0.05), metrics=("tstr_lr",)))
    [folder] = summary.folders
    assert summary.failed == [] and folder.startswith("imb.csv-") and folder.endswith("@biased")
    (record,) = iter_records(tmp_path, folder)
    assert record["protocol"] == "biased"
    assert record["protocol_info"]["biased_labels"] == ["c", "d"]
    assert record["protocol_info"]["biased_train_counts"] == {"a": 90, "b": 90, "c": 5, "d": 5}
    metrics = record["metrics"]
    # the cut classes are what suffers; adding real holdout rows of them (the reference) repairs it
    assert metrics["bias_gain_recall_cut_classes"]["reference"] > 0
    assert metrics["bias_gain_recall_cut_classes"]["family"] == "augmentation"
    assert metrics["bias_base_accuracy"]["direction"] == "info"
