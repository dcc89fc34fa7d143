"""Parallel jobs share the cores: each job process gets cores / jobs compute threads."""

import os

from benchmark.run.jobs import limit_threads


def test_limit_threads_sets_torch_and_openmp(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    try:
        limit_threads(1)
        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_parallel_jobs_split_the_cores(tmp_path, monkeypatch):
    from test_hparams import fake_data

    from benchmark.run.config import RunConfig
    from benchmark.run.runner import make_job

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    alone = make_job(RunConfig(generators="gaussian", results_dir=tmp_path), fake_data(), "gaussian", 0)
    shared = make_job(RunConfig(generators="gaussian", results_dir=tmp_path, jobs=2), fake_data(), "gaussian", 0)
    assert alone.threads is None and shared.threads == 2
    assert alone.config_hash == shared.config_hash  # threads are not part of a result's identity
