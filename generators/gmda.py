"""GMDA, Generative Modeling with Density Alignment (Lacan, Hanczar & Sebag, "Frugal Generative Modeling
for Tabular Data", ECML-PKDD 2024).

No discriminator. A conditional generator [z‖y] → (Linear → BatchNorm → LeakyReLU(0.05) → [·‖y]) × 3 →
Linear is trained so that, for K random probes (soft axis-aligned boxes on p = 3 random coordinates,
centred on real rows, with bounds from the class quantiles of the centre's values ± δ), the mean soft
membership of generated rows of each class matches that of the real rows of the class:
L(h) = Σ_c |μ_r − μ_f| / (1e-3 + log(1 + max(μ_r, μ_f))), plus a dark-region term on the mass outside all
probes, L_DH = Σ_c |mean π_real − mean π_fake| with π(x) = Π_h (1 − P_h(x)). Total: mean_h L(h) + w_DH·L_DH,
one Adam step per batch. After each step the ⌊ηK⌋ probes of highest loss are kept and ⌊(1 − η)K/C⌋ + 1
new probes per class are centred on rows of that batch. Genes: quantile-normal, then z-scored, on train
(``preprocessing="zscore"``: z-scored only, the authors' setting for other tabular data).
The probe math lives in ``generators/nn/probes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark.registry import register_generator
from generators.nn.preprocess import Chain, QuantileNormal, Transform, ZScore
from generators.nn.torch_generator import TorchGenerator

if TYPE_CHECKING:
    import torch
    from torch import nn

DEFAULT: dict[str, Any] = {
    "latent": 16, "generator_widths": (256, 512, 1024), "batch_size": 1024,
    "n_probes": 800, "probe_dims": 3, "delta": 0.15, "sharpness": 2.0, "eta": 0.2, "dark_weight": 1.0,
    "optimiser": "adam", "lr": 5e-4, "steps": 2000, "preprocessing": "quantile-normal",
}
BUDGETS: dict[str, dict[str, Any]] = {
    "smoke": {**DEFAULT, "latent": 4, "generator_widths": (32, 64), "batch_size": 128, "n_probes": 50, "steps": 50},
    "default": DEFAULT,
    # The TCGA column of the authors' supplement (Adam β (0.9, 0.99)). 5,000 epochs: with ~6,400 train rows
    # (the split the WGAN-GP paper budget also assumes) the authors' loader gives 4 batches of 2,048 per
    # epoch (the last one partial), so 5,000 epochs ≈ 20,000 optimiser steps.
    "paper": {"latent": 32, "generator_widths": (512, 1024, 2048), "batch_size": 2048,
              "n_probes": 800, "probe_dims": 3, "delta": 0.5, "sharpness": 5.0, "eta": 0.2, "dark_weight": 1.0,
              "optimiser": "adam", "lr": 5e-4, "steps": 20_000, "preprocessing": "quantile-normal"},
}
SLOPE = 0.05  # LeakyReLU slope of the generator
CONDITIONING = "onehot"


@register_generator
class GMDA(TorchGenerator):
    """Conditional generator fit by matching per-class occupancies of random soft boxes (no discriminator)."""

    name = "gmda"
    modalities = frozenset({"expression"})
    budgets: ClassVar[dict[str, dict[str, Any]]] = BUDGETS

    def make_preprocess(self) -> Transform:
        """The authors' two settings: quantile-normal then z-score (TCGA/GTEx), or z-score alone (tabular)."""
        preprocessing = self.hparams["preprocessing"]
        if preprocessing == "quantile-normal":
            return Chain(QuantileNormal(), ZScore())
        if preprocessing == "zscore":
            return ZScore()
        raise ValueError(f"{self.name}: preprocessing must be 'quantile-normal' or 'zscore', got {preprocessing!r}")

    def build(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> None:
        from generators.nn.layers import conditioned_mlp
        from generators.nn.optim import make_optimiser
        from generators.nn.probes import class_quantile_bounds

        h = self.hparams
        self.generator = conditioned_mlp(h["latent"], h["generator_widths"], width, self.n_classes, CONDITIONING,
                                         norm="batch", slope=SLOPE)
        self.optimiser = make_optimiser(h["optimiser"], self.generator.parameters(), h["lr"])
        # Small training sets: the batch is all rows, K at most the batch, p at most the genes.
        self.batch_size = min(int(h["batch_size"]), len(rows))
        self.n_probes = min(int(h["n_probes"]), self.batch_size)
        self.probe_dims = min(int(h["probe_dims"]), width)
        self.derived_hparams.update(effective_batch_size=self.batch_size, effective_n_probes=self.n_probes,
                                    effective_probe_dims=self.probe_dims)
        self.lower, self.upper = class_quantile_bounds(rows, labels, float(h["delta"]))

    def networks(self) -> list[nn.Module]:
        return [self.generator]

    def make_step(self, rows: torch.Tensor, labels: torch.Tensor) -> Callable[[int], dict[str, torch.Tensor]]:
        import torch

        from generators.nn.probes import (
            dark_region_loss,
            first_probes,
            membership,
            one_hot,
            probe_losses,
            refresh_probes,
        )
        from generators.nn.train import Batches

        h = self.hparams
        sharpness, eta, dark_weight = float(h["sharpness"]), float(h["eta"]), float(h["dark_weight"])
        batches = Batches(len(rows), self.batch_size, self.stream)
        state: dict[str, Any] = {}  # the probes, their last losses and the batch they were last refreshed from

        def step(_: int) -> dict[str, torch.Tensor]:
            index = batches.next().to(rows.device)
            real, c = rows[index], labels[index]
            if "probes" not in state:
                probes = first_probes(index, self.n_probes, self.probe_dims, self.lower, self.upper, self.stream)
            else:
                probes = refresh_probes(state["probes"], state["losses"], state["index"], state["labels"],
                                        self.n_probes, eta, self.probe_dims, self.lower, self.upper, self.stream)
            onehot = one_hot(c, self.n_classes, real.dtype)
            fake = self.generator(self.noise(len(real)), c)
            with torch.no_grad():
                p_real = membership(real, probes, sharpness)
            p_fake = membership(fake, probes, sharpness)
            losses = probe_losses(p_real, p_fake, onehot, onehot)
            dark = dark_region_loss(p_real, p_fake, onehot, onehot)
            loss = losses.mean() + dark_weight * dark
            self.optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self.optimiser.step()
            state.update(probes=probes, losses=losses.detach(), index=index, labels=c)
            return {"loss": loss.detach(), "probe": losses.detach().mean(), "dark_region": dark.detach()}

        return step
