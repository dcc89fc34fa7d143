"""Genotype dosages as one-hot channels for networks: the project's encoding of Das & Shi's one-hot input
(unphased 0/1/2 as hom-ref, het, hom-alt), padded to a length the network's up- and down-sampling needs."""

from __future__ import annotations

import numpy as np

from generators.nn.preprocess import GENOTYPE_STATES, genotype_from_channels, genotype_one_hot


class GenotypeChannels:
    """Dosages (n x L) to flattened channels (n x 3·L'), L' = L right-padded with hom-ref SNPs to a multiple
    of ``multiple``; the inverse takes the argmax over channels and strips the padding."""

    def __init__(self, multiple: int = 1):
        self.multiple = multiple

    def fit(self, X: np.ndarray) -> GenotypeChannels:
        self.n_snps = np.asarray(X).shape[1]
        self.padded_snps = self.n_snps + (-self.n_snps) % self.multiple
        return self

    @property
    def width(self) -> int:
        return GENOTYPE_STATES * self.padded_snps

    def transform(self, X: np.ndarray) -> np.ndarray:
        channels = np.zeros((len(X), GENOTYPE_STATES, self.padded_snps), dtype=np.float32)
        channels[:, 0, self.n_snps:] = 1.0  # padding SNPs are hom-ref
        channels[:, :, :self.n_snps] = genotype_one_hot(X)
        return channels.reshape(len(X), self.width)

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        channels = np.asarray(Z).reshape(len(Z), GENOTYPE_STATES, self.padded_snps)
        return genotype_from_channels(channels[:, :, :self.n_snps])
