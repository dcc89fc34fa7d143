"""One job: a generator fitted on train and sampled in its own process, its output scored by the parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.errors import GeneratorError
from benchmark.registry import get_generator, load_plugin_file
from benchmark.store import cap_text
from benchmark.validation import check_output

if TYPE_CHECKING:
    from benchmark.prepared import PreparedData

PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>
ORPHANED_EXIT_CODE = 70  # a job whose coordinator is gone


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

    @property
    def label(self) -> str:
        return f"{self.generator}/seed-{self.seed}"


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    record: dict[str, Any]


def run_job_in_process(job: Job, data: PreparedData, channel: Any, lifeline: Any) -> None:
    """Job-process entry point: send phase messages, then ("output", rows, compute) or ("record", failure).

    ``lifeline`` is the read end of a pipe only the coordinator can write to: when the coordinator
    dies, it reads EOF and this process ends (see :func:`tie_to_coordinator`).
    """
    tie_to_coordinator(lifeline)
    if job.memory_limit_gb:
        limit = int(job.memory_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        for plugin in job.plugins:
            load_plugin_file(plugin)
        message = generate(job, data, lambda phase: channel.send(("phase", phase)))
    except BaseException as exc:  # the parent must always hear back
        message = ("record", data.failure_record(job, "failed", f"internal error: {describe(exc)}"))
    channel.send(message)
    channel.close()


def tie_to_coordinator(lifeline: Any) -> None:
    """End this job process as soon as the coordinator ends, however it ends.

    A daemon thread waits on ``lifeline`` and exits at EOF (any platform). On Linux the kernel also
    sends SIGKILL when the parent, the fork server, exits; for the fork server to exit with the
    coordinator, this process drops its copy of the fork server's keep-alive pipe, which only a
    fork server started from this process would use (and that one makes its own).
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    alive_fd = getattr(server, "_forkserver_alive_fd", None)
    if isinstance(alive_fd, int) and alive_fd != lifeline.fileno():
        with contextlib.suppress(OSError):
            os.close(alive_fd)
        server._forkserver_alive_fd = None
    set_parent_death_signal()
    threading.Thread(target=exit_when_closed, args=(lifeline,), name="coordinator-lifeline", daemon=True).start()


def set_parent_death_signal() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent exits."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def exit_when_closed(lifeline: Any) -> None:
    """Block until the coordinator closes its end of ``lifeline`` (or dies), then end the process at once."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()
    os._exit(ORPHANED_EXIT_CODE)


def generate(job: Job, data: PreparedData, report: Any) -> tuple:
    """Fit on train, sample the requested labels and validate the rows; failures become records."""
    compute: dict[str, Any] = {"device": "cpu"}
    cls = get_generator(job.generator)
    train = data.parts["train"]
    wanted = data.train_labels
    try:
        generator = cls(budget=job.budget, seed=job.seed, device=job.device)
        report("fit")
        start = time.perf_counter()
        generator.fit(train.X.copy(), train.y.copy(), data.meta)
        compute["fit_s"] = round(time.perf_counter() - start, 4)
        report("sample")
        start = time.perf_counter()
        synthetic = generator.sample(wanted.copy())
        compute["sample_s"] = round(time.perf_counter() - start, 4)
        compute["n_params"] = int(generator.n_params())
        compute["device"] = str(getattr(generator, "device_used", "cpu"))
    except MemoryError:
        compute.update(peak_memory())
        return "record", data.failure_record(job, "failed", f"{phase_of(compute)}: out of memory (MemoryError)", compute)
    except Exception as exc:
        compute.update(peak_memory())
        return "record", data.failure_record(job, "failed", f"{phase_of(compute)}: {describe(exc)}", compute)
    compute.update(peak_memory())
    try:
        synthetic = check_output(job.generator, synthetic, len(wanted), data.meta)
    except GeneratorError as exc:
        return "record", data.failure_record(job, "invalid_output", str(exc), compute)
    return "output", synthetic, compute


def evaluate_output(job: Job, data: PreparedData, synthetic: np.ndarray, compute: dict[str, Any]) -> dict[str, Any]:
    """Score validated rows with the (warm) metric context of the parent process; returns the record."""
    wanted = data.train_labels
    start = time.perf_counter()
    try:
        scores = data.context.evaluate(synthetic, wanted, reference=data.reference)
        scores["metrics"].update(data.protocol_scores(synthetic, wanted))
        projection = data.projection(synthetic, wanted)
    except ValueError as exc:
        return data.failure_record(job, "invalid_output", cap_text(str(exc)), compute)
    compute = {**compute, "eval_s": round(time.perf_counter() - start, 4)}
    return {
        **data.base_record(job),
        "status": "ok",
        "error": None,
        "metrics": scores["metrics"],
        "metric_failures": {name: cap_text(str(text)) for name, text in scores["failures"].items()},
        "metric_not_applicable": scores["not_applicable"],
        "compute": compute,
        "projection": projection,
    }


def phase_of(compute: dict[str, Any]) -> str:
    return "sample" if "fit_s" in compute else "fit"


def describe(exc: BaseException) -> str:
    """Exception type, message (capped) and the innermost frame of the generator's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not hide the failure
        message = "(the exception's message cannot be shown)"
    return cap_text(f"{type(exc).__name__}: {message}{where}")


def peak_memory() -> dict[str, float]:
    """Peak resident memory of the job process (fit and sample), plus torch's peak GPU allocation."""
    peak = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        peak["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 1024**2, 1)
    return peak

