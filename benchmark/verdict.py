"""Privacy verdicts: pass, risk or leak, from calibrated tests of each privacy score against its null.

Privacy is a verdict, not a rank to average: a generator that copies its training rows must not climb
the leaderboard on fidelity. Every privacy score of a record carries its *null* (``null_mean``,
``null_sd``): the mean and spread real rows exchangeable with the data reach on this split's sizes,
measured by re-splitting (``metrics/privacy_null.py``). For each score

    z = side · (generator mean − null mean) / √(null sd² + seed sd² / seeds)

where ``side`` is +1 when larger means closer to the training rows. Only scores whose null holds for
*any* output that does not depend on which real rows were in train decide: the membership attacks
(distance attack AUC and its TPR at 1 % and 10 % FPR, DOMIAS AUC) compare members with non-members,
which are exchangeable given the output, so their null is the same for fresh rows, noise or a model;
and identical matches, which chance does not produce (the null counts duplicated real rows). The DCR
share, authenticity, AATS and distance ratios stay on the page as diagnostics: their null *mean*
holds, but their spread was measured for outputs exchangeable with real rows, and rows far from
the data all share a few nearest records (hubs), so uniform noise scored a DCR share of 0.61 against
a null of 0.50 ± 0.03 on the biased 1000 Genomes split. The rule:

- **leak**: some score has z ≥ 3 *and* moves beyond its materiality threshold (``MATERIAL``: e.g. a
  membership AUC 0.1 above its null, 1 % of rows identical to training rows);
- **risk**: some score has z ≥ 3 but stays within its threshold (significant, small);
- **pass**: no score has z ≥ 3.

z ≥ 3 is p ≈ 0.001 one-sided per score, so a generator emitting fresh real rows almost never gets a
verdict other than pass; the threshold keeps large data sets, where tiny effects become significant,
from calling a trace a leak. Pure functions on numbers: no I/O, no third-party imports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Z_SIGNIFICANT = 3.0
SD_FLOOR = 1e-9  # a null with no spread (no identical rows in real data): any difference is significant

#: The deciding scores: +1 when larger = closer to the training rows.
LEAK_SIDE = {"exact_match_rate": 1, "mia_auc": 1, "mia_tpr_at_1fpr": 1, "mia_tpr_at_10fpr": 1, "domias_auc": 1}
#: Shift from the null mean, on the leak side, that counts as material (in the score's own units):
#: 1 % of rows identical to training rows; an attack AUC 0.1 above 0.5 (membership advantage 0.2);
#: a TPR 5 (10) points above its 1 % (10 %) false-positive rate.
MATERIAL = {"exact_match_rate": 0.01, "mia_auc": 0.1, "mia_tpr_at_1fpr": 0.05, "mia_tpr_at_10fpr": 0.1,
            "domias_auc": 0.1}
VERDICTS = ("pass", "risk", "leak")


@dataclass(frozen=True)
class Evidence:
    """One privacy score of one generator tested against its null."""

    score: str
    mean: float
    null_mean: float
    null_sd: float
    z: float  # signed so that positive = closer to the training rows
    effect: float  # side · (mean − null mean)

    @property
    def significant(self) -> bool:
        return self.z >= Z_SIGNIFICANT

    @property
    def material(self) -> bool:
        return self.effect >= MATERIAL[self.score]

    def describe(self) -> str:
        z = "z > 99" if self.z > 99 else f"z = {self.z:.1f}"
        return f"{self.score} {self.mean:.3g} vs null {self.null_mean:.3g} ± {self.null_sd:.2g} ({z})"


@dataclass(frozen=True)
class Verdict:
    """pass / risk / leak with the evidence behind it; ``verdict`` is None when no score has a null."""

    verdict: str | None
    evidence: tuple[Evidence, ...]

    @property
    def deciding(self) -> Evidence | None:
        """The strongest evidence: material and significant first, then the largest z."""
        if not self.evidence:
            return None
        return max(self.evidence, key=lambda e: (e.significant and e.material, e.z))

    @property
    def label(self) -> str:
        return self.verdict or "not assessed"


def score_evidence(score: str, values: Sequence[float], null_mean: float, null_sd: float) -> Evidence:
    """z and effect of a generator's seed values of ``score`` against the score's null."""
    side = LEAK_SIDE[score]
    mean = sum(values) / len(values)
    seed_var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    spread = math.sqrt(max(null_sd, 0.0) ** 2 + seed_var / len(values))
    effect = side * (mean - null_mean)
    return Evidence(score, mean, null_mean, null_sd, effect / max(spread, SD_FLOOR), effect)


def privacy_verdict(values: Mapping[str, Sequence[float]], nulls: Mapping[str, tuple[float, float]]) -> Verdict:
    """Verdict from seed values per score and each score's null (mean, sd); scores without both are skipped."""
    evidence = tuple(
        score_evidence(score, values[score], *nulls[score])
        for score in sorted(LEAK_SIDE) if values.get(score) and score in nulls
    )
    if not evidence:
        return Verdict(None, ())
    significant = [e for e in evidence if e.significant]
    if any(e.material for e in significant):
        return Verdict("leak", evidence)
    return Verdict("risk" if significant else "pass", evidence)
