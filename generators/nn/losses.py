"""Adversarial losses: Wasserstein with gradient penalty (Gulrajani et al. 2017) and hinge."""

from __future__ import annotations

from collections.abc import Callable

import torch


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """mean D(fake) - mean D(real): the critic's estimate of the negative Wasserstein-1 distance."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     alpha: torch.Tensor) -> torch.Tensor:
    """mean (‖∇ D(x̂)‖₂ - 1)² at x̂ = α x + (1 - α) x̃, with one α per row (shape (B, 1, ...))."""
    mixed = (alpha * real + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def hinge_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """mean max(0, 1 - D(x)) + mean max(0, 1 + D(x̃))."""
    return torch.relu(1.0 - real_scores).mean() + torch.relu(1.0 + fake_scores).mean()


def hinge_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """mean max(0, 1 - D(x̃)) (the Offspring GAN form)."""
    return torch.relu(1.0 - fake_scores).mean()
