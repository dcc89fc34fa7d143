"""Conformance kit for generators: shapes, dtypes, validity, determinism and label conditioning."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.dataset import DatasetMeta
from benchmark.errors import GeneratorError
from benchmark.hparams import Override, render_value, resolve_overrides, variant_name
from benchmark.registry import get_generator
from benchmark.validation import check_output

N_PER_CLASS = 70
N_CLASSES = 3
FEATURES = {"expression": 50, "counts": 50, "genotype": 64}


@dataclass
class Check:
    modality: str
    name: str
    status: str  # pass | fail | warn | skip
    detail: str = ""


@dataclass
class Report:
    generator: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def render(self) -> str:
        from tabulate import tabulate

        rows = [(c.modality, c.name, c.status.upper(), c.detail) for c in self.checks]
        verdict = "PASSED" if self.passed else "FAILED"
        return f"{tabulate(rows, headers=('modality', 'check', 'result', 'detail'))}\n\n{self.generator}: {verdict}"


def fixture(modality: str, seed: int = 7) -> tuple[np.ndarray, np.ndarray, DatasetMeta]:
    """Three well-separated classes of the given modality, with within-class correlation."""
    rng = np.random.default_rng(seed)
    p = FEATURES[modality]
    y = np.repeat(np.arange(N_CLASSES), N_PER_CLASS)
    if modality == "genotype":
        freq = rng.uniform(0.05, 0.95, size=(N_CLASSES, p))
        marker = np.arange(p) % N_CLASSES
        for c in range(N_CLASSES):  # each class carries its own high-frequency marker SNPs
            freq[:, marker == c] = 0.03
            freq[c, marker == c] = 0.97
        X = rng.binomial(2, freq[y]).astype(np.int8)
    else:
        means = np.zeros((N_CLASSES, p))
        for c in range(N_CLASSES):
            means[c, c * (p // N_CLASSES):(c + 1) * (p // N_CLASSES)] = 3.0
        shared = rng.standard_normal((len(y), 5)) @ rng.standard_normal((5, p)) * 0.5
        X = means[y] + shared + rng.standard_normal((len(y), p))
        X = np.rint(np.exp(X / 2)).astype(np.float32) if modality == "counts" else (X + 5).astype(np.float32)
    meta = DatasetMeta(
        dataset_id=f"conformance-{modality}",
        modality=modality,
        feature_names=tuple(f"f{j}" for j in range(p)),
        class_names=tuple(f"class{c}" for c in range(N_CLASSES)),
    )
    return X, y, meta


def check_generator(name: str, budget: str = "smoke", hparams: Mapping[str, Any] | None = None) -> Report:
    """Run every check on each modality the generator declares, with ``hparams`` overriding the budget's
    settings (checked like ``--hparam`` values: known keys, the defaults' types; ConfigError otherwise)."""
    cls = get_generator(name)
    overrides = {}
    if hparams:
        items = [Override(name, key, value, render_value(value), f"{name}.{key}={render_value(value)}")
                 for key, value in hparams.items()]
        overrides = resolve_overrides(items, {name: cls}, budget)[name]
    report = Report(generator=variant_name(name, overrides))
    for modality in sorted(cls.modalities):
        if modality not in FEATURES:
            report.checks.append(Check(modality, "modality", "fail", f"unknown modality {modality!r}"))
            continue
        report.checks.extend(check_modality(cls, modality, budget, overrides))
    return report


def check_modality(cls: type, modality: str, budget: str, overrides: Mapping[str, Any] | None = None) -> list[Check]:
    X, y, meta = fixture(modality)
    checks: list[Check] = []

    def attempt(check_name: str, body: Callable[[], tuple[str, str]]) -> bool:
        start = time.perf_counter()
        try:
            status, detail = body()
        except Exception as exc:  # a check that crashes is a failure with the reason
            status, detail = "fail", f"{type(exc).__name__}: {exc}"
        checks.append(Check(modality, check_name, status, f"{detail} ({time.perf_counter() - start:.2f} s)"))
        return status != "fail"

    models: dict[int, object] = {}

    def fit(seed: int) -> object:
        if seed not in models:
            X_in, y_in = X.copy(), y.copy()
            model = cls(budget=budget, seed=seed, **(overrides or {}))
            returned = model.fit(X_in, y_in, meta)
            if returned is not model:
                raise GeneratorError("fit must return self")
            if not (np.array_equal(X_in, X) and np.array_equal(y_in, y)):
                raise GeneratorError("fit modified its input arrays")
            models[seed] = model
        return models[seed]

    request = np.random.default_rng(3).permutation(np.repeat(np.arange(N_CLASSES), [40, 25, 10]))

    def sample(seed: int, labels: np.ndarray = request) -> np.ndarray:
        return check_output(cls.name, fit(seed).sample(labels.copy()), len(labels), meta)

    def fresh_sample(seed: int) -> np.ndarray:
        """Fit a new instance and draw the request once: what a job with this seed produces."""
        model = cls(budget=budget, seed=seed, **(overrides or {}))
        return np.asarray(model.fit(X.copy(), y.copy(), meta).sample(request.copy()))

    def same_seed() -> tuple[str, str]:
        if np.array_equal(fresh_sample(0), fresh_sample(0)):
            return "pass", "two fits with seed 0 gave identical samples"
        return "fail", "two fits with seed 0 gave different samples"

    def other_seed() -> tuple[str, str]:
        if np.array_equal(fresh_sample(0), fresh_sample(1)):
            return "warn", "seeds 0 and 1 give identical output: the seed std will be 0"
        return "pass", "seeds 0 and 1 differ"

    if not attempt("fit on train", lambda: (fit(0), ("pass", f"{len(X)} rows x {X.shape[1]} features"))[1]):
        return checks
    if not attempt("sample: shape, dtype, finite" + (", values in {0,1,2}" if modality == "genotype" else ""),
                   lambda: (sample(0), ("pass", f"{len(request)} rows in shuffled label order"))[1]):
        return checks
    attempt("deterministic under a seed", same_seed)
    attempt("different seeds differ", other_seed)
    if getattr(cls, "conditional", True):
        attempt("label conditioning", lambda: conditioning(X, y, request, sample(0)))
    else:
        checks.append(Check(modality, "label conditioning", "skip", "skipped: unconditional by design"))
    attempt("single-class request", lambda: (sample(0, np.full(5, 2)), ("pass", "5 rows of class 2"))[1])
    attempt("n_params", lambda: ("pass", f"{int(fit(0).n_params())}"))
    return checks


def conditioning(X: np.ndarray, y: np.ndarray, request: np.ndarray, synthetic: np.ndarray) -> tuple[str, str]:
    """Each synthetic row should be nearest (standardised) to the mean of the class it was asked for."""
    X = X.astype(np.float64)
    mean, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
    centres = np.stack([((X[y == c] - mean) / sd).mean(axis=0) for c in range(N_CLASSES)])
    z = (synthetic.astype(np.float64) - mean) / sd
    nearest = np.argmin(((z[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    accuracy = float(np.mean(nearest == request))
    detail = f"{accuracy:.0%} of rows nearest to their requested class centre (needs >= 80%)"
    return ("pass" if accuracy >= 0.8 else "fail"), detail
