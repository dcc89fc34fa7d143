"""MLP blocks and label conditioning."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

CONDITIONINGS = ("onehot", "embedding", "bits")


def norm_layer(kind: str | None, width: int) -> nn.Module:
    """``"batch"``, ``"layer"`` or None (identity)."""
    if kind is None or kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    raise ValueError(f"norm must be 'batch', 'layer' or None, got {kind!r}")


class LabelCondition(nn.Module):
    """Integer labels to a condition vector that is concatenated to a layer's input.

    ``onehot``: the one-hot vector (C). ``embedding``: a learned vector per class (``dim``).
    ``bits``: Lacan et al.'s encoding, each bit of the one-hot vector looked up in a 2-row embedding of
    size ``dim`` and flattened (C x dim); class identity is carried by position.
    """

    def __init__(self, n_classes: int, kind: str = "onehot", dim: int = 2):
        super().__init__()
        if kind not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {kind!r}")
        self.n_classes, self.kind = n_classes, kind
        if kind == "embedding":
            self.table = nn.Embedding(n_classes, dim)
            self.width = dim
        elif kind == "bits":
            self.table = nn.Embedding(2, dim)
            self.width = n_classes * dim
        else:
            self.width = n_classes

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.kind == "embedding":
            return self.table(y)
        one_hot = nn.functional.one_hot(y, self.n_classes)
        if self.kind == "bits":
            return self.table(one_hot).flatten(1)
        return one_hot.to(torch.get_default_dtype())


class MultiplicativeCondition(nn.Module):
    """A learned per-class vector multiplied elementwise with the input (Offspring GAN's conditioning)."""

    def __init__(self, n_classes: int, dim: int):
        super().__init__()
        self.table = nn.Embedding(n_classes, dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x * self.table(y)


class ConditionedMLP(nn.Module):
    """Linear layers whose every input is concatenated with the condition c (c may be empty).

    Hidden layers are Linear -> norm -> LeakyReLU(slope) -> dropout; the last layer is a bare Linear.
    """

    def __init__(self, in_dim: int, cond_dim: int, widths: Sequence[int], out_dim: int, *,
                 norm: str | None = None, slope: float = 0.05, dropout: float = 0.0):
        super().__init__()
        self.hidden = nn.ModuleList()
        width_in = in_dim
        for width in widths:
            self.hidden.append(nn.Sequential(
                nn.Linear(width_in + cond_dim, width), norm_layer(norm, width), nn.LeakyReLU(slope),
                nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            ))
            width_in = width
        self.out = nn.Linear(width_in + cond_dim, out_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = layer(torch.cat([x, c], dim=1))
        return self.out(torch.cat([x, c], dim=1))


class ConditionedNet(nn.Module):
    """A label encoder and a :class:`ConditionedMLP` that sees the encoded label at every layer."""

    def __init__(self, condition: LabelCondition, body: ConditionedMLP, *, squeeze: bool = False):
        super().__init__()
        self.condition, self.body, self.squeeze = condition, body, squeeze

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out = self.body(x, self.condition(labels))
        return out.squeeze(1) if self.squeeze else out


def conditioned_mlp(in_dim: int, widths: Sequence[int], out_dim: int, n_classes: int, conditioning: str, *,
                    condition_dim: int = 2, norm: str | None = None, slope: float = 0.05, dropout: float = 0.0,
                    squeeze: bool = False) -> ConditionedNet:
    """An MLP conditioned on integer labels at every layer (``squeeze`` drops a width-1 output axis)."""
    condition = LabelCondition(n_classes, conditioning, condition_dim)
    body = ConditionedMLP(in_dim, condition.width, widths, out_dim, norm=norm, slope=slope, dropout=dropout)
    return ConditionedNet(condition, body, squeeze=squeeze)
