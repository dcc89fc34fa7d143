"""The fit/sample skeleton of a class-conditional torch generator on preprocessed expression rows.

Generator modules stay importable without torch (``list`` and ``--help`` answer at once): torch and
the modules built on it are imported inside methods; ``nn.Module`` classes live in ``generators/nn``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from benchmark.dataset import DatasetMeta
from generators.base import Generator, finish_output

if TYPE_CHECKING:
    import torch
    from torch import nn

    from generators.nn.preprocess import Transform

SAMPLE_BATCH = 4096


class TorchGenerator(Generator):
    """``fit``: seed, device, preprocessing fit on train, networks built by ``build``, then
    ``hparams["steps"]`` calls of the step made by ``make_step``. ``sample``: the requested labels through
    ``generate`` (networks in eval mode, in batches), then the inverse preprocessing.

    A subclass implements the paper: ``make_preprocess``, ``build``, ``make_step`` and ``networks`` (the
    modules that are trained; sampling uses them in eval mode). The default ``generate`` is
    ``self.generator(z, labels)`` with z ~ N(0, I) of width ``hparams["latent"]`` (:meth:`noise`).
    """

    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> TorchGenerator:
        import torch

        from generators.nn.train import RandomStream, resolve_device, run_steps, seed_everything, to_tensor

        self.meta = meta
        self.torch_device = resolve_device(self.device)
        self.device_used = str(self.torch_device)
        seed_everything(self.seed)
        self.stream = RandomStream(self.seed, self.torch_device)
        self.n_classes = len(meta.class_names)
        self.seen_labels = frozenset(int(c) for c in np.unique(y))
        self.preprocess = self.make_preprocess().fit(X)
        rows = to_tensor(self.preprocess.transform(X), self.torch_device)
        labels = torch.as_tensor(np.asarray(y), dtype=torch.long, device=self.torch_device)
        self.build(rows.shape[1], rows, labels)
        for network in self.networks():
            network.to(self.torch_device).train()
        self.training = run_steps(self.make_step(rows, labels), int(self.hparams["steps"]),
                                  report=self.report, stop_at=self.stop_at)
        return self

    def sample(self, y: np.ndarray) -> np.ndarray:
        import torch

        y = np.asarray(y)
        unseen = sorted(set(np.unique(y).tolist()) - self.seen_labels)
        if unseen:
            raise ValueError(f"{self.name}: labels {unseen} were not in the training data")
        for network in self.networks():
            network.eval()
        with torch.no_grad():
            parts = [self.generate(torch.as_tensor(part, dtype=torch.long, device=self.torch_device)).cpu().numpy()
                     for part in np.array_split(y, max(1, -(-len(y) // SAMPLE_BATCH)))]
        return finish_output(self.preprocess.inverse(np.concatenate(parts)), self.meta.modality)

    def n_params(self) -> int:
        from generators.nn.train import count_parameters

        return count_parameters(*self.networks())

    @abstractmethod
    def make_preprocess(self) -> Transform:
        """The transform fit on the training rows and inverted on generated rows."""

    @abstractmethod
    def build(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> None:
        """Create the networks and optimisers for preprocessed rows of ``width`` columns."""

    @abstractmethod
    def make_step(self, rows: torch.Tensor, labels: torch.Tensor) -> Callable[[int], dict[str, torch.Tensor]]:
        """One optimiser step of the budget (returns its losses), as a closure over the training data."""

    def noise(self, n: int) -> torch.Tensor:
        """n latent draws z ~ N(0, I) of width ``hparams["latent"]``, from the seeded stream."""
        return self.stream.normal(n, self.hparams["latent"])

    def generate(self, labels: torch.Tensor) -> torch.Tensor:
        """Preprocessed rows for ``labels`` (called without gradients, networks in eval mode)."""
        return self.generator(self.noise(len(labels)), labels)

    @abstractmethod
    def networks(self) -> list[nn.Module]:
        """The trained modules."""
