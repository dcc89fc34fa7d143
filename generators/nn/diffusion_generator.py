"""The fit/sample skeleton of a diffusion generator: a denoiser trained with the ε-prediction loss under
AdamW (optionally annealed linearly to 0), an EMA copy of its weights, and sampling by ancestral DDPM or
respaced DDIM from the EMA weights, with classifier-free guidance when the model trains a null label.

A subclass gives the preprocessing (``make_preprocess``) and the network (``make_denoiser``); latent
diffusion also sets ``guidance_scale`` and ``p_uncond``. Hyperparameters read here: ``schedule``,
``timesteps`` (T), ``steps``, ``batch_size``, ``lr``, ``weight_decay``, ``lr_anneal``, ``ema``, ``sampler``,
``sampling_steps`` and ``eta``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from generators.nn.torch_generator import TorchGenerator

if TYPE_CHECKING:
    import torch
    from torch import nn


class DiffusionGenerator(TorchGenerator):
    """Gaussian diffusion over preprocessed rows (TabDDPM) or over an autoencoder's latents (latent diffusion)."""

    @abstractmethod
    def make_denoiser(self, width: int) -> nn.Module:
        """ε_θ(x_t, t, labels) for rows of ``width`` columns (with a null label when ``p_uncond`` > 0)."""

    def guidance_scale(self) -> float:
        """w of classifier-free guidance at sampling; 1 is the plain conditional model."""
        return 1.0

    def p_uncond(self) -> float:
        """Probability that a training label is replaced by the null label."""
        return 0.0

    @property
    def null_label(self) -> int | None:
        """The null token's index (after the classes) when the model trains one."""
        return self.n_classes if self.p_uncond() > 0 else None

    def build(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> None:
        import torch

        from generators.nn.adam_kernel import adam_kernel
        from generators.nn.diffusion import GaussianDiffusion
        from generators.nn.train import EMA

        h = self.hparams
        self.diffusion = GaussianDiffusion.from_schedule(h["schedule"], int(h["timesteps"]))
        self.denoiser = self.make_denoiser(width).to(self.torch_device)
        self.optimiser = torch.optim.AdamW(self.denoiser.parameters(), lr=h["lr"], weight_decay=h["weight_decay"],
                                           **adam_kernel(self.torch_device))
        steps = max(int(h["steps"]), 1)
        self.lr_schedule = (torch.optim.lr_scheduler.LambdaLR(self.optimiser, lambda done: 1.0 - done / steps)
                            if h["lr_anneal"] else None)
        self.ema = EMA(self.denoiser, float(h["ema"]))

    def networks(self) -> list[nn.Module]:
        return [self.denoiser]

    def make_step(self, rows: torch.Tensor, labels: torch.Tensor) -> Callable[[int], dict[str, torch.Tensor]]:
        from generators.nn.train import Batches

        batches = Batches(len(rows), int(self.hparams["batch_size"]), self.stream)
        p_uncond, null_label = self.p_uncond(), self.null_label

        def step(_: int) -> dict[str, torch.Tensor]:
            index = batches.next().to(rows.device)
            loss = self.diffusion.loss(self.denoiser, rows[index], labels[index], self.stream,
                                       null_label=null_label, p_uncond=p_uncond)
            self.optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self.optimiser.step()
            if self.lr_schedule is not None:
                self.lr_schedule.step()
            self.ema.update(self.denoiser)
            return {"eps_mse": loss.detach()}

        return step

    def generate(self, labels: torch.Tensor) -> torch.Tensor:
        """Rows for ``labels`` from N(0, I) noise through the sampler, with the EMA weights."""
        from generators.nn.diffusion import guided

        h = self.hparams
        eps = guided(self.ema.module, labels, scale=self.guidance_scale(), null_label=self.null_label)
        noise = self.stream.normal(len(labels), self.width)
        return self.diffusion.sample(eps, noise, self.stream, sampler=h["sampler"], steps=int(h["sampling_steps"]),
                                     eta=float(h["eta"]))

    @property
    def width(self) -> int:
        """Columns the diffusion runs on."""
        return int(self.preprocess.width)
