"""The Dask executor: jobs on a Dask distributed cluster, scored and recorded by this coordinator.

Each task runs one job exactly as the local executor does, in its own process on the worker (the
same isolation, time limit, memory limit and failure records), and returns the validated rows; this
process scores them with its warm metric context and writes the record, so the records equal a local
run's. Jobs of torch generators ask for a ``GPU`` resource when some worker advertises one.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from benchmark.errors import ConfigError
from benchmark.registry import get_generator
from benchmark.run.config import Job, JobOutcome, RunConfig
from benchmark.run.jobs import evaluate_output
from benchmark.run.local import JobProcess, job_process_context, progress_bar
from benchmark.run.locks import POLL_S, JobClaims
from benchmark.run.prepared import PreparedData
from benchmark.store import cap_text

log = logging.getLogger(__name__)

INSTALL_HINT = "--executor dask needs Dask: pip install -e '.[dask]' (dask[distributed] and dask-jobqueue)"
PHASE_EVERY_S = 1.0  # a worker sends a job's phase text at most this often


def execute(claims: JobClaims, data: PreparedData, config: RunConfig) -> Iterable[JobOutcome]:
    """Submit claimed jobs to the cluster, as many at once as it has worker threads; score and yield each
    outcome as it ends."""
    distributed = import_distributed()
    with connect(config) as client:
        token = secrets.token_hex(4)
        phases = distributed.Queue(f"omics-benchmark-phases-{token}", client=client)
        shared = client.scatter(data, broadcast=False, hash=False)
        running: dict[Any, Job] = {}
        latest: dict[str, str] = {}
        remote = config.scheduler is not None
        with progress_bar(claims, data.folder, config.progress) as bar:
            try:
                while claims.remaining or running:
                    capacity, gpus = cluster_size(client)
                    while len(running) < capacity and (job := claims.take()) is not None:
                        task_job = replace(job, threads=None) if remote else job  # a worker sizes its own
                        future = client.submit(run_on_worker, task_job, shared, config.effective_timeout,
                                               phases.name, key=f"job-{job.label}-{token}", pure=False,
                                               resources=job_resources(job, gpus), retries=0)
                        running[future] = job
                        latest[job.label] = "queued"
                    bar.sync()
                    if not running:
                        time.sleep(POLL_S)
                        continue
                    finished = first_done(distributed, list(running))
                    read_phases(phases, latest)
                    for future in finished:
                        job = running.pop(future)
                        latest.pop(job.label, None)
                        bar.show({job.label: "eval"}, refresh=True)
                        record, synthetic = outcome_of(future, job, data)
                        bar.finished(job, record)
                        yield JobOutcome(job, record, synthetic)
                    bar.show({label: latest[label] for label in latest})
            finally:
                client.cancel(list(running), force=True)


def first_done(distributed: Any, futures: list[Any]) -> set[Any]:
    """The futures that finished within a second (waiting for the first)."""
    try:
        return distributed.wait(futures, timeout=1.0, return_when="FIRST_COMPLETED").done
    except TimeoutError:
        return set()


def import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return distributed


@contextlib.contextmanager
def connect(config: RunConfig) -> Iterator[Any]:
    """A client of ``--scheduler``'s cluster, or of a LocalCluster of ``--jobs`` single-threaded workers."""
    distributed = import_distributed()
    for name in ("distributed", "bokeh", "tornado"):  # their routine news would bury the run's own
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).getEffectiveLevel()))
    if config.scheduler:
        try:
            client = distributed.Client(config.scheduler, timeout="30s")
        except OSError as exc:
            raise ConfigError(f"--scheduler {config.scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    with distributed.LocalCluster(n_workers=config.jobs, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.WARNING) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def cluster_size(client: Any) -> tuple[int, float]:
    """Worker threads (at least 1, so that jobs queue while workers start) and GPU resources of the cluster."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
    gpus = sum(float((w.get("resources") or {}).get("GPU", 0)) for w in workers.values())
    return max(1, threads), gpus


def job_resources(job: Job, gpus: float) -> dict[str, float] | None:
    """``{"GPU": 1}`` for a torch generator's job on a cluster with GPU workers, unless it runs on the CPU."""
    if gpus <= 0 or job.device == "cpu":
        return None
    from generators.nn.torch_generator import TorchGenerator

    return {"GPU": 1} if issubclass(get_generator(job.generator), TorchGenerator) else None


def read_phases(phases: Any, latest: dict[str, str]) -> None:
    """Take the phase texts workers sent since the last look (the newest per job wins)."""
    with contextlib.suppress(Exception):  # the queue is only for the progress bar
        for label, phase in phases.get(batch=True, timeout=0.05):
            if label in latest:
                latest[label] = phase


def outcome_of(future: Any, job: Job, data: PreparedData) -> tuple[dict[str, Any], Any]:
    """The record of a finished task (scored here when it returned rows) and its rows."""
    try:
        result = future.result()
    except Exception as exc:  # the worker died (KilledWorker) or the task could not run there
        return data.failure_record(job, "failed", cap_text(f"dask task failed: {type(exc).__name__}: {exc}")), None
    if result[0] == "output":
        synthetic, compute, derived = result[1:]
        return evaluate_output(job, data, synthetic, compute, derived), synthetic
    return result[1], None


def run_on_worker(job: Job, data: PreparedData, timeout: float | None, phase_queue: str) -> tuple:
    """Dask task: run one job in its own process on this worker, as the local executor does; returns
    ``("output", rows, compute, derived)`` or ``("record", failure)``. Ends the job when the task is
    cancelled (its coordinator went away)."""
    from multiprocessing.connection import wait

    import distributed

    worker = distributed.get_worker()
    key = worker.get_current_task()
    if job.threads is None:  # this worker's cores (its Slurm allocation, say) shared by its concurrent jobs
        job = replace(job, threads=max(1, usable_cores() // max(1, worker.state.nthreads)))
    drop_worker_environment()
    with children_allowed():
        state = JobProcess(job, data, job_process_context())
    phases = distributed.Queue(phase_queue)
    sent, last = "", 0.0
    try:
        while not state.finished:
            wait(state.waitables, timeout=1.0)
            state.poll(timeout)
            if cancelled(worker, key):
                return "record", data.failure_record(job, "failed", "dask task cancelled")
            if state.phase != sent and time.monotonic() - last >= PHASE_EVERY_S:
                with contextlib.suppress(Exception):
                    phases.put((job.label, state.phase), timeout=5)
                sent, last = state.phase, time.monotonic()
    finally:
        state.close()
    return ("output", *state.output) if state.output is not None else ("record", state.record)


def drop_worker_environment() -> None:
    """Remove what Dask's nanny sets for its worker's own sake (one BLAS/OpenMP thread, an aggressive
    ``MALLOC_TRIM_THRESHOLD_`` that halves the speed of torch training), so that job processes start with a
    local run's environment; the job sets its own thread count."""
    import dask.config

    for key in dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}:
        os.environ.pop(str(key), None)


def usable_cores() -> int:
    """Cores this process may run on (a batch system's allocation), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cancelled(worker: Any, key: Any) -> bool:
    """True when the scheduler no longer wants this task (its client is gone or cancelled it)."""
    task = worker.state.tasks.get(key)
    return task is None or task.state in ("cancelled", "released", "forgotten")


@contextlib.contextmanager
def children_allowed() -> Iterator[None]:
    """Let this (daemonic) Dask worker process start the job's process.

    Dask runs workers as daemonic processes, which multiprocessing forbids to have children lest they
    be orphaned; a job process cannot be orphaned (its lifeline pipe and parent-death signal end it with
    this process), so the flag is lifted while it starts.
    """
    process = multiprocessing.current_process()
    daemon = process._config.get("daemon")
    process._config["daemon"] = False
    try:
        yield
    finally:
        if daemon is not None:
            process._config["daemon"] = daemon
