"""The Mendelian hybridizer of Das & Shi (ACM BCB 2022): block-recombinant offspring of the genomes of
one population.

The SNP axis is cut into contiguous blocks (the last block holds the remainder). One offspring copy
of n parents draws, for every block independently, a permutation of the n parents and takes the
block from them: each offspring row is a mosaic of parents' blocks, and each block's column sums, so
the population's allele frequencies, are those of the parents exactly. Unlike the source (whose
in-place shuffles of array views also shuffled the stacked real rows and made the first two copies
identical), the parents are never modified and every copy draws its own permutations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from generators.base import rows_by_class

LONG_PANEL_SNPS = 7000  # from this length on, blocks of BLOCK_SNPS as in the source; shorter panels get 7 blocks
BLOCK_SNPS = 1000
SHORT_PANEL_BLOCKS = 7


def default_block_snps(n_snps: int) -> int:
    """1,000 SNPs (the source's block) for panels of 7,000 SNPs or more, else ceil(L / 7)."""
    if n_snps >= LONG_PANEL_SNPS:
        return BLOCK_SNPS
    return max(1, math.ceil(n_snps / SHORT_PANEL_BLOCKS))


def block_bounds(n_snps: int, block_snps: int) -> list[tuple[int, int]]:
    """(start, stop) of each block of ``block_snps`` SNPs; the last block holds the remainder."""
    if block_snps < 1:
        raise ValueError(f"block length must be at least 1 SNP, got {block_snps}")
    return [(start, min(start + block_snps, n_snps)) for start in range(0, n_snps, block_snps)]


def recombine(parents: np.ndarray, copies: int, block_snps: int, rng: np.random.Generator) -> np.ndarray:
    """``copies`` x n offspring rows of the n ``parents`` (rows of one population): copy k takes each
    block from an independent permutation of the parents. Every full copy keeps the column sums."""
    parents = np.asarray(parents)
    n, n_snps = parents.shape
    if n == 0:
        raise ValueError("the hybridizer needs at least one parent row")
    if copies < 1:
        raise ValueError(f"the hybridizer needs at least one copy, got {copies}")
    out = np.empty((copies * n, n_snps), dtype=parents.dtype)
    for start, stop in block_bounds(n_snps, block_snps):
        donors = np.concatenate([rng.permutation(n) for _ in range(copies)])
        out[:, start:stop] = parents[donors, start:stop]
    return out


def hybridize(X: np.ndarray, y: np.ndarray, labels: Iterable[int], copies: int, block_snps: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Offspring (``copies`` per parent) of each label in ``labels``, recombined within that label only;
    returns the offspring rows and their labels."""
    by_label = rows_by_class(np.asarray(y))
    parts, part_labels = [], []
    for label in sorted(set(labels)):
        offspring = recombine(X[by_label[label]], copies, block_snps, rng)
        parts.append(offspring)
        part_labels.append(np.full(len(offspring), label, dtype=np.asarray(y).dtype))
    if not parts:
        return X[:0], np.asarray(y)[:0]
    return np.concatenate(parts), np.concatenate(part_labels)


def recombinants_for(X: np.ndarray, n: int, block_snps: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` offspring of the parents ``X``: whole copies while they fit, then a random subset of one more
    copy (so n equal to the number of parents keeps the allele frequencies exactly)."""
    copies = max(1, math.ceil(n / len(X)))
    offspring = recombine(X, copies, block_snps, rng)
    full = (n // len(X)) * len(X)
    keep = np.arange(full)
    if n > full:
        keep = np.concatenate([keep, full + rng.permutation(len(X))[: n - full]])
    return offspring[keep]
