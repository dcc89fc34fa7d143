"""Noise predictors ε_θ(x_t, t, y) for the diffusion core: sinusoidal time embeddings, TabDDPM's MLP and a
residual MLP, both conditioned on a label embedding that is added to the time embedding.

A denoiser built with ``null_label=True`` has one more label entry, index ``n_classes``: the null token
that classifier-free guidance trains with and samples the unconditional ε from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """[cos(t·f_k), sin(t·f_k)] with f_k = max_period^(−k/(dim/2)), k < dim/2 (zero-padded to an odd ``dim``)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    return nn.functional.pad(embedding, (0, dim % 2))


class TimeLabelEmbedding(nn.Module):
    """sinusoidal(t) → Linear → SiLU → Linear, plus SiLU(label embedding): the condition of every block."""

    def __init__(self, n_classes: int, dim: int, time_dim: int, *, null_label: bool = False):
        super().__init__()
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(time_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.label = nn.Embedding(n_classes + int(null_label), dim)

    def forward(self, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.time(sinusoidal_embedding(t, self.time_dim)) + nn.functional.silu(self.label(labels))


class TabDDPMDenoiser(nn.Module):
    """Kotelnikov et al.'s MLP: h = Linear(x → d_t) + emb(t, y); blocks Linear → ReLU → Dropout with widths
    ``layers``; head Linear(→ width). The time embedding is sinusoidal(d_t) → Linear → SiLU → Linear."""

    def __init__(self, width: int, n_classes: int, layers: Sequence[int], *, dim: int = 128, dropout: float = 0.0,
                 null_label: bool = False):
        super().__init__()
        self.embedding = TimeLabelEmbedding(n_classes, dim, dim, null_label=null_label)
        self.project = nn.Linear(width, dim)
        blocks: list[nn.Module] = []
        width_in = dim
        for layer in layers:
            blocks += [nn.Linear(width_in, layer), nn.ReLU(), nn.Dropout(dropout)]
            width_in = layer
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width_in, width)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.project(x) + self.embedding(t, labels)))


class ResidualBlock(nn.Module):
    """h + Linear(SiLU(Linear(SiLU(LayerNorm(h))) + Linear(SiLU(emb))))."""

    def __init__(self, width: int, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, width)
        self.condition = nn.Linear(dim, width)
        self.outer = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        inner = self.inner(nn.functional.silu(self.norm(h))) + self.condition(nn.functional.silu(emb))
        return h + self.outer(nn.functional.silu(inner))


class ResidualMLPDenoiser(nn.Module):
    """Linear(x → hidden), ``blocks`` residual blocks (LayerNorm, SiLU) that each see the time-and-label
    embedding, then LayerNorm → SiLU → Linear(→ width), initialised at zero so training starts from ε̂ = 0."""

    def __init__(self, width: int, n_classes: int, *, hidden: int = 512, blocks: int = 3, time_dim: int = 128,
                 null_label: bool = True):
        super().__init__()
        self.embedding = TimeLabelEmbedding(n_classes, hidden, time_dim, null_label=null_label)
        self.project = nn.Linear(width, hidden)
        self.blocks = nn.ModuleList(ResidualBlock(hidden, hidden) for _ in range(blocks))
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, width)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(t, labels)
        h = self.project(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.head(nn.functional.silu(self.norm(h)))
