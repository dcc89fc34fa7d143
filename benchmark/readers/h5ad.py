"""AnnData ``.h5ad`` files.

Matrix rule: ``layer`` when given; else ``layers['counts']`` when present; else ``.raw.X`` when
``X`` has negative values (scaled data) and ``.raw`` exists; else ``X``. Labels = an ``obs``
column (categorical or string).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import DataError
from benchmark.readers import Parsed, preview


def _has_negative(matrix) -> bool:
    data = matrix.data if hasattr(matrix, "tocsr") else np.asarray(matrix)
    return bool(data.size) and bool(np.nanmin(data) < 0)


def _dense(matrix) -> np.ndarray:
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=np.float64)


def open_h5ad(path: Path) -> Any:
    """The AnnData object in ``path``; DataError naming the file when it cannot be read (truncated, not h5ad)."""
    import anndata

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return anndata.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many types for a bad file
        raise DataError(f"{path.name}: cannot read h5ad file, truncated? ({type(exc).__name__}: {exc})") from None


def read_h5ad(path: Path, *, layer: str | None, label_column: str | None) -> Parsed:
    adata = open_h5ad(path)

    notes = []
    if layer is not None:
        if layer not in adata.layers:
            raise DataError(
                f"{path.name}: layer {layer!r} not found; available layers: {preview(adata.layers.keys()) or '(none)'}"
            )
        matrix, features, source = adata.layers[layer], adata.var_names, f"layers[{layer!r}]"
    elif "counts" in adata.layers:
        matrix, features, source = adata.layers["counts"], adata.var_names, "layers['counts']"
    elif adata.raw is not None and _has_negative(adata.X):
        matrix, features, source = adata.raw.X, adata.raw.var_names, ".raw.X (X has negative values: scaled)"
    else:
        if adata.X is None:
            raise DataError(f"{path.name}: the AnnData object has no X matrix")
        matrix, features, source = adata.X, adata.var_names, "X"
    notes.append(f"read {path.name} (h5ad): matrix {source}, {matrix.shape[0]} cells x {matrix.shape[1]} genes")

    X = _dense(matrix)
    infinite = np.isinf(X)
    if infinite.any():
        i, j = (int(k[0]) for k in np.nonzero(infinite))
        raise DataError(
            f"{path.name}: infinite value in {source.split(' ')[0]} at cell {adata.obs_names[i]!r}, gene {features[j]!r}"
        )

    labels = None
    if label_column is not None:
        if label_column not in adata.obs.columns:
            raise DataError(
                f"{path.name}: obs column {label_column!r} not found; available obs columns: "
                f"{preview(adata.obs.columns) or '(none)'}"
            )
        column = adata.obs[label_column]
        labels = np.array(
            [None if (v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "") else str(v)
             for v in column.astype(object).tolist()],
            dtype=object,
        )
    return Parsed(
        X=X,
        sample_ids=np.array([str(s) for s in adata.obs_names]),
        feature_names=np.array([str(f) for f in features]),
        labels=labels,
        label_column=label_column,
        notes=notes,
    )
