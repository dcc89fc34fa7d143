"""Evaluation protocols: which real rows generators train on and which labels they are asked for.

- ``standard``: train on the train split, sample the train label counts.
- ``biased`` (Offspring GAN, Das & Shi 2022): chosen classes are cut to a fraction of their train
  rows (train′); holdout and test stay whole; generators are asked for the *unbiased* train counts.
- ``small-n`` (Lacan et al. 2023): train on N real rows (stratified, at least 2 per class; with more
  than N/2 classes only the N/2 largest are kept); the subsample is drawn again for every seed;
  generators are asked for max(n_fake) rows with the train class proportions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.errors import ConfigError

log = logging.getLogger(__name__)

PROTOCOLS = ("standard", "biased", "small-n")
MIN_BIASED_ROWS = 5


@dataclass
class Part:
    X: np.ndarray
    y: np.ndarray  # integer class codes
    ids: np.ndarray


@dataclass(frozen=True)
class ProtocolConfig:
    name: str = "standard"
    biased_labels: tuple[str, ...] = ()  # empty: every class but the two largest
    biased_fraction: float = 0.2
    small_n: tuple[int, ...] = (50, 100)
    n_fake: tuple[int, ...] = (0, 1000, 3000)

    def __post_init__(self) -> None:
        if self.name not in PROTOCOLS:
            raise ConfigError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {self.name!r}")
        if not 0 < self.biased_fraction <= 1:
            raise ConfigError(f"--biased-fraction must be in (0, 1], got {self.biased_fraction}")
        if any(n < 4 for n in self.small_n):
            raise ConfigError(f"--small-n values must be at least 4, got {list(self.small_n)}")
        if any(m < 0 for m in self.n_fake) or 0 not in self.n_fake:
            raise ConfigError(f"--n-fake must be non-negative and include 0, got {list(self.n_fake)}")


@dataclass
class ProtocolView:
    """The real rows, class names and requested labels one group of jobs sees."""

    tag: str  # folder suffix and record protocol: "standard", "biased", "small-n-50"
    parts: dict[str, Part]
    class_names: tuple[str, ...]
    requested: np.ndarray  # labels generators are asked for
    info: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = None  # jobs of this view; None = every seed


def protocol_views(parts: dict[str, Part], class_names: tuple[str, ...], protocol: ProtocolConfig,
                   seeds: int, data_seed: int) -> list[ProtocolView]:
    """One view per group of jobs that share their real data."""
    if protocol.name == "standard":
        return [ProtocolView("standard", parts, class_names, np.sort(parts["train"].y, kind="stable"),
                             {"name": "standard"})]
    if protocol.name == "biased":
        return [biased_view(parts, class_names, protocol, data_seed)]
    return [small_n_view(parts, class_names, protocol, n, seed) for n in protocol.small_n for seed in range(seeds)]


def biased_view(parts: dict[str, Part], class_names: tuple[str, ...], protocol: ProtocolConfig,
                data_seed: int) -> ProtocolView:
    train = parts["train"]
    counts = np.bincount(train.y, minlength=len(class_names))
    if protocol.biased_labels:
        unknown = sorted(set(protocol.biased_labels) - set(class_names))
        if unknown:
            raise ConfigError(f"--biased-labels {unknown} are not classes of this dataset: {list(class_names)}")
        biased = [class_names.index(label) for label in protocol.biased_labels]
    else:
        if len(class_names) < 3:
            raise ConfigError("the biased protocol needs at least 3 classes (all but the two largest are cut)")
        largest = np.argsort(-counts, kind="stable")[:2]
        biased = [c for c in range(len(class_names)) if c not in set(largest.tolist())]
    rng = np.random.default_rng(np.random.SeedSequence([data_seed, 7]))
    keep = []
    kept_counts = {}
    for c in range(len(class_names)):
        rows = np.flatnonzero(train.y == c)
        if c in biased:
            n_keep = min(len(rows), max(MIN_BIASED_ROWS, round(protocol.biased_fraction * len(rows))))
            rows = np.sort(rng.choice(rows, size=n_keep, replace=False))
        keep.append(rows)
        kept_counts[class_names[c]] = int(len(rows))
    keep_rows = np.sort(np.concatenate(keep))
    biased_train = Part(train.X[keep_rows], train.y[keep_rows], train.ids[keep_rows])
    info = {
        "name": "biased",
        "biased_labels": [class_names[c] for c in biased],
        "fraction": protocol.biased_fraction,
        "train_counts": {class_names[c]: int(counts[c]) for c in range(len(class_names))},
        "biased_train_counts": kept_counts,
    }
    log.info("biased protocol: %s cut to %.0f%% of their train rows", info["biased_labels"],
             100 * protocol.biased_fraction)
    return ProtocolView("biased", {**parts, "train": biased_train}, class_names,
                        np.sort(train.y, kind="stable"), info)


def small_n_view(parts: dict[str, Part], class_names: tuple[str, ...], protocol: ProtocolConfig,
                 n: int, seed: int) -> ProtocolView:
    train = parts["train"]
    counts = np.bincount(train.y, minlength=len(class_names))
    kept = np.sort(np.argsort(-counts, kind="stable")[: max(2, n // 2)])
    if len(kept) < len(class_names):
        log.info("small-n N=%d: keeping the %d largest classes of %d", n, len(kept), len(class_names))
    recode = np.full(len(class_names), -1)
    recode[kept] = np.arange(len(kept))
    names = tuple(class_names[c] for c in kept)
    restricted = {name: restrict(part, recode) for name, part in parts.items()}
    sub = stratified_rows(restricted["train"].y, len(names), n, np.random.default_rng(
        np.random.SeedSequence([seed, n, 11])))
    full_train = restricted["train"]
    small = Part(full_train.X[sub], full_train.y[sub], full_train.ids[sub])
    proportions = np.bincount(full_train.y, minlength=len(names)) / len(full_train.y)
    n_request = max(max(protocol.n_fake), n)
    requested = np.repeat(np.arange(len(names)), largest_remainder(proportions, n_request))
    info = {
        "name": "small-n",
        "n_true": n,
        "n_fake": list(protocol.n_fake),
        "subsample_seed": seed,
        "classes": list(names),
        "train_counts": {names[c]: int(k) for c, k in enumerate(np.bincount(small.y, minlength=len(names)))},
    }
    return ProtocolView(f"small-n-{n}", {**restricted, "train": small}, names, requested, info, seeds=(seed,))


def restrict(part: Part, recode: np.ndarray) -> Part:
    """Rows of kept classes, with class codes renumbered."""
    keep = recode[part.y] >= 0
    return Part(part.X[keep], recode[part.y[keep]], part.ids[keep])


def largest_remainder(proportions: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``proportions``."""
    raw = proportions * total
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts


def stratified_rows(y: np.ndarray, n_classes: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n row indices, proportional to the class counts of ``y`` with at least 2 per class."""
    available = np.bincount(y, minlength=n_classes)
    if n < 2 * n_classes or n > len(y):
        raise ConfigError(f"cannot draw {n} rows with >= 2 of each of {n_classes} classes from {len(y)} rows")
    counts = np.minimum(np.maximum(2, largest_remainder(available / available.sum(), n)), available)
    while counts.sum() > n:  # the floor of 2 overshot: take from the largest classes
        counts[np.argmax(counts - 2)] -= 1
    while counts.sum() < n:
        counts[np.argmax(available - counts)] += 1
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), size=k, replace=False)
                                   for c, k in enumerate(counts)]))
