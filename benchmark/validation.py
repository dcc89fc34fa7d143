"""Checks on a generator's output before any metric sees it."""

from __future__ import annotations

import numpy as np

from benchmark.dataset import DatasetMeta
from benchmark.errors import GeneratorError


def check_output(name: str, values: object, n_rows: int, meta: DatasetMeta) -> np.ndarray:
    """Return ``values`` as an array if it is a finite (n_rows x p) numeric matrix, else explain why not."""
    if not isinstance(values, np.ndarray):
        raise GeneratorError(f"{name}.sample returned {type(values).__name__}, expected a numpy array")
    expected = (n_rows, meta.n_features)
    if values.shape != expected:
        raise GeneratorError(f"{name}.sample returned shape {values.shape}, expected {expected} (rows x features)")
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise GeneratorError(f"{name}.sample returned dtype {values.dtype}, expected a numeric dtype")
    finite = np.isfinite(values)
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        bad = int((~finite).sum())
        raise GeneratorError(
            f"{name}.sample returned {bad} non-finite values; first at row {row}, "
            f"feature {col} ({meta.feature_names[col]!r}) = {values[row, col]}"
        )
    if meta.modality == "genotype":
        invalid = ~np.isin(values, (0, 1, 2))
        if invalid.any():
            row, col = (int(i) for i in np.argwhere(invalid)[0])
            raise GeneratorError(
                f"{name}.sample returned {int(invalid.sum())} genotype values outside {{0,1,2}}; first at row "
                f"{row}, SNP {col} ({meta.feature_names[col]!r}) = {values[row, col]}"
            )
    return values
