"""A complete external generator in plain Python and numpy (docs/external.md).

    python3 class_means.py fit TRAIN.npz META.json MODEL_DIR
    python3 class_means.py sample META.json MODEL_DIR LABELS.npz OUTPUT.npz
"""

import json
import sys
from pathlib import Path

import numpy as np


def fit(train: str, meta: str, model: str) -> None:
    """Per class: the mean and standard deviation of every feature (a genotype's mean / 2 is its allele frequency)."""
    data = np.load(train)
    X, y = data["X"].astype(np.float64), data["y"]
    classes = range(len(json.loads(Path(meta).read_text())["class_names"]))
    mean = np.stack([X[y == c].mean(axis=0) for c in classes])
    sd = np.stack([X[y == c].std(axis=0) for c in classes])
    np.savez(Path(model) / "class_means.npz", mean=mean, sd=sd)
    print(f"fitted {len(mean)} classes x {X.shape[1]} features", file=sys.stderr)


def sample(meta: str, model: str, labels: str, output: str) -> None:
    """One row per requested label, in the requested order; the seed makes the draws reproducible."""
    info = json.loads(Path(meta).read_text())
    params = np.load(Path(model) / "class_means.npz")
    y = np.load(labels)["y"]
    rng = np.random.default_rng(info["seed"])
    mean, sd = params["mean"][y], params["sd"][y]
    if info["modality"] == "genotype":
        X = rng.binomial(2, mean / 2).astype(np.int8)
    else:
        X = rng.normal(mean, sd).astype(np.float32)
        if info["modality"] == "counts":
            X = np.clip(X, 0, None)
    np.savez(output, X=X)
    n_params = params["mean"].size + params["sd"].size
    (Path(output).parent / "info.json").write_text(json.dumps({"n_params": int(n_params)}))


if __name__ == "__main__":
    {"fit": fit, "sample": sample}[sys.argv[1]](*sys.argv[2:])
