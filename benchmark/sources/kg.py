"""1000 Genomes genotypes: a VCF (plain, BGZF or a zip holding ``HLA.recode.vcf``) plus the sample panel.

Labels come from the 1000 Genomes ``.ped`` (``Individual ID``, ``Population``): ``superpopulation``
(AFR, AMR, EAS, EUR, SAS; default) or ``population`` (26 codes). Genotypes are ALT dosages 0/1/2
(int8) of biallelic SNPs (see :mod:`benchmark.readers.vcf`); the phased alleles are kept as
haplotypes (samples x 2 x SNPs, int8) for generators that model haplotypes.

Features: SNPs in position order with minor-allele frequency >= ``min_maf`` over every sample of
the classes with at least the card's ``min_class_size`` samples (the samples the split divides,
:func:`benchmark.sources.split_samples`; never the train split alone, which would keep the train
rows' own rare variants and drop the holdout's), then the first ``max_snps`` of them (``"all"``:
no cap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import ConfigError, DataError
from benchmark.readers.labels import read_labels_file
from benchmark.readers.vcf import read_vcf
from benchmark.sources import split_samples

LABELS = {"superpopulation": "superpopulation", "population": "Population"}


def build_1kg(paths: dict[str, Path], params: dict[str, Any], *, label: str, min_class_size: int) -> dict[str, Any]:
    if label not in LABELS:
        raise ConfigError(f"1000 Genomes: label must be one of {', '.join(LABELS)}, got {label!r}")
    max_snps = params.get("max_snps", 1024)
    if max_snps != "all" and (not isinstance(max_snps, int) or isinstance(max_snps, bool) or max_snps < 1):
        raise ConfigError(f"max_snps must be a positive integer or 'all', got {max_snps!r}")
    min_maf = float(params.get("min_maf", 0.01))
    parsed = read_vcf(paths["vcf"], haplotypes=True)
    notes = list(parsed.notes)
    mapping, _, label_notes = read_labels_file(paths["panel"], label_column=LABELS[label],
                                               samples=parsed.sample_ids.tolist())
    notes.extend(label_notes)
    has = np.array([s in mapping for s in parsed.sample_ids], dtype=bool)
    if not has.any():
        raise DataError(f"{paths['vcf'].name}: no sample of the VCF is in {paths['panel'].name}")
    if (~has).any():
        notes.append(f"dropped {int((~has).sum())} samples without a label in {paths['panel'].name}")
    ids = parsed.sample_ids[has]
    labels = np.array([mapping[s] for s in ids])
    G, H = parsed.X[has], parsed.haplotypes[has]
    order = np.argsort(parsed.positions, kind="stable")
    in_split = split_samples(labels, min_class_size, paths["vcf"].name)
    over = f"over the {int(in_split.sum())} samples of the classes with >= {min_class_size} samples"
    freq = G[in_split][:, order].mean(axis=0, dtype=np.float64) / 2.0
    maf = np.minimum(freq, 1.0 - freq)
    passing = order[maf >= min_maf]
    chosen = passing if max_snps == "all" else passing[:max_snps]
    notes.append(f"{passing.size} of {G.shape[1]} SNPs have MAF >= {min_maf} {over}; kept the first {chosen.size} "
                 "by position" + ("" if max_snps == "all" else f" (max_snps = {max_snps})"))
    if chosen.size == 0:
        raise DataError(f"{paths['vcf'].name}: no SNP has MAF >= {min_maf} {over}")
    return {
        "X": np.ascontiguousarray(G[:, chosen], dtype=np.int8),
        "sample_ids": ids,
        "feature_names": parsed.feature_names[chosen],
        "positions": parsed.positions[chosen],
        "labels": {label: labels},
        "groups": None,
        "haplotypes": np.ascontiguousarray(H[:, :, chosen], dtype=np.int8),
        "notes": notes,
        "info": {"max_snps": max_snps, "min_maf": min_maf,
                 "haplotypes": "load with benchmark.data.load_haplotypes(id): samples x 2 x SNPs int8"},
    }
