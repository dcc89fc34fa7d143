"""Which space makes the k-NN fidelity scores membership-blind? Measure the candidates.

    python perf/fidelity_space.py [--datasets factor,pbmc68k,sim-ooa,1kg-chr1] [--repeats 3]

For each data set and candidate space, the real holdout (the reference), copies of training rows
(what a memorizer emits), fresh rows from the true distribution (simulated data only) and two clearly
worse sets (independent per-class marginals of train, and train copies shifted by 0.5 sd) are scored
against the real test split with precision/recall (k = 3), density/coverage (k = 5), Fréchet distance
and α-precision/β-recall. A membership-blind space gives copies and fresh rows the reference's scores.

Candidates: ``pca50-T`` PCA-50 of train z-scores fitted on train (the space used before issue 7);
``z-T`` the z-scores themselves (train mean/sd); ``z-pooled`` z-scores with the mean/sd of all real
rows; ``rp50`` a data-independent Gaussian random projection of ``z-T`` to 50 dimensions;
``pca50-xfit`` PCA-50 fitted on one half of the test split, the other half being the comparison
set (so every compared row is out of sample; half the comparison rows). Genotypes use Patterson-scaled
dosages in place of z-scores. 1000 Genomes needs ``OMICS_BENCHMARK_MIRROR=../shared/data``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from tabulate import tabulate

from metrics.fidelity import alpha_beta_scores, frechet_distance, knn_pass
from metrics.space import Points, knn_self, proportional_counts, stratified_indices

SCORES = ("precision", "recall", "density", "coverage", "fd", "alpha_precision", "beta_recall")


def factor_data(seed: int, n_train: int = 200, p: int = 1000, classes: int = 4, factors: int = 10):
    """Gaussian factor model x = μ_y + W f + ε: train / holdout / test / fresh parts and a sampler."""
    rng = np.random.default_rng(1000 + seed)
    means = rng.normal(0.0, 0.6, (classes, p))
    W = rng.normal(0.0, 1.0, (p, factors)) * rng.uniform(0.3, 1.5, factors)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % classes
        return means[y] + rng.normal(size=(n, factors)) @ W.T + rng.normal(size=(n, p)), y

    return {"train": draw(n_train), "holdout": draw(n_train // 2), "test": draw(n_train // 2),
            "fresh": draw(n_train // 2)}, "expression"


def real_data(dataset: str, split_seed: int):
    from benchmark.run.config import RunConfig
    from benchmark.run.prepared import prepare

    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(dataset=dataset, results_dir=Path(tmp), split_seed=split_seed, progress=False,
                           metrics=("exact_match",))
        data = prepare(config)[0]
    return {name: (part.X.astype(np.float64), part.y) for name, part in data.parts.items()}, data.meta.modality


def scaler(rows: list[np.ndarray], genotype: bool):
    """z-scores (or Patterson scaling for dosages) from the moments of ``rows`` stacked."""
    X = np.vstack(rows)
    if genotype:
        p = X.mean(axis=0) / 2.0
        keep = (p > 0) & (p < 1)
        centre, scale = 2.0 * p[keep], np.sqrt(2.0 * p[keep] * (1.0 - p[keep]))
    else:
        sd = X.std(axis=0)
        keep = sd > 1e-12
        centre, scale = X.mean(axis=0)[keep], sd[keep]
    return lambda A: (A[:, keep] - centre) / scale


def exact_pca(Z: np.ndarray, k: int):
    mean = Z.mean(axis=0)
    _, _, Vt = np.linalg.svd(Z - mean, full_matrices=False)
    V = Vt[:k].T
    return lambda A: (A - mean) @ V


def score(R: np.ndarray, S: np.ndarray) -> dict[str, float]:
    PR, PS = Points(R), Points(S)
    kr, ks = knn_self(PR, 10), knn_self(PS, 10)
    out, nearest_d, nearest_idx = knn_pass(PR, PS, kr, ks, 3, 5)
    out["fd"] = frechet_distance(R, S)
    out.update(alpha_beta_scores(R, S, kr[:, 0], nearest_d, nearest_idx))
    return out


def scored_sets(parts: dict, genotype: bool, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The sets to score, each with the holdout's size and label counts."""
    T, yT = parts["train"]
    H, yH = parts["holdout"]
    counts = np.bincount(yH, minlength=int(yT.max()) + 1)
    pick = stratified_indices(yT, counts, int(rng.integers(2**31)))
    marg = np.empty_like(T[pick])
    for c in np.unique(yT[pick]):
        rows = np.flatnonzero(yT[pick] == c)
        pool = T[yT == c]
        if genotype:
            marg[rows] = rng.binomial(2, pool.mean(axis=0) / 2.0, size=(len(rows), T.shape[1]))
        else:
            marg[rows] = np.take_along_axis(pool, rng.integers(0, len(pool), (len(rows), T.shape[1])), 0)
    sets = {"reference (holdout)": H, "copy of train": T[pick], "marginals": marg}
    if genotype:
        shifted = T[pick].copy()
        flip = rng.random(shifted.shape) < 0.1
        shifted[flip] = rng.integers(0, 3, int(flip.sum()))
        sets["train, 10 % calls re-drawn"] = shifted
    else:
        sets["train shifted 0.5 sd"] = T[pick] + 0.5 * T.std(axis=0)
    if "fresh" in parts:
        sets["fresh rows"] = parts["fresh"][0][: len(H)]
    return sets


def spaces(parts: dict, genotype: bool, rng: np.random.Generator) -> dict:
    T = parts["train"][0]
    real = [parts[k][0] for k in ("train", "holdout", "test")]
    zT = scaler([T], genotype)
    zP = scaler(real, genotype)
    d = zT(T[:2]).shape[1]
    proj = rng.normal(size=(d, 50)) / np.sqrt(50)
    pca = exact_pca(zT(T), min(50, len(T) - 1))
    return {"pca50-T": lambda A: pca(zT(A)), "z-T": zT, "z-pooled": zP, "rp50": lambda A: zT(A) @ proj}


def measure(name: str, parts: dict, modality: str, repeat: int) -> list[list]:
    genotype = modality == "genotype"
    rng = np.random.default_rng(repeat)
    R, yR = parts["test"]
    n = min(len(R), len(parts["holdout"][1]))
    R = R[stratified_indices(yR, proportional_counts(yR, int(yR.max()) + 1, n), repeat)]
    sets = scored_sets(parts, genotype, rng)
    rows = []
    for space_name, f in spaces(parts, genotype, rng).items():
        for set_name, S in sets.items():
            rows.append([name, space_name, set_name, *(score(f(R), f(S))[k] for k in SCORES)])
    # cross-fitted PCA: fit on half A of the test split, compare half B with half of the scored set
    half = rng.permutation(len(R))
    A, B = R[half[: len(R) // 2]], R[half[len(R) // 2:]]
    z = scaler([parts["train"][0]], genotype)
    pca = exact_pca(z(A), min(50, len(A) - 1))
    for set_name, S in sets.items():
        S_half = S[rng.permutation(len(S))[: len(B)]]
        rows.append([name, "pca50-xfit", set_name, *(score(pca(z(B)), pca(z(S_half)))[k] for k in SCORES)])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="factor,pbmc68k,sim-ooa,1kg-chr1")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for dataset in args.datasets.split(","):
        results = []
        for repeat in range(args.repeats):
            parts, modality = factor_data(repeat) if dataset == "factor" else real_data(dataset, repeat)
            results.extend(measure(dataset, parts, modality, repeat))
        table = {}
        for row in results:
            table.setdefault(tuple(row[:3]), []).append(row[3:])
        out = []
        for key, values in table.items():
            arr = np.array(values)
            out.append([*key, *(f"{m:.3g} ± {s:.2g}" for m, s in zip(arr.mean(0), arr.std(0, ddof=1), strict=True))])
        print(tabulate(out, headers=["data", "space", "scored set", *SCORES]))
        print(flush=True)


if __name__ == "__main__":
    main()
