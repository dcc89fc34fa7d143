"""GTEx v8 gene TPM (GCT 1.2) and the sample attribute table.

GCT 1.2: line 1 ``#1.2``, line 2 ``<rows>\\t<columns>``, line 3 ``Name\\tDescription\\t<SAMPID...>``,
then one row per gene: versioned Ensembl id, symbol, TPM values. The file (≈1.5 GB gzipped,
56,200 x 17,382) is streamed in binary mode; only rows whose symbol is a landmark gene are
converted to numbers.

Samples: columns whose ``SAMPID`` has ``SMAFRZE == RNASEQ`` and a non-empty label (``SMTS`` by
default, ``SMTSD`` as an alternative) in the attribute table. Values log2(TPM + 1), float32.
Donor = first two dash-separated fields of ``SAMPID`` (group key). A symbol with several Ensembl
rows keeps the row with the highest mean over every sample of the tissues with at least the card's
``min_class_size`` samples (the samples the split divides, :func:`benchmark.sources.split_samples`;
never the train split alone, so train rows are not special).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import ConfigError, DataError
from benchmark.readers import preview
from benchmark.sources import landmark_genes, open_binary, parse_floats, split_samples
from benchmark.sources.xena import read_table

LABELS = ("SMTS", "SMTSD")


def donor(sample_id: str) -> str:
    return "-".join(sample_id.split("-")[:2])


def read_gct_header(handle, name: str) -> tuple[int, int, list[str]]:
    first = handle.readline().rstrip(b"\r\n")
    if first != b"#1.2":
        raise DataError(f"{name}: line 1 must be '#1.2' (GCT 1.2), got {first[:40]!r}")
    line2 = handle.readline().rstrip(b"\r\n")
    dims = line2.split(b"\t")
    if len(dims) < 2 or not all(d.strip().isdigit() for d in dims[:2]):
        raise DataError(f"{name}: line 2 must be '<rows>\\t<columns>', got {line2[:40]!r}")
    header = handle.readline().rstrip(b"\r\n").decode("utf-8", "replace").split("\t")
    if header[:2] != ["Name", "Description"]:
        raise DataError(f"{name}: line 3 must start with 'Name\\tDescription', got {preview(header[:2])}")
    n_rows, n_cols = int(dims[0]), int(dims[1])
    if len(header) - 2 != n_cols:
        raise DataError(f"{name}: line 2 announces {n_cols} samples but line 3 names {len(header) - 2}")
    return n_rows, n_cols, header[2:]


def build_gtex(paths: dict[str, Path], params: dict[str, Any], *, label: str, min_class_size: int) -> dict[str, Any]:
    if label not in LABELS:
        raise ConfigError(f"gtex: label must be one of {', '.join(LABELS)}, got {label!r}")
    genes_option = str(params.get("genes", "landmark"))
    if genes_option != "landmark":
        raise ConfigError(f"gtex: genes must be 'landmark', got {genes_option!r}")
    notes: list[str] = []
    attributes = read_table(paths["attributes"], "SAMPID", ("SMTS", "SMTSD", "SMAFRZE"))
    gct = paths["tpm"]
    pairs = landmark_genes()
    wanted = {sym.encode() for _, sym in pairs}
    candidates: dict[str, list[tuple[str, np.ndarray]]] = {}
    with open_binary(gct) as handle:
        n_rows, n_cols, samples = read_gct_header(handle, gct.name)
        columns, ids, labels = [], [], []
        not_in_table = not_freeze = unlabelled = 0
        for col, sample in enumerate(samples):
            row = attributes.get(sample)
            if row is None:
                not_in_table += 1
            elif row["SMAFRZE"] != "RNASEQ":
                not_freeze += 1
            elif not row[label]:
                unlabelled += 1
            else:
                columns.append(col)
                ids.append(sample)
                labels.append(row[label])
        columns_arr = np.array(columns)
        lines = 0
        for lineno, line in enumerate(handle, 4):
            lines += 1
            first = line.find(b"\t")
            second = line.find(b"\t", first + 1)
            symbol = line[first + 1:second]
            if symbol not in wanted:
                continue
            fields = line.rstrip(b"\r\n").split(b"\t")
            if len(fields) != n_cols + 2:
                raise DataError(f"{gct.name}: line {lineno} has {len(fields)} columns, expected {n_cols + 2}")
            values = parse_floats(fields[2:], f"{gct.name}: line {lineno}")[columns_arr]
            if np.isnan(values).any() or (values < 0).any():
                raise DataError(f"{gct.name}: line {lineno} ({fields[0].decode()}): TPM values must be "
                                "non-negative numbers")
            candidates.setdefault(symbol.decode(), []).append((fields[0].decode(), np.log2(values + 1.0)))
    if lines != n_rows:
        notes.append(f"{gct.name}: line 2 announces {n_rows} genes, the file has {lines}")
    for count, why in ((not_in_table, "not in the attribute table"), (not_freeze, "with SMAFRZE != RNASEQ"),
                       (unlabelled, f"without {label}")):
        if count:
            notes.append(f"dropped {count} samples {why}")
    if not ids:
        raise DataError(f"{gct.name}: no sample of the GCT is an RNASEQ sample of {paths['attributes'].name}")
    ids_arr, labels_arr = np.array(ids), np.array(labels)
    groups = np.array([donor(s) for s in ids])
    order = [sym for _, sym in pairs if sym in candidates]
    unmatched = [sym for _, sym in pairs if sym not in candidates]
    info: dict[str, Any] = {"group_key": "donor", "genes": "landmark", "landmark_matched": len(order),
                            "landmark_unmatched": unmatched}
    duplicated = [sym for sym in order if len(candidates[sym]) > 1]
    chosen_ids = {}
    if duplicated:
        in_split = split_samples(labels_arr, min_class_size, gct.name)
        for sym in duplicated:
            means = [float(vals[in_split].mean(dtype=np.float64)) for _, vals in candidates[sym]]
            best = int(np.argmax(means))
            candidates[sym] = [candidates[sym][best]]
        notes.append(f"{len(duplicated)} symbols with several Ensembl rows: kept the row with the highest mean over "
                     f"the {int(in_split.sum())} samples of the classes with >= {min_class_size} samples: "
                     f"{preview(duplicated, 10)}")
    for sym in order:
        chosen_ids[sym] = candidates[sym][0][0]
    info["ensembl_ids"] = chosen_ids
    notes.insert(0, f"read {gct.name}: {n_cols} samples; kept {len(ids)} samples x {len(order)} landmark genes, "
                    "values log2(TPM + 1), float32")
    notes.append(f"landmark genes: {len(order)} of {len(pairs)} matched by symbol (Description)"
                 + (f"; unmatched: {preview(unmatched, 20)}" if unmatched else ""))
    if not order:
        raise DataError(f"{gct.name}: no landmark gene symbol in the Description column")
    X = np.stack([candidates[sym][0][1] for sym in order], axis=1)
    return {
        "X": np.ascontiguousarray(X, dtype=np.float32),
        "sample_ids": ids_arr,
        "feature_names": np.array(order),
        "positions": None,
        "labels": {label: labels_arr},
        "groups": groups,
        "notes": notes,
        "info": info,
    }
