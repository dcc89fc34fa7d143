from collections import Counter

import numpy as np
import pytest

from benchmark.dataset import OmicsDataset
from benchmark.errors import DataError
from benchmark.splits import get_split, load_split, make_split, split_path


def dataset(labels, groups=None, seed=0) -> OmicsDataset:
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    return OmicsDataset(
        dataset_id="toy", version="1", X=rng.normal(size=(len(labels), 3)).astype(np.float32), labels=labels,
        sample_ids=np.array([f"s{i:04d}" for i in range(len(labels))]), feature_names=np.array(["a", "b", "c"]),
        modality="expression", groups=None if groups is None else np.asarray(groups),
    )


def test_stratified_fractions_and_disjoint_parts():
    ds = dataset(["a"] * 200 + ["b"] * 100 + ["c"] * 50)
    split = make_split(ds)
    idx = split.indices(ds)
    assert sum(len(v) for v in idx.values()) == 350
    assert not set(split.ids["train"]) & set(split.ids["test"])
    assert not set(split.ids["holdout"]) & set(split.ids["test"])
    for label, total in (("a", 200), ("b", 100), ("c", 50)):
        counts = {part: Counter(ds.labels[rows])[label] for part, rows in idx.items()}
        assert counts["train"] == pytest.approx(0.6 * total, abs=1)
        assert counts["holdout"] == pytest.approx(0.2 * total, abs=1)
        assert counts["test"] == pytest.approx(0.2 * total, abs=1)


def test_same_seed_same_hash_other_seed_other_split():
    ds = dataset(["a"] * 40 + ["b"] * 40)
    assert make_split(ds).split_hash == make_split(ds).split_hash
    assert make_split(ds, seed=1).ids["train"] != make_split(ds).ids["train"]


def test_small_classes_dropped_with_warning_naming_them(caplog):
    ds = dataset(["big"] * 50 + ["other"] * 30 + ["tiny"] * 4)
    split = make_split(ds)
    assert split.dropped_classes == {"tiny": 4}
    assert "'tiny' (4)" in caplog.text
    assert not any(sid in split.ids["train"] for sid in ds.sample_ids[-4:])


def test_fewer_than_two_labels_is_an_error():
    with pytest.raises(DataError, match="at least 2 classes"):
        make_split(dataset(["only"] * 30 + ["rare"] * 3))


def test_every_class_reaches_every_part_even_when_small():
    split = make_split(dataset(["a"] * 100 + ["b"] * 10))
    for part in ("train", "holdout", "test"):
        assert any(int(s[1:]) >= 100 for s in split.ids[part])


def test_groups_stay_in_one_part():
    labels = ["a"] * 60 + ["b"] * 60
    groups = [f"patient{i // 2}" for i in range(120)]  # two samples per patient
    ds = dataset(labels, groups)
    split = make_split(ds)
    part_of = {sid: part for part, ids in split.ids.items() for sid in ids}
    for g in set(groups):
        members = [sid for sid, grp in zip(ds.sample_ids, groups, strict=True) if grp == g]
        assert len({part_of[m] for m in members}) == 1


def test_persisted_split_is_reused_and_invalidated_by_new_data(tmp_path):
    ds = dataset(["a"] * 30 + ["b"] * 30)
    first = get_split(ds, tmp_path)
    path = split_path(tmp_path, "toy", "1")
    assert load_split(path).split_hash == first.split_hash
    assert get_split(ds, tmp_path).split_hash == first.split_hash
    changed = dataset(["a"] * 30 + ["b"] * 30, seed=1)
    assert changed.content_sha256() != ds.content_sha256()
    assert get_split(changed, tmp_path).split_hash != first.split_hash


def test_tampered_split_file_is_not_trusted(tmp_path):
    ds = dataset(["a"] * 30 + ["b"] * 30)
    get_split(ds, tmp_path)
    path = split_path(tmp_path, "toy", "1")
    path.write_text(path.read_text().replace('"s0000"', '"s9999"'))
    assert load_split(path) is None


def test_groups_spanning_two_classes_stay_in_one_part():
    # 40 patients with a tumour and a normal sample, 40 with a tumour only
    labels = ["tumour", "normal"] * 40 + ["tumour"] * 40
    groups = [f"p{i // 2}" for i in range(80)] + [f"q{i}" for i in range(40)]
    ds = dataset(labels, groups)
    split = make_split(ds)
    part_of = {sid: part for part, ids in split.ids.items() for sid in ids}
    for g in set(groups):
        members = [sid for sid, grp in zip(ds.sample_ids, groups, strict=True) if grp == g]
        assert len({part_of[m] for m in members}) == 1, g
    idx = split.indices(ds)
    for part in ("train", "holdout", "test"):
        assert set(ds.labels[idx[part]]) == {"tumour", "normal"}


def test_too_few_groups_for_a_class_is_a_clear_error():
    labels = ["a"] * 30 + ["b"] * 20
    groups = [f"g{i}" for i in range(30)] + ["big"] * 10 + ["big2"] * 10  # class b: two groups only
    with pytest.raises(DataError, match="has no sample of \\['b'\\]"):
        make_split(dataset(labels, groups))
