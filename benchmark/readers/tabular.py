"""CSV / TSV (optionally gzipped) and Parquet tables.

Default orientation ``samples``: one row per sample, the first column (or ``id_column``) holds the
sample id, the label column (default ``label``) holds the class, every other column is a numeric
feature. ``orientation="features"``: one row per feature (first column or ``id_column`` = feature
id), one column per sample; the labels are then the row whose id is the label column name.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import DataError
from benchmark.readers import Parsed, file_kind, preview


def _open_text(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _header(path: Path, sep: str) -> list[str]:
    try:
        with _open_text(path) as handle:
            row = next(csv.reader(handle, delimiter=sep), None)
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as exc:
        raise DataError(f"{path.name}: cannot read the header line ({exc})") from None
    if not row:
        raise DataError(f"{path.name}: the file is empty (no header line)")
    return row


def _duplicates(values) -> list[str]:
    seen, dup = set(), []
    for value in values:
        if value in seen and value not in dup:
            dup.append(value)
        seen.add(value)
    return dup


def _check_header(path: Path, names: list[str], orientation: str) -> None:
    dup = _duplicates(names)
    if dup:
        what = "column name(s)" if orientation == "samples" else "sample id(s) in the header"
        raise DataError(f"{path.name}: duplicated {what}: {preview(dup)}")


def read_parquet(path: Path) -> Any:
    """A Parquet file as a pandas DataFrame, read by pyarrow itself: after ``pandas.read_parquet`` the
    interpreter aborts at exit now and then (Arrow threads outlive it, apache/arrow#34314; 9 runs in 30
    here), which would turn a finished run's exit code into 134."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()


def _read_frame(path: Path, kind: str, id_column: str | None, orientation: str):
    """The frame indexed by the id column (ids as str), with the header's original names."""
    import pandas as pd

    if kind == "parquet":
        try:
            frame = read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise DataError(f"{path.name}: cannot read Parquet file ({type(exc).__name__}: {exc})") from None
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
            try:
                frame = frame.reset_index()  # an index stored by pandas is the first column
            except ValueError as exc:
                raise DataError(f"{path.name}: the stored pandas index clashes with a column ({exc})") from None
        frame.columns = [str(c) for c in frame.columns]
        _check_header(path, list(frame.columns), orientation)
        if frame.shape[1] == 0:
            raise DataError(f"{path.name}: the file has no columns")
        id_name = frame.columns[0] if id_column is None else id_column
        if id_name not in frame.columns:
            raise DataError(f"{path.name}: id column {id_name!r} not found; available columns: {preview(frame.columns)}")
        return _indexed_by(path, frame, id_name)

    sep = "\t" if kind == "tsv" else ","
    header = _header(path, sep)
    _check_header(path, header, orientation)
    if id_column is None:
        id_pos = 0
    elif id_column in header:
        id_pos = header.index(id_column)
    else:
        raise DataError(f"{path.name}: id column {id_column!r} not found; available columns: {preview(header)}")
    try:
        frame = pd.read_csv(path, sep=sep, converters={id_pos: str}, compression="infer", low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path.name}: malformed table ({exc})") from None
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path.name}: cannot read ({exc})") from None
    return _indexed_by(path, frame, frame.columns[id_pos])


def _indexed_by(path: Path, frame, id_name: str):
    """``frame`` indexed by its column ``id_name`` as stripped strings; DataError naming the first empty id."""
    ids = frame[id_name].astype(str).str.strip()
    missing_ids = (ids == "") | frame[id_name].isna()
    if missing_ids.any():
        row = int(np.flatnonzero(missing_ids.to_numpy())[0])
        where = f"row {row + 1}" if file_kind(path) == "parquet" else f"line {row + 2}"
        raise DataError(f"{path.name}: empty id in column {id_name!r} at {where}")
    frame[id_name] = ids
    return frame.set_index(id_name)


def read_table(
    path: Path,
    *,
    kind: str,
    id_column: str | None,
    orientation: str,
    label_column: str | None,
) -> Parsed:
    import pandas as pd

    frame = _read_frame(path, kind, id_column, orientation)
    dup = _duplicates(list(frame.index))
    what = "sample" if orientation == "samples" else "feature"
    if dup:
        raise DataError(f"{path.name}: duplicated {what} id(s) {preview(dup)}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError(f"{path.name}: no data rows or columns")

    labels = None
    if orientation == "features":
        if label_column is not None:
            if label_column not in frame.index:
                raise DataError(
                    f"{path.name}: label row {label_column!r} not found (orientation=features: the labels are "
                    f"the row whose id is the label name); first rows: {preview(frame.index)}"
                )
            labels = frame.loc[label_column]
            frame = frame.drop(index=label_column)
        frame = frame.T
        # cell coordinates in the file: row = feature, column = sample
        def where(sample: str, column: str) -> str:
            return f"row {column!r}, column {sample!r}"
        unit = "row"
    else:
        if label_column is not None:
            if label_column not in frame.columns:
                text_cols = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
                hint = f"; non-numeric columns: {preview(text_cols)}" if text_cols else ""
                raise DataError(
                    f"{path.name}: label column {label_column!r} not found{hint}; "
                    f"available columns: {preview(frame.columns)}"
                )
            labels = frame.pop(label_column)
        if frame.shape[1] == 0:
            kept = "the sample id and the label" if labels is not None else "the sample id"
            raise DataError(f"{path.name}: no feature columns: the table holds only {kept}; every other column "
                            "is a numeric feature")

        def where(sample: str, column: str) -> str:
            return f"row {sample!r}, column {column!r}"
        unit = "column"

    bad: list[str] = []
    example = ""
    numeric = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            converted = pd.to_numeric(series, errors="coerce")
            wrong = converted.isna() & series.notna()
            if wrong.any() or pd.api.types.is_bool_dtype(series):
                bad.append(str(column))
                if not example and wrong.any():
                    sample = wrong.index[np.flatnonzero(wrong.to_numpy())[0]]
                    example = f" (e.g. {series[sample]!r} at {where(str(sample), str(column))})"
                continue
            numeric[column] = converted
    if bad:
        role = "other than the sample id and the label " if orientation == "samples" else ""
        raise DataError(
            f"{path.name}: non-numeric {unit}(s) {preview(bad)}{example}; every {unit} {role}must be numeric"
        )
    X = np.empty(frame.shape, dtype=np.float64)
    for j, column in enumerate(frame.columns):
        X[:, j] = (numeric[column] if column in numeric else frame[column]).to_numpy(dtype=np.float64)

    infinite = np.isinf(X)
    if infinite.any():
        i, j = (int(k[0]) for k in np.nonzero(infinite))
        raise DataError(
            f"{path.name}: infinite value {X[i, j]} at {where(str(frame.index[i]), str(frame.columns[j]))}"
        )

    label_values = None
    if labels is not None:
        label_values = np.array(
            [None if (v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "") else str(v)
             for v in labels.reindex(frame.index).tolist()],
            dtype=object,
        )
    return Parsed(
        X=X,
        sample_ids=np.array([str(s) for s in frame.index]),
        feature_names=np.array([str(c) for c in frame.columns]),
        labels=label_values,
        label_column=label_column,
        notes=[f"read {path.name} ({kind}, orientation={orientation}): {X.shape[0]} samples x {X.shape[1]} features"],
    )
