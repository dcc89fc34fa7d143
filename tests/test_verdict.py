"""Privacy verdicts (issue 7, part 3): calibrated tests against each score's null, and the ranking rule
that a leaking generator is never ranked above one that passes."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from benchmark.leaderboard import Board, publish
from benchmark.run.config import RunConfig
from benchmark.run.runner import run
from benchmark.store import iter_records
from benchmark.verdict import MATERIAL, Z_SIGNIFICANT, privacy_verdict, score_evidence

NULLS = {"mia_auc": (0.5, 0.03), "domias_auc": (0.5, 0.1), "exact_match_rate": (0.0, 0.0),
         "dcr_share": (0.5, 0.03), "authenticity": (0.6, 0.04)}


def test_z_combines_the_null_spread_with_the_seed_spread():
    e = score_evidence("mia_auc", [0.6, 0.62, 0.64], 0.5, 0.03)
    expected = 0.12 / (0.03**2 + 0.02**2 / 3) ** 0.5
    assert e.z == pytest.approx(expected) and e.effect == pytest.approx(0.12)
    assert score_evidence("mia_auc", [0.4], 0.5, 0.03).z < 0  # members farther than non-members: no leak


@pytest.mark.parametrize(("values", "verdict"), [
    ({"mia_auc": [0.52, 0.5], "domias_auc": [0.6, 0.55]}, "pass"),  # within noise
    ({"mia_auc": [0.58, 0.58]}, "pass"),  # z = 2.7: not significant
    ({"mia_auc": [0.595, 0.595]}, "risk"),  # z = 3.2, effect 0.095 < 0.1: significant, not material
    ({"mia_auc": [0.7, 0.71]}, "leak"),
    ({"domias_auc": [0.75, 0.75]}, "pass"),  # material but not significant (null sd 0.1): no claim
    ({"exact_match_rate": [0.02, 0.02]}, "leak"),  # any copy is significant; 2 % is material
    ({"exact_match_rate": [0.005]}, "risk"),
    ({"mia_auc": [0.5], "dcr_share": [0.9, 0.9], "authenticity": [0.0]}, "pass"),  # diagnostics do not decide
])
def test_verdict_rule(values, verdict):
    got = privacy_verdict(values, NULLS)
    assert got.verdict == verdict, [e.describe() for e in got.evidence]
    assert (got.deciding.z >= Z_SIGNIFICANT) == (verdict != "pass")


def test_no_null_no_verdict_and_unknown_scores_ignored():
    assert privacy_verdict({"mia_auc": [0.9]}, {}).verdict is None
    assert privacy_verdict({"aats_privacy_loss": [0.9]}, {"aats_privacy_loss": (0.0, 0.01)}).verdict is None
    assert privacy_verdict({"dcr_share": [0.9]}, {"dcr_share": (0.5, 0.01)}).verdict is None
    assert set(MATERIAL) == {"exact_match_rate", "mia_auc", "mia_tpr_at_1fpr", "mia_tpr_at_10fpr", "domias_auc"}


@pytest.fixture(scope="module")
def pbmc_board(tmp_path_factory):
    """copy-train, the README's two-row mixing plugin, a near-copy plugin and independent marginals on
    pbmc68k, 2 seeds."""
    from benchmark.registry import load_plugin_file

    load_plugin_file(ROOT / "examples" / "mixup_plugin.py")
    load_plugin_file(ROOT / "tests" / "plugins" / "near_copy.py")
    results = tmp_path_factory.mktemp("verdicts")
    summary = run(RunConfig(generators="marginals,mixup,near-copy,copy-train", seeds=2, results_dir=results,
                            progress=False, metrics=("privacy", "density_coverage", "fd", "mmd")))
    assert summary.failed == []
    return results, Board.from_records(iter_records(results, "pbmc68k"), "pbmc68k")


@pytest.mark.slow
def test_memorizers_are_flagged_and_marginals_pass(pbmc_board):
    _, board = pbmc_board
    verdicts = {name: v.verdict for name, v in board.verdicts.items()}
    assert verdicts == {"copy-train": "leak", "mixup": "leak", "near-copy": "leak", "marginals": "pass"}, {
        name: v.deciding.describe() for name, v in board.verdicts.items()}


@pytest.mark.slow
def test_a_leaking_generator_is_ranked_after_one_that_passes(pbmc_board):
    results, board = pbmc_board
    # the near copy has the better fidelity rank, but leaks: it comes after marginals
    assert board.ranking.overall["near-copy"] < board.ranking.overall["marginals"]
    assert board.ranking.order[0] == "marginals" and set(board.ranking.order[1:]) == {"mixup", "near-copy"}
    md = publish(results, results / "out", "pbmc68k")[0].read_text(encoding="utf-8")
    ranking = md.split("## Overall ranking")[1].split("## ")[0]
    rows = [re.split(r"\s*\|\s*", line)[1:-1] for line in ranking.splitlines() if line.startswith("|")][2:]
    assert [(r[1], r[-6]) for r in rows] == [("marginals", "pass"), *[(g, "leak") for g in board.ranking.order[1:]],
                                             ("copy-train†", "leak")]
    assert [r[0] for r in rows] == ["1", "2", "3", "—"]
    assert "### Privacy verdicts" in md and "(null 0.5" in md
