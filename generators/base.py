"""The generator contract every model and plugin implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
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

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> Generator:
        """Learn from the training rows ``X`` (n x p) and integer labels ``y`` (0..C-1)."""

    @abstractmethod
    def sample(self, y: np.ndarray) -> np.ndarray:
        """Return one synthetic row per entry of ``y`` (integer labels), shape (len(y), p)."""

    def n_params(self) -> int:
        """Number of fitted parameters (trainable weights for neural models)."""
        return 0

    def torch_device(self) -> Any:
        """The torch device for ``device`` ("auto": CUDA, then Apple MPS, else CPU), noted in ``device_used``."""
        import torch

        if self.device != "auto":
            device = torch.device(self.device)
        elif torch.cuda.is_available():
            device = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        self.device_used = str(device)
        return device

    def seed_torch(self) -> None:
        """Seed torch's generators from this generator's seed (call at the start of ``fit``)."""
        import torch

        torch.manual_seed(self.seed)


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
