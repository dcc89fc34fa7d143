"""Stage-1 models of latent diffusion: a deterministic MLP autoencoder for expression and a VAE with a
per-SNP 3-way categorical decoder for genotypes. Each has ``encode`` (the latent the diffusion models; the
VAE's posterior mean), ``decode`` (reconstruction; the VAE's channel logits) and ``loss`` (the objective and its parts)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from generators.nn.preprocess import GENOTYPE_STATES
from generators.nn.train import RandomStream


def mlp(width_in: int, hidden: Sequence[int], width_out: int) -> nn.Sequential:
    """(Linear → LayerNorm → SiLU) for each hidden width, then Linear(→ width_out)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(width_in, width), nn.LayerNorm(width), nn.SiLU()]
        width_in = width
    return nn.Sequential(*layers, nn.Linear(width_in, width_out))


class ExpressionAutoencoder(nn.Module):
    """Encoder MLP(G → hidden → latent), mirrored decoder; mean squared reconstruction error."""

    def __init__(self, width: int, hidden: Sequence[int], latent: int):
        super().__init__()
        self.encoder = mlp(width, hidden, latent)
        self.decoder = mlp(latent, tuple(reversed(hidden)), width)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def loss(self, x: torch.Tensor, stream: RandomStream) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The objective and its parts (here the objective alone)."""
        mse = nn.functional.mse_loss(self.decode(self.encode(x)), x)
        return mse, {"reconstruction_mse": mse.detach()}


class GenotypeVAE(nn.Module):
    """One-hot dosages, flattened channel-major (n × 3·L), → MLP → (μ, log σ²); z = μ + σ ε → MLP → 3·L logits.
    Loss per row: Σ_SNP cross-entropy of the 3 states + β · KL(q(z|x) ‖ N(0, I)), averaged over rows."""

    def __init__(self, width: int, hidden: Sequence[int], latent: int, kl_weight: float):
        super().__init__()
        if width % GENOTYPE_STATES:
            raise ValueError(f"genotype VAE input width {width} is not 3 channels x SNPs")
        self.snps, self.kl_weight = width // GENOTYPE_STATES, kl_weight
        self.encoder = mlp(width, hidden, 2 * latent)
        self.decoder = mlp(latent, tuple(reversed(hidden)), width)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_variance = self.encoder(x).chunk(2, dim=1)
        return mean, log_variance

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def loss(self, x: torch.Tensor, stream: RandomStream) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The objective and its parts: cross-entropy (summed over SNPs) and KL, per row."""
        mean, log_variance = self.posterior(x)
        z = mean + torch.exp(0.5 * log_variance) * stream.normal(*mean.shape).to(mean.dtype)
        logits = self.decode(z).view(len(x), GENOTYPE_STATES, self.snps)
        channels = x.view(len(x), GENOTYPE_STATES, self.snps)
        states = (channels[:, 1] + 2 * channels[:, 2]).long()  # one-hot to 0/1/2; argmax over axis 1 is 10x slower on CPU
        reconstruction = nn.functional.cross_entropy(logits, states, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + log_variance - mean ** 2 - log_variance.exp()) / len(x)
        return reconstruction + self.kl_weight * kl, {"cross_entropy": reconstruction.detach(), "kl": kl.detach()}
