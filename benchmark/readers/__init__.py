"""Readers for user-supplied files. Each returns a :class:`Parsed` table; ``benchmark.data``
applies the shared rules (labels, missing values, modality inference) on top.

Heavy libraries (pandas, anndata) are imported inside the reader functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.errors import DataError

log = logging.getLogger("benchmark.data")

# extension → reader kind; longest suffixes first
EXTENSIONS: dict[str, str] = {
    ".csv.gz": "csv",
    ".tsv.gz": "tsv",
    ".txt.gz": "tsv",
    ".vcf.gz": "vcf",
    ".vcf.bgz": "vcf",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".h5ad": "h5ad",
    ".vcf": "vcf",
}


@dataclass
class Parsed:
    """A samples x features table as read from a file, before the shared rules."""

    X: np.ndarray  # float64 (may hold NaN) or int8 dosages
    sample_ids: np.ndarray  # str
    feature_names: np.ndarray  # str
    labels: np.ndarray | None = None  # object array: str or None (missing) per sample
    label_column: str | None = None
    positions: np.ndarray | None = None
    modality: str | None = None  # set when the format fixes it (VCF → genotype)
    haplotypes: np.ndarray | None = None  # VCF with haplotypes=True: samples x 2 x features int8
    notes: list[str] = field(default_factory=list)


def file_kind(path: str | Path) -> str | None:
    """The reader kind for a file name, or None when the extension is not supported."""
    name = Path(path).name.lower()
    for suffix, kind in EXTENSIONS.items():
        if name.endswith(suffix):
            return kind
    return None


def check_file(path: str | Path) -> Path:
    """The path as a Path; DataError when it does not exist, is a folder or has no known extension."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{path}: file not found")
    if p.is_dir():
        raise DataError(f"{path}: is a folder, expected a data file")
    if file_kind(p) is None:
        known = ", ".join(EXTENSIONS)
        raise DataError(f"{p.name}: unsupported file extension; expected one of {known}")
    return p


def read_file(
    path: Path,
    *,
    label_column: str | None,
    id_column: str | None,
    orientation: str,
    layer: str | None,
) -> Parsed:
    """Dispatch on the extension. ``label_column`` None: no label inside the data file."""
    kind = file_kind(path)
    if kind in ("csv", "tsv", "parquet"):
        from benchmark.readers.tabular import read_table

        return read_table(path, kind=kind, id_column=id_column, orientation=orientation, label_column=label_column)
    if kind == "h5ad":
        from benchmark.readers.h5ad import read_h5ad

        return read_h5ad(path, layer=layer, label_column=label_column)
    if kind == "vcf":
        from benchmark.readers.vcf import read_vcf

        return read_vcf(path)
    raise DataError(f"{path.name}: unsupported file extension")  # pragma: no cover - check_file first


def preview(items, limit: int = 12) -> str:
    """``'a', 'b', ... (N more)`` for error messages."""
    items = [str(x) for x in items]
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def note_change(notes: list[str], where: str, text: str) -> None:
    """Keep a change made to the input (rows or features dropped, values imputed) in the dataset notes,
    which every record carries, and log it as one line."""
    notes.append(text)
    log.warning("%s: %s", where, text)
