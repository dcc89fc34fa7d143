"""Embedded datasets (pbmc68k, sim-ooa) and the processed-data cache."""

from __future__ import annotations

import time

import numpy as np
import pytest

from benchmark.cache import cache_dir
from benchmark.cards import get_card
from benchmark.data import card_cache_stem, load_dataset
from benchmark.errors import ConfigError

PBMC_COUNTS = {
    "Dendritic": 240,
    "CD14+ Monocyte": 129,
    "CD19+ B": 95,
    "CD4+/CD25 T Reg": 68,
    "CD8+ Cytotoxic T": 54,
    "CD8+/CD45RA+ Naive Cytotoxic": 43,
    "CD56+ NK": 31,
    "CD4+/CD45RO+ Memory": 19,
    "CD34+": 13,
    "CD4+/CD45RA+/CD25- Naive T": 8,
}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("OMICS_BENCHMARK_CARDS", raising=False)


def _same(a, b):
    assert a.X.dtype == b.X.dtype and a.X.tobytes() == b.X.tobytes()
    for name in ("labels", "sample_ids", "feature_names"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    if a.positions is None:
        assert b.positions is None
    else:
        assert a.positions.tobytes() == b.positions.tobytes()
    assert a.info["dataset_sha256"] == b.info["dataset_sha256"]


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(tmp_path / "elsewhere"))
    assert cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("OMICS_BENCHMARK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "omics-benchmark"


def test_pbmc68k(tmp_path):
    start = time.perf_counter()
    ds = load_dataset("pbmc68k")
    cold = time.perf_counter() - start
    assert ds.X.shape == (700, 765) and ds.X.dtype == np.float32
    assert ds.modality == "expression" and ds.dataset_id == "pbmc68k"
    assert ds.X.min() == 0.0 and ds.X.max() == pytest.approx(6.489, abs=1e-3)
    assert int(np.count_nonzero(ds.X)) == 174_400
    labels, counts = np.unique(ds.labels, return_counts=True)
    assert dict(zip(labels.tolist(), counts.tolist(), strict=True)) == PBMC_COUNTS
    assert ds.info["class_counts"] == PBMC_COUNTS
    assert ds.sample_ids[0] == "AAAGCCTGGCTAAC-1" and ds.feature_names[0] == "HES4"
    info = ds.info
    for key in ("title", "source", "license", "citation", "label_column", "card_hash", "notes"):
        assert info[key], key
    assert info["label_column"] == "bulk_labels" and info["min_class_size"] == 10
    assert info["cache"]["status"] == "built"
    assert str(tmp_path / "cache") in info["cache"]["path"]

    start = time.perf_counter()
    again = load_dataset("pbmc68k")
    warm = time.perf_counter() - start
    assert again.info["cache"]["status"] == "hit"
    _same(ds, again)
    assert warm < cold

    louvain = load_dataset("pbmc68k", label_column="louvain")
    assert louvain.info["cache"]["status"] == "hit" and len(set(louvain.labels)) == 11
    with pytest.raises(ConfigError, match="bulk_labels"):
        load_dataset("pbmc68k", label_column="tissue")
    with pytest.raises(ConfigError, match="log1p"):
        load_dataset("pbmc68k", log1p=True)


def test_sim_ooa_smoke_deterministic():
    first = load_dataset("sim-ooa", size="smoke", cache=False)
    assert first.info["cache"]["status"] == "disabled"
    second = load_dataset("sim-ooa", size="smoke", cache=False)
    _same(first, second)
    X = first.X
    assert X.dtype == np.int8 and set(np.unique(X).tolist()) <= {0, 1, 2}
    assert X.shape[0] == 90 and 0 < X.shape[1] <= 1024
    assert sorted(set(first.labels)) == ["CEU", "CHB", "YRI"]
    assert first.sample_ids[0] == "YRI_0001" and first.sample_ids[-1] == "CHB_0030"
    assert first.feature_names[0] == f"chr22:{first.positions[0]}"
    assert np.all(np.diff(first.positions) > 0)
    assert np.all((first.positions >= 20_000_000) & (first.positions < 20_200_000))
    freq = X.mean(axis=0) / 2
    assert np.all(np.minimum(freq, 1 - freq) >= 0.01)
    assert first.info["size"] == "smoke"


def test_sim_ooa_cache_roundtrip_and_corruption():
    built = load_dataset("sim-ooa", size="smoke")
    stem = card_cache_stem(get_card("sim-ooa"), "smoke")
    assert stem.with_suffix(".npz").exists() and stem.with_suffix(".json").exists()
    hit = load_dataset("sim-ooa", size="smoke")
    assert hit.info["cache"]["status"] == "hit"
    _same(built, hit)
    # a corrupt entry is rebuilt, not used
    npz = stem.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:100])
    rebuilt = load_dataset("sim-ooa", size="smoke")
    assert rebuilt.info["cache"]["status"] == "built"
    _same(built, rebuilt)
    stem.with_suffix(".json").write_text("{not json")
    assert load_dataset("sim-ooa", size="smoke").info["cache"]["status"] == "built"
    # the default size has its own cache key
    assert card_cache_stem(get_card("sim-ooa"), "default") != stem


def test_unknown_size_and_fallback():
    with pytest.raises(ConfigError, match="no size"):
        load_dataset("sim-ooa", size="huge")
    with pytest.raises(ConfigError, match="known datasets"):
        load_dataset("no-such-dataset")


@pytest.mark.slow
def test_sim_ooa_default_size():
    ds = load_dataset("sim-ooa", cache=False)
    assert ds.X.shape == (900, 1024) and ds.X.dtype == np.int8
    assert ds.info["class_counts"] == {"CEU": 300, "CHB": 300, "YRI": 300}
    assert any("7300 sites" in note for note in ds.info["notes"])
