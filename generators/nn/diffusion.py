"""Gaussian diffusion shared by TabDDPM and latent diffusion: noise schedules, the forward process, the
ε-prediction loss with classifier-free label dropout, ancestral DDPM and DDIM sampling, and guidance.

Notation (Ho et al. 2020; Nichol & Dhariwal 2021; Song et al. 2021): timestep indices t = 0..T-1 (the
papers' t = 1..T), ᾱ_t = Π_{s ≤ t} (1 − β_s), q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I). A denoiser is
called as ``eps(x_t, t, labels)`` with t an integer tensor; a sampler takes an ``EpsFunction`` of
(x_t, t) only, so guidance is a wrapper (:func:`guided`) and the samplers never see labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from generators.nn.train import RandomStream

SCHEDULES = ("cosine", "linear")
MAX_BETA = 0.999
EpsFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cosine_betas(steps: int, offset: float = 0.008) -> np.ndarray:
    """Nichol & Dhariwal: ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s) · π/2), β_t = min(1 − ᾱ_t/ᾱ_{t−1}, 0.999)."""
    grid = np.arange(steps + 1, dtype=np.float64) / steps
    f = np.cos((grid + offset) / (1 + offset) * math.pi / 2) ** 2
    return np.minimum(1.0 - f[1:] / f[:-1], MAX_BETA)


def linear_betas(steps: int, start: float = 1e-4, end: float = 0.02) -> np.ndarray:
    """Ho et al.'s β from 1e-4 to 0.02 at T = 1000, scaled by 1000/T for other T (Nichol & Dhariwal)."""
    scale = 1000.0 / steps
    return np.linspace(scale * start, min(scale * end, MAX_BETA), steps, dtype=np.float64)


def make_betas(schedule: str, steps: int) -> np.ndarray:
    if schedule == "cosine":
        return cosine_betas(steps)
    if schedule == "linear":
        return linear_betas(steps)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


def respaced_timesteps(total: int, steps: int) -> np.ndarray:
    """``steps`` timesteps of 0..total-1 spaced by total/steps from 0 (DDIM's uniform skip: at T 1000 and 50
    steps, 980, 960, ..., 0), noisiest first. The skip never starts at T-1, where a cosine schedule's
    ᾱ (2e-9) would scale the denoiser's error by √(ᾱ_next/ᾱ_{T-1}) ≈ 600 in the first DDIM step."""
    if not 1 <= steps <= total:
        raise ValueError(f"sampling steps must be in 1..{total}, got {steps}")
    return np.floor(np.arange(steps) * total / steps).astype(np.int64)[::-1].copy()


class GaussianDiffusion:
    """The forward process, its loss and its two samplers for one β schedule (kept in float64 on the
    CPU; per-step coefficients are cast to the data's dtype when used)."""

    def __init__(self, betas: np.ndarray):
        self.betas = np.asarray(betas, dtype=np.float64)
        if self.betas.ndim != 1 or not np.all((self.betas > 0) & (self.betas < 1)):
            raise ValueError("betas must be a 1-D array in (0, 1)")
        self.steps = len(self.betas)
        self.alpha_bar = np.cumprod(1.0 - self.betas)
        self.alpha_bar_prev = np.append(1.0, self.alpha_bar[:-1])

    @classmethod
    def from_schedule(cls, schedule: str, steps: int) -> GaussianDiffusion:
        return cls(make_betas(schedule, steps))

    def _at(self, values: np.ndarray, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t] as a column that broadcasts over the rows of ``like``."""
        picked = torch.as_tensor(values, dtype=like.dtype)[t.cpu()].to(like.device)
        return picked.view(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε."""
        return self._at(np.sqrt(self.alpha_bar), t, x0) * x0 + self._at(np.sqrt(1 - self.alpha_bar), t, x0) * noise

    def predict_start(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t."""
        return (x_t - self._at(np.sqrt(1 - self.alpha_bar), t, x_t) * eps) / self._at(np.sqrt(self.alpha_bar), t, x_t)

    def loss(self, denoiser: nn.Module, x0: torch.Tensor, labels: torch.Tensor, stream: RandomStream, *,
             null_label: int | None = None, p_uncond: float = 0.0) -> torch.Tensor:
        """MSE between ε and ε_θ(x_t, t, y) for t ~ U{0..T-1}; with ``p_uncond`` > 0 each label is replaced
        by ``null_label`` with that probability (classifier-free guidance training)."""
        n = len(x0)
        t = torch.clamp((stream.uniform(n) * self.steps).long(), max=self.steps - 1)
        noise = stream.normal(*x0.shape)
        if p_uncond > 0:
            if null_label is None:
                raise ValueError("p_uncond > 0 needs a null label")
            labels = torch.where(stream.uniform(n) < p_uncond, torch.full_like(labels, null_label), labels)
        return nn.functional.mse_loss(denoiser(self.q_sample(x0, t, noise), t.to(x0.device), labels), noise)

    @torch.no_grad()
    def ddpm_sample(self, eps: EpsFunction, noise: torch.Tensor, stream: RandomStream) -> torch.Tensor:
        """Ancestral sampling over all T steps with variance β_t ("fixed large"; no noise at the last step)
        and the posterior mean μ̃_t(x_t, x̂_0); x̂_0 is not clipped."""
        coef_start = self.betas * np.sqrt(self.alpha_bar_prev) / (1 - self.alpha_bar)
        coef_now = (1 - self.alpha_bar_prev) * np.sqrt(1 - self.betas) / (1 - self.alpha_bar)
        x = noise
        for step in range(self.steps - 1, -1, -1):
            t = torch.full((len(x),), step, dtype=torch.long, device=x.device)
            start = self.predict_start(x, t, eps(x, t))
            x = float(coef_start[step]) * start + float(coef_now[step]) * x
            if step > 0:
                x = x + math.sqrt(self.betas[step]) * stream.normal(*x.shape).to(x.dtype)
        return x

    @torch.no_grad()
    def ddim_sample(self, eps: EpsFunction, noise: torch.Tensor, stream: RandomStream, steps: int,
                    eta: float = 0.0) -> torch.Tensor:
        """DDIM on ``steps`` evenly respaced timesteps: x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'} − σ²) ε̂ + σ z with
        σ = η √((1 − ᾱ_{t'})/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_{t'}); η = 0 is deterministic given the initial noise."""
        times = respaced_timesteps(self.steps, steps)
        x = noise
        for i, step in enumerate(times):
            t = torch.full((len(x),), int(step), dtype=torch.long, device=x.device)
            predicted = eps(x, t)
            start = self.predict_start(x, t, predicted)
            now = self.alpha_bar[step]
            prev = self.alpha_bar[times[i + 1]] if i + 1 < len(times) else 1.0
            sigma = eta * math.sqrt((1 - prev) / (1 - now) * (1 - now / prev))
            x = math.sqrt(prev) * start + math.sqrt(max(1 - prev - sigma ** 2, 0.0)) * predicted
            if sigma > 0:
                x = x + sigma * stream.normal(*x.shape).to(x.dtype)
        return x

    def sample(self, eps: EpsFunction, noise: torch.Tensor, stream: RandomStream, *, sampler: str,
               steps: int | None = None, eta: float = 0.0) -> torch.Tensor:
        """``sampler`` "ddpm" (ancestral, all T steps) or "ddim" (``steps`` respaced steps, η ``eta``)."""
        if sampler == "ddpm":
            return self.ddpm_sample(eps, noise, stream)
        if sampler == "ddim":
            return self.ddim_sample(eps, noise, stream, steps or self.steps, eta)
        raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")


def guided(denoiser: nn.Module, labels: torch.Tensor, *, scale: float = 1.0, null_label: int | None = None
           ) -> EpsFunction:
    """ε̂ = ε_θ(x, t, ∅) + w · (ε_θ(x, t, y) − ε_θ(x, t, ∅)) (classifier-free guidance; one batched call);
    w = 1 is the plain conditional model and needs no null label, w = 0 the unconditional one."""
    if scale == 1.0:
        return lambda x, t: denoiser(x, t, labels)
    if null_label is None:
        raise ValueError("guidance scale != 1 needs a model trained with a null label")
    both = torch.cat([labels, torch.full_like(labels, null_label)])

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        conditional, unconditional = denoiser(torch.cat([x, x]), torch.cat([t, t]), both).chunk(2)
        return unconditional + scale * (conditional - unconditional)

    return eps
