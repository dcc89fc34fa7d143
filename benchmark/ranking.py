"""Ranking rules for leaderboards: score directions, best values, averaged ranks.

Pure functions on seed means, no I/O and no third-party imports, so the rules can be read and tested
on their own. A score is better when its *badness* is smaller:

- ``higher``: badness = -mean
- ``lower``: badness = mean
- ``target`` with a number: badness = |mean - target|
- ``target`` with ``null``: badness = |mean - reference| (closest to the real holdout is best)

Ranks are 1 = best, ties share the average of the ranks they span. A generator that has no value
for a score (the metric failed, or never ran) is ranked after every generator that has one.
Family rank = mean of the generator's score ranks in the family; overall rank = mean of the family
ranks of the *ranked* families. Privacy is not one of them: it is a verdict (:mod:`benchmark.verdict`),
and generators whose verdict is leak are ordered after every other generator, whatever their rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Families in the order leaderboards show them; families not listed follow alphabetically.
FAMILY_ORDER = ("fidelity", "utility", "privacy", "genomics")
#: Families shown with per-score ranks but left out of the overall rank (privacy is a verdict).
UNRANKED_FAMILIES = frozenset({"privacy"})

#: Significant digits kept when comparing badness values, so float noise in |x - target| is a tie.
_TIE_DIGITS = 12


@dataclass(frozen=True)
class ScoreSpec:
    """One score column: where it belongs and which way is better."""

    name: str
    family: str
    direction: str  # "higher" | "lower" | "target"; "info" (context) and anything else: shown, not ranked
    target: float | None = None
    reference: float | None = None  # mean real-holdout reference value
    null_mean: float | None = None  # privacy scores: mean of exchangeable real rows on these sizes
    null_sd: float | None = None  # ... and their spread (metrics/privacy_null.py)

    @property
    def rankable(self) -> bool:
        if self.direction in ("higher", "lower"):
            return True
        if self.direction == "target":
            return self.target is not None or self.reference is not None
        return False

    @property
    def arrow(self) -> str:
        """Short legend text: ↑, ↓, → 0.5, → ref."""
        if self.direction == "higher":
            return "↑"
        if self.direction == "lower":
            return "↓"
        if self.direction == "target":
            return "→ ref" if self.target is None else f"→ {self.target:g}"
        if self.direction == "info":
            return "(context, not ranked)"
        return f"? ({self.direction})"


HEADLINE_SCORES = (
    # fidelity
    "precision", "recall", "density", "coverage", "alpha_precision", "beta_recall",
    "fd", "fd_emb", "mmd", "corr_score", "w1_mean", "detect_lr_auc", "detect_mlp_auc",
    # utility
    "tstr_lr_accuracy", "tstr_mlp_accuracy", "tstr_rf_accuracy", "tstr_lr_macro_f1", "trtr_lr_accuracy",
    "feature_overlap_frac", "de_lfc_corr", "de_tpr", "de_fpr", "de_ci_coverage",
    "assoc_effect_corr", "assoc_tpr", "assoc_fpr", "assoc_ci_coverage",
    # privacy
    "exact_match_rate", "dcr_share", "mia_auc", "mia_tpr_at_1fpr", "domias_auc", "aats_privacy_loss",
    "authenticity", "nndr_ratio",
    # genomics
    "af_corr", "maf_w1", "lost_variants_frac", "ld_error", "ld_decay_error", "fst_error", "gmm_emd",
    "pop_pca_overlap",
)
HEADLINE_PREFIXES = ("bias_gain_", "aug_lr_gain_")


def is_headline(name: str) -> bool:
    """Scores shown in a family's main table; the others are in its full table below it."""
    return name in HEADLINE_SCORES or name.startswith(HEADLINE_PREFIXES)


def family_sort_key(family: str) -> tuple[int, str]:
    """Known families first in :data:`FAMILY_ORDER`, then the rest alphabetically."""
    return (FAMILY_ORDER.index(family), "") if family in FAMILY_ORDER else (len(FAMILY_ORDER), family)


def badness(mean: float | None, spec: ScoreSpec) -> float | None:
    """Smaller is better; None when the value is missing or the score cannot be ranked."""
    if mean is None or not math.isfinite(mean) or not spec.rankable:
        return None
    if spec.direction == "higher":
        value = -mean
    elif spec.direction == "lower":
        value = mean
    else:
        goal = spec.target if spec.target is not None else spec.reference
        value = abs(mean - goal)
    return _round_sig(value)


def average_ranks(values: Mapping[str, float | None]) -> dict[str, float]:
    """Rank keys by value (smaller = better = rank 1); ties and missing values get averaged ranks.

    Missing values (None) share the ranks after all present values.
    """
    present = sorted((v, k) for k, v in values.items() if v is not None)
    missing = sorted(k for k, v in values.items() if v is None)
    ranks: dict[str, float] = {}
    position = 0
    i = 0
    while i < len(present):
        j = i
        while j + 1 < len(present) and present[j + 1][0] == present[i][0]:
            j += 1
        shared = (position + 1 + position + (j - i + 1)) / 2
        for _, key in present[i : j + 1]:
            ranks[key] = shared
        position += j - i + 1
        i = j + 1
    if missing:
        shared = (position + 1 + position + len(missing)) / 2
        for key in missing:
            ranks[key] = shared
    return ranks


def best_keys(means: Mapping[str, float | None], spec: ScoreSpec) -> set[str]:
    """Keys holding the best value for ``spec`` (several when tied); empty when nothing is rankable."""
    scored = {k: badness(v, spec) for k, v in means.items()}
    scored = {k: v for k, v in scored.items() if v is not None}
    if not scored:
        return set()
    best = min(scored.values())
    return {k for k, v in scored.items() if v == best}


@dataclass(frozen=True)
class Ranking:
    """Ranks of the ranked generators: per score, per family, overall, and the final order."""

    score_ranks: dict[str, dict[str, float]]  # score -> generator -> rank
    family_ranks: dict[str, dict[str, float]]  # family -> generator -> rank
    overall: dict[str, float]  # generator -> mean of the ranked families' ranks
    order: list[str]  # generators, best first (ties by name), demoted ones last
    position: dict[str, int]  # competition position: 1, 2, 2, 4
    demoted: frozenset[str] = frozenset()  # ordered after all others (privacy verdict: leak)


def rank_generators(
    means: Mapping[str, Mapping[str, float | None]],
    specs: Iterable[ScoreSpec],
    generators: Iterable[str],
    demoted: Iterable[str] = (),
) -> Ranking:
    """Rank ``generators`` from their seed means ``means[generator][score]``.

    Only rankable scores count; a family without any rankable score, and the families in
    :data:`UNRANKED_FAMILIES`, are left out of the overall rank. ``demoted`` generators come after
    all others in the order (and positions), ranked among themselves.
    """
    generators = sorted(set(generators))
    by_family: dict[str, list[ScoreSpec]] = {}
    for spec in specs:
        if spec.rankable:
            by_family.setdefault(spec.family, []).append(spec)

    score_ranks: dict[str, dict[str, float]] = {}
    family_ranks: dict[str, dict[str, float]] = {}
    for family in sorted(by_family, key=family_sort_key):
        per_score = []
        for spec in by_family[family]:
            bad = {g: badness(means.get(g, {}).get(spec.name), spec) for g in generators}
            ranks = average_ranks(bad)
            score_ranks[spec.name] = ranks
            per_score.append(ranks)
        if generators:
            family_ranks[family] = {g: sum(r[g] for r in per_score) / len(per_score) for g in generators}

    overall: dict[str, float] = {}
    for g in generators:
        ranks = [family_ranks[f][g] for f in family_ranks if f not in UNRANKED_FAMILIES]
        overall[g] = sum(ranks) / len(ranks) if ranks else math.inf
    demoted = frozenset(demoted) & set(generators)

    def key(g: str) -> tuple[bool, float, str]:
        return (g in demoted, _round_sig(overall[g]), g)

    order = sorted(generators, key=key)
    position: dict[str, int] = {}
    for index, g in enumerate(order):
        previous = order[index - 1] if index else None
        same = previous is not None and key(previous)[:2] == key(g)[:2]
        position[g] = position[previous] if same else index + 1
    return Ranking(score_ranks, family_ranks, overall, order, position, demoted)


def _round_sig(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{_TIE_DIGITS}g}")
