"""Offline genotype simulation (msprime through stdpopsim) for the ``msprime-ooa`` card loader.

Deterministic: the same parameters (seed included) give byte-identical arrays.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from benchmark.errors import ConfigError

_DEFAULTS: dict[str, Any] = {
    "species": "HomSap",
    "model": "OutOfAfrica_3G09",
    "populations": None,  # default: every sampled population of the model
    "contig": "chr22",
    "left": None,
    "right": None,
    "individuals_per_population": 100,
    "engine": "msprime",
    "seed": 1,
    "max_snps": 1024,
    "min_maf": 0.01,
}


def simulate_genotypes(params: dict[str, Any]) -> dict[str, Any]:
    """Simulate diploid dosages and return the processed arrays.

    Returns a dict with ``X`` (int8, individuals x sites), ``sample_ids``, ``labels``
    (population names), ``positions`` (int64), ``feature_names`` (``<contig>:<pos>``) and
    ``notes`` (list of str: counts at each filtering step).
    """
    unknown = sorted(set(params) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(f"msprime-ooa loader: unknown parameter(s) {', '.join(unknown)}")
    p = dict(_DEFAULTS, **params)
    try:
        import stdpopsim
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise ConfigError(f"the msprime-ooa loader needs stdpopsim and msprime ({exc})") from None

    logging.getLogger("stdpopsim").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        species = stdpopsim.get_species(p["species"])
        model = species.get_demographic_model(p["model"])
        pops = list(p["populations"] or [pop.name for pop in model.populations])
        known = [pop.name for pop in model.populations]
        bad = [name for name in pops if name not in known]
        if bad:
            raise ConfigError(f"model {p['model']} has no population(s) {bad}; it has {known}")
        contig = species.get_contig(
            p["contig"],
            genetic_map=None,
            mutation_rate=model.mutation_rate,
            left=p["left"],
            right=p["right"],
        )
        n_ind = int(p["individuals_per_population"])
        engine = stdpopsim.get_engine(p["engine"])
        ts = engine.simulate(model, contig, {name: n_ind for name in pops}, seed=int(p["seed"]))

    # individuals in population order, then by id; labels from the population metadata
    pop_names = [ts.population(i).metadata.get("name", str(i)) for i in range(ts.num_populations)]
    individuals = [ind for ind in ts.individuals() if len(ind.nodes) == 2]
    individuals.sort(key=lambda ind: (pops.index(pop_names[ts.node(ind.nodes[0]).population]), ind.id))
    nodes = np.array([ind.nodes for ind in individuals], dtype=np.int32)  # (n, 2)
    labels = np.array([pop_names[ts.node(ind.nodes[0]).population] for ind in individuals])
    counters: dict[str, int] = {}
    sample_ids = []
    for label in labels:
        counters[label] = counters.get(label, 0) + 1
        sample_ids.append(f"{label}_{counters[label]:04d}")

    # sample node index → column of genotype_matrix (samples are listed in ts.samples() order)
    column = {int(node): k for k, node in enumerate(ts.samples())}
    first = np.array([column[int(a)] for a in nodes[:, 0]])
    second = np.array([column[int(b)] for b in nodes[:, 1]])

    dosages, positions = [], []
    n_sites = n_multi = 0
    for variant in ts.variants():
        n_sites += 1
        if len(variant.alleles) != 2:
            n_multi += 1
            continue
        g = variant.genotypes
        dosages.append((g[first] + g[second]).astype(np.int8))
        positions.append(int(variant.site.position))
    X = np.array(dosages, dtype=np.int8).T if dosages else np.zeros((len(labels), 0), np.int8)
    pos = np.array(positions, dtype=np.int64)

    n = X.shape[0]
    freq = X.sum(axis=0, dtype=np.int64) / (2.0 * n)
    maf = np.minimum(freq, 1.0 - freq)
    keep = maf >= float(p["min_maf"])
    X, pos = X[:, keep], pos[keep]
    n_maf = X.shape[1]
    max_snps = p["max_snps"]
    if max_snps is not None and max_snps != "all" and n_maf > int(max_snps):
        idx = np.unique(np.round(np.linspace(0, n_maf - 1, int(max_snps))).astype(np.int64))
        X, pos = X[:, idx], pos[idx]
    notes = [
        f"simulated {n_sites} sites for {n} diploid individuals ({', '.join(pops)}; {n_ind} each), seed {p['seed']}",
        f"dropped {n_multi} multi-allelic sites; {n_sites - n_multi} biallelic",
        f"kept {n_maf} sites with MAF >= {p['min_maf']} (MAF over all simulated individuals)",
        f"thinned to {X.shape[1]} sites evenly spaced by index in position order (max_snps={max_snps})",
    ]
    chrom = str(p["contig"])
    return {
        "X": np.ascontiguousarray(X, dtype=np.int8),
        "sample_ids": np.array(sample_ids),
        "labels": labels,
        "positions": pos,
        "feature_names": np.array([f"{chrom}:{q}" for q in pos]),
        "notes": notes,
    }
