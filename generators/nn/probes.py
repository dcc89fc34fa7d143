"""GMDA's probes (Lacan, Hanczar & Sebag, ECML-PKDD 2024): soft axis-aligned boxes in random coordinate
subsets, whose real and generated occupancies are matched per class.

A probe h is a centre (a train row), p coordinates and, on each of them, the bounds that row was given
once before training (:func:`class_quantile_bounds`). Everything is batched: the K probes of a step are
three tensors ``dims`` (K, p), ``lower`` and ``upper`` (K, p), and a batch of B rows is scored against all
of them at once (:func:`membership`, (B, K)). Per-class means are one-hot matrix products.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch.nn import functional

if TYPE_CHECKING:
    from generators.nn.train import RandomStream

LOSS_FLOOR = 1e-3  # the 1e-3 in L(h) = Σ_c |μ_r − μ_f| / (1e-3 + log(1 + max(μ_r, μ_f)))
SATURATED = 1.0 - 1e-6  # P_h(x) is capped here in the dark-region term: 1 − P_h(x) >= 1e-6, never 0
BOUNDS_CHUNK = 256  # features sorted at a time when computing the bounds (memory stays ~n x 256)


@dataclass
class Probes:
    """K probes: their centres (train row indices), coordinates (K, p) and bounds on them (K, p)."""

    centres: torch.Tensor
    dims: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor

    def __len__(self) -> int:
        return len(self.centres)

    def select(self, index: torch.Tensor) -> Probes:
        return Probes(self.centres[index], self.dims[index], self.lower[index], self.upper[index])

    def extend(self, other: Probes) -> Probes:
        return Probes(torch.cat([self.centres, other.centres]), torch.cat([self.dims, other.dims]),
                      torch.cat([self.lower, other.lower]), torch.cat([self.upper, other.upper]))


# ---- bounds, computed once on the (preprocessed) train rows ----

def sorted_quantile(sorted_values: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Quantiles ``q`` (same shape as ``sorted_values``, in [0, 1]) of each column of ``sorted_values``
    (n x g, sorted along rows), interpolated linearly between order statistics (numpy's default)."""
    n = sorted_values.shape[0]
    position = q * (n - 1)
    below = position.floor().long().clamp(0, n - 1)
    above = (below + 1).clamp(max=n - 1)
    fraction = (position - below).to(sorted_values.dtype)
    low, high = sorted_values.gather(0, below), sorted_values.gather(0, above)
    return low + fraction * (high - low)


def class_quantile_bounds(rows: torch.Tensor, labels: torch.Tensor, delta: float,
                          chunk: int = BOUNDS_CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower and upper bounds (both n x G) of the box each train row would centre, feature by feature.

    Within the row's class, x_d has rank F = r / (n_c − 1) (ties by position, r = 0..n_c − 1); the bounds
    are the class quantiles at F − δ and F + δ, clamped to [0, 1]; a bound clamped at a tail
    (F − δ < 0, resp. F + δ > 1) is pushed out by δ·(max − min) of that feature in that class.
    Vectorised over features, in chunks of ``chunk`` features to bound the memory of the sort.
    """
    lower, upper = torch.empty_like(rows), torch.empty_like(rows)
    for c in torch.unique(labels).tolist():
        members = torch.nonzero(labels == c).squeeze(1)
        n = len(members)
        for start in range(0, rows.shape[1], chunk):
            cols = slice(start, start + chunk)
            values = rows[members, cols]
            sorted_values, order = values.sort(dim=0, stable=True)
            ranks = torch.empty_like(order)
            ranks.scatter_(0, order, torch.arange(n, device=rows.device).unsqueeze(1).expand_as(order))
            rank = ranks.to(rows.dtype) / max(n - 1, 1)
            q_low, q_high = rank - delta, rank + delta
            low = sorted_quantile(sorted_values, q_low.clamp(0.0, 1.0))
            high = sorted_quantile(sorted_values, q_high.clamp(0.0, 1.0))
            window = delta * (sorted_values[-1] - sorted_values[0])
            lower[members, cols] = torch.where(q_low < 0, low - window, low)
            upper[members, cols] = torch.where(q_high > 1, high + window, high)
    return lower, upper


# ---- probes: creation and refresh ----

def random_coordinates(n_probes: int, n_features: int, probe_dims: int, stream: RandomStream) -> torch.Tensor:
    """``probe_dims`` distinct coordinates for each of ``n_probes`` probes (n_probes x probe_dims, sorted)."""
    if n_probes == 0:
        return torch.empty(0, probe_dims, dtype=torch.long, device=stream.device)
    keys = stream.uniform(n_probes, n_features)  # the p largest of i.i.d. keys: a uniform p-subset
    return keys.topk(probe_dims, dim=1).indices.sort(dim=1).values


def probes_at(centres: torch.Tensor, dims: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> Probes:
    """Probes centred on train rows ``centres`` with coordinates ``dims``, reading the rows' bounds."""
    rows = centres.unsqueeze(1)
    return Probes(centres, dims, lower[rows, dims], upper[rows, dims])


def first_probes(batch_index: torch.Tensor, n_probes: int, probe_dims: int, lower: torch.Tensor,
                 upper: torch.Tensor, stream: RandomStream) -> Probes:
    """The first step's probes: ``n_probes`` distinct centres drawn uniformly from the batch."""
    pick = stream.choice(len(batch_index), n_probes).to(batch_index.device)
    centres = batch_index[pick]
    return probes_at(centres, random_coordinates(len(centres), lower.shape[1], probe_dims, stream), lower, upper)


def n_kept(n_probes: int, eta: float) -> int:
    """⌊ηK⌋, robust to float rounding (0.29 * 100 is 28.999…)."""
    return int(math.floor(eta * n_probes + 1e-9))


def n_new_per_class(n_probes: int, eta: float, n_classes_in_batch: int) -> int:
    """⌊(1 − η)K / C⌋ + 1, with (1 − η)K taken as K − ⌊ηK⌋ so kept and new probes add up to about K."""
    return (n_probes - n_kept(n_probes, eta)) // max(n_classes_in_batch, 1) + 1


def refresh_probes(probes: Probes, losses: torch.Tensor, batch_index: torch.Tensor, batch_labels: torch.Tensor,
                   n_probes: int, eta: float, probe_dims: int, lower: torch.Tensor, upper: torch.Tensor,
                   stream: RandomStream) -> Probes:
    """Keep the ⌊ηK⌋ probes of highest loss; add, for each class present in the (previous) batch,
    ⌊(1 − η)K / C⌋ + 1 probes (C = classes present; at most that class's rows in the batch) centred on
    distinct rows of that class drawn uniformly from the batch, each with fresh coordinates.

    Classes absent from the batch get no new probe (their share goes to the present classes).
    """
    keep = min(n_kept(n_probes, eta), len(probes))
    kept = probes.select(losses.topk(keep).indices) if keep > 0 else probes.select(losses.new_zeros(0).long())
    counts = torch.bincount(batch_labels)
    per_class = n_new_per_class(n_probes, eta, int((counts > 0).sum()))
    # a random order within each class: shuffle, then stable-sort by label
    shuffle = stream.permutation(len(batch_labels)).to(batch_labels.device)
    by_class = torch.sort(batch_labels[shuffle], stable=True)
    starts = torch.cumsum(counts, 0) - counts
    position = torch.arange(len(batch_labels), device=batch_labels.device) - starts[by_class.values]
    chosen = shuffle[by_class.indices][position < per_class]
    centres = batch_index[chosen]
    new = probes_at(centres, random_coordinates(len(centres), lower.shape[1], probe_dims, stream), lower, upper)
    return kept.extend(new)


# ---- soft membership and the losses ----

def membership(x: torch.Tensor, probes: Probes, sharpness: float) -> torch.Tensor:
    """P_h(x) for every row of ``x`` (B x G) and probe h: (B, K), all probes in one operation.

    P_h(x) = Π_{d∈h} σ_λ(x_d − l_hd) σ_λ(u_hd − x_d), σ_λ(u) = 1 / (1 + e^{−λu}): the rows' probe
    coordinates are gathered into (B, K, p) and scored against the (K, p) bounds.
    """
    k, p = probes.dims.shape
    values = (sharpness * x).index_select(1, probes.dims.reshape(-1)).view(len(x), k, p)
    inside = torch.sigmoid(values - sharpness * probes.lower) * torch.sigmoid(sharpness * probes.upper - values)
    return inside.prod(dim=2)


def one_hot(labels: torch.Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return functional.one_hot(labels, n_classes).to(dtype)


def class_means(values: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """Per-class means of ``values`` (B x K) over the rows of each class (onehot B x C): (C, K); 0 for a
    class without rows."""
    counts = onehot.sum(dim=0).clamp(min=1.0)
    return (onehot.T @ values) / counts.unsqueeze(1)


def probe_losses(p_real: torch.Tensor, p_fake: torch.Tensor, onehot_real: torch.Tensor,
                 onehot_fake: torch.Tensor) -> torch.Tensor:
    """L(h) = Σ_c |μ_r − μ_f| / (1e-3 + log(1 + max(μ_r, μ_f))) over the classes c of the real batch: (K,)."""
    mean_real, mean_fake = class_means(p_real, onehot_real), class_means(p_fake, onehot_fake)
    per_class = (mean_real - mean_fake).abs() / (LOSS_FLOOR + torch.log1p(torch.maximum(mean_real, mean_fake)))
    present = (onehot_real.sum(dim=0) > 0).to(per_class.dtype)
    return present @ per_class


def dark_region(p: torch.Tensor) -> torch.Tensor:
    """π(x) = Π_h (1 − P_h(x)) per row, from P (B, K), summed in log space (underflows cleanly to 0): (B,).

    P is capped at 1 − 1e-6 so that log(1 − P) and its gradient −1 / (1 − P) stay finite.
    """
    return torch.log1p(-p.clamp(max=SATURATED)).sum(dim=1).exp()


def dark_region_loss(p_real: torch.Tensor, p_fake: torch.Tensor, onehot_real: torch.Tensor,
                     onehot_fake: torch.Tensor) -> torch.Tensor:
    """L_DH = Σ_c |mean over real rows of c of π − mean over fake rows of c of π| (classes of the real batch)."""
    mean_real = class_means(dark_region(p_real).unsqueeze(1), onehot_real).squeeze(1)
    mean_fake = class_means(dark_region(p_fake).unsqueeze(1), onehot_fake).squeeze(1)
    present = (onehot_real.sum(dim=0) > 0).to(mean_real.dtype)
    return (present * (mean_real - mean_fake).abs()).sum()
