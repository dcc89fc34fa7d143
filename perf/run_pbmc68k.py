"""Time the default benchmark on the embedded datasets and print per-job compute figures.

    python perf/run_pbmc68k.py [--dataset pbmc68k] [--generators all] [--seeds 3] [--jobs 1]

Runs into a temporary results folder (nothing is reused), then prints wall time of the whole run,
the time to prepare the data and reference scores, and fit/sample/eval seconds and peak RSS per job.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from benchmark.run.config import RunConfig
from benchmark.run.prepared import prepare
from benchmark.run.runner import run
from benchmark.store import iter_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="pbmc68k")
    parser.add_argument("--generators", default="all")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--budget", default="default")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(dataset=args.dataset, generators=args.generators, seeds=args.seeds, jobs=args.jobs,
                           budget=args.budget, results_dir=Path(tmp), progress=False)
        start = time.perf_counter()
        prepare(config)
        prepare_s = time.perf_counter() - start
        start = time.perf_counter()
        summary = run(config)
        total_s = time.perf_counter() - start
        rows = [
            (r["generator"]["name"], r["generator"]["seed"], r["status"], r["compute"].get("fit_s"),
             r["compute"].get("sample_s"), r["compute"].get("eval_s"), r["compute"].get("peak_rss_mb"))
            for folder in summary.folders for r in iter_records(Path(tmp), folder)
        ]
    print(f"dataset {args.dataset}: prepare (load, split, reference scores, cold) {prepare_s:.1f} s; "
          f"run of {len(rows)} jobs with --jobs {args.jobs}: {total_s:.1f} s wall (data prepared again from cache)")
    print(tabulate(rows, headers=("generator", "seed", "status", "fit s", "sample s", "eval s", "peak RSS MB")))


if __name__ == "__main__":
    main()
