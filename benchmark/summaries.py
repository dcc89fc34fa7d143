"""What a record keeps of the data for the leaderboard's figures, beyond scores and the PCA projection.

- ``umap``: a UMAP embedding fitted on the real train rows (on their first principal components) into
  which real test rows and synthetic rows are transformed alike, so every panel shares one set of axes
  and one projection (a transformed panel is never compared with the fitted embedding itself).
- ``correlation``: Pearson correlation matrices, real test vs synthetic, of the most variable features.
- ``ld_decay`` (genotypes): mean r² per distance bin for real test, real holdout and synthetic rows.
- ``allele_frequency`` (genotypes): per-SNP allele frequencies, real test vs synthetic.

The compared sets are those the metrics compare (``metrics.space``): real test rows R and the synthetic
subsample S with the holdout's label counts; UMAP shows up to 1,000 rows of each side, as the PCA
projection does. Everything here is an embedding or a statistic over many rows, never a row; with so
few features that an embedding would show the rows themselves (``projection.shows_rows``) there is
no UMAP. A block that fails to compute is left out and its error kept under ``failed``: figures are
never worth a job's scores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmark.projection import shows_rows
from benchmark.store import cap_text

EMBED_ROWS = 1000  # rows per side in the UMAP panels
UMAP_FIT_ROWS = 3000  # real train rows the UMAP embedding is fitted on
UMAP_INPUT_PCS = 30  # UMAP runs on this many principal components of standardised features
CORR_FEATURES = 30  # most variable features (in real train) in the correlation heatmaps
AF_MAX_SNPS = 2000  # allele frequencies of at most this many SNPs, evenly spaced along the panel
UMAP_METHOD = (f"UMAP (umap-learn, 15 neighbours, min_dist 0.1) fitted on real train rows' first {UMAP_INPUT_PCS} "
               "principal components of standardised features (exact PCA of real rows from all splits); real test "
               "and synthetic rows transformed into it")


def figure_summaries(context: Any, synthetic: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
                     feature_names: tuple[str, ...], umap: bool = True) -> dict[str, Any]:
    """The ``summaries`` block of an ok record (see the module docstring); ``context`` is the view's
    ``metrics.EvalContext`` and ``umap=False`` leaves the UMAP embedding out (it costs about 30 s of
    numba compilation per process)."""
    from metrics.space import TAG_EVAL_ROWS, derive_seed, stratified_indices

    X, y = context.validate(synthetic, labels)
    S = X[stratified_indices(y, context.eval_counts, derive_seed(context.seed, TAG_EVAL_ROWS))]
    R = np.asarray(context.R_X)
    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "correlation": lambda: correlation_block(context, R, S, feature_names)}
    if umap and not shows_rows(context.split.n_features):
        makers["umap"] = lambda: umap_block(context, X, y, class_names)
    if context.modality == "genotype":
        makers["ld_decay"] = lambda: ld_decay_block(context, R, S)
        makers["allele_frequency"] = lambda: allele_frequency_block(R, S)
    blocks: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for name, make in makers.items():
        try:  # a figure's input failing must not cost the job its scores
            blocks[name] = make()
        except Exception as exc:
            failed[name] = cap_text(f"{type(exc).__name__}: {exc}")
    if failed:
        blocks["failed"] = failed
    return blocks


def umap_block(context: Any, X: np.ndarray, y: np.ndarray, class_names: tuple[str, ...]) -> dict[str, Any]:
    """UMAP coordinates and labels of up to EMBED_ROWS real test rows and synthetic rows, both placed
    into the embedding of the real train rows the same way (so both show the same transform effects)."""
    split = context.split
    model, k = context.cache.get("figure_umap", lambda: _fit_umap(context))
    rng = np.random.default_rng([context.seed, 11])

    def side(rows: np.ndarray, codes: np.ndarray) -> dict[str, list]:
        keep = np.sort(rng.choice(len(rows), size=min(len(rows), EMBED_ROWS), replace=False))
        xy = model.transform(context.pooled_pca(k).transform(context.to_std(rows[keep])))
        return {"x": np.round(xy[:, 0], 4).tolist(), "y": np.round(xy[:, 1], 4).tolist(),
                "label": [class_names[c] for c in codes[keep]]}

    return {"method": UMAP_METHOD, "real": side(np.asarray(split.test_X), split.test_y), "synthetic": side(X, y)}


def _fit_umap(context: Any) -> tuple[Any, int]:
    """(UMAP fitted on up to UMAP_FIT_ROWS real train rows' leading principal components, number of components)."""
    import warnings

    from umap import UMAP

    train = np.asarray(context.split.train_X)
    rows = np.random.default_rng([context.seed, 12]).choice(len(train), size=min(len(train), UMAP_FIT_ROWS),
                                                            replace=False)
    k = max(2, min(UMAP_INPUT_PCS, train.shape[1] - 1, len(rows) - 1))
    coords = context.pooled_pca(k).transform(context.to_std(train[np.sort(rows)]))
    with warnings.catch_warnings():  # "n_jobs overridden to 1 by setting random_state": intended
        warnings.simplefilter("ignore", UserWarning)
        model = UMAP(n_neighbors=min(15, len(coords) - 1), min_dist=0.1, random_state=context.seed).fit(coords)
    return model, k


def correlation_block(context: Any, R: np.ndarray, S: np.ndarray, feature_names: tuple[str, ...]) -> dict[str, Any]:
    """Correlation matrices of the CORR_FEATURES features with the largest variance in real train, in
    that order; None where a feature is constant in a set."""
    variance = np.var(np.asarray(context.split.train_X, dtype=np.float64), axis=0)
    order = np.argsort(-variance, kind="stable")
    top = order[variance[order] > 0][:CORR_FEATURES]
    return {"method": f"Pearson correlation of the {len(top)} features with the largest variance in real train; "
                      "real test rows vs the synthetic rows the metrics compare",
            "features": [feature_names[j] for j in top],
            "real": _correlation(R[:, top]), "synthetic": _correlation(S[:, top])}


def _correlation(X: np.ndarray) -> list[list[float | None]]:
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.corrcoef(np.asarray(X, dtype=np.float64), rowvar=False)
    C = np.atleast_2d(C)
    return [[None if not np.isfinite(v) else round(float(v), 3) for v in row] for row in C]


def ld_decay_block(context: Any, R: np.ndarray, S: np.ndarray) -> dict[str, Any]:
    """Mean r² per distance bin (the ``ld_decay`` metric's bins and pairs) of real test, real holdout
    and synthetic dosages; None for empty bins."""
    from metrics.genomics import LD_DECAY_BINS, ld_decay_curves, snp_distances

    positions = context.split.positions
    curves, counts = ld_decay_curves([R, np.asarray(context.H_X), S], positions)
    _, _, d_max = snp_distances(R.shape[1], positions)

    def curve(values: np.ndarray) -> list[float | None]:
        return [round(float(v), 5) if n > 0 and np.isfinite(v) else None for v, n in zip(values, counts, strict=True)]

    return {"unit": "bp" if positions is not None else "SNPs",
            "bin_edges": np.round(np.linspace(0.0, d_max, LD_DECAY_BINS + 1), 1).tolist(),
            "pairs": counts.astype(int).tolist(),
            "real": curve(curves[0]), "holdout": curve(curves[1]), "synthetic": curve(curves[2])}


def allele_frequency_block(R: np.ndarray, S: np.ndarray) -> dict[str, Any]:
    """Allele frequencies (mean dosage / 2) of up to AF_MAX_SNPS evenly spaced SNPs, real test vs synthetic."""
    from metrics.genomics import allele_frequencies

    snps = np.unique(np.linspace(0, R.shape[1] - 1, min(R.shape[1], AF_MAX_SNPS)).round().astype(int))
    return {"snps": f"{len(snps)} of {R.shape[1]} SNPs, evenly spaced along the panel",
            "real": np.round(allele_frequencies(R[:, snps]), 4).tolist(),
            "synthetic": np.round(allele_frequencies(S[:, snps]), 4).tolist()}
