"""Print every privacy score's reference and its re-split null on real data sets, and the DCR share's
null under the calibrations used before issue 7 (global records, piecewise map) and in between
(global records, linear map).

    python perf/privacy_null.py [--datasets pbmc68k,sim-ooa,1kg-chr1] [--draws 200]

1000 Genomes needs ``OMICS_BENCHMARK_MIRROR=../shared/data`` (or the files in the cache).
The piecewise map sent raw shares r ≤ q to r/(2q) and r > q to 0.5 + (r − q)/(2(1 − q)),
q = |T|/(|T| + |H|): convex, so its expectation over re-splits exceeded 0.5 on small sets. The DCR
share now compares records of each row's own class, calibrated linearly per class.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from metrics.privacy import calibrated_share, nearer_train
from metrics.privacy_null import MEMBER, NONMEMBER, SCORED, TAG_NULL, TRAIN, Draw, deal, neighbour_pool
from metrics.space import derive_seed


def piecewise(raw: float, q: float) -> float:
    return raw / (2.0 * q) if raw <= q else 0.5 + (raw - q) / (2.0 * (1.0 - q))


def global_share(draw: Draw) -> tuple[float, float]:
    """(raw share of scored rows nearer to any train row than to any non-member, its null q)."""
    S = draw.rows[SCORED]
    train = (TRAIN, MEMBER)
    d_t, _ = draw.nearest(S, train)
    d_h, _ = draw.nearest(S, (NONMEMBER,))
    raw = float(nearer_train(d_t, d_h, draw.ties(S, train, d_t), draw.ties(S, (NONMEMBER,), d_h)).mean())
    n_train = int(np.isin(draw.role, train).sum())
    return raw, n_train / (n_train + len(draw.rows[NONMEMBER]))


def measure(dataset: str, draws: int) -> None:
    from benchmark.run.config import RunConfig
    from benchmark.run.prepared import prepare

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        data = prepare(RunConfig(dataset=dataset, results_dir=Path(tmp), progress=False, metrics=("privacy",)))[0]
        seconds = time.perf_counter() - start
    ctx, reference = data.context, data.reference
    split = ctx.split
    # the same kind of draws as the null, scored with the earlier calibrations
    pool = neighbour_pool(ctx)
    counts = {TRAIN: np.bincount(split.train_y, minlength=split.n_classes), SCORED: ctx.eval_counts,
              NONMEMBER: ctx.member_counts}
    rng = np.random.default_rng(derive_seed(ctx.seed, TAG_NULL))
    shares = [global_share(Draw(pool, deal(pool, counts, ctx.member_counts, rng))) for _ in range(draws)]
    before = [piecewise(raw, q) for raw, q in shares]
    linear = [calibrated_share(raw, q) for raw, q in shares]
    rows = [[name, f"{value:.3f}", f"{reference['null'][name]['mean']:.3f} ± {reference['null'][name]['sd']:.3f}"]
            for name, value in sorted(reference["scores"].items()) if name in reference["null"]]
    rows += [["dcr_share: global, piecewise (before)", "", f"{np.mean(before):.3f} ± {np.std(before, ddof=1):.3f}"],
             ["dcr_share: global, linear", "", f"{np.mean(linear):.3f} ± {np.std(linear, ddof=1):.3f}"]]
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
