"""Conditional WGAN-GP for expression profiles (Gulrajani et al. 2017; Lacan, Sebag & Hanczar, ISMB 2023).

Generator [z‖c] → (Linear → BatchNorm → LeakyReLU(0.05) → [·‖c]) × 3 → Linear, no output activation;
critic [x‖c] → (Linear → LeakyReLU(0.05) → [·‖c]) × 2 → Linear(1), no normalisation. The condition c is
concatenated at every layer. Per generator step: 5 critic steps on the same real batch with fresh noise,
L_D = mean D(x̃) - mean D(x) + 10 · GP; then L_G = -mean D(G(z, c)). RMSprop. Genes are z-scored on train.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark.registry import register_generator
from generators.nn.preprocess import Transform, ZScore
from generators.nn.torch_generator import TorchGenerator

if TYPE_CHECKING:
    import torch
    from torch import nn

BUDGETS: dict[str, dict[str, Any]] = {
    "smoke": {"latent": 8, "generator_widths": (32, 64), "critic_widths": (64, 32), "batch_size": 32,
              "optimiser": "rmsprop", "lr_generator": 2e-4, "lr_critic": 5e-4, "critic_steps": 5,
              "gp_weight": 10.0, "conditioning": "bits", "steps": 30},
    "default": {"latent": 32, "generator_widths": (128, 256, 512), "critic_widths": (512, 256), "batch_size": 128,
                "optimiser": "rmsprop", "lr_generator": 2e-4, "lr_critic": 5e-4, "critic_steps": 5,
                "gp_weight": 10.0, "conditioning": "bits", "steps": 4000},
    # The TCGA optimum of the authors' Bayesian search on landmark genes; 1,000 epochs of ~6,400 rows at batch 64.
    "paper": {"latent": 32, "generator_widths": (256, 1024, 8192), "critic_widths": (4096, 128), "batch_size": 64,
              "optimiser": "rmsprop", "lr_generator": 2.75e-4, "lr_critic": 1.24e-4, "critic_steps": 5,
              "gp_weight": 10.0, "conditioning": "bits", "steps": 100_000},
}
SLOPE = 0.05  # LeakyReLU slope of generator and critic


@register_generator
class WGANGP(TorchGenerator):
    """Conditional WGAN-GP on z-scored genes."""

    name = "wgan-gp"
    modalities = frozenset({"expression"})
    budgets: ClassVar[dict[str, dict[str, Any]]] = BUDGETS

    def make_preprocess(self) -> Transform:
        return ZScore()

    def build(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> None:
        from generators.nn.layers import conditioned_mlp
        from generators.nn.optim import make_optimiser

        h = self.hparams
        self.generator = self.make_generator(width, rows, labels)
        self.critic = conditioned_mlp(width, h["critic_widths"], 1, self.n_classes, h["conditioning"],
                                      slope=SLOPE, squeeze=True)
        self.generator_optimiser = make_optimiser(h["optimiser"], self.generator.parameters(), h["lr_generator"])
        self.critic_optimiser = make_optimiser(h["optimiser"], self.critic.parameters(), h["lr_critic"])

    def make_generator(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> nn.Module:
        """G(z, labels): the conditioned MLP with batch norm (AttGAN refines its output)."""
        from generators.nn.layers import conditioned_mlp

        h = self.hparams
        return conditioned_mlp(h["latent"], h["generator_widths"], width, self.n_classes, h["conditioning"],
                               norm="batch", slope=SLOPE)

    def networks(self) -> list[nn.Module]:
        return [self.generator, self.critic]

    def make_step(self, rows: torch.Tensor, labels: torch.Tensor) -> Callable[[int], dict[str, torch.Tensor]]:
        import torch

        from generators.nn.losses import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss
        from generators.nn.train import Batches

        h = self.hparams
        batches = Batches(len(rows), h["batch_size"], self.stream)

        def step(_: int) -> dict[str, torch.Tensor]:
            index = batches.next().to(rows.device)
            real, c = rows[index], labels[index]
            for _ in range(h["critic_steps"]):
                with torch.no_grad():
                    fake = self.generator(self.noise(len(real)), c)
                critic_loss = wasserstein_critic_loss(self.critic(real, c), self.critic(fake, c))
                penalty = gradient_penalty(lambda x: self.critic(x, c), real, fake, self.stream.uniform(len(real), 1))
                self.critic_optimiser.zero_grad(set_to_none=True)
                (critic_loss + h["gp_weight"] * penalty).backward()
                self.critic_optimiser.step()
            generator_loss = wasserstein_generator_loss(self.critic(self.generator(self.noise(len(real)), c), c))
            self.generator_optimiser.zero_grad(set_to_none=True)
            generator_loss.backward()
            self.generator_optimiser.step()
            return {"critic": critic_loss.detach(), "penalty": penalty.detach(), "generator": generator_loss.detach()}

        return step
