"""In-memory dataset: the matrix, labels and identifiers every later stage works on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MODALITIES = ("expression", "counts", "genotype")


@dataclass(frozen=True)
class DatasetMeta:
    """What a generator may know about the data besides the training rows."""

    dataset_id: str
    modality: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    positions: tuple[int, ...] | None = None  # base-pair positions (genotypes), aligned with features

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass
class OmicsDataset:
    """A processed dataset: samples x features matrix with one string label per sample.

    ``X`` is float32 (expression, counts) or int8 dosages 0/1/2 (genotype).
    ``info`` carries card fields (source, licence, citation, preprocessing notes) for reports.
    """

    dataset_id: str
    version: str
    X: np.ndarray
    labels: np.ndarray  # str, one per row
    sample_ids: np.ndarray  # str, unique
    feature_names: np.ndarray  # str, unique
    modality: str
    positions: np.ndarray | None = None
    groups: np.ndarray | None = None  # optional group key per sample (patient, donor)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        n, p = self.X.shape
        for name, arr, size in (
            ("labels", self.labels, n),
            ("sample_ids", self.sample_ids, n),
            ("feature_names", self.feature_names, p),
        ):
            if len(arr) != size:
                raise ValueError(f"{self.dataset_id}: {name} has {len(arr)} entries, expected {size}")

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def p(self) -> int:
        return self.X.shape[1]

    def content_sha256(self) -> str:
        return dataset_sha256(self.X, self.feature_names, self.sample_ids, self.labels)


def dataset_sha256(X: np.ndarray, feature_names: Any, sample_ids: Any, labels: Any) -> str:
    """sha256 over the matrix bytes (C order, little endian, stored dtype), then ``\\n`` and the
    newline-joined feature ids, ``\\n``, sample ids, ``\\n``, labels (UTF-8)."""
    digest = hashlib.sha256()
    arr = np.ascontiguousarray(X)
    digest.update(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    for items in (feature_names, sample_ids, labels):
        digest.update(b"\n")
        digest.update("\n".join(str(x) for x in items).encode("utf-8"))
    return digest.hexdigest()
