"""Parsers for the public source files of the dataset cards (one module per source format).

- :mod:`benchmark.sources.xena`: UCSC Xena TCGA PanCanAtlas matrix + phenotype/survival tables (``tcga``)
- :mod:`benchmark.sources.gct`: GTEx GCT 1.2 expression + sample attributes (``gtex``)
- :mod:`benchmark.sources.kg`: 1000 Genomes VCF (plain, BGZF or zipped) + sample panel (``1kg-*``)

Each ``build_*`` function takes the verified local files (by card role), the card parameters, the
label column, the minimum class size and the split seed, and returns the loader's build dict
(``X``, ``sample_ids``, ``feature_names``, ``labels``, ``groups``, ``notes``, ``info``, ...).
Feature selections that the protocol computes on the train split (TCGA top-variance genes, GTEx
duplicate symbols, 1000 Genomes MAF) use :func:`train_mask`, which reproduces exactly the split
``benchmark.splits.make_split`` later makes of the returned dataset (same ids, labels, groups, seed).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

from benchmark.errors import DataError

MISSING_TOKENS = (b"", b"NA", b"na", b"N/A", b"NULL", b"null", b".", b"-")
MAX_MISSING_FEATURE = 0.01


def open_binary(path: Path) -> io.BufferedIOBase:
    """A binary reader, decompressing gzip/BGZF by magic number (not by extension)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(path, "rb"), buffer_size=1 << 20)
    return open(path, "rb", buffering=1 << 20)


def open_text(path: Path, encoding: str = "utf-8"):
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors="replace", newline="")


def parse_floats(fields: list[bytes], where: str) -> np.ndarray:
    """float32 values of byte strings; empty / NA / NaN cells become NaN."""
    try:
        return np.array(fields, dtype=np.float32)
    except ValueError:
        pass
    out = np.empty(len(fields), dtype=np.float32)
    for k, cell in enumerate(fields):
        cell = cell.strip()
        if cell in MISSING_TOKENS:
            out[k] = np.nan
            continue
        try:
            out[k] = float(cell)
        except ValueError:
            raise DataError(f"{where}, value {k + 1}: {cell.decode(errors='replace')!r} is not a number") from None
    return out


def landmark_genes() -> list[tuple[str, str]]:
    """The 978 L1000 landmark genes shipped in ``benchmark/data``: ``(entrez_id, symbol)`` pairs."""
    path = Path(__file__).resolve().parent.parent / "data" / "lincs_landmark_genes.tsv"
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or line.startswith("entrez_gene_id"):
                continue
            entrez, symbol = line.rstrip("\n").split("\t")[:2]
            pairs.append((entrez, symbol))
    return pairs


def train_mask(sample_ids: np.ndarray, labels: np.ndarray, groups: np.ndarray | None, *, min_class_size: int,
               seed: int, group_key: str | None = None) -> np.ndarray:
    """Boolean mask of the rows ``make_split`` puts in train for these ids/labels/groups and seed.

    The split depends only on the sorted sample ids, labels and groups (not on the values), so the
    mask is the train part of the split the runner makes of the finished dataset.
    """
    from benchmark.dataset import OmicsDataset
    from benchmark.splits import make_split

    n = len(sample_ids)
    probe = OmicsDataset(
        dataset_id="feature-selection", version="0", X=np.zeros((n, 0), dtype=np.float32),
        labels=np.asarray(labels).astype(str), sample_ids=np.asarray(sample_ids).astype(str),
        feature_names=np.array([], dtype=str), modality="expression",
        groups=None if groups is None else np.asarray(groups).astype(str),
        info={"group_key": group_key} if group_key else {},
    )
    split = make_split(probe, seed=seed, min_class_size=min_class_size)
    train = set(split.ids["train"])
    return np.array([str(s) in train for s in sample_ids], dtype=bool)
