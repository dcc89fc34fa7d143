"""Gene-graph attention of AttGAN (Lacan, Sebag & Hanczar, ISMB 2023), refining a generator's output.

One head works on the gene set S of one graph (the genes with >= 1 edge), n = |S|. Bias-free maps over the gene
axis give one scalar query, key and value per gene: q = W_q x_S, k = W_k x_S, v = W_v x_S (n x n each; W_q and
W_k optionally low-rank A·B). Scores are distances s_ij = |q_i - k_j| for j in N(i), turned into weights by a
softmin over the neighbours, and o_i = sum_j a_ij v_j. Neighbours come from a padded table ``nbr`` (n x D) and
a mask: padded scores are +inf, so their weights are exactly 0 (dense attention masked by the graph, no loop
over genes). The block returns x + γ·o with o = 0 outside S and γ a learnable scalar (initialised to 0 in the
paper). With two graphs (PPI and co-expression), each has its own head; genes in both take a learned per-gene
2-way mix of the two outputs (logits initialised with N(0, 1) draws).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def projection(n: int, rank: int | None) -> nn.Module:
    """A bias-free linear map R^n -> R^n, full (n x n) or factorised through ``rank`` dimensions."""
    if rank is None or rank >= n:
        return nn.Linear(n, n, bias=False)
    return nn.Sequential(nn.Linear(n, rank, bias=False), nn.Linear(rank, n, bias=False))


class GraphAttentionHead(nn.Module):
    """Attention over the genes ``genes`` (positions in the generator output) restricted to a graph.

    ``neighbours`` (n x D, int) holds for each gene of S the positions *in S* of its neighbours, ``mask`` (n x D,
    bool) which slots are real; every gene needs at least one real slot. ``rank`` makes W_q and W_k low-rank.
    """

    def __init__(self, genes: torch.Tensor, neighbours: torch.Tensor, mask: torch.Tensor, rank: int | None = None):
        super().__init__()
        genes = torch.as_tensor(genes, dtype=torch.long)
        neighbours = torch.as_tensor(neighbours, dtype=torch.long)
        mask = torch.as_tensor(mask, dtype=torch.bool)
        n = len(genes)
        if neighbours.shape != mask.shape or neighbours.shape[0] != n:
            raise ValueError(f"neighbour table {tuple(neighbours.shape)} and mask {tuple(mask.shape)} "
                             f"must both be ({n}, D)")
        if n and not bool(mask.any(dim=1).all()):
            raise ValueError("every gene of an attention head needs at least one neighbour")
        if n > 1 and not bool((genes[1:] > genes[:-1]).all()):
            raise ValueError("the genes of an attention head must be sorted and distinct")
        self.register_buffer("genes", genes)
        self.register_buffer("neighbours", neighbours)
        self.register_buffer("mask", mask)
        self.rank = rank if rank is not None and rank < n else None
        self.query = projection(n, self.rank)
        self.key = projection(n, self.rank)
        self.value = nn.Linear(n, n, bias=False)

    def attend(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights a (B, n, D), zero on padding, and the head's output o (B, n) for generator rows x (B, width).

        Computed gene-major, (n, D, B): gathering whole rows of k and v by neighbour (index_select on dim 0) is
        the fastest gather on CPU, forward and backward."""
        x_s = x.index_select(1, self.genes)
        q, k, v = (layer(x_s).T.contiguous() for layer in (self.query, self.key, self.value))
        n, width = self.neighbours.shape
        flat = self.neighbours.flatten()
        k_nbr = k.index_select(0, flat).view(n, width, -1)
        v_nbr = v.index_select(0, flat).view(n, width, -1)
        padding = torch.zeros(self.mask.shape, dtype=x.dtype, device=x.device).masked_fill(~self.mask, -math.inf)
        distance = (q.unsqueeze(1) - k_nbr).abs()
        weights = torch.softmax(padding.unsqueeze(2) - distance, dim=1)  # softmin over the neighbours
        return weights.permute(2, 0, 1), (weights * v_nbr).sum(dim=1).T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attend(x)[1]


class GraphAttention(nn.Module):
    """x_out = x + γ·o: the heads' outputs placed on their genes (0 elsewhere), mixed per gene where two heads
    share a gene (softmax of learned logits, drawn from N(0, 1) at initialisation)."""

    def __init__(self, heads: list[GraphAttentionHead], gamma_init: float = 0.0):
        super().__init__()
        if len(heads) > 2:
            raise ValueError("graph attention mixes at most two heads (PPI and co-expression)")
        self.heads = nn.ModuleList(heads)
        self.gamma = nn.Parameter(torch.tensor(float(gamma_init)))
        shared_first = shared_second = torch.zeros(0, dtype=torch.long)
        if len(heads) == 2:  # genes are sorted in each head, so the shared ones come in the same order
            first, second = heads[0].genes, heads[1].genes
            shared_first = torch.isin(first, second).nonzero().flatten()
            shared_second = torch.isin(second, first).nonzero().flatten()
        self.register_buffer("shared_first", shared_first)  # positions of shared genes in each head
        self.register_buffer("shared_second", shared_second)
        self.mix = nn.Parameter(torch.randn(len(shared_first), 2))

    @property
    def n_shared(self) -> int:
        return len(self.shared_first)

    def refinement(self, x: torch.Tensor) -> torch.Tensor:
        """o (B, width): each head's output on its genes, mixed on shared genes, 0 outside every graph."""
        out = torch.zeros_like(x)
        mix = torch.softmax(self.mix, dim=1)
        for h, head in enumerate(self.heads):
            o = head(x)
            if self.n_shared:
                weight = torch.ones(o.shape[1], dtype=o.dtype, device=o.device)
                weight = weight.index_copy(0, self.shared_first if h == 0 else self.shared_second, mix[:, h])
                o = o * weight
            out = out.index_add(1, head.genes, o)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not len(self.heads):  # no graph: nothing to refine
            return x
        return x + self.gamma * self.refinement(x)


class AttentionRefinedGenerator(nn.Module):
    """G(z, labels) followed by the graph attention block (AttGAN's generator)."""

    def __init__(self, base: nn.Module, attention: GraphAttention):
        super().__init__()
        self.base, self.attention = base, attention

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.attention(self.base(z, labels))
