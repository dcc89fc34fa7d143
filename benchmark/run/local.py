"""The local executor: jobs in processes of this machine, at most ``--jobs`` at once, scored here."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Iterable, Iterator
from typing import Any

from benchmark.run.config import Job, JobOutcome, RunConfig
from benchmark.run.jobs import evaluate_output, run_job_in_process
from benchmark.run.locks import POLL_S, JobClaims
from benchmark.run.prepared import PreparedData


def execute(claims: JobClaims, data: PreparedData, config: RunConfig) -> Iterable[JobOutcome]:
    """Fit and sample in job processes, at most ``config.jobs`` at once; score each output here, where
    the metric context is warm, and yield each outcome as it ends."""
    from multiprocessing.connection import wait

    context = job_process_context()
    running: list[JobProcess] = []
    timeout = config.effective_timeout
    with progress_bar(claims, data.folder, config.progress) as bar:
        try:
            while claims.remaining or running:
                while len(running) < config.jobs and (job := claims.take()) is not None:
                    running.append(JobProcess(job, data, context))
                bar.sync()
                if not running:  # every pending job is being run by another run
                    time.sleep(POLL_S)
                    continue
                wait([w for r in running for w in r.waitables], timeout=1.0)
                for state in list(running):
                    state.poll(timeout)
                    synthetic = None
                    if state.output is not None:
                        bar.show({state.job.label: "eval"}, refresh=True)
                        synthetic = state.output[0]
                        state.record = evaluate_output(state.job, data, *state.output)
                        state.output = None
                    if state.record is not None:
                        running.remove(state)
                        state.close()
                        bar.finished(state.job, state.record)
                        yield JobOutcome(state.job, state.record, synthetic)
                bar.show({r.job.label: r.phase for r in running})
        finally:
            for state in running:
                state.close()


class Progress:
    """The run's one progress bar: jobs finished (here or by another run) and the phases of running jobs."""

    def __init__(self, bar: Any, claims: JobClaims) -> None:
        self._bar = bar
        self._claims = claims
        self._elsewhere = 0

    def sync(self) -> None:
        """Count the jobs another run finished meanwhile."""
        done = len(self._claims.done_elsewhere)
        if done > self._elsewhere:
            self._bar.update(done - self._elsewhere)
            self._elsewhere = done

    def show(self, phases: dict[str, str], refresh: bool = False) -> None:
        if phases:
            self._bar.set_postfix_str("; ".join(f"{label}: {phase}" for label, phase in phases.items()),
                                      refresh=refresh)

    def finished(self, job: Job, record: dict[str, Any]) -> None:
        self._bar.update(1)
        if record["status"] != "ok":
            self._bar.write(f"{job.label}: {record['status']}: {record['error']}")


@contextlib.contextmanager
def progress_bar(claims: JobClaims, folder: str, show: bool) -> Iterator[Progress]:
    from tqdm import tqdm

    bar = tqdm(total=len(claims.pending), desc=folder, unit="job", disable=not show, dynamic_ncols=True)
    try:
        yield Progress(bar, claims)
    finally:
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
    context.set_forkserver_preload(["benchmark.run.jobs", "benchmark.run.prepared", "metrics", "numpy", "sklearn"])
    return context


class JobProcess:
    """One job running in its own process (and process group), and what it has said so far."""

    def __init__(self, job: Job, data: PreparedData, context: Any) -> None:
        self.job = job
        self.data = data
        self.phase = "starting"
        self.output: tuple[Any, ...] | None = None  # validated rows, compute figures and derived hparams
        self.record: dict[str, Any] | None = None
        self.fitted: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # compute and derived hparams after fit
        self._receiver, sender = context.Pipe(duplex=False)
        lifeline, self._lifeline = context.Pipe(duplex=False)  # only this process holds the write end
        launched = time.monotonic()  # the job's fit deadline counts from here (benchmark.run.jobs.STOP_FRACTION)
        self.process = context.Process(target=run_job_in_process, args=(job, data, sender, lifeline, launched))
        self.process.start()
        self.started = time.monotonic()
        sender.close()
        lifeline.close()

    @property
    def waitables(self) -> list[Any]:
        """What :func:`multiprocessing.connection.wait` watches: the job's messages and its end."""
        return [self._receiver, self.process.sentinel]

    @property
    def finished(self) -> bool:
        return self.output is not None or self.record is not None

    def poll(self, timeout: float | None) -> None:
        """Read the job's messages; a job that died without a result or ran past ``timeout`` seconds gets its
        failure record."""
        self._drain()
        if not self.finished and not self.process.is_alive():
            self.process.join()
            self._drain()  # a message sent just before the process ended
            if not self.finished:
                self.record = self.data.failure_record(self.job, "failed", died_message(self.process.exitcode),
                                                       *self.fitted)
        if not self.finished and timeout is not None and time.monotonic() - self.started > timeout:
            self.close()
            self.record = self.data.failure_record(
                self.job, "timeout", f"job exceeded the {timeout:.0f} s time limit in phase {self.phase!r}",
                *self.fitted)

    def _drain(self) -> None:
        """Read every message the job has sent so far: phase changes, what fit derived and, last, its output
        or a failure record."""
        try:
            while self._receiver.poll():
                kind, *payload = self._receiver.recv()
                if kind == "phase":
                    self.phase = payload[0]
                elif kind == "fitted":
                    self.fitted = (payload[0], payload[1])
                elif kind == "output":
                    self.output = tuple(payload)
                else:
                    self.record = payload[0]
        except (EOFError, OSError):
            pass

    def close(self) -> None:
        """End the job's process group (the job and any command it started) and close its pipes."""
        if self.process.is_alive():
            self.process.join(timeout=10 if self.finished else 0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the job made its own group when it started
        if self.process.is_alive():  # killed before it could make its group
            self.process.kill()
        self.process.join(timeout=10)
        self._lifeline.close()
        self._receiver.close()


def died_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        signal_number = -exitcode
        hint = " (killed: out of memory?)" if signal_number == 9 else ""
        return f"job process died with signal {signal_number}{hint}"
    return f"job process exited with code {exitcode} without a result"
