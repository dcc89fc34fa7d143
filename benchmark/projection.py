"""What a record shows of the data in two dimensions.

With many features, 2-D PCA coordinates of (at most 1,000) rows are a lossy view and are stored as
points. With three features or fewer the two principal components are (nearly) the rows
themselves, so real rows, and the output of a generator that copies them, are stored only as a
coarse 2-D histogram whose small counts are blanked: no single row can be located.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_POINT_FEATURES = 3  # at most this many features: densities, never points
DENSITY_BINS = 8
MIN_BIN_COUNT = 3  # bins with fewer rows are stored as 0
DENSITY_METHOD = (f"{DENSITY_BINS} x {DENSITY_BINS} histogram of the first two principal components of "
                  f"standardised features (exact PCA of real rows from all splits), counts below {MIN_BIN_COUNT} blanked: with "
                  f"{MAX_POINT_FEATURES} features or fewer, points would show the real rows")


def shows_rows(n_features: int) -> bool:
    """True when 2-D projected points would reveal the rows themselves."""
    return n_features <= MAX_POINT_FEATURES


def density_projection(real_xy: np.ndarray, synthetic_xy: np.ndarray) -> dict[str, Any]:
    """Both sides as counts on one coarse grid spanning the real data's central range."""
    real_xy, synthetic_xy = _two_columns(real_xy), _two_columns(synthetic_xy)
    x_edges, y_edges = (_edges(real_xy[:, axis]) for axis in (0, 1))
    return {
        "method": DENSITY_METHOD,
        "real": density_block(real_xy, x_edges, y_edges),
        "synthetic": density_block(synthetic_xy, x_edges, y_edges),
    }


def density_block(xy: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> dict[str, Any]:
    """Row counts per bin (x bins outer, y bins inner), counts below MIN_BIN_COUNT as 0, and the
    number of rows outside the grid."""
    xy = _two_columns(xy)
    counts, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=(x_edges, y_edges))
    counts = counts.astype(int)
    outside = len(xy) - int(counts.sum())
    counts[counts < MIN_BIN_COUNT] = 0
    return {"x_edges": np.round(x_edges, 4).tolist(), "y_edges": np.round(y_edges, 4).tolist(),
            "counts": counts.tolist(), "outside": outside}


def _edges(values: np.ndarray) -> np.ndarray:
    """Bin edges over the central 96 % of ``values`` widened by a quarter on each side (never an exact row)."""
    lo, hi = np.percentile(values, [2, 98]) if len(values) else (-1.0, 1.0)
    span = (hi - lo) or 1.0
    return np.linspace(lo - span / 4, hi + span / 4, DENSITY_BINS + 1)


def _two_columns(xy: np.ndarray) -> np.ndarray:
    """Coordinates as an (n, 2) float array (a second axis of zeros when the data have one feature)."""
    xy = np.asarray(xy, dtype=float).reshape(len(xy), -1)[:, :2]
    return np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
