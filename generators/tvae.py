"""TVAE (Xu et al., "Modeling Tabular Data using Conditional GAN", NeurIPS 2019), conditioned on the class
in the CVAE form so that one model serves all labels.

Rows are the genes under mode-specific normalisation (as CTGAN) and the label as one discrete span.
Encoder [x ‖ y] → (Linear → ReLU) × 2 → μ, log σ²; decoder [z ‖ y] → (Linear → ReLU) × 2 → Linear, with a
learned σ per α (init 0.1, clamped to [0.01, 1] after every step). Loss, per batch of B rows:
2 · [Σ_α (α − tanh α̂)² / 2σ² + B · Σ log σ + Σ cross-entropy of every mode span and the label span] / B
+ KL(q(z | x, y) ‖ N(0, I)) / B. Adam (lr 1e-3, weight decay 1e-5). Sampling: z ~ N(0, I), α = tanh α̂ plus
N(0, σ²) noise, modes by argmax.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark.registry import register_generator
from generators.nn.mode_generator import ModeNormalizedGenerator

if TYPE_CHECKING:
    import torch
    from torch import nn

LIBRARY: dict[str, Any] = {
    "latent": 128, "encoder_widths": (128, 128), "decoder_widths": (128, 128), "batch_size": 500, "lr": 1e-3,
    "weight_decay": 1e-5, "loss_factor": 2.0, "sigma_init": 0.1, "sigma_min": 0.01, "sigma_max": 1.0,
    "fit_rows": 5000,
}
BUDGETS: dict[str, dict[str, Any]] = {
    "smoke": {**LIBRARY, "latent": 8, "encoder_widths": (32, 32), "decoder_widths": (32, 32), "max_clusters": 3,
              "batch_size": 100, "steps": 600},
    # 100 epochs of 10,000 rows at batch 500.
    "default": {**LIBRARY, "max_clusters": 5, "steps": 2000},
    # The library's defaults: 10 modes, 300 epochs of 10,000 rows.
    "paper": {**LIBRARY, "max_clusters": 10, "steps": 6000},
}


@register_generator
class TVAE(ModeNormalizedGenerator):
    """Tabular variational autoencoder on mode-specific normalised genes, label-conditioned (CVAE form)."""

    name = "tvae"
    modalities = frozenset({"expression"})
    budgets: ClassVar[dict[str, dict[str, Any]]] = BUDGETS

    def build(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> None:
        import torch

        from generators.nn.tvae_networks import TVAEDecoder, TVAEEncoder

        h = self.hparams
        self.describe_encoding()
        self.encoder = TVAEEncoder(self.data_width, self.n_classes, h["encoder_widths"], h["latent"])
        self.decoder = TVAEDecoder(h["latent"], self.n_classes, h["decoder_widths"], self.data_width,
                                   self.preprocess.n_genes, h["sigma_init"])
        parameters = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.optimiser = torch.optim.Adam(parameters, lr=h["lr"], weight_decay=h["weight_decay"], foreach=True)

    def networks(self) -> list[nn.Module]:
        return [self.encoder, self.decoder]

    def make_step(self, rows: torch.Tensor, labels: torch.Tensor) -> Callable[[int], dict[str, torch.Tensor]]:
        import torch

        from generators.nn.train import Batches

        h = self.hparams
        batches = Batches(len(rows), h["batch_size"], self.stream)
        genes, width = self.preprocess.n_genes, self.preprocess.encoded_width

        def step(_: int) -> dict[str, torch.Tensor]:
            index = batches.next().to(rows.device)
            compact, y = rows[index], labels[index]
            cond = self.one_hot(y)
            mean, log_variance = self.encoder(self.real_rows(compact, y), cond)
            z = mean + self.stream.normal(*mean.shape) * torch.exp(0.5 * log_variance)
            recon = self.decoder(z, cond)
            alpha, slot_logits = self.preprocess.split(recon[:, :width])
            sigma = self.decoder.sigma
            n = len(compact)
            alpha_loss = ((compact[:, :genes] - torch.tanh(alpha)) ** 2 / (2 * sigma ** 2)).sum() + n * torch.log(sigma).sum()
            slot_loss = torch.nn.functional.cross_entropy(slot_logits.transpose(1, 2), compact[:, genes:].long(),
                                                          reduction="sum")  # slots on axis 1: 3x faster on CPU
            label_loss = torch.nn.functional.cross_entropy(recon[:, width:], y, reduction="sum")
            reconstruction = h["loss_factor"] * (alpha_loss + slot_loss + label_loss) / n
            kl = -0.5 * torch.sum(1 + log_variance - mean ** 2 - log_variance.exp()) / n
            self.optimiser.zero_grad(set_to_none=True)
            (reconstruction + kl).backward()
            self.optimiser.step()
            with torch.no_grad():
                sigma.clamp_(h["sigma_min"], h["sigma_max"])
            return {"reconstruction": reconstruction.detach(), "kl": kl.detach()}

        return step

    def generate(self, labels: torch.Tensor) -> torch.Tensor:
        import torch

        recon = self.decoder(self.noise(len(labels)), self.one_hot(labels))
        alpha, _ = self.preprocess.split(recon[:, :self.preprocess.encoded_width])
        noisy = torch.tanh(alpha) + self.stream.normal(*alpha.shape) * self.decoder.sigma
        genes = recon[:, :self.preprocess.encoded_width].view(len(labels), self.preprocess.n_genes, -1).clone()
        genes[:, :, 0] = noisy
        return genes.flatten(1)
