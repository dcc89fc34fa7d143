"""The generator contract every model and plugin implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from benchmark.dataset import DatasetMeta

BUDGETS = ("smoke", "default", "paper")


class Generator(ABC):
    """A class-conditional generator of omics rows.

    Subclasses set ``name``, ``modalities`` and ``budgets`` (the hyperparameters of each budget in
    one place), and implement ``fit`` (train split only) and ``sample`` (one row per requested label,
    on the dataset's analysis scale; genotypes as integers 0/1/2). A generator that ignores the
    requested labels by design (a noise floor) sets ``conditional = False``; the conformance kit then
    skips its label-conditioning check.

    The harness sets two attributes before ``fit``: ``report`` (call it with a short phase text such as
    "fit 1,200/4,000 steps"; the runner shows it as the job's phase) and ``stop_at`` (a
    ``time.monotonic()`` deadline, or None: a training loop stops there cleanly and keeps what it learned).
    ``fit`` may fill ``derived_hparams`` (settings derived from the data, e.g. a graph's edge count; the
    record adds them to the hyperparameters) and ``training`` (steps planned and done, whether it stopped
    at the deadline; the record keeps them with the compute figures).
    """

    name: ClassVar[str]
    modalities: ClassVar[frozenset[str]]
    conditional: ClassVar[bool] = True
    budgets: ClassVar[dict[str, dict[str, Any]]] = {budget: {} for budget in BUDGETS}

    def __init__(self, *, budget: str = "default", seed: int = 0, device: str = "auto", **hparams: Any):
        if budget not in BUDGETS:
            raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")
        unknown = set(hparams) - set(self.budgets.get(budget, {}))
        if unknown:
            known = ", ".join(sorted(self.budgets.get(budget, {}))) or "none"
            raise ValueError(f"{self.name}: unknown hyperparameters {sorted(unknown)}; known: {known}")
        self.budget = budget
        self.seed = int(seed)
        self.device = device
        self.hparams: dict[str, Any] = {**self.budgets.get(budget, {}), **hparams}
        self.rng = np.random.default_rng(np.random.SeedSequence(self.seed))
        self.report: Callable[[str], None] = ignore_phase
        self.stop_at: float | None = None
        self.derived_hparams: dict[str, Any] = {}
        self.training: dict[str, Any] = {}

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> Generator:
        """Learn from the training rows ``X`` (n x p) and integer labels ``y`` (0..C-1)."""

    @abstractmethod
    def sample(self, y: np.ndarray) -> np.ndarray:
        """Return one synthetic row per entry of ``y`` (integer labels), shape (len(y), p)."""

    def n_params(self) -> int:
        """Number of fitted parameters (trainable weights for neural models)."""
        return 0


def ignore_phase(phase: str) -> None:
    """The default ``report``: phases go nowhere outside a job."""


def finish_output(values: np.ndarray, modality: str) -> np.ndarray:
    """Cast raw samples to the modality's output form: genotypes rounded and clipped to {0,1,2}."""
    if modality == "genotype":
        return np.clip(np.rint(values), 0, 2).astype(np.int8)
    return np.asarray(values, dtype=np.float32)


def rows_by_class(y: np.ndarray) -> dict[int, np.ndarray]:
    """Row indices of each label present in ``y``."""
    order = np.argsort(y, kind="stable")
    labels, starts = np.unique(y[order], return_index=True)
    return {int(c): idx for c, idx in zip(labels, np.split(order, starts[1:]), strict=True)}
