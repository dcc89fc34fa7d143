"""The Mendelian hybridizer of Das & Shi (ACM BCB 2022) as a generator: no model, every requested row
is a block-recombinant of the real train rows of its label (see ``generators/hybridizer.py``).

Within a block, LD and allele frequencies are the real ones by construction; across block boundaries
the parents are independent. Every output block is a real genome's block, so privacy metrics should
show what this costs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from benchmark.dataset import DatasetMeta
from benchmark.registry import register_generator
from generators.base import Generator, finish_output, rows_by_class
from generators.hybridizer import default_block_snps, recombinants_for

# block_snps None: ceil(L / 7) SNPs for panels under 7,000 SNPs, 1,000 SNPs (the source's blocks) above.
BUDGETS: dict[str, dict[str, Any]] = {budget: {"block_snps": None} for budget in ("smoke", "default", "paper")}


@register_generator
class Mendelian(Generator):
    """Block-recombinant offspring of the real genomes of each label."""

    name = "mendelian"
    modalities = frozenset({"genotype"})
    budgets: ClassVar[dict[str, dict[str, Any]]] = BUDGETS

    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> Mendelian:
        self.meta = meta
        self.X = np.asarray(X, dtype=np.int8)
        self.parents = rows_by_class(np.asarray(y))
        block = self.hparams["block_snps"]
        self.block_snps = default_block_snps(X.shape[1]) if block is None else int(block)
        self.derived_hparams["effective_block_snps"] = self.block_snps
        return self

    def sample(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        out = np.empty((len(y), self.X.shape[1]), dtype=np.int8)
        for label, want in rows_by_class(y).items():
            if label not in self.parents:
                raise ValueError(f"{self.name}: label {label} was not in the training data")
            out[want] = recombinants_for(self.X[self.parents[label]], len(want), self.block_snps, self.rng)
        return finish_output(out, self.meta.modality)
