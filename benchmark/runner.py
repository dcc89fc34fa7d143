"""Run generators x seeds on one dataset: each job in its own process, one record per job."""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark import __version__
from benchmark.atomic import remove_stale_temps
from benchmark.errors import BenchmarkError, Terminated
from benchmark.hparams import overrides_for, variant_name
from benchmark.jobs import Job, JobOutcome, evaluate_output, run_job_in_process
from benchmark.prepared import PreparedData, check_metric_names, prepare
from benchmark.protocols import ProtocolConfig
from benchmark.registry import all_generators, get_generator, plugin_files_of, resolve_generators
from benchmark.splits import canonical_json, sha256_hex
from benchmark.store import BadRecord, keep_unwritten, load_record, record_path, write_record

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
    hparams: tuple[str, ...] = ()  # --hparam items: KEY=VALUE or GENERATOR.KEY=VALUE (benchmark.hparams)

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
    check_names(config)
    summary = RunSummary()
    for data in prepare(config):
        names = resolve_generators(config.generators, data.meta.modality)
        if not names:
            raise BenchmarkError(f"no registered generator supports the modality {data.meta.modality!r}")
        if data.folder not in summary.folders:
            summary.folders.append(data.folder)
        overrides = overrides_for(config.hparams, {name: get_generator(name) for name in names}, config.budget)
        pending: list[Job] = []
        seeds = data.view.seeds if data.view.seeds is not None else range(config.seeds)
        for name in names:
            for seed in seeds:
                job = make_job(config, data, name, seed, overrides[name])
                if not config.force and is_done(job):
                    summary.skipped.append(f"{data.folder}/{job.label}")
                else:
                    pending.append(job)
        log.info("%s: %d jobs to run", data.folder, len(pending))
        remove_stale_temps(Path(config.results_dir))
        with contextlib.closing(execute(pending, data, config)) as outcomes:  # closing kills running jobs
            for outcome in outcomes:
                record = outcome.record
                save_record(outcome.job.path, record)
                (summary.done if record["status"] == "ok" else summary.failed).append(
                    f"{data.folder}/{outcome.job.label}")
    return summary


def check_names(config: RunConfig) -> None:
    """Unknown generator, metric or family names and bad ``--hparam`` items fail here, before the data
    are loaded and scored (whether they suit the data's modality is checked once the data are loaded;
    with ``--generators all``, hyperparameters are checked against every registered generator)."""
    every = config.generators.strip() == "all"
    selected = {} if every else {name.strip(): get_generator(name.strip())
                                 for name in config.generators.split(",") if name.strip()}
    if config.hparams:
        overrides_for(config.hparams, all_generators() if every else selected, config.budget)
    if config.metrics is not None:
        check_metric_names(config.metrics)


def make_job(config: RunConfig, data: PreparedData, name: str, seed: int,
             overrides: dict[str, Any] | None = None) -> Job:
    """One (generator, seed) job; ``overrides`` (validated ``--hparam`` values) make it a variant with its
    own identity, record folder and leaderboard row."""
    cls = get_generator(name)
    limit = config.effective_timeout
    overrides = dict(overrides or {})
    hparams = {**cls.budgets.get(config.budget, {}), **overrides}
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
        "code": data.code_for(name),
    }
    if overrides:  # jobs without overrides keep the identity they had before overrides existed
        identity["overrides"] = overrides
    return Job(
        generator=name,
        seed=seed,
        budget=config.budget,
        device=config.device,
        hparams=hparams,
        config_hash=sha256_hex(canonical_json(identity)),
        path=record_path(config.results_dir, data.folder, variant_name(name, overrides), seed),
        memory_limit_gb=config.memory_limit_gb,
        plugins=plugin_files_of(name),
        overrides=overrides,
        time_limit_s=limit if limit is not None and math.isfinite(limit) else None,
        threads=max(1, (os.cpu_count() or 1) // config.jobs) if config.jobs > 1 else None,
    )


def is_done(job: Job) -> bool:
    """True when the job already has a valid ok record of the same configuration, unless that fit stopped
    at a wall-clock limit shorter than this run's; an unusable record file is logged and the job redone."""
    try:
        existing = load_record(job.path)
    except BadRecord as exc:
        log.warning("redoing %s: %s", exc.path, exc.reason)
        return False
    if existing is None or existing["config_hash"] != job.config_hash or existing["status"] != "ok":
        return False
    compute = existing.get("compute") or {}
    training = compute.get("training") if isinstance(compute.get("training"), dict) else {}
    if training.get("stopped_early") is True:
        before = compute.get("time_limit_s")
        if job.time_limit_s is None or not isinstance(before, (int, float)) or job.time_limit_s > before:
            limit = "no limit" if job.time_limit_s is None else f"{job.time_limit_s:g} s"
            log.info("redoing %s: its fit stopped at the wall-clock limit and this run allows more (%s)", job.path,
                     limit)
            return False
    return True


class RecordNotWritten(BenchmarkError):
    """A finished job's record could not be stored where it belongs."""


def save_record(path: Path, record: dict[str, Any]) -> None:
    """Store a finished job's record; when that fails, keep it elsewhere and stop the run (exit code 2)."""
    try:
        with signals_deferred():
            write_record(path, record)
    except (OSError, ValueError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RecordNotWritten(
            f"cannot write the record {path} ({reason}); {keep_unwritten(path, record)}. The run stopped "
            "(running jobs killed); finished records are kept: fix the problem and run the same command again"
        ) from None


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, so a record being written is finished first."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def sigterm_stops_the_run() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated`, so the run unwinds: jobs killed, records kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise Terminated(f"received signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
                lifeline, held = context.Pipe(duplex=False)  # only this process holds `held`
                launched = time.monotonic()  # the job's fit deadline counts from here (benchmark.jobs.STOP_FRACTION)
                process = context.Process(target=run_job_in_process, args=(job, data, sender, lifeline, launched))
                process.start()
                sender.close()
                lifeline.close()
                running[receiver] = Running(job, process, time.monotonic(), held)
            wait(list(running) + [r.process.sentinel for r in running.values()], timeout=1.0)
            for receiver, state in list(running.items()):
                drain(receiver, state)
                if state.record is None and state.output is None and not state.process.is_alive():
                    state.process.join()
                    drain(receiver, state)  # a message sent just before the process ended
                    if state.record is None and state.output is None:
                        state.record = data.failure_record(state.job, "failed", died_message(state.process.exitcode),
                                                           *state.fitted)
                if state.output is not None:
                    bar.set_postfix_str(f"{state.job.label}: eval", refresh=True)
                    state.record = evaluate_output(state.job, data, *state.output)
                    state.output = None
                elif state.record is None and timeout is not None and time.monotonic() - state.started > timeout:
                    kill(state)
                    state.record = data.failure_record(
                        state.job, "timeout", f"job exceeded the {timeout:.0f} s time limit in phase {state.phase!r}",
                        *state.fitted)
                if state.record is not None:
                    running.pop(receiver)
                    receiver.close()
                    state.process.join(timeout=10)
                    kill(state)
                    bar.update(1)
                    if state.record["status"] != "ok":
                        bar.write(f"{state.job.label}: {state.record['status']}: {state.record['error']}")
                    yield JobOutcome(state.job, state.record)
            if running:
                bar.set_postfix_str("; ".join(f"{r.job.label}: {r.phase}" for r in running.values()), refresh=False)
    finally:
        for state in running.values():
            kill(state)
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
    lifeline: Any  # write end of the job's lifeline pipe: closing it (or dying) ends the job
    phase: str = "starting"
    output: tuple[Any, ...] | None = None  # validated rows, compute figures and derived hparams, to score
    record: dict[str, Any] | None = None
    fitted: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # compute and derived hparams once fit ended


def drain(receiver: Any, state: Running) -> None:
    """Read every message the job has sent so far: phase changes, what fit derived and, last, its output or
    a failure record."""
    try:
        while receiver.poll():
            kind, *payload = receiver.recv()
            if kind == "phase":
                state.phase = payload[0]
            elif kind == "fitted":
                state.fitted = (payload[0], payload[1])
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


def kill(state: Running) -> None:
    """End a job's process (if it still runs) and close its lifeline."""
    if state.process.is_alive():
        state.process.kill()
    state.process.join(timeout=10)
    state.lifeline.close()
