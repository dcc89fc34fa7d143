"""TCGA PanCanAtlas from UCSC Xena: the EB++ batch-corrected gene matrix and the sample tables.

The matrix (``EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz``) is a gzipped TSV with
genes as rows: the header is ``sample`` then 11,060 sample barcodes (15 characters,
``TCGA-02-0047-01``), each row a gene symbol then log2(norm_count + 1) values; some cells are NaN.
It is streamed line by line in binary mode and only the wanted gene rows are converted to numbers,
so memory stays at (kept genes x samples) floats, never the full matrix.

Labels (spec §1.2): sample type code = ``barcode[13:15]`` (01-09 tumour, 10-19 normal, 20+ control,
excluded); patient = ``barcode[:12]`` is the group key.

- ``cancer_type`` (default): primary tumours (code 01; 03 for LAML); label = ``cancer type
  abbreviation`` of the TCGA-CDR survival table; samples missing there get the abbreviation that
  their phenotype ``_primary_disease`` maps to among samples that have both (else dropped).
- ``sample_type``: codes 01 (``tumor``) and 11 (``normal``).

Genes: ``landmark`` (the 978 L1000 genes, joined on symbol, then on the Entrez id when row ids are
``SYMBOL|ENTREZ``; matched and unmatched genes recorded) or ``top-variance:N`` (the N genes with
the largest variance over every sample of the classes with at least the card's ``min_class_size``
samples, i.e. the samples the split divides, :func:`benchmark.sources.split_samples`; never the
train split alone, so train rows are not special; two streaming passes). Missing values: genes
with NaN in more than 1 % of the samples are dropped, then samples with any NaN in the remaining
genes (for ``top-variance`` this rule is applied to all genes first, so the samples, and with them
the variances, do not depend on which genes are chosen).
"""

from __future__ import annotations

import csv
import heapq
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import ConfigError, DataError
from benchmark.readers import preview
from benchmark.sources import (
    MAX_MISSING_FEATURE,
    landmark_genes,
    open_binary,
    open_text,
    parse_floats,
    split_samples,
)

LABELS = ("cancer_type", "sample_type")


def parse_genes_option(value: Any) -> tuple[str, int | None]:
    """``landmark`` → ("landmark", None); ``top-variance:N`` / ``topvar:N`` → ("top-variance", N)."""
    text = str(value).strip().lower()
    if text == "landmark":
        return "landmark", None
    for prefix in ("top-variance:", "topvar:", "top_variance:"):
        if text.startswith(prefix):
            count = text[len(prefix):]
            if count.isdigit() and int(count) > 0:
                return "top-variance", int(count)
    raise ConfigError(f"genes must be 'landmark' or 'top-variance:N' (N a positive integer), got {value!r}")


def sample_type_code(barcode: str) -> int | None:
    code = barcode[13:15]
    return int(code) if len(barcode) >= 15 and code.isdigit() else None


def read_header(path: Path) -> list[str]:
    with open_binary(path) as handle:
        line = handle.readline()
    if not line:
        raise DataError(f"{path.name}: empty file")
    cells = line.rstrip(b"\r\n").decode("utf-8", "replace").split("\t")
    if len(cells) < 2:
        raise DataError(f"{path.name}: line 1: expected a tab-separated header (gene column, then sample barcodes)")
    return cells


def read_table(path: Path, key: str, wanted: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Rows of a TSV (gzip or plain) keyed by column ``key``, only the ``wanted`` columns."""
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path.name}: empty table")
        header = [h.strip() for h in header]
        missing = [c for c in (key, *wanted) if c not in header]
        if missing:
            raise DataError(f"{path.name}: column(s) {preview(missing)} missing; columns: {preview(header)}")
        idx = {c: header.index(c) for c in (key, *wanted)}
        out: dict[str, dict[str, str]] = {}
        for lineno, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) < len(header):
                row = row + [""] * (len(header) - len(row))
            sample = row[idx[key]].strip()
            if not sample:
                raise DataError(f"{path.name}: line {lineno}: empty {key!r}")
            out.setdefault(sample, {c: row[idx[c]].strip() for c in wanted})
    return out


def cancer_types(survival: Path, phenotype: Path, samples: list[str]) -> tuple[dict[str, str], set[str]]:
    """Sample → cancer type abbreviation (survival table, then mapped ``_primary_disease``), and the
    samples labelled through the fallback."""
    surv = read_table(survival, "sample", ("cancer type abbreviation",))
    pheno = read_table(phenotype, "sample", ("_primary_disease",))
    abbrev = {s: r["cancer type abbreviation"] for s, r in surv.items() if r["cancer type abbreviation"]}
    pairs: dict[str, Counter] = {}
    for sample, code in abbrev.items():
        disease = pheno.get(sample, {}).get("_primary_disease")
        if disease:
            pairs.setdefault(disease, Counter())[code] += 1
    disease_to_code = {d: c.most_common(1)[0][0] for d, c in pairs.items()}
    out: dict[str, str] = {}
    fallback = set()
    for sample in samples:
        if sample in abbrev:
            out[sample] = abbrev[sample]
            continue
        disease = pheno.get(sample, {}).get("_primary_disease")
        if disease in disease_to_code:
            out[sample] = disease_to_code[disease]
            fallback.add(sample)
    return out, fallback


def select_samples(barcodes: list[str], label: str, types: dict[str, str] | None,
                   notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matrix column indices, sample ids and labels of the task's samples."""
    columns, ids, labels = [], [], []
    seen: set[str] = set()
    duplicated, excluded, unlabelled = [], Counter(), 0
    for col, barcode in enumerate(barcodes):
        sample = barcode[:15]
        if sample in seen:
            duplicated.append(barcode)
            continue
        seen.add(sample)
        code = sample_type_code(sample)
        if label == "sample_type":
            if code not in (1, 11):
                excluded[code] += 1
                continue
            value = "tumor" if code == 1 else "normal"
        else:
            cancer = (types or {}).get(sample)
            if not (code == 1 or (code == 3 and cancer == "LAML")):
                excluded[code] += 1
                continue
            if cancer is None:
                unlabelled += 1
                continue
            value = cancer
        columns.append(col)
        ids.append(sample)
        labels.append(value)
    if duplicated:
        notes.append(f"{len(duplicated)} duplicated sample columns ignored (first kept): {preview(duplicated, 5)}")
    if excluded:
        kept = "01 and 11" if label == "sample_type" else "01 (03 for LAML)"
        detail = ", ".join(f"{'??' if k is None else f'{k:02d}'}: {v}" for k, v in sorted(
            excluded.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
        notes.append(f"kept sample type codes {kept}; excluded by code {detail}")
    if unlabelled:
        notes.append(f"dropped {unlabelled} primary tumours without a cancer type in the survival/phenotype tables")
    if not ids:
        raise DataError("tcga: no sample left after the sample-type rule")
    return np.array(columns), np.array(ids), np.array(labels)


def _row_key(line: bytes) -> bytes:
    return line[: line.find(b"\t")]


def stream_rows(path: Path, n_columns: int, wanted=None):
    """Yield ``(line number, row id, values float32 [n_columns])`` of the rows ``wanted(id)`` accepts."""
    with open_binary(path) as handle:
        handle.readline()
        for lineno, line in enumerate(handle, 2):
            key = _row_key(line)
            if wanted is not None and not wanted(key):
                continue
            fields = line.rstrip(b"\r\n").split(b"\t")
            if len(fields) != n_columns + 1:
                raise DataError(f"{path.name}: line {lineno} has {len(fields)} columns, expected {n_columns + 1}")
            yield lineno, key.decode("utf-8", "replace"), parse_floats(fields[1:], f"{path.name}: line {lineno}")


def _landmark_rows(path: Path, n_columns: int, columns: np.ndarray, notes: list[str], info: dict[str, Any]):
    pairs = landmark_genes()
    by_symbol = {sym: sym for _, sym in pairs}
    by_entrez = {ent: sym for ent, sym in pairs}
    wanted_bytes = {s.encode() for s in by_symbol}

    def wanted(key: bytes) -> bool:
        return key in wanted_bytes or b"|" in key

    found: dict[str, tuple[np.ndarray, str]] = {}
    via_entrez = []
    duplicates = []
    for _, key, values in stream_rows(path, n_columns, wanted):
        symbol = by_symbol.get(key)
        how = "symbol"
        if symbol is None and "|" in key:
            sym_part, _, entrez = key.partition("|")
            symbol = by_symbol.get(sym_part)
            if symbol is None:
                symbol, how = by_entrez.get(entrez), "entrez"
        if symbol is None:
            continue
        if symbol in found:
            duplicates.append(key)
            continue
        found[symbol] = (values[columns], key)
        if how == "entrez":
            via_entrez.append(f"{key}->{symbol}")
    order = [sym for _, sym in pairs if sym in found]
    unmatched = [sym for _, sym in pairs if sym not in found]
    notes.append(f"landmark genes: {len(order)} of {len(pairs)} matched by symbol"
                 + (f" ({len(via_entrez)} through the Entrez id)" if via_entrez else "")
                 + (f"; unmatched: {preview(unmatched, 20)}" if unmatched else ""))
    if duplicates:
        notes.append(f"duplicated gene rows ignored (first kept): {preview(duplicates, 10)}")
    info["landmark_matched"] = len(order)
    info["landmark_unmatched"] = unmatched
    if not order:
        raise DataError(f"{path.name}: no landmark gene found among the row ids (first column)")
    rows = np.stack([found[sym][0] for sym in order])  # genes x samples
    return rows, order


def _drop_missing(rows: np.ndarray, genes: list[str], ids: np.ndarray, notes: list[str]):
    nan = np.isnan(rows)
    if not nan.any():
        return rows, genes, np.ones(rows.shape[1], dtype=bool)
    keep_g = nan.mean(axis=1) <= MAX_MISSING_FEATURE
    if (~keep_g).any():
        notes.append(f"dropped {int((~keep_g).sum())} genes with NaN in more than {MAX_MISSING_FEATURE:.0%} of "
                     f"the samples: {preview([g for g, k in zip(genes, keep_g, strict=True) if not k], 10)}")
    keep_s = ~nan[keep_g].any(axis=0)
    if (~keep_s).any():
        notes.append(f"dropped {int((~keep_s).sum())} samples with NaN in the kept genes: {preview(ids[~keep_s], 5)}")
    return rows[keep_g], [g for g, k in zip(genes, keep_g, strict=True) if k], keep_s


def _top_variance(path: Path, n_columns: int, columns: np.ndarray, ids: np.ndarray, labels: np.ndarray, k: int,
                  min_class_size: int, notes: list[str], info: dict[str, Any]):
    # pass 1: missing values decide the candidate genes and the samples
    n = len(columns)
    bad_samples = np.zeros(n, dtype=bool)
    n_genes = dropped = 0
    for _, _key, values in stream_rows(path, n_columns):
        n_genes += 1
        nan = np.isnan(values[columns])
        if nan.mean() > MAX_MISSING_FEATURE:
            dropped += 1
        else:
            bad_samples |= nan
    if dropped:
        notes.append(f"top-variance: {dropped} of {n_genes} genes have NaN in more than {MAX_MISSING_FEATURE:.0%} "
                     "of the samples and are not candidates")
    if bad_samples.any():
        notes.append(f"dropped {int(bad_samples.sum())} samples with NaN in a candidate gene: "
                     f"{preview(ids[bad_samples], 5)}")
    keep_s = ~bad_samples
    cols = columns[keep_s]
    in_split = split_samples(labels[keep_s], min_class_size, path.name)
    split_cols = cols[in_split]
    # pass 2: keep the k rows with the largest variance over the split's samples (min-heap; ties → earlier row)
    heap: list[tuple[float, int, str, np.ndarray]] = []
    seen: set[str] = set()
    duplicates = []
    for lineno, key, values in stream_rows(path, n_columns):
        if key in seen:
            duplicates.append(key)
            continue
        seen.add(key)
        kept = values[cols]
        if np.isnan(kept).any():
            continue
        var = float(np.var(values[split_cols], dtype=np.float64))
        item = (var, -lineno, key, kept)
        if len(heap) < k:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)
    if duplicates:
        notes.append(f"duplicated gene rows ignored (first kept): {preview(duplicates, 10)}")
    chosen = sorted(heap, key=lambda item: -item[1])  # file order
    if len(chosen) < k:
        notes.append(f"top-variance: only {len(chosen)} candidate genes (asked for {k})")
    genes = [item[2] for item in chosen]
    notes.append(f"top-variance: {len(genes)} genes with the largest variance over the {int(in_split.sum())} samples of "
                 f"the classes with >= {min_class_size} samples")
    info["selected_genes"] = genes
    return np.stack([item[3] for item in chosen]), genes, keep_s


def build_tcga(paths: dict[str, Path], params: dict[str, Any], *, label: str, min_class_size: int) -> dict[str, Any]:
    if label not in LABELS:
        raise ConfigError(f"tcga: label must be one of {', '.join(LABELS)}, got {label!r}")
    mode, k = parse_genes_option(params.get("genes", "landmark"))
    matrix = paths["matrix"]
    notes: list[str] = []
    info: dict[str, Any] = {"group_key": "patient", "genes": params.get("genes", "landmark")}
    header = read_header(matrix)
    barcodes = header[1:]
    types, fallback = None, set()
    if label == "cancer_type":
        types, fallback = cancer_types(paths["survival"], paths["phenotype"], [b[:15] for b in barcodes])
    columns, ids, labels = select_samples(barcodes, label, types, notes)
    via_phenotype = [s for s in ids if s in fallback]
    if via_phenotype:
        notes.append(f"cancer type of {len(via_phenotype)} samples from the phenotype _primary_disease (not in "
                     f"{paths['survival'].name}): {preview(via_phenotype, 5)}")
    groups = np.array([s[:12] for s in ids])
    if mode == "landmark":
        rows, genes = _landmark_rows(matrix, len(barcodes), columns, notes, info)
        rows, genes, keep_s = _drop_missing(rows, genes, ids, notes)
        rows = rows[:, keep_s]
    else:
        rows, genes, keep_s = _top_variance(matrix, len(barcodes), columns, ids, labels, k, min_class_size, notes,
                                            info)
    ids, labels, groups = ids[keep_s], labels[keep_s], groups[keep_s]
    notes.insert(0, f"read {matrix.name}: {len(barcodes)} sample columns; kept {len(ids)} samples x {len(genes)} "
                    "genes, values log2(norm_count + 1) as published, float32")
    return {
        "X": np.ascontiguousarray(rows.T, dtype=np.float32),
        "sample_ids": ids,
        "feature_names": np.array(genes),
        "positions": None,
        "labels": {label: labels},
        "groups": groups,
        "notes": notes,
        "info": info,
    }
