"""Wall time of the same jobs under the local executor (--jobs N) and a Dask LocalCluster of N workers.

    python perf/executors.py [--dataset pbmc68k] [--generators gaussian,marginals,wgan-gp,tvae]
                             [--seeds 2] [--budget smoke] [--jobs 2]

The split and the real-holdout reference scores are computed once beforehand and copied into both
results folders, so each timing is the jobs alone (fit, sample, scoring, records). Prints both wall
times and whether every record's metric values are identical.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmark.run.config import RunConfig
from benchmark.run.runner import run
from benchmark.store import iter_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="pbmc68k")
    parser.add_argument("--generators", default="gaussian,marginals,wgan-gp,tvae")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", default="smoke")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="perf-executors-"))
    common = dict(dataset=args.dataset, budget=args.budget, jobs=args.jobs, progress=False)
    warm = run(RunConfig(results_dir=root / "warm", generators="uniform", seeds=1, **common))
    for folder in warm.folders:  # keep the split and reference cache, not the warm-up record
        shutil.rmtree(root / "warm" / folder / "uniform")
    times, records = {}, {}
    for executor in ("local", "dask"):
        shutil.copytree(root / "warm", root / executor)
        start = time.perf_counter()
        summary = run(RunConfig(results_dir=root / executor, generators=args.generators, seeds=args.seeds,
                                executor=executor, **common))
        times[executor] = time.perf_counter() - start
        done = list(iter_records(root / executor))
        records[executor] = {(r["generator"]["name"], r["generator"]["seed"]): r["metrics"] for r in done}
        busy = {key: sum(r["compute"].get(key, 0.0) for r in done) for key in ("fit_s", "sample_s", "eval_s")}
        print(f"{executor:5s}: {len(summary.done)} ok, {len(summary.failed)} not ok, {times[executor]:.1f} s wall; "
              f"summed over jobs: fit {busy['fit_s']:.1f} s, sample {busy['sample_s']:.1f} s, "
              f"scoring {busy['eval_s']:.1f} s")
    same = records["local"] == records["dask"]
    print(f"{len(records['local'])} jobs of {args.generators} x {args.seeds} seeds on {args.dataset} "
          f"({args.budget}), {args.jobs} at once: local {times['local']:.1f} s, dask {times['dask']:.1f} s "
          f"({times['dask'] / times['local']:.2f}x); metric values identical: {same}")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
