"""One job: a generator fitted on train and sampled in its own process, its output scored by the parent."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import GeneratorError
from benchmark.hparams import json_safe
from benchmark.provenance import machine
from benchmark.registry import get_generator, load_plugin_file
from benchmark.run.config import Job
from benchmark.run.prepared import PreparedData
from benchmark.store import cap_text, training_problem
from benchmark.validation import check_output

PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>
ORPHANED_EXIT_CODE = 70  # a job whose coordinator is gone
PHASE_INTERVAL_S = 0.25  # a generator's phase texts reach the runner at most this often (the last one always)
MAX_PHASE_CHARS = 120
STOP_FRACTION = 0.8  # a generator's fit stops at this share of the job's time limit (sampling and scoring follow)
MAX_LAUNCH_S = 600.0  # a longer gap between launch and start means the two clocks differ


def run_job_in_process(job: Job, data: PreparedData, channel: Any, lifeline: Any,
                       launched: float | None = None) -> None:
    """Job-process entry point: send phase messages (and ("fitted", compute, derived) once fit ends), then
    ("output", rows, compute, derived) or ("record", failure).

    ``lifeline`` is the read end of a pipe only the coordinator can write to: when the coordinator
    dies, it reads EOF and this process ends (see :func:`tie_to_coordinator`). ``launched`` is the
    coordinator's ``time.monotonic()`` when it started this process: the job's clock starts there when
    that reading is plausible on this process's clock (the same system-wide clock), else now.
    """
    started = time.monotonic()
    if launched is not None and 0 <= started - launched <= MAX_LAUNCH_S:
        started = launched
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own process group: ending the job ends the commands it started too
    tie_to_coordinator(lifeline)
    if job.threads:
        limit_threads(job.threads)
    if job.memory_limit_gb:
        limit = int(job.memory_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    messages = Messages(channel.send)
    try:
        for plugin in job.plugins:
            load_plugin_file(plugin)
        message = generate(job, data, messages, started)
    except BaseException as exc:  # the parent must always hear back
        message = ("record", data.failure_record(job, "failed", f"internal error: {describe(exc)}"))
    messages.close()
    channel.send(message)
    channel.close()


def limit_threads(threads: int) -> None:
    """Give this job ``threads`` compute threads: torch (imported later, by the generator) reads
    OMP_NUM_THREADS when it starts; a torch already imported is told directly."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


class Messages:
    """The job's messages to the runner, safe from any thread; calling it reports a generator's phase text,
    throttled: at most one every ``interval`` seconds reaches the pipe, and the last one always does
    (a timer sends it when no newer text came)."""

    def __init__(self, send: Callable[[tuple], None], interval: float = PHASE_INTERVAL_S) -> None:
        self._send = send
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: str | None = None
        self._last = -float("inf")
        self._timer: threading.Timer | None = None
        self._closed = False

    def __call__(self, phase: str) -> None:
        """A generator's ``report``: never raises, so reporting cannot break a fit."""
        try:
            text = " ".join(str(phase).split())[:MAX_PHASE_CHARS]
        except Exception:
            return
        with self._lock:
            if self._closed:
                return
            wait = self._last + self._interval - time.monotonic()
            if wait <= 0:
                self._pending = None
                self._put(("phase", text))
                return
            self._pending = text
            if self._timer is None:
                self._schedule(wait)

    def phase(self, text: str) -> None:
        """A harness phase ("fit", "sample"): sent at once, replacing any pending generator text."""
        with self._lock:
            self._pending = None
            self._put(("phase", text))

    def send(self, message: tuple) -> None:
        """Any other message, at once."""
        with self._lock:
            self._put(message)

    def close(self) -> None:
        """Stop the timer and drop pending phase text: the job's last message follows."""
        with self._lock:
            self._closed = True
            self._pending = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _schedule(self, wait: float) -> None:
        self._timer = threading.Timer(wait, self._flush)
        self._timer.daemon = True
        self._timer.start()

    def _flush(self) -> None:
        """Send the pending text, or wait again if a direct send went out while the timer was due."""
        with self._lock:
            self._timer = None
            if self._pending is None or self._closed:
                return
            wait = self._last + self._interval - time.monotonic()
            if wait > 0:
                self._schedule(wait)
                return
            text, self._pending = self._pending, None
            self._put(("phase", text))

    def _put(self, message: tuple) -> None:
        """Send under the lock; a broken pipe (the runner is gone) is ignored: the lifeline ends the job.
        The interval counts from the end of the send, so sends are spaced by it even when one is slow."""
        with contextlib.suppress(OSError, EOFError, ValueError):
            self._send(message)
        self._last = time.monotonic()


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
    """Linux: ask the kernel to SIGKILL this process when its parent exits. Once the parent has called it,
    a child's ``preexec_fn`` may too: it then only calls the C function (nothing is loaded between fork
    and exec, where another thread's lock could block it)."""
    prctl = libc_prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@functools.lru_cache(maxsize=1)
def libc_prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def exit_when_closed(lifeline: Any) -> None:
    """Block until the coordinator closes its end of ``lifeline`` (or dies), then end the process at once."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()
    if os.getpgid(0) == os.getpid():  # this job leads its group: end the commands it started (then itself)
        os.killpg(0, signal.SIGKILL)
    os._exit(ORPHANED_EXIT_CODE)


def generate(job: Job, data: PreparedData, messages: Messages, started: float | None = None) -> tuple:
    """Fit on train, sample the requested labels and validate the rows; failures become records.

    The generator gets ``job.overrides`` as keyword arguments, ``report`` (throttled phase texts) and
    ``stop_at`` (``started`` + 80 % of the job's time limit, ``started`` defaulting to now). What fit
    leaves in ``training`` goes to ``compute["training"]``, and ``derived_hparams`` to the record's
    hyperparameters: sent to the runner as soon as fit ends (a later timeout keeps them) and returned
    with the output, ``("output", rows, compute, derived)``, or in the failure record.
    """
    compute: dict[str, Any] = {"device": "cpu"}
    if job.time_limit_s is not None:
        compute["time_limit_s"] = job.time_limit_s
    cls = get_generator(job.generator)
    train = data.parts["train"]
    wanted = data.train_labels
    generator = None
    try:
        generator = cls(budget=job.budget, seed=job.seed, device=job.device, **job.overrides)
        generator.report = messages
        if job.time_limit_s is not None:
            generator.stop_at = (time.monotonic() if started is None else started) + STOP_FRACTION * job.time_limit_s
        messages.phase("fit")
        start = time.perf_counter()
        generator.fit(train.X.copy(), train.y.copy(), data.meta)
        compute["fit_s"] = round(time.perf_counter() - start, 4)
        derived = fit_results(generator, compute)
        messages.send(("fitted", dict(compute), derived))
        messages.phase("sample")
        start = time.perf_counter()
        synthetic = generator.sample(wanted.copy())
        compute["sample_s"] = round(time.perf_counter() - start, 4)
        compute["n_params"] = int(generator.n_params())
        compute["device"] = str(getattr(generator, "device_used", "cpu"))
    except MemoryError:
        derived = fit_results(generator, compute)
        compute.update(final_figures())
        return "record", data.failure_record(job, "failed", f"{phase_of(compute)}: out of memory (MemoryError)", compute,
                                             derived)
    except Exception as exc:
        derived = fit_results(generator, compute)
        compute.update(final_figures())
        return "record", data.failure_record(job, "failed", f"{phase_of(compute)}: {describe(exc)}", compute, derived)
    compute.update(final_figures())
    try:
        synthetic = check_output(job.generator, synthetic, len(wanted), data.meta)
    except GeneratorError as exc:
        return "record", data.failure_record(job, "invalid_output", str(exc), compute, derived)
    return "output", synthetic, compute, derived


def fit_results(generator: Any, compute: dict[str, Any]) -> dict[str, Any]:
    """Put the generator's ``training`` block (as plain JSON) into ``compute``; return its ``derived_hparams``."""
    if generator is None:
        return {}
    try:
        training = json_safe(dict(getattr(generator, "training", None) or {}))
        derived = json_safe(dict(getattr(generator, "derived_hparams", None) or {}))
    except Exception as exc:  # a generator that filled them with something unusable: say so, keep the job
        compute["training_error"] = describe(exc)
        return {}
    problem = training_problem(training)
    if problem is not None:  # a generator's bad block must not make its record unreadable
        compute["training_error"] = problem
    elif training:
        compute["training"] = training
    return derived


def evaluate_output(job: Job, data: PreparedData, synthetic: np.ndarray, compute: dict[str, Any],
                    derived: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score validated rows with the (warm) metric context of the parent process; returns the record."""
    start = time.perf_counter()
    try:
        scored = data.score(synthetic, data.train_labels)
    except ValueError as exc:
        return data.failure_record(job, "invalid_output", cap_text(str(exc)), compute, derived)
    compute = {**compute, "eval_s": round(time.perf_counter() - start, 4)}
    ran_on = compute.pop("machine", None)
    return {**data.base_record(job, derived, ran_on), "status": "ok", "error": None, **scored, "compute": compute}


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


def final_figures() -> dict[str, Any]:
    """What ends a job's compute block: its peak memory and the machine it ran on (the job's GPU is known
    only once fit has run)."""
    return {**peak_memory(), "machine": machine()}


def peak_memory() -> dict[str, float]:
    """Peak resident memory of the job process (fit and sample), plus torch's peak GPU allocation."""
    peak = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        peak["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 1024**2, 1)
    return peak

