"""Print every privacy score's reference and its re-split null on real data sets, and the DCR share's
null under the piecewise calibration used before issue 7.

    python perf/privacy_null.py [--datasets pbmc68k,sim-ooa,1kg-chr1] [--draws 200]

1000 Genomes needs ``OMICS_BENCHMARK_MIRROR=../shared/data`` (or the files in the cache).
The piecewise map sent raw shares r ≤ q to r/(2q) and r > q to 0.5 + (r − q)/(2(1 − q)),
q = |T|/(|T| + |H|): convex, so its expectation over re-splits exceeded 0.5 on small sets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from metrics.privacy_null import Draw, deal, draw_scores, neighbour_pool
from metrics.space import derive_seed


def piecewise(calibrated: float, q: float) -> float:
    raw = q + (calibrated - 0.5) * 2.0 * (1.0 - q)
    return raw / (2.0 * q) if raw <= q else 0.5 + (raw - q) / (2.0 * (1.0 - q))


def measure(dataset: str, draws: int) -> None:
    from benchmark.prepared import prepare
    from benchmark.runner import RunConfig

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        data = prepare(RunConfig(dataset=dataset, results_dir=Path(tmp), progress=False, metrics=("privacy",)))[0]
        seconds = time.perf_counter() - start
    ctx, reference = data.context, data.reference
    split = ctx.split
    q = len(split.train_y) / (len(split.train_y) + ctx.n)
    # the same draws as the null, to show the old calibration on them
    pool = neighbour_pool(ctx)
    C = split.n_classes
    counts = {1: np.bincount(split.train_y, minlength=C), 3: ctx.eval_counts, 4: np.bincount(ctx.R_y, minlength=C)}
    members = np.bincount(split.train_y[ctx.tn_idx], minlength=C)
    rng = np.random.default_rng(derive_seed(ctx.seed, 401))
    old = [piecewise(draw_scores(Draw(pool, deal(pool, counts, members, rng)), len(split.train_y),
                                 ctx.match_epsilon)["dcr_share"], q) for _ in range(draws)]
    rows = [[name, f"{value:.3f}", f"{reference['null'][name]['mean']:.3f} ± {reference['null'][name]['sd']:.3f}"]
            for name, value in sorted(reference["scores"].items()) if name in reference["null"]]
    rows.append(["dcr_share, piecewise (before)", f"{piecewise(reference['scores']['dcr_share'], q):.3f}",
                 f"{np.mean(old):.3f} ± {np.std(old, ddof=1):.3f}"])
    print(f"{dataset}: |T| = {len(split.train_y)}, n = {ctx.n}, p = {split.n_features}; reference and "
          f"null ({draws} re-splits) in {seconds:.1f} s")
    print(tabulate(rows, headers=["score", "reference", "null mean ± sd"]))
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="pbmc68k,sim-ooa,1kg-chr1")
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    for dataset in args.datasets.split(","):
        measure(dataset, args.draws)


if __name__ == "__main__":
    main()
