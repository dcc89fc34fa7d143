"""CTGAN's networks (Xu et al., NeurIPS 2019): the residual generator and the PacGAN critic."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Residual(nn.Module):
    """Linear → BatchNorm → ReLU, its output concatenated to its input."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.block(x), x], dim=1)


def residual_generator(in_dim: int, widths: Sequence[int], out_dim: int) -> nn.Sequential:
    """[z ‖ cond] → residual blocks (each widening the row by its width) → Linear(out_dim), no activation."""
    layers: list[nn.Module] = []
    width_in = in_dim
    for width in widths:
        layers.append(Residual(width_in, width))
        width_in += width
    layers.append(nn.Linear(width_in, out_dim))
    return nn.Sequential(*layers)


class PacCritic(nn.Module):
    """PacGAN critic: ``pac`` consecutive rows concatenated into one input, then
    (Linear → LeakyReLU(0.2) → Dropout) blocks and Linear(1). Takes (B, d) with B a multiple of ``pac``,
    or rows already packed as (B / pac, pac·d); returns one score per pack."""

    def __init__(self, in_dim: int, widths: Sequence[int], pac: int, *, dropout: float = 0.5, slope: float = 0.2):
        super().__init__()
        self.packed_dim = in_dim * pac
        layers: list[nn.Module] = []
        width_in = self.packed_dim
        for width in widths:
            layers += [nn.Linear(width_in, width), nn.LeakyReLU(slope), nn.Dropout(dropout)]
            width_in = width
        layers.append(nn.Linear(width_in, 1))
        self.layers = nn.Sequential(*layers)

    def pack(self, rows: torch.Tensor) -> torch.Tensor:
        return rows.reshape(-1, self.packed_dim)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.layers(self.pack(rows)).squeeze(1)
