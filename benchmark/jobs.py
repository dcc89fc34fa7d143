"""One job: fit a generator on train, sample the train label counts, score the output."""

from __future__ import annotations

import resource
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import GeneratorError
from benchmark.registry import get_generator
from benchmark.validation import check_output

if TYPE_CHECKING:
    from benchmark.prepared import PreparedData


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

    @property
    def label(self) -> str:
        return f"{self.generator}/seed-{self.seed}"


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    record: dict[str, Any]


def run_job_in_process(job: Job, data: PreparedData, channel: Any) -> None:
    """Child-process entry point: send phase messages, then the finished record."""
    if job.memory_limit_gb:
        limit = int(job.memory_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        record = run_job(job, data, lambda phase: channel.send(("phase", phase)))
    except BaseException as exc:  # the parent must always get a record
        record = data.failure_record(job, "failed", f"internal error: {type(exc).__name__}: {exc}")
    channel.send(("record", record))
    channel.close()


def run_job(job: Job, data: PreparedData, report: Any = lambda phase: None) -> dict[str, Any]:
    """Fit, sample, validate and evaluate; every failure becomes a record with a one-line error."""
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
        return data.failure_record(job, "failed", f"{phase_of(compute)}: out of memory (MemoryError)", compute)
    except Exception as exc:
        compute.update(peak_memory())
        return data.failure_record(job, "failed", f"{phase_of(compute)}: {describe(exc)}", compute)
    try:
        synthetic = check_output(job.generator, synthetic, len(wanted), data.meta)
    except GeneratorError as exc:
        compute.update(peak_memory())
        return data.failure_record(job, "invalid_output", str(exc), compute)
    report("eval")
    start = time.perf_counter()
    try:
        scores = data.context.evaluate(synthetic, wanted, reference=data.reference)
        scores["metrics"].update(data.protocol_scores(synthetic, wanted))
        projection = data.projection(synthetic, wanted)
    except ValueError as exc:
        compute.update(peak_memory())
        return data.failure_record(job, "invalid_output", str(exc), compute)
    compute["eval_s"] = round(time.perf_counter() - start, 4)
    compute.update(peak_memory())
    return {
        **data.base_record(job),
        "status": "ok",
        "error": None,
        "metrics": scores["metrics"],
        "metric_failures": scores["failures"],
        "compute": compute,
        "projection": projection,
    }


def phase_of(compute: dict[str, Any]) -> str:
    return "sample" if "fit_s" in compute else "fit"


def describe(exc: BaseException) -> str:
    """One line: exception type, message and the innermost frame of the generator's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def peak_memory() -> dict[str, float]:
    """Peak resident memory of this job process, plus torch's peak GPU allocation when CUDA was used."""
    peak = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        peak["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 1024**2, 1)
    return peak

