"""The 1-D convolutional conditional generator and discriminator of Das & Shi (Offspring GAN, PPO-GAN) on
one-hot genotype channels (n x 3 x L, flattened to n x 3·L at the module boundary; L a multiple of 4).

Both condition multiplicatively: the generator multiplies z by a learned per-label vector, the
discriminator multiplies the flattened input by a learned per-label vector of its width. LeakyReLU slope
0.3 and batch norm (eps 2e-5, momentum 0.9 in the Keras sense) as in the source.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from generators.nn.layers import MultiplicativeCondition
from generators.nn.preprocess import GENOTYPE_STATES

SLOPE = 0.3  # the Keras LeakyReLU default the source relies on
BN_EPS, BN_MOMENTUM = 2e-5, 0.1  # Keras momentum 0.9 = torch momentum 0.1
WORD = torch.iinfo(torch.int64)
UPSAMPLING = 4  # two ×2 upsamplings in G, two stride-2 convolutions in D


class Dropout(nn.Module):
    """Inverted dropout, as ``nn.Dropout``. On the CPU the keep decision compares 16-bit random words with
    the rate (exact to 1/65,536), four words per 64-bit draw: 2.5 times faster there than ``nn.Dropout``'s
    Bernoulli draws, which were half the training time of these small networks."""

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        if x.device.type != "cpu":
            return nn.functional.dropout(x, self.rate, training=True)
        n = x.numel()
        words = torch.randint(WORD.min, WORD.max, ((n + 3) // 4,), dtype=torch.int64)
        draws = words.view(torch.int16)[:n].view_as(x)
        keep = draws >= round(self.rate * 65536) - 32768
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.rate))


def dropout(rate: float, enabled: bool) -> nn.Module:
    return Dropout(rate) if enabled and rate > 0 else nn.Identity()


class OffspringGenerator(nn.Module):
    """(z ⊙ E[y]) → Dense((L/4)·c0, no bias) → (L/4, c0) → BN → LReLU → Conv(c1, k7, no bias) → ×2 → BN →
    LReLU → Conv(c2, k5) → ×2 → BN → LReLU → Conv(3, k5) → softmax over the 3 channels.

    ``dropout``: Offspring GAN's dropouts (0.3 after the reshape and after the first activation, 0.4 and 0.5
    after the later ones); PPO-GAN has none.
    """

    def __init__(self, latent: int, n_snps: int, n_classes: int, channels: Sequence[int], *, dropout_on: bool):
        super().__init__()
        if n_snps % UPSAMPLING:
            raise ValueError(f"the generator needs a SNP count divisible by {UPSAMPLING}, got {n_snps}")
        c0, c1, c2 = channels
        self.n_snps, self.c0 = n_snps, c0
        self.condition = MultiplicativeCondition(n_classes, latent)
        self.dense = nn.Linear(latent, (n_snps // UPSAMPLING) * c0, bias=False)
        self.body = nn.Sequential(
            dropout(0.3, dropout_on), nn.BatchNorm1d(c0, eps=BN_EPS, momentum=BN_MOMENTUM), nn.LeakyReLU(SLOPE),
            dropout(0.3, dropout_on), nn.Conv1d(c0, c1, 7, padding=3, bias=False), nn.Upsample(scale_factor=2),
            nn.BatchNorm1d(c1, eps=BN_EPS, momentum=BN_MOMENTUM), nn.LeakyReLU(SLOPE), dropout(0.4, dropout_on),
            nn.Conv1d(c1, c2, 5, padding=2), nn.Upsample(scale_factor=2),
            nn.BatchNorm1d(c2, eps=BN_EPS, momentum=BN_MOMENTUM), nn.LeakyReLU(SLOPE), dropout(0.5, dropout_on),
            nn.Conv1d(c2, GENOTYPE_STATES, 5, padding=2),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.dense(self.condition(z, labels)).view(len(z), self.c0, self.n_snps // UPSAMPLING)
        return torch.softmax(self.body(h), dim=1).flatten(1)


class OffspringDiscriminator(nn.Module):
    """(x ⊙ E[y]) → (3, L) → LReLU → Drop 0.3 → Conv(d0, k5, stride 2) → LReLU → Drop 0.3 → Conv(d1, k7,
    stride 2) → LReLU → Drop 0.3 → Flatten → (Offspring: Drop 0.3) → Dense(width) → LReLU → Dense(1).
    Its convolution kernels are clipped after every update (:meth:`clip_kernels`)."""

    def __init__(self, n_snps: int, n_classes: int, channels: Sequence[int], dense: int, *, dropout_on: bool):
        super().__init__()
        if n_snps % UPSAMPLING:
            raise ValueError(f"the discriminator needs a SNP count divisible by {UPSAMPLING}, got {n_snps}")
        d0, d1 = channels
        self.n_snps = n_snps
        self.condition = MultiplicativeCondition(n_classes, GENOTYPE_STATES * n_snps)
        self.convolutions = [nn.Conv1d(GENOTYPE_STATES, d0, 5, stride=2, padding=2),
                             nn.Conv1d(d0, d1, 7, stride=2, padding=3)]
        self.body = nn.Sequential(
            nn.LeakyReLU(SLOPE), Dropout(0.3), self.convolutions[0],
            nn.LeakyReLU(SLOPE), Dropout(0.3), self.convolutions[1],
            nn.LeakyReLU(SLOPE), Dropout(0.3), nn.Flatten(), dropout(0.3, dropout_on),
            nn.Linear(d1 * (n_snps // UPSAMPLING), dense), nn.LeakyReLU(SLOPE), nn.Linear(dense, 1),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        conditioned = self.condition(x, labels).view(len(x), GENOTYPE_STATES, self.n_snps)
        return self.body(conditioned).squeeze(1)

    @torch.no_grad()
    def clip_kernels(self, bound: float) -> None:
        """Clamp the convolution kernels (not biases, not dense layers) to [-bound, bound]."""
        for convolution in self.convolutions:
            convolution.weight.clamp_(-bound, bound)
