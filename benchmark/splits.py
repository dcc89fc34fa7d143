"""Stratified (optionally grouped) 60/20/20 train/holdout/test splits, persisted and hashed."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.dataset import OmicsDataset
from benchmark.errors import DataError
from benchmark.store import safe_name, write_json_atomic

log = logging.getLogger(__name__)

PARTS = ("train", "holdout", "test")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class Split:
    """Sample-ID lists of the three parts plus everything needed to reproduce and verify them."""

    dataset_id: str
    version: str
    dataset_sha256: str
    seed: int
    fractions: tuple[float, float, float]
    min_class_size: int
    group_key: str | None
    dropped_classes: dict[str, int]
    ids: dict[str, tuple[str, ...]] = field(repr=False)

    def payload(self) -> dict[str, Any]:
        """Every field but the hash, in the persisted form."""
        return {
            "dataset_id": self.dataset_id,
            "version": self.version,
            "dataset_sha256": self.dataset_sha256,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "min_class_size": self.min_class_size,
            "group_key": self.group_key,
            "dropped_classes": dict(sorted(self.dropped_classes.items())),
            **{part: sorted(self.ids[part]) for part in PARTS},
        }

    @property
    def split_hash(self) -> str:
        return sha256_hex(canonical_json(self.payload()))

    @property
    def metric_seed(self) -> int:
        """First 8 hex digits of the split hash: metric randomness is shared by every generator."""
        return int(self.split_hash[:8], 16)

    def indices(self, dataset: OmicsDataset) -> dict[str, np.ndarray]:
        """Row indices of each part in ``dataset``, sorted by sample ID."""
        position = {sid: i for i, sid in enumerate(dataset.sample_ids)}
        return {part: np.array([position[sid] for sid in sorted(self.ids[part])], dtype=np.int64) for part in PARTS}


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_split(
    dataset: OmicsDataset,
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    min_class_size: int = 10,
) -> Split:
    """Drop classes below ``min_class_size``, then allocate each class's samples, or whole groups
    (patients, donors; stratified by their most common label), to the parts."""
    labels = dataset.labels.astype(str)
    counts = Counter(labels.tolist())
    dropped = {label: n for label, n in sorted(counts.items()) if n < min_class_size}
    if dropped:
        listing = ", ".join(f"{label!r} ({n})" for label, n in dropped.items())
        log.warning("%s: dropping classes with fewer than %d samples: %s", dataset.dataset_id, min_class_size, listing)
    kept = sorted(set(counts) - set(dropped))
    if len(kept) < 2:
        raise DataError(
            f"{dataset.dataset_id}: labels need at least 2 classes with >= {min_class_size} samples each; "
            f"found {dict(sorted(counts.items()))}"
        )
    rng = np.random.Generator(np.random.PCG64(seed))
    order = np.argsort(dataset.sample_ids.astype(str), kind="stable")
    order = order[rng.permutation(len(order))]
    assignment: dict[str, list[str]] = {part: [] for part in PARTS}
    groups = None if dataset.groups is None else dataset.groups.astype(str)
    kept_rows = order[np.isin(labels[order], kept)]
    units = group_units(kept_rows, groups)
    strata = [unit_stratum(labels[unit]) for unit in units]
    for label in kept:
        members = [unit for unit, stratum in zip(units, strata, strict=True) if stratum == label]
        if groups is None and len(members) < 3:
            raise DataError(f"{dataset.dataset_id}: class {label!r} has {len(members)} samples; "
                            "each class needs at least 3 to split")
        for part, unit_ids in zip(PARTS, allocate(members, fractions), strict=True):
            for unit in unit_ids:
                assignment[part].extend(str(sid) for sid in dataset.sample_ids[members[unit]])
    check_every_class_in_every_part(dataset, assignment, kept)
    ids = {part: tuple(sorted(assignment[part])) for part in PARTS}
    return Split(
        dataset_id=dataset.dataset_id,
        version=dataset.version,
        dataset_sha256=dataset.content_sha256(),
        seed=seed,
        fractions=tuple(float(f) for f in fractions),
        min_class_size=min_class_size,
        group_key=None if groups is None else str(dataset.info.get("group_key", "group")),
        dropped_classes=dropped,
        ids=ids,
    )


def unit_stratum(unit_labels: np.ndarray) -> str:
    """The class a unit is stratified by: its most common label (ties: the first in sorted order)."""
    counts = Counter(unit_labels.tolist())
    return min(counts, key=lambda label: (-counts[label], label))


def check_every_class_in_every_part(dataset: OmicsDataset, assignment: dict[str, list[str]], kept: list[str]) -> None:
    position = {str(sid): i for i, sid in enumerate(dataset.sample_ids)}
    for part, ids in assignment.items():
        present = {str(dataset.labels[position[sid]]) for sid in ids}
        missing = [label for label in kept if label not in present]
        if missing:
            raise DataError(
                f"{dataset.dataset_id}: after keeping each {dataset.info.get('group_key', 'group')} in one part, "
                f"the {part} part has no sample of {missing}; those classes have too few independent groups"
            )


def group_units(rows: np.ndarray, groups: np.ndarray | None) -> list[np.ndarray]:
    """Units that must stay together: single rows, or all rows of one group (across classes), in
    shuffled order."""
    if groups is None:
        return [np.array([r]) for r in rows]
    first_seen: dict[str, list[int]] = {}
    for r in rows:
        first_seen.setdefault(groups[r], []).append(int(r))
    return [np.array(members) for members in first_seen.values()]


def allocate(units: list[np.ndarray], fractions: tuple[float, float, float]) -> list[list[int]]:
    """Greedy allocation of units to parts by row count, each part getting one unit first."""
    sizes = np.array([len(u) for u in units])
    target = np.asarray(fractions) * sizes.sum()
    first = min(3, len(units))
    parts: list[list[int]] = [[i] if i < first else [] for i in range(3)]
    filled = np.array([sizes[i] if i < first else 0 for i in range(3)], dtype=float)
    for unit in range(first, len(units)):
        deficit = (target - filled) / np.maximum(target, 1e-9)
        part = int(np.argmax(deficit))
        parts[part].append(unit)
        filled[part] += sizes[unit]
    return parts


def split_path(splits_dir: Path, dataset_id: str, version: str) -> Path:
    return Path(splits_dir) / f"{safe_name(dataset_id)}@{safe_name(version)}.json"


def save_split(split: Split, path: Path) -> None:
    write_json_atomic(path, {**split.payload(), "split_hash": split.split_hash})


def load_split(path: Path) -> Split | None:
    """A persisted split whose stored hash matches its content, else None."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        split = Split(
            dataset_id=data["dataset_id"],
            version=data["version"],
            dataset_sha256=data["dataset_sha256"],
            seed=int(data["seed"]),
            fractions=tuple(data["fractions"]),
            min_class_size=int(data["min_class_size"]),
            group_key=data["group_key"],
            dropped_classes=dict(data["dropped_classes"]),
            ids={part: tuple(data[part]) for part in PARTS},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return split if split.split_hash == data.get("split_hash") else None


def get_split(
    dataset: OmicsDataset, splits_dir: Path, *, seed: int = 0, min_class_size: int = 10,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> Split:
    """The persisted split of this dataset version when it still matches the data, else a new one."""
    path = split_path(splits_dir, dataset.dataset_id, dataset.version)
    existing = load_split(path)
    wanted = (dataset.content_sha256(), seed, tuple(float(f) for f in fractions), min_class_size)
    if existing is not None and (
        existing.dataset_sha256, existing.seed, existing.fractions, existing.min_class_size
    ) == wanted:
        return existing
    split = make_split(dataset, seed=seed, fractions=fractions, min_class_size=min_class_size)
    save_split(split, path)
    return split
