"""Blocked distances between row sets: Euclidean on floats, L1 on 0/1/2 dosages.

Distance matrices are formed a block of rows at a time (about 32 MB), so nothing n x m is ever held;
nearest pairs are recomputed exactly (no expansion rounding), so a copied row is at distance exactly
0. Large blocks go to a CUDA device when one is present (torch imported only then).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

BLOCK_ELEMENTS = 1 << 22  # ~32 MB of float64 per distance block
_SNAP = 1e-12  # squared distances below this fraction of |a|^2 + max|b|^2 are rounding noise: set to 0

GPU_MIN_WORK = 1 << 27  # multiply-adds in one distance block above which a CUDA device is used
_CUDA: list[Any] = []  # [torch module or None], decided once


def _cuda_torch() -> Any:
    """torch if a CUDA device is usable, else None. Decided once per process; torch is imported only
    when it is installed and an NVIDIA or ROCm device node exists, so CPU-only runs never load it."""
    if not _CUDA:
        import importlib.util
        import os

        torch = None
        nodes = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/proc/driver/nvidia")
        if importlib.util.find_spec("torch") is not None and any(os.path.exists(n) for n in nodes):
            import torch as _torch

            torch = _torch if _torch.cuda.is_available() else None
        _CUDA.append(torch)
    return _CUDA[0]


class Points:
    """Rows prepared for blocked distances: Euclidean on floats, or L1 on 0/1/2 dosages.

    L1 on dosages uses the threshold code u1 = [g >= 1], u2 = [g >= 2]: |g - h| = sum of |u - v| over
    both thresholds, and |u - v| = u + v - 2uv for binary values, so distances come from one exact
    integer matrix product.
    """

    def __init__(self, X: np.ndarray, metric: str = "euclidean") -> None:
        if metric == "euclidean":
            self.X = np.ascontiguousarray(X, dtype=np.float64)
        elif metric == "l1":
            g = np.asarray(X)
            self.X = np.ascontiguousarray(np.concatenate([g >= 1, g >= 2], axis=1), dtype=np.float32)
        else:
            raise ValueError(f"unknown metric {metric!r}")
        self.metric = metric
        self.sq = np.einsum("ij,ij->i", self.X, self.X, dtype=np.float64)

    def __len__(self) -> int:
        return self.X.shape[0]

    def block_rows(self, other: Points) -> int:
        return max(1, BLOCK_ELEMENTS // max(len(other), 1))

    def distances(self, other: Points, start: int, stop: int, squared: bool = False) -> np.ndarray:
        """Distances from rows ``start:stop`` of self to every row of ``other`` (float64, in place ops)."""
        d = self._product(other, start, stop)
        d *= -2.0
        d += self.sq[start:stop, None]
        d += other.sq[None, :]
        if self.metric == "l1":
            return d
        d[d < _SNAP * (self.sq[start:stop, None] + other.sq.max())] = 0.0
        return d if squared else np.sqrt(d, out=d)

    def _product(self, other: Points, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of self times other.T in float64; on a CUDA device for large blocks."""
        torch = _cuda_torch() if (stop - start) * len(other) * self.X.shape[1] >= GPU_MIN_WORK else None
        if torch is None:
            return (self.X[start:stop] @ other.X.T).astype(np.float64, copy=False)
        dev = getattr(other, "_cuda_X", None)
        if dev is None:
            dev = other._cuda_X = torch.from_numpy(other.X).to("cuda", torch.float64)
        block = torch.from_numpy(self.X[start:stop]).to("cuda", torch.float64)
        return (block @ dev.T).cpu().numpy()

    def blocks(self, other: Points, squared: bool = False) -> Iterator[tuple[int, int, np.ndarray]]:
        step = self.block_rows(other)
        for start in range(0, len(self), step):
            stop = min(start + step, len(self))
            yield start, stop, self.distances(other, start, stop, squared)

    def exact_pair_distances(self, other: Points, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Distances of the row pairs (i[t], j[t]) computed directly (no expansion rounding)."""
        out = np.empty(len(i))
        step = max(1, BLOCK_ELEMENTS // max(self.X.shape[1], 1))
        for s in range(0, len(i), step):
            diff = self.X[i[s : s + step]] - other.X[j[s : s + step]]
            out[s : s + step] = (
                np.abs(diff).sum(axis=1)
                if self.metric == "l1"
                else np.sqrt(np.einsum("ij,ij->i", diff, diff))
            )
        return out


def knn_self(P: Points, k: int) -> np.ndarray:
    """(n, k) ascending distances from each row to its k nearest other rows (self excluded by index)."""
    n = len(P)
    if n - 1 < k:
        raise ValueError(f"k-NN with k={k} needs at least {k + 1} rows, got {n}")
    out = np.empty((n, k))
    for start, stop, D in P.blocks(P):
        D[np.arange(stop - start), np.arange(start, stop)] = np.inf
        part = np.partition(D, k - 1, axis=1)[:, :k]
        out[start:stop] = np.sort(part, axis=1)
    return out


def cross_min(A: Points, B: Points) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour distances A->B (per row of A) and B->A (per row of B), recomputed exactly."""
    row_arg = np.zeros(len(A), dtype=np.int64)
    nearest_in_A = ColumnArgmin(len(B))
    for start, stop, D in A.blocks(B):
        row_arg[start:stop] = D.argmin(axis=1)
        nearest_in_A.update(D, start)
    rows = np.arange(len(A))
    return A.exact_pair_distances(B, rows, row_arg), nearest_in_A.distances(A, B)


class ColumnArgmin:
    """For every row of B, the nearest row of A so far, updated one distance block (rows of A) at a time."""

    def __init__(self, n_columns: int) -> None:
        self.min = np.full(n_columns, np.inf)
        self.arg = np.zeros(n_columns, dtype=np.int64)

    def update(self, D: np.ndarray, start: int) -> None:
        """Take a block of distances from rows ``start:start + len(D)`` of A to every row of B."""
        c = D.argmin(axis=0)
        cmin = D[c, np.arange(D.shape[1])]
        better = cmin < self.min
        self.min[better] = cmin[better]
        self.arg[better] = c[better] + start

    def distances(self, A: Points, B: Points, columns: np.ndarray | None = None) -> np.ndarray:
        """Exact distances from each row of B (or B's ``columns``) to its nearest row of A."""
        cols = np.arange(len(self.arg)) if columns is None else columns
        return A.exact_pair_distances(B, self.arg, cols)


def nn_self(P: Points) -> np.ndarray:
    """Distance from each row to its nearest *other* row (self excluded by index), recomputed exactly."""
    if len(P) < 2:
        raise ValueError("need at least two rows for a nearest other row")
    arg = np.zeros(len(P), dtype=np.int64)
    for start, stop, D in P.blocks(P):
        D[np.arange(stop - start), np.arange(start, stop)] = np.inf
        arg[start:stop] = D.argmin(axis=1)
    return P.exact_pair_distances(P, np.arange(len(P)), arg)


def nn_cross(A: Points, B: Points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One blocked pass over A × B: nearest and second-nearest distance from each row of A to B, and the
    nearest distance from each row of B to A; nearest pairs recomputed exactly, so a copied row is at
    distance exactly 0."""
    if len(B) < 2:
        raise ValueError("need at least two rows to find two nearest neighbours")
    two = np.zeros((len(A), 2), dtype=np.int64)
    nearest_in_A = ColumnArgmin(len(B))
    for start, stop, D in A.blocks(B):
        two[start:stop] = np.argpartition(D, 1, axis=1)[:, :2]
        nearest_in_A.update(D, start)
    rows = np.arange(len(A))
    d = np.stack([A.exact_pair_distances(B, rows, two[:, 0]), A.exact_pair_distances(B, rows, two[:, 1])], 1)
    d.sort(axis=1)
    return d[:, 0], d[:, 1], nearest_in_A.distances(A, B)


def count_at_min(D: np.ndarray) -> np.ndarray:
    """Per row of a distance block, how many entries equal the row minimum (tied nearest rows)."""
    return (D.min(axis=1, keepdims=True) == D).sum(axis=1)


def nearest_same_label(D: np.ndarray, row_labels: np.ndarray, column_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a distance block (changed in place): the column of the nearest entry with the row's
    label, and how many entries with that label tie at its distance."""
    D[row_labels[:, None] != column_labels[None, :]] = np.inf
    return D.argmin(axis=1), count_at_min(D)


def neighbour_lists(queries: Points, parts: list[Points], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest rows of every query row among the rows of ``parts`` stacked in order (self matches,
    at distance 0 *and* the same stacked index, must be removed by the caller): (indices, distances), each
    (len(queries), k), sorted by distance then index."""
    total = sum(len(p) for p in parts)
    if k > total:
        raise ValueError(f"{k} neighbours requested from {total} rows")
    index = np.empty((len(queries), k), dtype=np.int64)
    dist = np.empty((len(queries), k))
    step = max(1, BLOCK_ELEMENTS // max(total, 1))
    for start in range(0, len(queries), step):
        stop = min(start + step, len(queries))
        D = np.hstack([queries.distances(p, start, stop) for p in parts])
        top = np.argpartition(D, k - 1, axis=1)[:, :k]
        d = np.take_along_axis(D, top, axis=1)
        order = np.lexsort((top, d), axis=1)
        index[start:stop] = np.take_along_axis(top, order, axis=1)
        dist[start:stop] = np.take_along_axis(d, order, axis=1)
    return index, dist
