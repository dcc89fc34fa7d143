"""Run the benchmark on a Slurm cluster: dask-jobqueue starts Dask workers as Slurm jobs, the run is
the coordinator (it loads the data, scores and writes the records; workers fit and sample).

    pip install -e ".[dask]"                      # on a filesystem the compute nodes share
    python examples/slurm_dask.py --dataset tcga --generators all --seeds 3

Edit PARTITION, ACCOUNT and the sizes below for your site; see docs/cluster.md.
"""

from __future__ import annotations

import sys

from dask_jobqueue import SLURMCluster

from benchmark.cli import main

PARTITION = "cpu"          # your Slurm partition (queue)
ACCOUNT = None             # your Slurm account, if your site needs one
SLURM_JOBS = 4             # Slurm jobs, each one Dask worker
JOBS_PER_WORKER = 4        # benchmark jobs a worker runs at once
CORES_PER_WORKER = 16      # cores Slurm gives each worker: 16 / 4 = 4 compute threads per benchmark job
GPU = False                # True: one GPU per worker, torch generators' jobs ask for it


def make_cluster(gpu: bool = GPU, **options: object) -> SLURMCluster:
    """The cluster of workers (not started: scale it); ``options`` go to SLURMCluster as they are."""
    extra = {"job_extra_directives": ["--gres=gpu:1"], "worker_extra_args": ["--resources", "GPU=1"]} if gpu else {}
    return SLURMCluster(
        queue=PARTITION,
        account=ACCOUNT,
        cores=JOBS_PER_WORKER,       # Dask threads of the worker = benchmark jobs at once
        processes=1,
        job_cpu=CORES_PER_WORKER,
        memory="64GB",
        walltime="12:00:00",
        python=sys.executable,       # this environment, on the shared filesystem
        **{**extra, **options},
    )


if __name__ == "__main__":
    with make_cluster() as cluster:
        cluster.scale(jobs=SLURM_JOBS)
        sys.exit(main(["run", *sys.argv[1:], "--executor", "dask", "--scheduler", cluster.scheduler_address,
                       "--no-progress"]))
