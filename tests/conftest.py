"""Shared fixtures: an isolated cache, the optional ../shared/data folder, small datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Processed datasets go to a per-session temporary cache, never to the user's home."""
    cache = tmp_path_factory.getbasetemp() / "omics-cache"
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(cache))
    return cache


@pytest.fixture
def shared_data() -> Path:
    """The real test files of ../shared/data; tests using them skip on a fresh clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (real test files live beside the project, not in a clone)")
    return SHARED_DATA


def blob_table(n_per_class: int = 60, p: int = 12, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-class Gaussian blobs with a shared correlation structure: expression-like test data."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    means = rng.normal(scale=2.0, size=(classes, p))
    loadings = rng.normal(size=(3, p))
    X = means[y] + rng.normal(size=(len(y), 3)) @ loadings + rng.normal(size=(len(y), p)) + 6.0
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def blob_csv(tmp_path_factory) -> Path:
    """A CSV of three tissue blobs: sample ID column, 8 genes, label column `tissue`."""
    import pandas as pd

    X, y = blob_table(n_per_class=40, p=8)
    frame = pd.DataFrame(X, columns=[f"gene{j}" for j in range(X.shape[1])])
    frame.insert(0, "sample", [f"cell{i:03d}" for i in range(len(frame))])
    frame["tissue"] = np.array(["liver", "lung", "brain"])[y]
    path = tmp_path_factory.mktemp("csv") / "blobs.csv"
    frame.to_csv(path, index=False)
    return path
