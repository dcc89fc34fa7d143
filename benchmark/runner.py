"""Run generators x seeds on one dataset: each job in its own process, one record per job."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark import __version__
from benchmark.errors import BenchmarkError
from benchmark.jobs import Job, JobOutcome, evaluate_output, run_job_in_process
from benchmark.prepared import PreparedData, prepare
from benchmark.protocols import ProtocolConfig
from benchmark.registry import get_generator, plugin_files, resolve_generators
from benchmark.splits import canonical_json, sha256_hex
from benchmark.store import read_record, record_path, write_record

log = logging.getLogger(__name__)

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

    @property
    def effective_timeout(self) -> float | None:
        return self.timeout_s if self.timeout_s is not None else DEFAULT_TIMEOUT_S[self.budget]


@dataclass
class RunSummary:
    folders: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every job is ok (run now or earlier), 3 when some job has a non-ok record."""
        return 3 if self.failed else 0


def run(config: RunConfig) -> RunSummary:
    """Prepare the data once, then run every pending (generator, seed) job and store its record."""
    if config.seeds < 1:
        raise BenchmarkError("--seeds must be at least 1")
    if config.jobs < 1:
        raise BenchmarkError("--jobs must be at least 1")
    summary = RunSummary()
    for data in prepare(config):
        names = resolve_generators(config.generators, data.meta.modality)
        if not names:
            raise BenchmarkError(f"no registered generator supports the modality {data.meta.modality!r}")
        if data.folder not in summary.folders:
            summary.folders.append(data.folder)
        pending: list[Job] = []
        seeds = data.view.seeds if data.view.seeds is not None else range(config.seeds)
        for name in names:
            for seed in seeds:
                job = make_job(config, data, name, seed)
                existing = read_record(job.path)
                if not config.force and existing and existing.get("config_hash") == job.config_hash \
                        and existing.get("status") == "ok":
                    summary.skipped.append(f"{data.folder}/{job.label}")
                else:
                    pending.append(job)
        log.info("%s: %d jobs to run", data.folder, len(pending))
        for outcome in execute(pending, data, config):
            record = outcome.record
            write_record(outcome.job.path, record)
            (summary.done if record["status"] == "ok" else summary.failed).append(f"{data.folder}/{outcome.job.label}")
    return summary


def make_job(config: RunConfig, data: PreparedData, name: str, seed: int) -> Job:
    cls = get_generator(name)
    hparams = dict(cls.budgets.get(config.budget, {}))
    identity = {
        "split_hash": data.split.split_hash,
        "generator": name,
        "budget": config.budget,
        "seed": seed,
        "hparams": hparams,
        "protocol": data.protocol,
        "protocol_info": data.view.info,
        "metrics": data.metrics,
        "knn_k": list(data.knn_k),
        "package_version": __version__,
    }
    return Job(
        generator=name,
        seed=seed,
        budget=config.budget,
        device=config.device,
        hparams=hparams,
        config_hash=sha256_hex(canonical_json(identity)),
        path=record_path(config.results_dir, data.folder, name, seed),
        memory_limit_gb=config.memory_limit_gb,
        plugins=plugin_files(),
    )


def execute(jobs: list[Job], data: PreparedData, config: RunConfig) -> Iterable[JobOutcome]:
    """Fit and sample in job processes, at most ``config.jobs`` at once; score each output here, where
    the metric context is warm, and yield each outcome as it ends."""
    from multiprocessing.connection import wait

    from tqdm import tqdm

    if not jobs:
        return
    context = job_process_context()
    queue = list(jobs)
    running: dict[Any, Running] = {}
    timeout = config.effective_timeout
    bar = tqdm(total=len(jobs), desc=data.folder, unit="job", disable=not config.progress, dynamic_ncols=True)
    try:
        while queue or running:
            while queue and len(running) < config.jobs:
                job = queue.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=run_job_in_process, args=(job, data, sender))
                process.start()
                sender.close()
                running[receiver] = Running(job, process, time.monotonic())
            wait(list(running) + [r.process.sentinel for r in running.values()], timeout=1.0)
            for receiver, state in list(running.items()):
                drain(receiver, state)
                if state.record is None and state.output is None and not state.process.is_alive():
                    state.process.join()
                    drain(receiver, state)  # a message sent just before the process ended
                    if state.record is None and state.output is None:
                        state.record = data.failure_record(state.job, "failed", died_message(state.process.exitcode))
                if state.output is not None:
                    bar.set_postfix_str(f"{state.job.label}: eval", refresh=True)
                    state.record = evaluate_output(state.job, data, *state.output)
                    state.output = None
                elif state.record is None and timeout is not None and time.monotonic() - state.started > timeout:
                    kill(state.process)
                    state.record = data.failure_record(
                        state.job, "timeout", f"job exceeded the {timeout:.0f} s time limit in phase {state.phase!r}"
                    )
                if state.record is not None:
                    running.pop(receiver)
                    receiver.close()
                    state.process.join(timeout=10)
                    if state.process.is_alive():
                        kill(state.process)
                    bar.update(1)
                    if state.record["status"] != "ok":
                        bar.write(f"{state.job.label}: {state.record['status']}: {state.record['error']}")
                    yield JobOutcome(state.job, state.record)
            if running:
                bar.set_postfix_str("; ".join(f"{r.job.label}: {r.phase}" for r in running.values()), refresh=False)
    finally:
        for state in running.values():
            kill(state.process)
        bar.close()


def job_process_context() -> Any:
    """Start jobs from a fork server (spawn where there is none), never by forking this process.

    The parent has already run BLAS/OpenMP code (and maybe torch) to compute the reference
    scores; a child forked from it can deadlock in those thread pools. The fork server is a clean
    process that preloads the job code once, so each job still starts in well under a second.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["benchmark.jobs", "benchmark.prepared", "metrics", "numpy", "sklearn"])
    return context


@dataclass
class Running:
    job: Job
    process: Any
    started: float
    phase: str = "starting"
    output: tuple[Any, dict[str, Any]] | None = None  # validated rows and compute figures, to score
    record: dict[str, Any] | None = None


def drain(receiver: Any, state: Running) -> None:
    """Read every message the job has sent so far: phase changes and, last, its output or a failure record."""
    try:
        while receiver.poll():
            kind, *payload = receiver.recv()
            if kind == "phase":
                state.phase = payload[0]
            elif kind == "output":
                state.output = payload
            else:
                state.record = payload[0]
    except (EOFError, OSError):
        pass


def died_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        signal_number = -exitcode
        hint = " (killed: out of memory?)" if signal_number == 9 else ""
        return f"job process died with signal {signal_number}{hint}"
    return f"job process exited with code {exitcode} without a result"


def kill(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join(timeout=10)
