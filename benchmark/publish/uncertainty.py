"""How sure a rank is: a bootstrap over each generator's seeds.

Each replicate draws, for every ranked generator independently, as many of its ok seeds as it has, with
replacement; takes the mean of every score over the drawn seeds; and ranks again with the page's rules
(:func:`benchmark.ranking.rank_generators`). The 2.5th and 97.5th percentiles of a generator's family and
overall ranks over the replicates are its 95 % intervals. Records hold one value per score and seed, not
per evaluated row, so the rows cannot be resampled here; with three seeds the interval shows how much the
rank moves with the seeds drawn, which is what a reader comparing two neighbouring rows needs to know.
The replicates are seeded: the same records give the same intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from benchmark.ranking import UNRANKED_FAMILIES, rank_generators

if TYPE_CHECKING:
    from benchmark.leaderboard import Board

REPLICATES = 400
SEED = 20261201
LEVEL = 0.95


@dataclass(frozen=True)
class RankIntervals:
    """95 % bootstrap intervals of each ranked generator's overall rank and family ranks."""

    overall: dict[str, tuple[float, float]]
    family: dict[str, dict[str, tuple[float, float]]]  # family -> generator -> interval
    replicates: int

    def overlaps_next(self, order: list[str], demoted: frozenset[str] = frozenset()) -> set[str]:
        """Generators whose overall interval overlaps that of the generator ranked just below them; a generator
        ranked last for leaking is never compared with one above the leak line (its place is not its rank's)."""
        return {g for g, below in zip(order, order[1:], strict=False)
                if (g in demoted) == (below in demoted) and g in self.overall and below in self.overall
                and self.overall[g][1] >= self.overall[below][0]}


def rank_intervals(board: Board, replicates: int = REPLICATES, seed: int = SEED) -> RankIntervals:
    """Bootstrap the board's ranking over seeds (see the module docstring)."""
    ranked = list(board.ranking.order)
    specs = list(board.specs.values())
    seed_values = {g: np.array([[_value(r, s.name) for s in specs] for r in board.generators[g].ok], dtype=float)
                   for g in ranked}
    rng = np.random.default_rng(seed)
    overall: dict[str, list[float]] = {g: [] for g in ranked}
    family: dict[str, dict[str, list[float]]] = {}
    for _ in range(replicates):
        means = {}
        for g in ranked:
            values = seed_values[g]
            drawn = values[rng.integers(0, len(values), len(values))]
            means[g] = {s.name: _nanmean(drawn[:, j]) for j, s in enumerate(specs)}
        ranking = rank_generators(means, specs, ranked, demoted=board.ranking.demoted)
        for g in ranked:
            overall[g].append(ranking.overall[g])
        for f, ranks in ranking.family_ranks.items():
            if f in UNRANKED_FAMILIES:
                continue
            for g in ranked:
                family.setdefault(f, {}).setdefault(g, []).append(ranks[g])
    return RankIntervals({g: _interval(v) for g, v in overall.items()},
                         {f: {g: _interval(v) for g, v in by_g.items()} for f, by_g in family.items()}, replicates)


def _value(record: dict, score: str) -> float:
    entry = (record.get("metrics") or {}).get(score)
    value = entry.get("value") if isinstance(entry, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan


def _nanmean(column: np.ndarray) -> float | None:
    finite = column[np.isfinite(column)]
    return float(finite.mean()) if finite.size else None


def _interval(values: list[float]) -> tuple[float, float]:
    """The replicates' 2.5 % and 97.5 % quantiles, each an observed rank (no interpolation: a generator that
    has no rankable score in some replicates keeps an infinite bound instead of NaN)."""
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(np.asarray(values, dtype=float), [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)
