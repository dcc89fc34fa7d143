"""Everything jobs on one dataset share: the split arrays, generator metadata and metric context."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.dataset import DatasetMeta, OmicsDataset
from benchmark.errors import ConfigError
from benchmark.projection import density_projection, shows_rows
from benchmark.protocol_scores import protocol_reference_scores, protocol_scores
from benchmark.protocols import Part, ProtocolView, protocol_views
from benchmark.provenance import command_line, provenance
from benchmark.splits import Split, canonical_json, get_split, sha256_hex
from benchmark.store import cap_text, dataset_folder, write_json_atomic
from benchmark.summaries import figure_summaries

if TYPE_CHECKING:
    from benchmark.run.config import Job, RunConfig

log = logging.getLogger(__name__)

PROJECTION_ROWS = 1000


@dataclass
class PreparedData:
    """One group of jobs: a protocol view of the split, with its metric context and reference."""

    dataset: OmicsDataset
    split: Split
    view: ProtocolView
    meta: DatasetMeta
    folder: str
    metrics: tuple[str, ...] | None = None  # metric names to compute; None = every metric for the modality
    knn_k: tuple[int, int] = (3, 5)  # neighbours for precision/recall and density/coverage
    reference: dict[str, Any] = field(default_factory=dict)
    protocol_reference: dict[str, float] = field(default_factory=dict)
    code: dict[str, dict[str, str]] = field(default_factory=dict)  # generator -> its record's `code` block
    command: str | None = None  # the coordinator's command line (jobs may run on other machines)
    umap: bool = True  # UMAP embeddings in the figure summaries (off for smoke runs: ~30 s of numba compilation)
    _context: Any = None  # metrics.EvalContext, built on first use in each process

    @property
    def context(self) -> Any:
        """The metric context of this view (fitted scalers, PCA, neighbour caches)."""
        if self._context is None:
            from metrics import EvalContext, SplitData

            parts = self.parts
            positions = None if self.dataset.positions is None else np.asarray(self.dataset.positions)
            self._context = EvalContext(SplitData(
                parts["train"].X, parts["train"].y, parts["holdout"].X, parts["holdout"].y,
                parts["test"].X, parts["test"].y, modality=self.meta.modality, class_names=self.meta.class_names,
                seed=self.split.metric_seed, positions=positions, feature_names=self.meta.feature_names,
            ), metrics=self.metrics, knn_k=self.knn_k)
        return self._context

    def __getstate__(self) -> dict[str, Any]:
        """Job processes get the data and the reference scores; each rebuilds its own context."""
        return {**self.__dict__, "_context": None}

    def code_for(self, generator: str) -> dict[str, str]:
        """Hashes of the generator's code and of the metric code (computed once per generator)."""
        if generator not in self.code:
            from benchmark.code_hash import code_block
            from benchmark.registry import get_generator

            self.code[generator] = code_block(get_generator(generator))
        return self.code[generator]

    @property
    def parts(self) -> dict[str, Part]:
        return self.view.parts

    @property
    def protocol(self) -> str:
        return self.view.tag

    @property
    def train_labels(self) -> np.ndarray:
        """Labels generators are asked for (the train label counts under the standard protocol)."""
        return self.view.requested

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
            "notes": [str(note) for note in info.get("notes", [])],  # rows or features dropped, values imputed
        }

    def base_record(self, job: Job, derived: dict[str, Any] | None = None,
                    machine: dict[str, Any] | None = None) -> dict[str, Any]:
        """The blocks every record of ``job`` has; ``derived`` (settings the generator derived from the
        data during fit) joins the budget settings and overrides in ``generator.hparams``; ``machine``
        (what the job process ran on) replaces this process's machine in ``provenance``."""
        generator = {"name": job.generator, "budget": job.budget, "seed": job.seed,
                     "hparams": {**job.hparams, **(derived or {})}, "overrides": dict(job.overrides)}
        return self.record_blocks(job.config_hash, generator, self.code_for(job.generator), machine)

    def record_blocks(self, config_hash: str, generator: dict[str, Any], code: dict[str, str],
                      machine: dict[str, Any] | None = None) -> dict[str, Any]:
        """The identity blocks of a record on this view: a job's (``base_record``) or a scored file's."""
        return {
            "config_hash": config_hash,
            "protocol": self.protocol,
            "protocol_info": self.view.info,
            "dataset": self.dataset_block(),
            "generator": generator,
            "code": code,
            "provenance": {**provenance(), "command": self.command, **(machine or {})},
        }

    def failure_record(self, job: Job, status: str, error: str, compute: dict | None = None,
                       derived: dict[str, Any] | None = None) -> dict[str, Any]:
        compute = dict(compute or {})
        machine = compute.pop("machine", None)
        return {**self.base_record(job, derived, machine), "status": status, "error": error, "metrics": {},
                "metric_failures": {}, "metric_not_applicable": {}, "compute": compute}

    def score(self, synthetic: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """The scored blocks of an ok record: metrics (with this protocol's own), metric failures and
        not-applicable notes, the projection and the figure summaries; ValueError when the rows cannot be
        scored."""
        scores = self.context.evaluate(synthetic, labels, reference=self.reference)
        scores["metrics"].update(self.protocol_scores(synthetic, labels))
        return {
            "metrics": scores["metrics"],
            "metric_failures": {name: cap_text(str(text)) for name, text in scores["failures"].items()},
            "metric_not_applicable": scores["not_applicable"],
            "projection": self.projection(synthetic, labels),
            "summaries": figure_summaries(self.context, synthetic, labels, self.meta.class_names,
                                          self.meta.feature_names, umap=self.umap),
        }

    def protocol_scores(self, synthetic: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, Any]]:
        """Scores only this protocol has (augmentation gains), each with its real-data reference."""
        return protocol_scores(self.view, self.context, synthetic, labels, self.protocol_reference)

    def projection(self, synthetic: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """2-D PCA coordinates (exact PCA of pooled real rows) of real test rows and of synthetic rows, at
        most 1,000 each; a coarse density instead when the data have so few features that points would
        show the rows."""
        rng = np.random.default_rng(self.split.metric_seed)
        test = self.parts["test"]
        if shows_rows(self.dataset.p):
            return density_projection(self.context.project_2d(test.X), self.context.project_2d(synthetic))

        def block(X: np.ndarray, y: np.ndarray) -> dict[str, list]:
            keep = np.sort(rng.choice(len(X), size=min(len(X), PROJECTION_ROWS), replace=False))
            xy = np.asarray(self.context.project_2d(X[keep]), dtype=float)
            return {"x": np.round(xy[:, 0], 5).tolist(), "y": np.round(xy[:, 1], 5).tolist(),
                    "label": [self.meta.class_names[c] for c in y[keep]]}

        return {
            "method": "first two principal components of standardised features (exact PCA of real rows from all splits)",
            "real": block(test.X, test.y),
            "synthetic": block(synthetic, labels),
        }


def prepare(config: RunConfig) -> list[PreparedData]:
    """Load and split the dataset, then build each protocol view's metric context and reference."""
    from benchmark.data import load_dataset

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
        params=options.params,
        size="smoke" if config.budget == "smoke" else "default",
    )
    min_class_size = config.min_class_size or int(dataset.info.get("min_class_size", 10))
    split = get_split(dataset, Path(config.results_dir) / "splits", seed=config.split_seed,
                      min_class_size=min_class_size)
    indices = split.indices(dataset)
    kept = tuple(sorted({str(label) for part in indices.values() for label in dataset.labels[part]}))
    code = {label: i for i, label in enumerate(kept)}
    parts = {
        name: Part(
            X=dataset.X[rows],
            y=np.array([code[str(label)] for label in dataset.labels[rows]], dtype=np.int64),
            ids=dataset.sample_ids[rows],
        )
        for name, rows in indices.items()
    }
    views = protocol_views(parts, kept, config.protocol, config.seeds, split.metric_seed)
    return [build(dataset, split, view, config) for view in views]


def build(dataset: OmicsDataset, split: Split, view: ProtocolView, config: RunConfig) -> PreparedData:
    folder = dataset_folder(dataset.dataset_id, view.tag, config.budget)
    meta = DatasetMeta(
        dataset_id=dataset.dataset_id,
        modality=dataset.modality,
        feature_names=tuple(str(f) for f in dataset.feature_names),
        class_names=view.class_names,
        positions=None if dataset.positions is None else tuple(int(p) for p in dataset.positions),
    )
    data = PreparedData(dataset, split, view, meta, folder, metric_names(config.metrics, dataset.modality),
                        config.knn_k, command=command_line(), umap=config.budget != "smoke")
    key = {"split_hash": split.split_hash, "view": view.info, "metrics": data.metrics, "knn_k": list(data.knn_k)}
    data.reference = cached(Path(config.results_dir) / folder / f"reference-{sha256_hex(canonical_json(key))[:12]}.json",
                            key, lambda: reference_with_progress(data.context, config.progress))
    data.protocol_reference = protocol_reference_scores(view, data.context)
    return data


def reference_with_progress(context: Any, show: bool) -> dict[str, Any]:
    """The context's real-holdout reference scores, with a progress bar per metric unless ``show`` is False."""
    from tqdm import tqdm

    with tqdm(desc="reference scores", unit="metric", disable=not show, dynamic_ncols=True) as bar:

        def progress(name: str, done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.set_description_str(f"reference scores: {name}" if done < total else "reference scores")

        return context.reference(progress=progress)


def metric_names(selection: tuple[str, ...] | None, modality: str) -> tuple[str, ...] | None:
    """Metric names from a selection of metric names and family names (None: all)."""
    if selection is None:
        return None
    from metrics import list_metrics

    available = list_metrics(modality)
    names = []
    for item in selection:
        matched = [m["name"] for m in available if item in (m["name"], m["family"])]
        if not matched:
            known = sorted({m["family"] for m in available} | {m["name"] for m in available})
            raise ConfigError(f"--metrics: {item!r} is neither a metric nor a family for {modality} data; "
                              f"known: {', '.join(known)}")
        names.extend(name for name in matched if name not in names)
    return tuple(names)


def check_metric_names(selection: tuple[str, ...]) -> None:
    """Every item is a metric or family name of some modality (the modality is checked after loading)."""
    from metrics import list_metrics

    available = list_metrics()
    known = sorted({m["family"] for m in available} | {m["name"] for m in available})
    unknown = [item for item in selection if item not in known]
    if unknown:
        raise ConfigError(f"--metrics: {', '.join(map(repr, unknown))}: neither a metric nor a family; "
                          f"known: {', '.join(known)}")


def cached(path: Path, key: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The real-holdout reference scores, computed once per split, view, package version and metric code."""
    from benchmark import __version__
    from benchmark.code_hash import metrics_code_hash

    key = json.loads(json.dumps({**key, "package_version": __version__, "metrics_code": metrics_code_hash()}))
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("key") == key:
            return stored["reference"]
    except (OSError, ValueError, KeyError):
        pass
    log.info("computing the real-holdout reference scores")
    reference = compute()
    write_json_atomic(path, {"key": key, "reference": reference})
    return reference

