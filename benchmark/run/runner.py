"""Run generators x seeds on one dataset: each job in its own process, one record per job."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark import __version__
from benchmark.atomic import remove_stale_temps
from benchmark.errors import BenchmarkError, Terminated
from benchmark.hparams import overrides_for, variant_name
from benchmark.registry import all_generators, get_generator, plugin_files_of, resolve_generators
from benchmark.run.config import Job, RunConfig
from benchmark.run.locks import JobClaims
from benchmark.run.prepared import PreparedData, check_metric_names, prepare
from benchmark.splits import canonical_json, sha256_hex
from benchmark.store import BadRecord, keep_unwritten, load_record, record_path, write_record

log = logging.getLogger(__name__)

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
        claims = JobClaims(pending, lambda job: not config.force and is_done(job, warn=False))
        try:
            with contextlib.closing(executor(config)(claims, data, config)) as outcomes:  # closing kills jobs
                for outcome in outcomes:
                    record = outcome.record
                    save_record(outcome.job.path, record)
                    if config.save_synthetic and outcome.synthetic is not None:
                        save_synthetic(outcome.job.path, outcome.synthetic, data)
                    claims.release(outcome.job)
                    (summary.done if record["status"] == "ok" else summary.failed).append(
                        f"{data.folder}/{outcome.job.label}")
        finally:
            claims.release_all()
        summary.skipped.extend(f"{data.folder}/{job.label}" for job in claims.done_elsewhere)
    return summary


def executor(config: RunConfig) -> Any:
    """The ``execute(claims, data, config)`` function of ``--executor``."""
    if config.executor == "dask":
        from benchmark.run.dask_executor import execute as execute_on_dask

        return execute_on_dask
    from benchmark.run.local import execute

    return execute


def save_synthetic(record: Path, synthetic: Any, data: PreparedData) -> None:
    """``--save-synthetic``: the job's rows and labels beside its record."""
    from benchmark.run.synthetic_files import synthetic_path, write_synthetic

    write_synthetic(synthetic_path(record), synthetic, data)


def check_names(config: RunConfig) -> None:
    """Unknown generator, metric or family names and bad ``--hparam`` items fail here, before the data
    are loaded and scored (whether they suit the data's modality is checked once the data are loaded;
    with ``--generators all``, hyperparameters are checked against every registered generator)."""
    every = config.generators.strip() == "all"
    selected = {} if every else {get_generator(name.strip()).name: get_generator(name.strip())
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


def is_done(job: Job, warn: bool = True) -> bool:
    """True when the job already has a valid ok record of the same configuration, unless that fit stopped
    at a wall-clock limit shorter than this run's; an unusable record file is logged and the job redone."""
    try:
        existing = load_record(job.path)
    except BadRecord as exc:
        if warn:
            log.warning("redoing %s: %s", exc.path, exc.reason)
        return False
    if existing is None or existing["config_hash"] != job.config_hash or existing["status"] != "ok":
        return False
    compute = existing.get("compute") or {}
    training = compute.get("training") if isinstance(compute.get("training"), dict) else {}
    if training.get("stopped_early") is True:
        before = compute.get("time_limit_s")
        if job.time_limit_s is None or not isinstance(before, (int, float)) or job.time_limit_s > before:
            if warn:
                limit = "no limit" if job.time_limit_s is None else f"{job.time_limit_s:g} s"
                log.info("redoing %s: its fit stopped at the wall-clock limit and this run allows more (%s)",
                         job.path, limit)
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
