"""Dataset loading: embedded datasets from their cards (processed once, then cached) and user files.

``load_dataset(spec)`` takes a card id (``pbmc68k``, ``sim-ooa``, ...) or a path to a user file
(.h5ad, .csv, .tsv, .csv.gz, .tsv.gz, .parquet, .vcf, .vcf.gz) and returns an
:class:`~benchmark.dataset.OmicsDataset`. Every problem with the input raises
:class:`~benchmark.errors.DataError` (bad data: the message names the file and the column, row or
line) or :class:`~benchmark.errors.ConfigError` (bad option or unknown dataset id).

Cards with ``[files.*]`` (``tcga``, ``gtex``, ``1kg-hla``, ``1kg-chr1``) get their raw files through
:mod:`benchmark.download` (downloaded, verified and kept in the cache; offline they must be there),
then a parser of :mod:`benchmark.sources` builds the matrix. Their builds depend on the label
column (the task selects the samples, over which the label-free feature selections are computed),
so each label column and parameter override is cached separately; the split seed plays no part.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import cache as _cache
from benchmark.cards import Card, card_hash, get_card
from benchmark.dataset import MODALITIES, OmicsDataset, dataset_sha256
from benchmark.errors import ConfigError, DataError
from benchmark.readers import EXTENSIONS, Parsed, check_file, file_kind, note_change, preview, read_file

MAX_MISSING_FEATURE = 0.01  # features with a larger fraction of missing values are dropped
KNOWN_SIZES = ("smoke", "default", "paper")  # budgets; a card may define any of them
# 2 for the source loaders: feature selections over every sample the split divides, no longer over train
LOADER_VERSIONS = {"scanpy-pbmc68k": 1, "msprime-ooa": 1, "xena-tcga": 2, "gtex-gct": 2, "kg-vcf": 2}
# loaders reading downloaded files (benchmark.sources); one build per label column and params
SOURCE_LOADERS = {
    "xena-tcga": ("benchmark.sources.xena", "build_tcga"),
    "gtex-gct": ("benchmark.sources.gct", "build_gtex"),
    "kg-vcf": ("benchmark.sources.kg", "build_1kg"),
}

__all__ = ["load_dataset", "is_file_spec", "card_cache_stem", "load_haplotypes"]


# ---------------------------------------------------------------------------------------------
# public entry point


def load_dataset(
    spec: str,
    *,
    label_column: str | None = None,
    labels_file: str | None = None,
    layer: str | None = None,
    modality: str | None = None,
    orientation: str = "samples",
    id_column: str | None = None,
    log1p: bool = False,
    size: str = "default",
    cache: bool = True,
    drop_missing: bool = False,
    params: dict[str, Any] | None = None,
) -> OmicsDataset:
    """Load a card dataset (by id) or a user file (by path).

    Card datasets are built once per (card content, size) and cached under ``cache_dir()``;
    ``cache=False`` rebuilds without reading or writing the cache. For user files the options
    ``label_column`` (default ``label``; for VCF a column of ``labels_file``), ``labels_file``,
    ``layer`` (h5ad), ``modality`` (override the inferred one), ``orientation`` (``samples`` or
    ``features``), ``id_column``, ``log1p`` and ``drop_missing`` apply; ``size`` is ignored.
    Missing values in a table are an error naming the first one unless ``drop_missing`` is set,
    which drops features with > 1 % missing, then samples with any missing (both noted).

    Card datasets only: ``params`` overrides loader parameters of the card's ``[params]`` (e.g.
    ``{"genes": "top-variance:1000"}`` for ``tcga``, ``{"max_snps": "all"}`` for ``1kg-hla``).
    Their feature selections (TCGA top-variance genes, GTEx duplicate symbols, 1000 Genomes MAF)
    use every sample of the classes with at least the card's ``min_class_size`` samples (those the
    split divides), never the train split alone, so they do not depend on the split seed. Missing
    raw files are downloaded (see :mod:`benchmark.download`); offline
    (``$OMICS_BENCHMARK_OFFLINE=1``) or without network a DownloadError (a DataError) says which
    files to put where.
    """
    if orientation not in ("samples", "features"):
        raise ConfigError(f"orientation must be 'samples' or 'features', got {orientation!r}")
    if modality is not None and modality not in MODALITIES:
        raise ConfigError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    spec = os.fspath(spec)
    if is_file_spec(spec):
        return _load_user_file(
            Path(spec),
            label_column=label_column,
            labels_file=labels_file,
            layer=layer,
            modality=modality,
            orientation=orientation,
            id_column=id_column,
            log1p=log1p,
            drop_missing=drop_missing,
        )
    try:
        card = get_card(spec)
    except ConfigError as exc:
        raise ConfigError(f"{exc}; or give a path to a file ({', '.join(EXTENSIONS)})") from None
    user_only = {
        "labels_file": labels_file is not None,
        "layer": layer is not None,
        "orientation": orientation != "samples",
        "id_column": id_column is not None,
        "log1p": bool(log1p),
        "modality": modality is not None and modality != card.modality,
    }
    given = [name for name, used in user_only.items() if used]
    if given:
        raise ConfigError(f"option(s) {', '.join(given)} apply to user files, not to the dataset {card.id!r}")
    return _load_card(card, label_column=label_column, size=size, use_cache=cache,
                      overrides=_check_overrides(card, params))


def is_file_spec(spec: str) -> bool:
    """True when ``spec`` names a file rather than a card id."""
    return file_kind(spec) is not None or os.sep in spec or "/" in spec or Path(spec).exists()


# ---------------------------------------------------------------------------------------------
# card datasets


def card_cache_stem(card: Card, size: str, *, label_column: str | None = None,
                    params: dict[str, Any] | None = None) -> Path:
    """``<cache>/datasets/<id>/<size>-<key>``: key from the card hash, size and loader version
    (plus, for loaders of downloaded files, the label column and parameter overrides)."""
    key = f"{card_hash(card)}|{size}|{_cache.CACHE_FORMAT}|{LOADER_VERSIONS.get(card.loader, 0)}"
    name = size
    if card.loader in SOURCE_LOADERS:
        column = label_column or card.label_column
        key += "|" + json.dumps([column, params or {}], sort_keys=True)
        name = f"{size}-{column}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return _cache.cache_dir() / "datasets" / card.id / f"{name}-{digest}"


def _check_overrides(card: Card, params: dict[str, Any] | None) -> dict[str, Any]:
    if not params:
        return {}
    known = set(card.params).union(*(set(t) for t in card.sizes.values()))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"dataset {card.id!r} has no parameter(s) {', '.join(unknown)}; "
                          f"parameters: {', '.join(sorted(known)) or '(none)'}")
    return {str(k): v for k, v in sorted(params.items()) if card.params.get(k) != v}


def _resolve_size(card: Card, size: str) -> tuple[str, list[str]]:
    if size == "default" or size in card.sizes:
        return size, []
    if size in KNOWN_SIZES:
        return "default", [f"size {size!r} is not defined by this card; using the default size"]
    raise ConfigError(f"dataset {card.id!r} has no size {size!r}; available: {', '.join(card.size_names)}")


def _build_card(card: Card, size: str, *, label_column: str | None = None,
                overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    params = card.params_for(size)
    params.update(overrides or {})
    if card.loader in SOURCE_LOADERS:
        import importlib

        from benchmark.download import fetch_files

        paths = fetch_files(card)
        module, function = SOURCE_LOADERS[card.loader]
        build = getattr(importlib.import_module(module), function)
        return build(paths, params, label=label_column or card.label_column, min_class_size=card.min_class_size)
    if card.loader == "scanpy-pbmc68k":
        return _build_pbmc68k(card, params)
    if card.loader == "msprime-ooa":
        from benchmark.simulate import simulate_genotypes

        out = simulate_genotypes(params)
        import msprime
        import stdpopsim

        out["labels"] = {card.label_column: out.pop("labels")}
        out["notes"].append(f"software: msprime {msprime.__version__}, stdpopsim {stdpopsim.__version__}")
        return out
    raise ConfigError(f"{card.path}: unknown loader {card.loader!r}; known: {', '.join(LOADER_VERSIONS)}")


def _build_pbmc68k(card: Card, params: dict[str, Any]) -> dict[str, Any]:
    matrix = params.get("matrix", "raw.X")
    if matrix not in ("raw.X", "X"):
        raise ConfigError(f"{card.path}: params.matrix must be 'raw.X' or 'X', got {matrix!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import scanpy

            adata = scanpy.datasets.pbmc68k_reduced()
    except ImportError as exc:
        raise ConfigError(f"dataset {card.id!r} needs scanpy (pip install scanpy): {exc}") from None
    if matrix == "raw.X":
        if adata.raw is None:
            raise DataError(f"{card.id}: scanpy's pbmc68k_reduced has no .raw (scanpy version changed?)")
        mat, features = adata.raw.X, adata.raw.var_names
    else:
        mat, features = adata.X, adata.var_names
    X = mat.toarray() if hasattr(mat, "toarray") else np.asarray(mat)
    labels = {}
    for column in card.label_columns:
        if column not in adata.obs.columns:
            raise DataError(f"{card.id}: obs column {column!r} missing; obs columns: {preview(adata.obs.columns)}")
        labels[column] = np.array([str(v) for v in adata.obs[column].astype(object)])
    return {
        "X": np.ascontiguousarray(X, dtype=np.float32),
        "sample_ids": np.array([str(s) for s in adata.obs_names]),
        "feature_names": np.array([str(f) for f in features]),
        "positions": None,
        "labels": labels,
        "notes": [
            f"matrix: {matrix} (log1p of library-size-normalised expression), densified to float32",
            f"software: scanpy {_version('scanpy')}, anndata {_version('anndata')}",
        ],
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _load_card(card: Card, *, label_column: str | None, size: str, use_cache: bool,
               overrides: dict[str, Any] | None = None) -> OmicsDataset:
    size, notes = _resolve_size(card, size)
    column = label_column or card.label_column
    if column not in card.label_columns:
        raise ConfigError(
            f"dataset {card.id!r} has no label column {column!r}; available: {', '.join(card.label_columns)}"
        )
    stem = card_cache_stem(card, size, label_column=column, params=overrides)
    started = time.perf_counter()
    entry = _cache.load_entry(stem) if use_cache else None
    status = "hit" if entry is not None else ("built" if use_cache else "disabled")
    if entry is None:
        built = _build_card(card, size, label_column=column, overrides=overrides)
        arrays = {
            "X": built["X"],
            "sample_ids": built["sample_ids"],
            "feature_names": built["feature_names"],
        }
        for name in ("positions", "groups", "haplotypes"):
            if built.get(name) is not None:
                arrays[name] = np.asarray(built[name])
        label_names = list(built["labels"])
        for k, name in enumerate(label_names):
            arrays[f"labels_{k}"] = built["labels"][name]
        meta = {"dataset_id": card.id, "size": size, "card_hash": card_hash(card),
                "label_columns": label_names, "notes": list(built["notes"]), "info": built.get("info", {}),
                "params": overrides or {}}
        if use_cache:
            try:
                _cache.save_entry(stem, arrays, meta)
            except OSError as exc:
                notes.append(f"could not write the cache entry {stem} ({exc.strerror or exc})")
                status = "unwritable"
    else:
        arrays, meta = entry
    label_names = meta["label_columns"]
    if column not in label_names:  # pragma: no cover - card and cache agree by construction
        raise ConfigError(f"dataset {card.id!r}: label column {column!r} not in the cached build")
    labels = arrays[f"labels_{label_names.index(column)}"]
    X = arrays["X"]
    info = _card_info(card, size=size, label_column=column)
    info.update(meta.get("info", {}))
    if overrides:
        info["params"] = dict(overrides)
    info["notes"] = list(meta["notes"]) + notes
    info["cache"] = {"status": status, "path": str(stem), "seconds": round(time.perf_counter() - started, 3)}
    return _finish(
        dataset_id=card.id,
        version=card.version,
        X=X,
        labels=labels.astype(str),
        sample_ids=arrays["sample_ids"].astype(str),
        feature_names=arrays["feature_names"].astype(str),
        modality=card.modality,
        positions=arrays.get("positions"),
        groups=arrays.get("groups"),
        info=info,
        where=card.id,
        label_column=column,
    )


def load_haplotypes(card_id: str, *, size: str = "default", label_column: str | None = None,
                    params: dict[str, Any] | None = None) -> np.ndarray:
    """Phased haplotypes (samples x 2 x SNPs, int8 alleles 0/1) of a genotype card, aligned with
    the rows and features of ``load_dataset(card_id, ...)`` called with the same arguments."""
    card = get_card(card_id)
    if card.loader != "kg-vcf":
        raise ConfigError(f"dataset {card_id!r} has no haplotypes (only the 1000 Genomes VCF cards have)")
    size, _ = _resolve_size(card, size)
    column = label_column or card.label_column
    overrides = _check_overrides(card, params)
    stem = card_cache_stem(card, size, label_column=column, params=overrides)
    entry = _cache.load_entry(stem)
    if entry is None:
        load_dataset(card_id, label_column=label_column, size=size, params=params)
        entry = _cache.load_entry(stem)
    if entry is None:  # cache not writable: build again without it
        built = _build_card(card, size, label_column=column, overrides=overrides)
        return np.asarray(built["haplotypes"], dtype=np.int8)
    return entry[0]["haplotypes"]


def _card_info(card: Card, *, size: str, label_column: str) -> dict[str, Any]:
    return {
        "id": card.id,
        "version": card.version,
        "title": card.title,
        "description": card.description,
        "source": card.source_text,
        "urls": list(card.source_urls),
        "license": card.license,
        "citation": card.citation,
        "loader": card.loader,
        "size": size,
        "label_column": label_column,
        "label_derivation": card.label_derivation if label_column == card.label_column else f"obs[{label_column!r}]",
        "min_class_size": card.min_class_size,
        "card_hash": card_hash(card),
        "card_path": str(card.path) if card.path else None,
    }


# ---------------------------------------------------------------------------------------------
# user files


def _load_user_file(
    path: Path,
    *,
    label_column: str | None,
    labels_file: str | None,
    layer: str | None,
    modality: str | None,
    orientation: str,
    id_column: str | None,
    log1p: bool,
    drop_missing: bool,
) -> OmicsDataset:
    path = check_file(path)
    kind = file_kind(path)
    if layer is not None and kind != "h5ad":
        raise ConfigError(f"{path.name}: the layer option applies to .h5ad files only")
    if orientation != "samples" and kind not in ("csv", "tsv", "parquet"):
        raise ConfigError(f"{path.name}: orientation applies to CSV/TSV/Parquet tables only")
    if kind == "vcf" and labels_file is None:
        raise DataError(
            f"{path.name}: a VCF has no labels; give a labels file (two columns sample,label, or a 1000 Genomes .ped)"
        )

    if labels_file is not None and not Path(labels_file).expanduser().is_file():
        raise DataError(f"{labels_file}: labels file not found")
    inner_label = None if labels_file is not None else (label_column or "label")
    parsed = read_file(path, label_column=inner_label, id_column=id_column, orientation=orientation, layer=layer)
    notes = list(parsed.notes)
    info: dict[str, Any] = {
        "title": path.name,
        "description": f"user-supplied {kind} file",
        "source": f"user file {path.name}",  # never the absolute path: records are published
        "urls": [],
        "license": "user-supplied",
        "citation": "",
        "loader": f"file:{kind}",
        "file": str(path.resolve()),
        "sha256": _cache.file_sha256(path),
        "min_class_size": 10,
    }

    labels = parsed.labels
    column = parsed.label_column
    if labels_file is not None:
        from benchmark.readers.labels import read_labels_file

        lpath = Path(labels_file).expanduser()
        mapping, column, label_notes = read_labels_file(
            lpath, label_column=label_column, samples=parsed.sample_ids.tolist()
        )
        notes.extend(label_notes)
        labels = np.array([mapping.get(s) for s in parsed.sample_ids], dtype=object)
        if all(v is None for v in labels):
            raise DataError(
                f"{path.name}: no sample id matches the labels file {lpath.name} "
                f"(data ids e.g. {preview(parsed.sample_ids[:3])}; labels ids e.g. {preview(list(mapping)[:3])})"
            )
        info["labels_file"] = str(lpath.resolve())
        info["labels_file_sha256"] = _cache.file_sha256(lpath)
        info["source"] += f", labels from {lpath.name}"
        where_label = f"{lpath.name} (column {column!r})"
    else:
        where_label = f"{path.name} (column {column!r})"
    info["label_column"] = column
    info["label_derivation"] = f"{where_label}"

    parsed = _drop_unlabelled(parsed, labels, path, lpath.name if labels_file else path.name, notes)
    X, sample_ids, feature_names, labels = _missing_rule(parsed, path, notes, drop_missing)
    inferred = parsed.modality or infer_modality(X)
    mod = modality or inferred
    if modality is not None and modality != inferred:
        notes.append(f"modality {modality!r} given (inferred {inferred!r})")
    elif parsed.modality is None:
        notes.append(f"modality inferred: {inferred}")
    X, mod = _convert(X, mod, path, sample_ids, feature_names, log1p=log1p, explicit=modality is not None, notes=notes)

    info["notes"] = notes
    version = user_file_version(info["sha256"], info.get("labels_file_sha256"))
    info["id"] = f"{path.name}-{version}"
    options = {k: v for k, v in {
        "label_column": label_column, "labels_file": labels_file, "layer": layer, "modality": modality,
        "orientation": orientation if orientation != "samples" else None, "id_column": id_column,
        "log1p": log1p or None, "drop_missing": drop_missing or None}.items() if v is not None}
    info["card"] = {
        "id": info["id"], "version": version, "loader": info["loader"],
        "params": {"path": info["file"], "sha256": info["sha256"], **options},
    }
    return _finish(
        dataset_id=info["id"],
        version=version,
        X=X,
        labels=labels,
        sample_ids=sample_ids,
        feature_names=feature_names,
        modality=mod,
        positions=parsed.positions,
        info=info,
        where=path.name,
        label_column=column,
    )


def user_file_version(data_sha256: str, labels_sha256: str | None = None) -> str:
    """8 hex digits naming a user file's content (and its labels file's): its version and id suffix."""
    if labels_sha256 is None:
        return data_sha256[:8]
    return hashlib.sha256(f"{data_sha256}\n{labels_sha256}".encode()).hexdigest()[:8]


def _drop_unlabelled(parsed: Parsed, labels, path: Path, label_source: str, notes: list[str]) -> Parsed:
    if labels is None:  # pragma: no cover - readers always return labels when asked
        raise DataError(f"{path.name}: no labels")
    has = np.array([v is not None for v in labels], dtype=bool)
    if not has.all():
        lost = parsed.sample_ids[~has]
        note_change(
            notes, path.name,
            f"dropped {lost.size} samples without a label in {label_source} (e.g. {preview(lost[:5])})"
        )
    parsed.X = parsed.X[has]
    parsed.sample_ids = parsed.sample_ids[has]
    parsed.labels = np.array([str(v) for v in labels[has]])
    if parsed.X.shape[0] == 0:
        raise DataError(f"{path.name}: no sample has a label in {label_source}")
    return parsed


def _missing_rule(parsed: Parsed, path: Path, notes: list[str], drop_missing: bool):
    """Refuse missing values, naming the first; with ``drop_missing`` drop features with > 1 % missing,
    then samples with any missing (both noted).

    Returns ``(X, sample_ids, feature_names, labels)``.
    """
    X = parsed.X
    unchanged = X, parsed.sample_ids, parsed.feature_names, parsed.labels
    if not np.issubdtype(X.dtype, np.floating):
        return unchanged
    nan = np.isnan(X)
    if not nan.any():
        return unchanged
    if not drop_missing:
        row, col = (int(i) for i in np.argwhere(nan)[0])
        raise DataError(
            f"{path.name}: {int(nan.sum())} missing (NaN or empty) values; first at row "
            f"{str(parsed.sample_ids[row])!r}, column {str(parsed.feature_names[col])!r}. Fix the file, or pass "
            "--drop-missing to drop features with more than 1% missing values, then samples with any"
        )
    n, p = X.shape
    frac = nan.mean(axis=0)
    keep_f = frac <= MAX_MISSING_FEATURE
    keep_s = ~nan[:, keep_f].any(axis=1)
    if not keep_f.any() or not keep_s.any():
        raise DataError(
            f"{path.name}: missing values leave nothing: {int((~keep_f).sum())} of {p} features have more than "
            f"{MAX_MISSING_FEATURE:.0%} missing values and {int((~keep_s).sum())} of {n} samples have a missing "
            "value in the rest"
        )
    if (~keep_f).any():
        note_change(
            notes, path.name,
            f"dropped {int((~keep_f).sum())} features with more than {MAX_MISSING_FEATURE:.0%} missing values "
            f"({preview(parsed.feature_names[~keep_f], 5)})"
        )
    if (~keep_s).any():
        note_change(
            notes, path.name,
            f"dropped {int((~keep_s).sum())} samples with missing values ({preview(parsed.sample_ids[~keep_s], 5)})"
        )
    return X[np.ix_(keep_s, keep_f)], parsed.sample_ids[keep_s], parsed.feature_names[keep_f], parsed.labels[keep_s]


def infer_modality(X: np.ndarray) -> str:
    """``genotype`` (integers in {0,1,2}), ``counts`` (non-negative integers) or ``expression``."""
    if X.size == 0:
        return "expression"
    integral = np.issubdtype(X.dtype, np.integer) or bool(np.all(np.round(X) == X))
    if integral:
        lo, hi = X.min(), X.max()
        if lo >= 0 and hi <= 2:
            return "genotype"
        if lo >= 0:
            return "counts"
    return "expression"


def _convert(X, modality: str, path: Path, sample_ids, feature_names, *, log1p: bool, explicit: bool,
             notes: list[str]) -> tuple[np.ndarray, str]:
    if modality == "genotype":
        bad = ~np.isin(X, (0, 1, 2))
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise DataError(
                f"{path.name}: genotype values must be 0, 1 or 2; found {X[i, j]} at sample {str(sample_ids[i])!r}, "
                f"feature {str(feature_names[j])!r}"
            )
        if log1p:
            raise ConfigError(f"{path.name}: log1p does not apply to genotype data")
        return np.ascontiguousarray(X, dtype=np.int8), modality
    X = _as_float32(X, path, sample_ids, feature_names)
    negative = X < 0
    if (modality == "counts" or log1p) and negative.any():
        i, j = (int(k[0]) for k in np.nonzero(negative))
        what = "log1p" if log1p else "counts"
        raise DataError(
            f"{path.name}: {what} needs non-negative values; found {X[i, j]} at sample {str(sample_ids[i])!r}, "
            f"feature {str(feature_names[j])!r}"
        )
    if log1p:
        X = np.log1p(X)
        notes.append("applied log1p to the values")
        if explicit and modality == "counts":
            raise ConfigError(f"{path.name}: log1p turns counts into expression; do not combine with modality='counts'")
        modality = "expression"
    return X, modality


def _as_float32(X: np.ndarray, path: Path, sample_ids, feature_names) -> np.ndarray:
    """``X`` as float32; DataError naming the first value too large for float32 (it would become inf)."""
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(X, dtype=np.float32)
    overflow = np.isinf(out) & np.isfinite(X)
    if overflow.any():
        i, j = (int(k[0]) for k in np.nonzero(overflow))
        raise DataError(
            f"{path.name}: value {X[i, j]:g} at sample {str(sample_ids[i])!r}, column {str(feature_names[j])!r} "
            f"is too large for float32 (largest: {np.finfo(np.float32).max:.4g}); {int(overflow.sum())} such values"
        )
    return out


def _finish(*, dataset_id: str, version: str, X, labels, sample_ids, feature_names, modality, positions,
            info: dict[str, Any], where: str, label_column: str, groups=None) -> OmicsDataset:
    """Shared checks (unique ids, at least two classes) and the summary fields of ``info``."""
    if X.ndim != 2 or X.shape[1] == 0:
        raise DataError(f"{where}: no features (the matrix has shape {X.shape})")
    for name, ids in (("sample", sample_ids), ("feature", feature_names)):
        counts = Counter(ids.tolist())
        dup = [k for k, v in counts.items() if v > 1]
        if dup:
            raise DataError(f"{where}: duplicated {name} id(s) {preview(dup)}")
    classes = Counter(labels.tolist())
    if len(classes) < 2:
        only = next(iter(classes), None)
        raise DataError(
            f"{where}: label column {label_column!r} has only one class ({only!r}); at least 2 labels are needed"
        )
    info.setdefault("notes", [])
    info["n"], info["p"] = int(X.shape[0]), int(X.shape[1])
    info["modality"] = modality
    info["class_counts"] = dict(sorted(classes.items(), key=lambda kv: (-kv[1], kv[0])))
    info["dataset_sha256"] = dataset_sha256(X, feature_names, sample_ids, labels)
    return OmicsDataset(
        dataset_id=dataset_id,
        version=version,
        X=X,
        labels=np.asarray(labels).astype(str),
        sample_ids=np.asarray(sample_ids).astype(str),
        feature_names=np.asarray(feature_names).astype(str),
        modality=modality,
        positions=None if positions is None else np.asarray(positions, dtype=np.int64),
        groups=None if groups is None else np.asarray(groups).astype(str),
        info=info,
    )
