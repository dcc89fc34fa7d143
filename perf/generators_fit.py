"""Fit and sample time and peak memory of each generator on synthetic data of a given shape.

    python perf/generators_fit.py [--rows 10000 --genes 1000 --classes 5] [--generators all|a,b]
                                  [--modality expression|counts|genotype] [--budget default] [--seed 0]
                                  [--hparam KEY=VALUE ...]
    python perf/generators_fit.py --modality genotype --rows 2500 --genes 5000 --generators
                                  offspring-gan,ppo-gan,mendelian --hparam steps=50   (genotypes, one line)
    python perf/generators_fit.py --generators ctgan,tvae --hparam steps=100 --normalisation-columns 50
    python perf/generators_fit.py --generators tabddpm,latent-diffusion            (diffusion, 10,000 x 1,000)
    python perf/generators_fit.py --modality genotype --rows 2500 --genes 5000 --generators latent-diffusion

Each generator runs in a fresh Python process, so its peak resident memory (RSS) is its own: the
figure includes the interpreter, the imports and the data (shown as ``base_rss_mb``, measured before
``fit``). The generator is fitted on all rows and asked for the same label counts, as a job is (so
``sample_s`` is the time for ``--rows`` rows). ``params`` is the trainable parameter count, ``steps`` the
optimiser steps done (neural generators). With ``--hparam steps=N`` below the budget's steps,
``budget_fit_s`` extrapolates the fit to the budget's steps from the measured seconds per step.

With ``--normalisation-columns K`` (and ``ctgan`` or ``tvae`` measured) it then times CTGAN's
mode-specific normalisation of the whole matrix, fitted for all genes at once, beside the reference's
per-column approach (scikit-learn's ``BayesianGaussianMixture`` with the reference's prior, fitted on all
rows of a column, then ``predict_proba`` and one mode draw per value) on K columns, extrapolated to all genes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--genes", type=int, default=1_000, help="features (SNPs for genotypes)")
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--generators", default="all", help="'all' or a comma list")
    parser.add_argument("--modality", choices=("expression", "counts", "genotype"), default="expression")
    parser.add_argument("--budget", choices=("smoke", "default", "paper"), default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hparam", action="append", default=[], metavar="KEY=VALUE",
                        help="override a hyperparameter of every measured generator that has it")
    parser.add_argument("--normalisation-columns", type=int, default=0, metavar="K",
                        help="time the mode-specific normalisation against per-column scikit-learn on K columns")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: measure one generator
    return parser.parse_args(argv)


def synthetic(rows: int, genes: int, classes: int, modality: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class-shifted rows with a shared low-rank correlation: log-expression, counts or 0/1/2 dosages."""
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % classes
    if modality == "genotype":
        freq = rng.uniform(0.05, 0.95, size=(classes, genes))
        return rng.binomial(2, freq[y]).astype(np.int8), y
    shift = rng.normal(scale=1.0, size=(classes, genes))
    X = 5.0 + shift[y] + rng.normal(size=(rows, 8)) @ rng.normal(scale=0.3, size=(8, genes))
    X += rng.normal(size=(rows, genes))
    if modality == "counts":
        return np.rint(np.exp(np.clip(X, 0, None) / 2)).astype(np.float32), y
    return X.astype(np.float32), y


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(name: str, args: argparse.Namespace) -> dict[str, float]:
    """Fit and sample one generator in this process; seconds and MB."""
    from benchmark.dataset import DatasetMeta
    from benchmark.registry import get_generator

    X, y = synthetic(args.rows, args.genes, args.classes, args.modality, args.seed)
    meta = DatasetMeta("perf", args.modality, tuple(f"g{j}" for j in range(args.genes)),
                       tuple(f"class{c}" for c in range(args.classes)))
    cls = get_generator(name)
    generator = cls(budget=args.budget, seed=args.seed, device="cpu", **measured_overrides(args)[name])
    base = peak_rss_mb()
    start = time.perf_counter()
    generator.fit(X, y, meta)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    generator.sample(y.copy())
    sample_s = time.perf_counter() - start
    return {"fit_s": fit_s, "sample_s": sample_s, "peak_rss_mb": peak_rss_mb(), "base_rss_mb": base,
            "params": int(generator.n_params()), "steps": generator.training.get("steps_done", ""),
            "budget_fit_s": budget_fit_seconds(generator, fit_s, cls.budgets[args.budget].get("steps"))}


def measured_overrides(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    """The ``--hparam`` values of each measured generator, parsed and checked as ``run`` does (a key applies
    to every measured generator that has it)."""
    from benchmark.hparams import overrides_for
    from benchmark.registry import get_generator, resolve_generators

    names = resolve_generators(args.generators, args.modality)
    return overrides_for(args.hparam, {name: get_generator(name) for name in names}, args.budget)


def budget_fit_seconds(generator: object, fit_s: float, budget_steps: int | None) -> float:
    """The fit time at the budget's own step count when ``--hparam steps=`` ran fewer: the measured fit
    plus the missing steps at the measured seconds per step (steps cost the same throughout)."""
    training = getattr(generator, "training", {})
    done = training.get("steps_done")
    if not budget_steps or not done or done >= budget_steps:
        return fit_s
    return fit_s + (budget_steps - done) * training["fit_loop_s"] / done


def normalisation_speed(args: argparse.Namespace) -> list[list[object]]:
    """Seconds to fit and encode all genes at once, and per column with scikit-learn (extrapolated)."""
    import warnings

    from sklearn.mixture import BayesianGaussianMixture

    from benchmark.registry import get_generator
    from generators.nn.mode_normalization import PROBABILITY_FLOOR, WEIGHT_THRESHOLD, ModeNormalizer

    X, _ = synthetic(args.rows, args.genes, args.classes, args.modality, args.seed)
    modes = get_generator("ctgan").budgets[args.budget]["max_clusters"]
    start = time.perf_counter()
    encoding = ModeNormalizer(modes, seed=args.seed).fit(X)
    fitted = time.perf_counter() - start
    encoding.transform(X)
    vectorised = time.perf_counter() - start
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning, as the reference gets
        for j in range(args.normalisation_columns):
            column = X[:, [j]].astype(np.float64)
            mixture = BayesianGaussianMixture(n_components=modes, weight_concentration_prior_type="dirichlet_process",
                                              weight_concentration_prior=0.001, n_init=1, random_state=args.seed)
            mixture.fit(column)
            resp = mixture.predict_proba(column)[:, mixture.weights_ > WEIGHT_THRESHOLD] + PROBABILITY_FLOOR
            cumulative = np.cumsum(resp / resp.sum(1, keepdims=True), axis=1)
            (cumulative < rng.random((len(column), 1))).sum(1)
    per_column = (time.perf_counter() - start) / args.normalisation_columns
    return [["all genes at once (fit on <= 5,000 rows)", f"{fitted:.1f}", f"{vectorised:.1f}", ""],
            [f"per column, scikit-learn ({args.normalisation_columns} columns measured)", "",
             f"{per_column * args.genes:.0f}", f"{per_column * args.genes / vectorised:.0f}x"]]


def run_child(name: str, argv: list[str]) -> dict[str, float] | str:
    """Measure ``name`` in a fresh process; its figures, or the last line of its error."""
    done = subprocess.run([sys.executable, __file__, *argv, "--child", name], capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return
    from tabulate import tabulate

    from benchmark.registry import resolve_generators

    names = resolve_generators(args.generators, args.modality)
    measured_overrides(args)  # a bad --hparam fails here, once, not in every child
    print(f"{args.rows} rows x {args.genes} features, {args.classes} classes, {args.modality}, budget {args.budget}")
    rows = []
    for name in names:
        result = run_child(name, argv)
        if isinstance(result, str):
            rows.append([name, "failed", "", "", "", "", "", result])
        else:
            rows.append([name, f"{result['fit_s']:.2f}", f"{result['budget_fit_s']:.0f}", f"{result['sample_s']:.2f}",
                         f"{result['peak_rss_mb']:.0f}", f"{result['base_rss_mb']:.0f}", f"{result['params']:,}",
                         result["steps"]])
        print(tabulate([rows[-1]], tablefmt="plain"), flush=True)
    print()
    print(tabulate(rows, headers=("generator", "fit_s", "budget_fit_s", "sample_s", "peak_rss_mb", "base_rss_mb", "params",
                                 "steps")))
    if args.normalisation_columns and {"ctgan", "tvae"} & set(names):  # after the children: they inherit peak RSS
        print("\nmode-specific normalisation (ctgan, tvae)")
        print(tabulate(normalisation_speed(args), headers=("approach", "fit_s", "fit_and_encode_s", "speed-up")))


if __name__ == "__main__":
    main()
