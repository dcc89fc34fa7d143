"""Optimisers by name, with the settings the specifications use."""

from __future__ import annotations

from collections.abc import Iterable

import torch

ADAM_BETAS = {"adam": (0.9, 0.99), "adam-gan": (0.5, 0.9)}


def make_optimiser(kind: str, parameters: Iterable[torch.nn.Parameter], lr: float, *,
                   amsgrad: bool = False) -> torch.optim.Optimizer:
    """``rmsprop`` (no momentum), ``adam`` (β 0.9, 0.99) or ``adam-gan`` (β 0.5, 0.9)."""
    if kind == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr)
    if kind in ADAM_BETAS:
        return torch.optim.Adam(parameters, lr=lr, betas=ADAM_BETAS[kind], amsgrad=amsgrad)
    raise ValueError(f"optimiser must be 'rmsprop', 'adam' or 'adam-gan', got {kind!r}")
