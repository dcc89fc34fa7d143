"""``score``: a synthetic dataset made elsewhere, scored against a dataset's split and stored as a record.

The record is a normal one (``docs/records.md``) whose generator block says where the rows came from
(``generator.external``: file name, sha256, row count); ``publish`` ranks it like any generator and marks
it as an external file. Formats, label rules and errors: ``docs/scoring.md``.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import __version__
from benchmark.errors import ConfigError, DataError
from benchmark.run.config import RunConfig
from benchmark.run.prepared import PreparedData, check_metric_names, prepare
from benchmark.run.synthetic_files import check_synthetic_file, known_suffix, read_synthetic
from benchmark.splits import canonical_json, sha256_hex
from benchmark.store import read_record, record_path, write_record

log = logging.getLogger(__name__)

EXTERNAL_BUDGET = "external"
DEFAULT_LABEL_COLUMN = "label"


def command_score(args: argparse.Namespace) -> int:
    """The ``score`` command: score ``--synthetic``, write its record, say where it went and how to publish."""
    record = score_file(score_config(args), args.synthetic, args.name)
    print(f"record: {record}")
    print(f"publish with: python -m benchmark publish --results {args.results} --dataset {record.parent.parent.name}")
    return 0


def score_config(args: argparse.Namespace) -> RunConfig:
    """The run configuration ``score``'s options describe (the standard protocol, one view)."""
    from benchmark.cli import load_options, split_list

    return RunConfig(dataset=args.dataset, budget=args.budget, results_dir=args.results,
                     split_seed=args.split_seed, progress=not args.no_progress,
                     metrics=None if args.metrics.strip() == "all" else tuple(split_list(args.metrics)),
                     load=load_options(args))


def score_file(config: RunConfig, file: Path, name: str | None = None) -> Path:
    """Score the synthetic rows in ``file`` on ``config``'s dataset and split; write and return the record.
    Scoring again always re-scores and overwrites the record."""
    file = check_synthetic_file(file).resolve()
    name = external_name(file, name)
    if config.metrics is not None:
        check_metric_names(config.metrics)
    data = prepare(dataset_config(config))[0]
    path = record_path(config.results_dir, data.folder, name, 0)
    check_not_a_run_record(path)
    X, labels = read_synthetic(file, data.meta, label_column=config.load.label_column or DEFAULT_LABEL_COLUMN,
                               layer=config.load.layer, split_hash=data.split.split_hash)
    check_class_counts(file, labels, data)
    write_record(path, external_record(data, name, file, X, labels))
    return path


def dataset_config(config: RunConfig) -> RunConfig:
    """``--layer`` also reads the dataset when that is an .h5ad file; otherwise it is the synthetic file's alone."""
    from benchmark.readers import file_kind

    if config.load.layer is None or file_kind(config.dataset) == "h5ad":
        return config
    return replace(config, load=replace(config.load, layer=None))


def external_name(file: Path, name: str | None) -> str:
    """The leaderboard row name: ``--name``, else the file's name without its extension; never a generator's."""
    from benchmark.registry import all_generators

    name = (without_extension(file) if name is None else name).strip()
    if not name:
        raise ConfigError("--name must not be empty")
    if name.split(" [", 1)[0] in all_generators():
        raise ConfigError(f"--name {name!r} is the name of a registered generator; give the external file a name "
                          "of its own with --name")
    return name


def without_extension(file: Path) -> str:
    """``my_gan.csv.gz`` -> ``my_gan``; ``seed-0.synthetic.npz`` -> ``seed-0.synthetic``."""
    return file.name[: len(file.name) - len(known_suffix(file) or "")]


def check_not_a_run_record(path: Path) -> None:
    """An external record never replaces the record of a generator run by ``run`` (e.g. of a plugin)."""
    existing = read_record(path)
    generator = (existing or {}).get("generator") or {}
    if existing is not None and "external" not in generator:
        raise ConfigError(f"{path} holds a record of generator {generator.get('name')!r} made by `run`; give the "
                          "external file another --name")


def check_class_counts(file: Path, labels: np.ndarray, data: PreparedData) -> None:
    """Every class has at least as many rows as the real holdout's scored subsample, so the synthetic
    subsample every distribution metric compares has the holdout's label counts, as a generator's has."""
    needed = data.context.eval_counts
    have = np.bincount(labels, minlength=len(needed))
    short = np.flatnonzero(have < needed)
    names = data.meta.class_names
    if len(short):
        c = int(short[0])
        wanted = ", ".join(f"{names[k]} {int(n)}" for k, n in enumerate(needed))
        raise DataError(f"{file.name}: class {names[c]!r} has {int(have[c])} rows, at least {int(needed[c])} needed "
                        f"({len(short)} class(es) short). Metrics compare {int(needed.sum())} synthetic rows with the "
                        f"real holdout's label counts, so each class needs at least: {wanted}")
    train = np.bincount(data.train_labels, minlength=len(needed))
    if not np.array_equal(have, train):
        log.warning("%s: %d rows whose label counts differ from the train counts generators are asked for (%d "
                    "rows); the membership attack (mia) uses every row, so its scores are comparable with other "
                    "rows of the leaderboard only at the train counts", file.name, len(labels), int(train.sum()))


def external_record(data: PreparedData, name: str, file: Path, X: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The ok record of rows scored from ``file`` (scored as a job's rows are, with the file's labels)."""
    from benchmark.cache import file_sha256
    from benchmark.code_hash import metrics_code_hash

    digest = file_sha256(file)
    start = time.perf_counter()
    try:
        scored = data.score(X, labels)
    except ValueError as exc:
        raise DataError(f"{file.name}: cannot be scored ({exc})") from None
    identity = {"split_hash": data.split.split_hash, "generator": name, "sha256": digest, "metrics": data.metrics,
                "package_version": __version__}
    generator = {"name": name, "budget": EXTERNAL_BUDGET, "seed": 0, "hparams": {}, "overrides": {},
                 "external": {"file": file.name, "sha256": digest, "n_rows": int(len(labels))}}
    return {
        **data.record_blocks(sha256_hex(canonical_json(identity)), generator, {"metrics": metrics_code_hash()}),
        "status": "ok",
        "error": None,
        **scored,
        "compute": {"eval_s": round(time.perf_counter() - start, 4)},
    }
