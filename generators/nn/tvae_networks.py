"""TVAE's networks (Xu et al., NeurIPS 2019), in the conditional (CVAE) form: the one-hot label is
appended to the encoder's and the decoder's input."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def relu_mlp(in_dim: int, widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    return nn.Sequential(*layers)


class TVAEEncoder(nn.Module):
    """[x ‖ cond] → (Linear → ReLU) blocks → heads μ and log σ² of the latent."""

    def __init__(self, data_dim: int, cond_dim: int, widths: Sequence[int], latent: int):
        super().__init__()
        self.body = relu_mlp(data_dim + cond_dim, widths)
        self.mean = nn.Linear(widths[-1], latent)
        self.log_variance = nn.Linear(widths[-1], latent)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(torch.cat([x, cond], dim=1))
        return self.mean(hidden), self.log_variance(hidden)


class TVAEDecoder(nn.Module):
    """[z ‖ cond] → (Linear → ReLU) blocks → Linear(data width), with a learned σ per α column
    (initialised to ``sigma_init``; the trainer clamps it after each step)."""

    def __init__(self, latent: int, cond_dim: int, widths: Sequence[int], data_dim: int, n_alphas: int,
                 sigma_init: float = 0.1):
        super().__init__()
        self.body = nn.Sequential(relu_mlp(latent + cond_dim, widths), nn.Linear(widths[-1], data_dim))
        self.sigma = nn.Parameter(torch.full((n_alphas,), sigma_init))

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([z, cond], dim=1))
