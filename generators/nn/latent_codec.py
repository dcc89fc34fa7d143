"""Stage 1 of latent diffusion as a preprocessing transform: ``fit`` trains an autoencoder on the rows,
``transform`` encodes them to standardised latents (train mean and sd per latent dimension), ``inverse``
decodes generated latents back to rows. Chained after the modality's own transform, the diffusion
generator then sees latents as its data and never knows an autoencoder is involved."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from generators.nn.adam_kernel import adam_kernel
from generators.nn.train import Batches, RandomStream, run_steps, to_tensor

CHUNK = 4096  # rows per encoder or decoder call outside training


class LatentCodec:
    """An autoencoder made by ``make_model(width)`` (with ``encode``, ``decode`` and ``loss``), trained for
    ``steps`` Adam steps on batches of ``batch_size`` rows; phases are reported as "autoencoder: ..."."""

    def __init__(self, make_model: Callable[[int], nn.Module], *, steps: int, batch_size: int, lr: float,
                 device: torch.device, stream: RandomStream, report: Callable[[str], None],
                 stop_at: float | None = None):
        self.make_model, self.steps, self.batch_size, self.lr = make_model, steps, batch_size, lr
        self.device, self.stream, self.report, self.stop_at = device, stream, report, stop_at

    def fit(self, X: np.ndarray) -> LatentCodec:
        rows = to_tensor(X, self.device)
        self.model = self.make_model(rows.shape[1]).to(self.device).train()
        optimiser = torch.optim.Adam(self.model.parameters(), lr=self.lr, **adam_kernel(self.device))
        batches = Batches(len(rows), self.batch_size, self.stream)

        def step(_: int) -> dict[str, torch.Tensor]:
            objective, parts = self.model.loss(rows[batches.next().to(self.device)], self.stream)
            optimiser.zero_grad(set_to_none=True)
            objective.backward()
            optimiser.step()
            return parts

        self.training = run_steps(step, self.steps, report=lambda phase: self.report(f"autoencoder: {phase}"),
                                  stop_at=self.stop_at)
        latents = self.encode(X)
        self.mean = latents.mean(axis=0)
        std = latents.std(axis=0)
        self.std = np.where(std > 1e-8, std, 1.0)
        return self

    @property
    def width(self) -> int:
        return len(self.mean)

    @torch.no_grad()
    def encode(self, X: np.ndarray) -> np.ndarray:
        """Raw latents of the rows (float64), in chunks, in eval mode."""
        self.model.eval()
        return np.concatenate([self.model.encode(to_tensor(part, self.device)).double().cpu().numpy()
                               for part in chunks(X)])

    @torch.no_grad()
    def decode(self, latents: np.ndarray) -> np.ndarray:
        self.model.eval()
        return np.concatenate([self.model.decode(to_tensor(part, self.device)).cpu().numpy() for part in chunks(latents)])

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (self.encode(X) - self.mean) / self.std

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        return self.decode(np.asarray(Z, dtype=np.float64) * self.std + self.mean)


class ClipBelow:
    """Identity on the way in; generated values below ``floor`` set to ``floor`` on the way out."""

    def __init__(self, floor: float = 0.0):
        self.floor = floor

    def fit(self, X: np.ndarray) -> ClipBelow:
        self.width = np.asarray(X).shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        return np.maximum(np.asarray(Z, dtype=np.float64), self.floor)


def chunks(values: np.ndarray) -> list[np.ndarray]:
    return np.array_split(values, max(1, -(-len(values) // CHUNK))) if len(values) else [values]
