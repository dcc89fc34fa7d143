"""Synthetic rows as files: kept beside a run's records (``--save-synthetic``) and read back by ``score``.

Formats and rules: ``docs/scoring.md``. In error messages rows are counted from 0 (the first data row
is row 0); text tables also give the line (the header is line 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.atomic import atomic_write
from benchmark.dataset import DatasetMeta
from benchmark.errors import DataError
from benchmark.readers import preview

if TYPE_CHECKING:
    from benchmark.run.prepared import PreparedData

SUFFIX = ".synthetic.npz"  # beside seed-<k>.json; never matches the record glob seed-*.json
KINDS = {".csv.gz": "csv", ".tsv.gz": "tsv", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet",
         ".h5ad": "h5ad", ".npz": "npz"}  # longest suffixes first
SHOWN = 5  # names shown in a message
GENOTYPES = (0, 1, 2)


def synthetic_path(record: Path) -> Path:
    """``seed-<k>.synthetic.npz`` beside the record ``seed-<k>.json``."""
    record = Path(record)
    return record.with_name(record.stem + SUFFIX)


def write_synthetic(path: Path, synthetic: np.ndarray, data: PreparedData) -> None:
    """Store a job's rows with their label names, the feature names, the dataset id and the split hash."""
    X = np.asarray(synthetic)
    arrays = {
        "X": X.astype(np.int8) if data.meta.modality == "genotype" else X,
        "labels": np.array([data.meta.class_names[c] for c in data.train_labels], dtype=str),
        "feature_names": np.array(data.meta.feature_names, dtype=str),
        "dataset_id": np.array(data.meta.dataset_id),
        "split_hash": np.array(data.split.split_hash),
    }
    atomic_write(Path(path), lambda handle: np.savez_compressed(handle, **arrays))


@dataclass
class Rows:
    """A synthetic file as read, before any check of its content."""

    file: Path
    values: Any  # np.ndarray (npz, h5ad) or a pandas DataFrame of the non-label columns (tables)
    columns: list[str] | None  # feature names as stored; None when the file has none (npz)
    labels: np.ndarray  # one label per row, as stored
    first_line: int | None = None  # text tables: the line of row 0
    saved: dict[str, str] = field(default_factory=dict)  # dataset_id / split_hash of a --save-synthetic file

    def at(self, row: int) -> str:
        """``row 4`` (``row 4 (line 6)`` in a text table)."""
        return f"row {row}" + (f" (line {row + self.first_line})" if self.first_line is not None else "")

    def fail(self, text: str) -> DataError:
        return DataError(f"{self.file.name}: {text}")


def check_synthetic_file(path: Path) -> Path:
    """``path`` when it is a non-empty file with a known extension; DataError saying why not."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a synthetic data file")
    if synthetic_kind(path) is None:
        raise DataError(f"{path.name}: unsupported extension; expected one of {', '.join(KINDS)}")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name}: the file is empty")
    return path


def known_suffix(path: Path) -> str | None:
    """The file's extension among :data:`KINDS` (``.csv.gz``), or None."""
    name = Path(path).name.lower()
    return next((suffix for suffix in KINDS if name.endswith(suffix)), None)


def synthetic_kind(path: Path) -> str | None:
    suffix = known_suffix(path)
    return None if suffix is None else KINDS[suffix]


def read_synthetic(path: Path, meta: DatasetMeta, *, label_column: str = "label", layer: str | None = None,
                   split_hash: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows and integer label codes of a synthetic file made for ``meta``'s dataset, checked: features
    (names and order), labels, numbers, finite values, genotype dosages. ``label_column`` names the
    table column or obs column of the labels (an npz has its ``labels`` array), ``layer`` the h5ad layer
    (default X); ``split_hash``, when given, must match the split a ``--save-synthetic`` file was made on."""
    path = check_synthetic_file(path)
    kind = synthetic_kind(path)
    reader = {"npz": read_npz, "h5ad": read_h5ad}.get(kind, read_table)
    rows = reader(path, kind=kind, label_column=label_column, layer=layer)
    if len(rows.labels) == 0:
        raise rows.fail("the file has no rows")
    check_saved_for(rows, meta, split_hash)
    check_features(rows, meta)
    X = numeric_matrix(rows)
    codes = label_codes(rows, meta)
    check_finite(rows, X, meta)
    if meta.modality == "genotype":
        X = genotype_matrix(rows, X, meta)
    return X, codes


def read_npz(path: Path, *, kind: str, label_column: str, layer: str | None) -> Rows:
    """Arrays ``X`` and ``labels`` (``feature_names``, ``dataset_id``, ``split_hash`` when present)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy, zipfile and zlib raise many types for a bad file
        raise DataError(f"{path.name}: cannot read the .npz archive, truncated or not an npz file? "
                        f"({type(exc).__name__}: {exc})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(f"{path.name}: holds a single array; expected an .npz archive with the arrays X and labels")
    with loaded:
        try:
            arrays = {key: loaded[key] for key in loaded.files}
        except Exception as exc:  # a truncated member fails only when it is read
            raise DataError(f"{path.name}: cannot read the .npz archive, truncated? ({type(exc).__name__}: {exc})") \
                from None
    missing = [key for key in ("X", "labels") if key not in arrays]
    if missing:
        raise DataError(f"{path.name}: no array {preview(missing)}; expected X (rows x features) and labels "
                        f"(one class name per row); the archive has {preview(arrays) or 'no arrays'}")
    X, labels = arrays["X"], arrays["labels"]
    if X.ndim != 2:
        raise DataError(f"{path.name}: X has shape {X.shape}, expected rows x features")
    if labels.shape != (X.shape[0],):
        raise DataError(f"{path.name}: labels has shape {labels.shape}, expected one label per row of X ({X.shape[0]})")
    names = arrays.get("feature_names")
    if names is not None and names.shape != (X.shape[1],):
        raise DataError(f"{path.name}: feature_names has shape {names.shape}, expected one name per column of X "
                        f"({X.shape[1]})")
    saved = {key: str(arrays[key]) for key in ("dataset_id", "split_hash") if key in arrays}
    return Rows(path, X, None if names is None else [str(n) for n in names], labels, saved=saved)


def read_table(path: Path, *, kind: str, label_column: str, layer: str | None) -> Rows:
    """A CSV/TSV (optionally gzipped) or Parquet table: one row per sample, feature columns and a label column."""
    import pandas as pd

    from benchmark.readers.tabular import read_parquet

    if kind == "parquet":
        try:
            frame = read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise DataError(f"{path.name}: cannot read the Parquet file, truncated? ({type(exc).__name__}: {exc})") \
                from None
        first_line = None
    else:
        try:
            frame = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", dtype={label_column: str}, low_memory=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"{path.name}: the file is empty") from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
            raise DataError(f"{path.name}: cannot read the table, truncated? ({type(exc).__name__}: {exc})") from None
        first_line = 2
    frame.columns = [str(c) for c in frame.columns]
    if label_column not in frame.columns:
        raise DataError(f"{path.name}: no label column {label_column!r} (name it with --label-column); "
                        f"columns: {preview(frame.columns, SHOWN)}")
    labels = frame.pop(label_column).to_numpy(dtype=object)
    return Rows(path, frame, list(frame.columns), labels, first_line)


def read_h5ad(path: Path, *, kind: str, label_column: str, layer: str | None) -> Rows:
    """AnnData: the matrix X (or ``layer``), var_names as features, the obs column ``label_column`` as labels."""
    from benchmark.readers.h5ad import open_h5ad

    adata = open_h5ad(path)
    if layer is not None and layer not in adata.layers:
        raise DataError(f"{path.name}: layer {layer!r} not found; layers: {preview(adata.layers.keys()) or '(none)'}")
    matrix = adata.X if layer is None else adata.layers[layer]
    if matrix is None:
        raise DataError(f"{path.name}: the AnnData object has no X matrix (name a layer with --layer)")
    if label_column not in adata.obs.columns:
        raise DataError(f"{path.name}: no obs column {label_column!r} (name it with --label-column); obs columns: "
                        f"{preview(adata.obs.columns, SHOWN) or '(none)'}")
    values = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
    return Rows(path, values, [str(v) for v in adata.var_names], adata.obs[label_column].to_numpy(dtype=object))


def check_saved_for(rows: Rows, meta: DatasetMeta, split_hash: str | None) -> None:
    """A ``--save-synthetic`` file is scored only against the dataset and split it was made on."""
    dataset, split = rows.saved.get("dataset_id"), rows.saved.get("split_hash")
    if dataset not in (None, meta.dataset_id) or (split_hash is not None and split not in (None, split_hash)):
        raise rows.fail(f"was saved by a run on dataset {dataset!r}, split {str(split)[:12]}, not on this dataset "
                        f"{meta.dataset_id!r}, split {str(split_hash)[:12]}; score it with that run's --dataset, "
                        "--split-seed and --budget")


def check_features(rows: Rows, meta: DatasetMeta) -> None:
    """The file's features are the dataset's, in the dataset's order (by name when the file has names)."""
    expected = list(meta.feature_names)
    if rows.columns is None:
        if rows.values.shape[1] != len(expected):
            raise rows.fail(f"X has {rows.values.shape[1]} columns, the dataset has {len(expected)} features")
        return
    duplicated = sorted({c for c in rows.columns if rows.columns.count(c) > 1})
    if duplicated:
        raise rows.fail(f"duplicated feature name(s) {preview(duplicated, SHOWN)}")
    known, given = set(expected), set(rows.columns)
    missing = [f for f in expected if f not in given]
    extra = [c for c in rows.columns if c not in known]
    if missing or extra:
        raise rows.fail("not the dataset's feature set: " + "; ".join(feature_problems(missing, extra, len(expected))))
    if rows.columns != expected:
        i = next(i for i, (a, b) in enumerate(zip(rows.columns, expected, strict=True)) if a != b)
        raise rows.fail(f"features are in another order than the dataset's: position {i} holds {rows.columns[i]!r}, "
                        f"the dataset has {expected[i]!r} there")


def feature_problems(missing: list[str], extra: list[str], p: int) -> list[str]:
    """Phrases for missing and unexpected feature names (with a hint for a stored pandas index)."""
    problems = []
    if missing:
        problems.append(f"{len(missing)} of its {p} features missing ({preview(missing, SHOWN)})")
    if extra:
        hint = " (a pandas index? write the table with index=False)" if any(
            c.startswith("Unnamed:") for c in extra) else ""
        problems.append(f"{len(extra)} column(s) not among them ({preview(extra, SHOWN)}){hint}")
    return problems


def numeric_matrix(rows: Rows) -> np.ndarray:
    """The values as a numeric array; DataError naming the first non-numeric column (tables) or the dtype."""
    if isinstance(rows.values, np.ndarray):
        if rows.values.dtype.kind not in "biuf":
            raise rows.fail(f"values have dtype {rows.values.dtype}, expected numbers")
        return rows.values
    import pandas as pd

    frame = rows.values
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        series = frame[bad[0]]
        wrong = np.flatnonzero((pd.to_numeric(series, errors="coerce").isna() & series.notna()).to_numpy())
        example = f"; {rows.at(int(wrong[0]))} holds {series.iloc[wrong[0]]!r}" if len(wrong) else ""
        more = f" ({len(bad) - 1} more non-numeric columns)" if len(bad) > 1 else ""
        raise rows.fail(f"column {bad[0]!r} is not numeric (dtype {series.dtype}){example}{more}")
    return frame.to_numpy(dtype=np.float64)


def label_codes(rows: Rows, meta: DatasetMeta) -> np.ndarray:
    """Class codes of the labels; DataError naming an empty or unknown label and its first row."""
    code = {name: i for i, name in enumerate(meta.class_names)}
    codes = np.empty(len(rows.labels), dtype=np.int64)
    for i, value in enumerate(rows.labels):
        label = label_text(value)
        if label is None:
            raise rows.fail(f"empty label at {rows.at(i)}")
        if label not in code:
            raise rows.fail(f"unknown label {label!r} (first at {rows.at(i)}); the dataset's classes: "
                            f"{preview(meta.class_names, 50)}")
        codes[i] = code[label]
    return codes


def label_text(value: Any) -> str | None:
    """A stored label as text; None when it is missing (None, NaN, blank)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value)
    return text if text.strip() else None


def check_finite(rows: Rows, X: np.ndarray, meta: DatasetMeta) -> None:
    if X.dtype.kind != "f":
        return
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(X[i, j]) else "an infinite value"
        raise rows.fail(f"{what} at {rows.at(i)}, feature {meta.feature_names[j]!r} ({int(bad.sum())} non-finite "
                        "values in all)")


def genotype_matrix(rows: Rows, X: np.ndarray, meta: DatasetMeta) -> np.ndarray:
    """Genotype dosages as int8; DataError naming the first value that is not 0, 1 or 2."""
    bad = ~np.isin(X, GENOTYPES)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        value = X[i, j].item()
        why = "is not a whole number" if value != round(value) else "is outside {0,1,2}"
        raise rows.fail(f"genotype value {value!r} at {rows.at(i)}, SNP {meta.feature_names[j]!r} {why}; dosages "
                        f"must be 0, 1 or 2 ({int(bad.sum())} such values in all)")
    return X.astype(np.int8)
