"""Everything jobs on one dataset share: the split arrays, generator metadata and metric context."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.dataset import DatasetMeta, OmicsDataset
from benchmark.provenance import provenance
from benchmark.splits import Split, get_split
from benchmark.store import safe_name, write_json_atomic

if TYPE_CHECKING:
    from benchmark.jobs import Job
    from benchmark.runner import RunConfig

log = logging.getLogger(__name__)

PROJECTION_ROWS = 1000


@dataclass
class Part:
    X: np.ndarray
    y: np.ndarray  # integer class codes
    ids: np.ndarray


@dataclass
class PreparedData:
    dataset: OmicsDataset
    split: Split
    parts: dict[str, Part]
    meta: DatasetMeta
    context: Any  # metrics.EvalContext
    reference: dict[str, Any]
    folder: str
    protocol: str = "standard"

    @property
    def train_labels(self) -> np.ndarray:
        """Labels generators are asked for: the train label counts, grouped by class."""
        return np.sort(self.parts["train"].y, kind="stable")

    def dataset_block(self) -> dict[str, Any]:
        info = self.dataset.info
        return {
            "id": self.dataset.dataset_id,
            "version": self.dataset.version,
            "n": int(sum(len(p.ids) for p in self.parts.values())),
            "p": int(self.dataset.p),
            "modality": self.meta.modality,
            "split_hash": self.split.split_hash,
            "class_names": list(self.meta.class_names),
            "dropped_classes": dict(self.split.dropped_classes),
            **{f"n_{name}": int(len(part.ids)) for name, part in self.parts.items()},
            **{key: info.get(key) for key in ("title", "source", "license", "citation", "label_column")},
        }

    def base_record(self, job: Job) -> dict[str, Any]:
        return {
            "config_hash": job.config_hash,
            "protocol": self.protocol,
            "dataset": self.dataset_block(),
            "generator": {"name": job.generator, "budget": job.budget, "seed": job.seed, "hparams": job.hparams},
            "provenance": provenance(),
        }

    def failure_record(self, job: Job, status: str, error: str, compute: dict | None = None) -> dict[str, Any]:
        return {**self.base_record(job), "status": status, "error": error, "metrics": {},
                "metric_failures": {}, "compute": compute or {}}

    def projection(self, synthetic: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """2-D PCA coordinates (train-fit) of real test rows and of synthetic rows, at most 1,000 each."""
        rng = np.random.default_rng(self.split.metric_seed)
        test = self.parts["test"]

        def block(X: np.ndarray, y: np.ndarray) -> dict[str, list]:
            keep = np.sort(rng.choice(len(X), size=min(len(X), PROJECTION_ROWS), replace=False))
            xy = np.asarray(self.context.project_2d(X[keep]), dtype=float)
            return {"x": np.round(xy[:, 0], 5).tolist(), "y": np.round(xy[:, 1], 5).tolist(),
                    "label": [self.meta.class_names[c] for c in y[keep]]}

        return {
            "method": "first two principal components of train-standardised features (PCA fit on train)",
            "real": block(test.X, test.y),
            "synthetic": block(synthetic, labels),
        }


def prepare(config: RunConfig) -> PreparedData:
    """Load the dataset, split it, and fit the metric context and its real-holdout reference once."""
    from benchmark.data import load_dataset
    from metrics import EvalContext, SplitData

    options = config.load
    dataset = load_dataset(
        config.dataset,
        label_column=options.label_column,
        labels_file=options.labels_file,
        layer=options.layer,
        modality=options.modality,
        orientation=options.orientation,
        id_column=options.id_column,
        log1p=options.log1p,
        drop_missing=options.drop_missing,
        size="smoke" if config.budget == "smoke" else "default",
    )
    folder = safe_name(dataset.dataset_id) + ("" if config.budget == "default" else f"~{config.budget}")
    min_class_size = config.min_class_size or int(dataset.info.get("min_class_size", 10))
    split = get_split(dataset, Path(config.results_dir) / "splits", seed=config.split_seed,
                      min_class_size=min_class_size)
    indices = split.indices(dataset)
    kept = sorted({str(label) for part in indices.values() for label in dataset.labels[part]})
    code = {label: i for i, label in enumerate(kept)}
    parts = {
        name: Part(
            X=dataset.X[rows],
            y=np.array([code[str(label)] for label in dataset.labels[rows]], dtype=np.int64),
            ids=dataset.sample_ids[rows],
        )
        for name, rows in indices.items()
    }
    meta = DatasetMeta(
        dataset_id=dataset.dataset_id,
        modality=dataset.modality,
        feature_names=tuple(str(f) for f in dataset.feature_names),
        class_names=tuple(kept),
        positions=None if dataset.positions is None else tuple(int(p) for p in dataset.positions),
    )
    context = EvalContext(SplitData(
        parts["train"].X, parts["train"].y, parts["holdout"].X, parts["holdout"].y,
        parts["test"].X, parts["test"].y, modality=dataset.modality, class_names=meta.class_names,
        seed=split.metric_seed, positions=None if dataset.positions is None else np.asarray(dataset.positions),
    ))
    reference = cached_reference(context, Path(config.results_dir) / folder / "reference.json", split)
    return PreparedData(dataset, split, parts, meta, context, reference, folder)


def cached_reference(context: Any, path: Path, split: Split) -> dict[str, Any]:
    """The real-holdout reference scores, computed once per split and package version."""
    from benchmark import __version__

    key = {"split_hash": split.split_hash, "package_version": __version__}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("key") == key:
            return stored["reference"]
    except (OSError, ValueError, KeyError):
        pass
    log.info("computing the real-holdout reference scores")
    reference = context.reference()
    write_json_atomic(path, {"key": key, "reference": reference})
    return reference

