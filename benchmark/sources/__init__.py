"""Parsers for the public source files of the dataset cards (one module per source format).

- :mod:`benchmark.sources.xena`: UCSC Xena TCGA PanCanAtlas matrix + phenotype/survival tables (``tcga``)
- :mod:`benchmark.sources.gct`: GTEx GCT 1.2 expression + sample attributes (``gtex``)
- :mod:`benchmark.sources.kg`: 1000 Genomes VCF (plain, BGZF or zipped) + sample panel (``1kg-*``)

Each ``build_*`` function takes the verified local files (by card role), the card parameters, the
label column and the card's minimum class size, and returns the loader's build dict (``X``,
``sample_ids``, ``feature_names``, ``labels``, ``groups``, ``notes``, ``info``, ...).
The label-free feature selections (TCGA top-variance genes, GTEx duplicate symbols, 1000 Genomes
MAF) use every sample the split will divide, :func:`split_samples`, never the train split alone: a
selection fitted on train rows makes them special for the privacy and fidelity metrics (a train
MAF filter keeps the train rows' private rare variants and drops the holdout's).
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


def split_samples(labels: np.ndarray, min_class_size: int, where: str) -> np.ndarray:
    """Mask of the samples whose class has at least ``min_class_size`` samples: the rows that
    ``benchmark.splits.make_split`` divides into train, holdout and test (it drops smaller classes)."""
    _, inverse, counts = np.unique(np.asarray(labels).astype(str), return_inverse=True, return_counts=True)
    mask = counts[inverse] >= min_class_size
    if not mask.any():
        raise DataError(f"{where}: no class has {min_class_size} samples or more (the largest has "
                        f"{max(counts, default=0)}), so the split would keep no sample")
    return mask
