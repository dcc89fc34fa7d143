"""Runs that scale out: the Dask executor, per-job locks shared by concurrent runs, resuming after a
SIGKILL, and the provenance every record carries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_harness_faults import wait_for, write_table

from benchmark.errors import ConfigError
from benchmark.leaderboard import publish
from benchmark.run.config import Job, RunConfig
from benchmark.run.dask_executor import job_resources
from benchmark.run.locks import lock_path, try_lock, unlock
from benchmark.run.runner import run
from benchmark.store import iter_records, load_record

FEW = ("precision_recall", "fd", "correlation", "dcr", "mia", "tstr_lr")


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    return write_table(tmp_path_factory.mktemp("scale") / "scale.csv", n=90, p=6)


def slow_plugin(path: Path, log: Path, seconds: float) -> Path:
    """A generator ``slow`` that appends "<pid> <seed>" to ``log`` when its fit starts, then sleeps."""
    path.write_text(textwrap.dedent(f"""
        import os, time
        import numpy as np
        from benchmark.registry import register_generator
        from generators.base import Generator

        @register_generator
        class Slow(Generator):
            name = "slow"
            modalities = frozenset({{"expression"}})

            def fit(self, X, y, meta):
                with open({str(log)!r}, "a") as handle:
                    handle.write(f"{{os.getpid()}} {{self.seed}}\\n")
                time.sleep({seconds})
                self.mean = X.mean(axis=0)
                return self

            def sample(self, y):
                rng = np.random.default_rng(self.seed)
                return (self.mean + rng.normal(size=(len(y), len(self.mean)))).astype(np.float32)
    """), encoding="utf-8")
    return path


def command(table: Path, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmark", "run", "--dataset", str(table), "--budget", "smoke",
            "--results", str(results), "--no-progress", "--metrics", "exact_match", *extra]


def records_by_job(results: Path) -> dict[tuple[str, int], dict]:
    return {(r["generator"]["name"], r["generator"]["seed"]): r for r in iter_records(results)}


# ------------------------------------------------------------------------------------------------
# Dask


def test_a_dask_local_cluster_gives_the_records_of_a_local_run(table, tmp_path):
    pytest.importorskip("distributed")
    common = dict(dataset=str(table), generators="gaussian,marginals,wgan-gp", seeds=1, budget="smoke", jobs=2,
                  progress=False, metrics=FEW)
    local = run(RunConfig(results_dir=tmp_path / "local", **common))
    dask = run(RunConfig(results_dir=tmp_path / "dask", executor="dask", **common))
    assert local.failed == dask.failed == [] and len(dask.done) == 3
    here, there = records_by_job(tmp_path / "local"), records_by_job(tmp_path / "dask")
    assert set(here) == set(there)
    for key, record in here.items():
        assert there[key]["config_hash"] == record["config_hash"]
        assert there[key]["metrics"] == record["metrics"], key  # identical values, not merely close
        assert there[key]["projection"] == record["projection"], key


def test_dask_runs_on_a_running_scheduler(table, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        summary = run(RunConfig(dataset=str(table), generators="gaussian", seeds=2, budget="smoke", progress=False,
                                metrics=FEW, results_dir=tmp_path / "r", executor="dask",
                                scheduler=cluster.scheduler_address))
    assert summary.failed == [] and len(summary.done) == 2
    local = run(RunConfig(dataset=str(table), generators="gaussian", seeds=2, budget="smoke", progress=False,
                          metrics=FEW, results_dir=tmp_path / "local"))
    assert len(local.done) == 2
    for key, record in records_by_job(tmp_path / "local").items():
        assert records_by_job(tmp_path / "r")[key]["metrics"] == record["metrics"]


def test_a_dask_job_keeps_its_time_limit_and_failure_records(table, tmp_path):
    pytest.importorskip("distributed")
    plugin = slow_plugin(tmp_path / "slow_plugin.py", tmp_path / "fits.log", seconds=60)
    result = subprocess.run(command(table, tmp_path / "r", "--executor", "dask", "--plugin", str(plugin),
                                    "--generators", "slow", "--seeds", "1", "--timeout", "4"),
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    [record] = iter_records(tmp_path / "r")
    assert record["status"] == "timeout"
    assert "4 s time limit in phase 'fit'" in record["error"]
    [line] = (tmp_path / "fits.log").read_text().splitlines()
    assert wait_for(lambda: not Path(f"/proc/{line.split()[0]}").exists(), 10), "the job outlived its time limit"


def test_without_dask_the_executor_says_how_to_install_it(table, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as when it is not installed
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[dask\]'"):
        run(RunConfig(dataset=str(table), generators="gaussian", seeds=1, budget="smoke", progress=False,
                      metrics=FEW, results_dir=tmp_path / "r", executor="dask"))


def test_only_torch_jobs_ask_for_a_gpu_and_only_where_workers_have_one(tmp_path):
    def job(name: str, device: str = "auto") -> Job:
        return Job(generator=name, seed=0, budget="smoke", device=device, hparams={}, config_hash="h",
                   path=tmp_path / "seed-0.json")

    assert job_resources(job("wgan-gp"), gpus=2) == {"GPU": 1}
    assert job_resources(job("gaussian"), gpus=2) is None
    assert job_resources(job("wgan-gp", device="cpu"), gpus=2) is None
    assert job_resources(job("wgan-gp"), gpus=0) is None


# ------------------------------------------------------------------------------------------------
# locks, concurrent runs, resume


def test_a_job_lock_is_exclusive_and_dies_with_its_holder(tmp_path):
    path = lock_path(tmp_path / "seed-0.json")
    fd = try_lock(path)
    assert fd is not None and try_lock(path) is None
    assert json.loads(path.read_text())["pid"] == os.getpid()
    unlock(path, fd)
    assert not path.exists()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from benchmark.run.locks import try_lock
        assert try_lock(Path({str(path)!r})) is not None
        print("held", flush=True)
        time.sleep(600)
    """)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert try_lock(path) is None
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        taken = try_lock(path)  # the lock of a dead holder is taken over at once
        assert taken is not None
        unlock(path, taken)
    finally:
        holder.kill()


def test_two_concurrent_runs_run_each_job_once(table, tmp_path):
    fits = tmp_path / "fits.log"
    plugin = slow_plugin(tmp_path / "slow_plugin.py", fits, seconds=1.5)
    results = tmp_path / "r"
    args = command(table, results, "--plugin", str(plugin), "--generators", "slow,marginals", "--seeds", "4")
    runs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    seeds = sorted(int(line.split()[1]) for line in fits.read_text().splitlines())
    assert seeds == [0, 1, 2, 3], f"slow fits started: {seeds}"  # each job once, by one of the runs
    done = [int(out.split(" jobs ok")[0].split()[-1]) for out, _ in outputs]
    skipped = [int(out.split(" already done")[0].split()[-1]) for out, _ in outputs]
    assert sum(done) == 8 and [d + s for d, s in zip(done, skipped, strict=True)] == [8, 8], outputs
    assert min(done) > 0, "the second run waited instead of sharing the work"
    assert len(records_by_job(results)) == 8 and not list(results.glob("**/*.lock"))


def test_a_coordinator_killed_mid_run_resumes_without_losing_or_changing_a_record(table, tmp_path):
    fits = tmp_path / "fits.log"
    plugin = slow_plugin(tmp_path / "slow_plugin.py", fits, seconds=1.0)
    results = tmp_path / "r"
    args = command(table, results, "--plugin", str(plugin), "--generators", "slow", "--seeds", "6")
    first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: len(list(results.glob("*/slow/seed-*.json"))) >= 2, 120), first.communicate()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        first.kill()
    kept = {path: path.read_bytes() for path in results.glob("*/slow/seed-*.json")}
    assert 2 <= len(kept) < 6
    time.sleep(0.5)
    resumed = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - len(kept)} jobs ok, 0 not ok, {len(kept)} already done" in resumed.stdout
    for path, content in kept.items():
        assert path.read_bytes() == content, f"{path} changed on resume"
    assert {r["generator"]["seed"] for r in iter_records(results) if r["status"] == "ok"} == set(range(6))
    assert not list(results.glob("**/*.lock")) and not list(results.glob("**/.*.tmp"))


# ------------------------------------------------------------------------------------------------
# provenance


def test_records_carry_the_command_versions_and_machine(table, tmp_path):
    results = tmp_path / "r"
    out = subprocess.run(command(table, results, "--generators", "gaussian", "--seeds", "1"), cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    [path] = results.glob("*/gaussian/seed-0.json")
    provenance = load_record(path)["provenance"]
    assert provenance["command"].startswith("python -m benchmark run --dataset ")
    assert "--generators gaussian" in provenance["command"]
    for key in ("numpy", "scikit_learn", "torch", "blas", "cpu", "git_sha", "python"):
        assert provenance.get(key), key
    assert provenance["cpu_count"] >= 1 and "gpu" in provenance
    [page, *_] = publish(results, tmp_path / "pages")
    [line] = [line for line in page.read_text().splitlines() if line.startswith("- Environment: ")]
    assert f"CPU `{provenance['cpu']}`" in line and "GPU none" in line and f"BLAS `{provenance['blas']}`" in line
    assert len(line) < 200


def test_the_slurm_example_books_what_the_docs_say(monkeypatch):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import slurm_dask

    local = {"scheduler_options": {"host": "127.0.0.1"}}  # the test listens on loopback only
    with slurm_dask.make_cluster(**local) as cluster:
        script = cluster.job_script()
    assert "#SBATCH --cpus-per-task=16" in script and "--nthreads 4" in script and "#SBATCH -p cpu" in script
    with slurm_dask.make_cluster(gpu=True, **local) as cluster:
        script = cluster.job_script()
    assert "#SBATCH --gres=gpu:1" in script and "--resources GPU=1" in script


def test_a_killed_coordinators_jobs_end_on_the_dask_workers(table, tmp_path):
    distributed = pytest.importorskip("distributed")
    fits = tmp_path / "fits.log"
    plugin = slow_plugin(tmp_path / "slow_plugin.py", fits, seconds=600)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        coordinator = subprocess.Popen(
            command(table, tmp_path / "r", "--executor", "dask", "--scheduler", cluster.scheduler_address,
                    "--plugin", str(plugin), "--generators", "slow", "--seeds", "1"),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(fits.exists, 120), coordinator.communicate() if coordinator.poll() is not None else ""
            job = int(fits.read_text().split()[0])
            coordinator.send_signal(signal.SIGKILL)
            coordinator.wait(timeout=30)
        finally:
            coordinator.kill()
        assert wait_for(lambda: not Path(f"/proc/{job}").exists(), 30), "the job outlived its coordinator"
