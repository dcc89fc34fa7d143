"""Wall time and peak memory of the metric suite as samples and features grow.

    python perf/metrics_scaling.py                      # quick subset: (1k, 100), (5k, 1,000)
    python perf/metrics_scaling.py --full               # n in {1k, 5k, 10k} x p in {100, 1,000, 5,000}
    python perf/metrics_scaling.py --n 10000 --p 1000   # one case (several values: --n 1000,5000)
    python perf/metrics_scaling.py --n 10000 --p 20000 --groups fidelity
    python perf/metrics_scaling.py --genotype           # genotype cases (adds the genomics family)
    python perf/metrics_scaling.py --profile            # also seconds per metric

Each case builds a toy split with train = holdout = test = n rows (``metrics.testing.ToyExpression``,
5 classes, float32; ``ToyGenotypes`` with --genotype) and a fresh draw as the synthetic output, then
times ``ctx.reference()`` and ``ctx.evaluate(S)`` separately for two groups of metrics:

- ``fidelity``: every registered fidelity + privacy metric (+ genomics for genotypes);
- ``utility``: TSTR/TRTR/TRTS with logistic regression, MLP and random forest, feature overlap.

Every (case, group) runs in a fresh child process; its peak RSS comes from ``os.wait4``. The
fidelity group also times the ``prdc`` package's ``compute_prdc`` (k = 5) against this project's
``metrics.fidelity.prdc`` on the same inputs (S and R in ``std``, n_eval rows each) and
prints the ratio. Metrics compare n_eval = min(n, 5,000) rows per side (spec §0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK = [(1000, 100), (5000, 1000)]
FULL_N = (1000, 5000, 10000)
FULL_P = (100, 1000, 5000)
UTILITY = ["tstr_lr", "tstr_mlp", "tstr_rf", "trtr_lr", "trtr_mlp", "trtr_rf",
           "trts_lr", "trts_mlp", "trts_rf", "feature_overlap"]


def worker(n: int, p: int, group: str, modality: str, profile: bool) -> dict:
    import dataclasses

    import numpy as np

    from metrics import EvalContext, SplitData
    from metrics.base import metrics_for
    from metrics.testing import ToyExpression, ToyGenotypes, balanced_labels

    C = 5
    dist = ToyGenotypes(p, C) if modality == "genotype" else ToyExpression(p, C, separation=0.3)
    y = balanced_labels(n, C)
    dtype = np.int8 if modality == "genotype" else np.float32
    parts = [dist.sample(y, seed=k).astype(dtype) for k in range(4)]
    split = SplitData(parts[0], y, parts[1], y, parts[2], y, modality=modality,
                      class_names=tuple(f"c{k}" for k in range(C)), seed=0)
    synth = parts[3]
    if group == "fidelity":
        families = {"fidelity", "privacy"} | ({"genomics"} if modality == "genotype" else set())
        names = [s.name for s in metrics_for(modality) if s.family in families]
    else:
        names = UTILITY
    ctx = EvalContext(split, metrics=names)
    per_metric: dict[str, float] = {}
    if profile:
        def timed(spec):
            def fn(c):
                t = time.perf_counter()
                out = spec.fn(c)
                per_metric[spec.name] = per_metric.get(spec.name, 0.0) + time.perf_counter() - t
                return out
            return dataclasses.replace(spec, fn=fn)

        ctx.specs = [timed(s) for s in ctx.specs]
    t = time.perf_counter()
    ref = ctx.reference()
    ref_s = time.perf_counter() - t
    t = time.perf_counter()
    out = ctx.evaluate(synth, y, reference=ref)
    eval_s = time.perf_counter() - t
    result = {"n": n, "p": p, "group": group, "modality": modality, "n_eval": ctx.n,
              "ref_s": ref_s, "eval_s": eval_s, "n_scores": len(out["metrics"]),
              "failures": {**ref["failures"], **out["failures"]}, "per_metric": per_metric}
    if group == "fidelity":
        from metrics.fidelity import prdc

        real = ctx.R_std
        fake = ctx.to_std(synth[: ctx.n])
        t = time.perf_counter()
        prdc(real, fake, k_pr=5, k_dc=5)
        result["prdc_ours_s"] = time.perf_counter() - t
        try:
            from prdc import compute_prdc

            t = time.perf_counter()
            compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
            result["prdc_pkg_s"] = time.perf_counter() - t
        except ImportError:
            result["prdc_pkg_s"] = None
    return result


def run_case(n: int, p: int, group: str, modality: str, profile: bool) -> dict:
    cmd = [sys.executable, __file__, "--worker", str(n), str(p), group, modality] + (["--profile"] if profile else [])
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    t = time.perf_counter()
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"n": n, "p": p, "group": group, "modality": modality, "error": f"exit {proc.returncode}",
                "peak_rss_mb": usage.ru_maxrss / 1024.0, "wall_s": wall}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024.0  # Linux: kilobytes
    result["wall_s"] = wall
    return result


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the whole n x p grid")
    parser.add_argument("--n", type=_ints, help="rows per split (comma-separated)")
    parser.add_argument("--p", type=_ints, help="features (comma-separated)")
    parser.add_argument("--groups", default="fidelity,utility")
    parser.add_argument("--genotype", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print seconds per metric")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        n, p, group, modality = args.worker
        print(json.dumps(worker(int(n), int(p), group, modality, args.profile)))
        return
    if args.n or args.p:
        cases = [(n, p) for n in (args.n or [10000]) for p in (args.p or [1000])]
    else:
        cases = [(n, p) for n in FULL_N for p in FULL_P] if args.full else QUICK
    modality = "genotype" if args.genotype else "expression"
    results = []
    header = (f"{'n/side':>7} {'p':>6} {'group':>9} {'n_eval':>6} {'ref s':>8} {'eval s':>8} "
              f"{'peak MB':>8} {'prdc ours':>9} {'prdc pkg':>9} {'ratio':>6}  notes")
    print(header, flush=True)
    for n, p in cases:
        for group in args.groups.split(","):
            r = run_case(n, p, group, modality, args.profile)
            results.append(r)
            if "error" in r:
                print(f"{n:>7} {p:>6} {group:>9} {'':>6} {'':>8} {'':>8} {r['peak_rss_mb']:>8.0f}  {r['error']}",
                      flush=True)
                continue
            ours, pkg = r.get("prdc_ours_s"), r.get("prdc_pkg_s")
            cols = (f"{ours:>9.2f} {pkg:>9.2f} {pkg / ours:>6.1f}" if ours and pkg
                    else f"{'':>9} {'':>9} {'':>6}")
            notes = f"{r['n_scores']} scores" + (f"; failures: {sorted(r['failures'])}" if r["failures"] else "")
            print(f"{n:>7} {p:>6} {group:>9} {r['n_eval']:>6} {r['ref_s']:>8.1f} {r['eval_s']:>8.1f} "
                  f"{r['peak_rss_mb']:>8.0f} {cols}  {notes}", flush=True)
            if args.profile:
                slow = sorted(r["per_metric"].items(), key=lambda kv: -kv[1])
                print("        per metric (ref + eval, s): "
                      + ", ".join(f"{k} {v:.1f}" for k, v in slow), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
