"""Results store: one JSON record per job, written atomically, read back for publishing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.atomic import atomic_write

RECORD_SCHEMA = 1


def record_path(results_dir: Path, dataset_id: str, generator: str, seed: int, protocol: str = "standard") -> Path:
    """``results/<dataset>[@protocol]/<generator>/seed-<k>.json``."""
    folder = dataset_id if protocol == "standard" else f"{dataset_id}@{protocol}"
    return Path(results_dir) / safe_name(folder) / safe_name(generator) / f"seed-{seed}.json"


def safe_name(name: str) -> str:
    """A path component from a dataset or generator name (user file paths included)."""
    keep = "".join(c if c.isalnum() or c in "-_.@+~" else "_" for c in name)
    return keep.strip("._") or "unnamed"


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Store one job record atomically."""
    write_json_atomic(path, {"schema": RECORD_SCHEMA, **record})


def write_json_atomic(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as indented, key-sorted JSON, atomically."""
    payload = json.dumps(record, indent=1, sort_keys=True, allow_nan=False, default=_json_default) + "\n"
    atomic_write(Path(path), lambda handle: handle.write(payload.encode("utf-8")))


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``, or None when it is missing or unreadable (a torn write never lands)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("schema") == RECORD_SCHEMA else None


def iter_records(results_dir: Path, dataset_folder: str | None = None) -> Iterator[dict[str, Any]]:
    """Every readable record under ``results_dir`` (optionally one dataset folder), in path order."""
    root = Path(results_dir)
    if dataset_folder is not None:
        root = root / safe_name(dataset_folder)
    for path in sorted(root.glob("**/seed-*.json")):
        record = read_record(path)
        if record is not None:
            yield record


def dataset_folders(results_dir: Path) -> list[str]:
    """Names of dataset folders holding at least one record."""
    root = Path(results_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*/seed-*.json")))


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays in records become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a record")
