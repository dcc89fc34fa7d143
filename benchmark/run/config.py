"""What a run is asked to do: the dataset, how to read it, generators, seeds, budget and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.hparams import variant_name
from benchmark.protocols import ProtocolConfig

DEFAULT_TIMEOUT_S = {"smoke": 900.0, "default": 6 * 3600.0, "paper": None}


@dataclass
class LoadOptions:
    """How to read a dataset given as a file (ignored fields stay None for cards)."""

    label_column: str | None = None
    labels_file: str | None = None
    layer: str | None = None
    modality: str | None = None
    orientation: str = "samples"
    id_column: str | None = None
    log1p: bool = False
    drop_missing: bool = False
    params: dict[str, Any] | None = None  # card parameter overrides, e.g. {"genes": "top-variance:1000"}


@dataclass
class RunConfig:
    dataset: str = "pbmc68k"
    generators: str = "all"
    seeds: int = 3
    budget: str = "default"
    jobs: int = 1
    timeout_s: float | None = None
    memory_limit_gb: float | None = None
    results_dir: Path = Path("results")
    force: bool = False
    split_seed: int = 0
    min_class_size: int | None = None
    device: str = "auto"
    progress: bool = True
    load: LoadOptions = field(default_factory=LoadOptions)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    metrics: tuple[str, ...] | None = None  # metric or family names; None = all
    knn_k: tuple[int, int] = (3, 5)  # k of precision/recall and of density/coverage
    hparams: tuple[str, ...] = ()  # --hparam items: KEY=VALUE or GENERATOR.KEY=VALUE (benchmark.hparams)
    executor: str = "local"  # local | dask
    scheduler: str | None = None  # address of a running Dask scheduler; None: a LocalCluster of `jobs` workers
    save_synthetic: bool = False  # keep each job's synthetic rows beside its record

    @property
    def effective_timeout(self) -> float | None:
        return self.timeout_s if self.timeout_s is not None else DEFAULT_TIMEOUT_S[self.budget]


@dataclass(frozen=True)
class Job:
    generator: str
    seed: int
    budget: str
    device: str
    hparams: dict[str, Any]
    config_hash: str
    path: Path
    memory_limit_gb: float | None = None
    plugins: tuple[str, ...] = ()  # plugin files the job process must load
    overrides: dict[str, Any] = field(default_factory=dict)  # --hparam values (already in hparams)
    time_limit_s: float | None = None  # the run's time limit per job; None: no limit
    threads: int | None = None  # compute threads of the job process (cores shared among parallel jobs)

    @property
    def variant(self) -> str:
        """The generator's name with its overrides, e.g. ``wgan-gp [steps=8000]``: its leaderboard row."""
        return variant_name(self.generator, self.overrides)

    @property
    def label(self) -> str:
        return f"{self.variant}/seed-{self.seed}"


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    record: dict[str, Any]
    synthetic: Any = None  # the validated rows the record scores (None when the job produced none)
