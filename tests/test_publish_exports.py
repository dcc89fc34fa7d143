"""What publish writes besides the page: the long CSV, the JSON summary and the index of every leaderboard."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from test_leaderboard import DATASET, SCORES, VALUES, make_record, write_results

from benchmark.cli import main
from benchmark.leaderboard import publish
from benchmark.store import record_path, write_record


def test_the_csv_has_one_row_per_generator_seed_and_score(tmp_path):
    out = tmp_path / "out"
    publish(write_results(tmp_path / "results"), out)
    frame = pd.read_csv(out / f"{DATASET}.csv", keep_default_na=False)
    ok = frame[frame["status"] == "ok"]
    expected = sum(1 for g, scores in VALUES.items() for seed in range(3) if not (g == "wgan" and seed == 2)
                   for values in scores.values() if values[seed] is not None)
    assert len(ok) == expected
    [failed] = frame[frame["status"] == "failed"].itertuples()
    assert (failed.generator, failed.seed, failed.score, failed.value) == ("wgan", 2, "", "")
    row = ok[(ok.generator == "gaussian") & (ok.seed == 1) & (ok.score == "precision")].iloc[0]
    assert (float(row.value), float(row.reference), row.direction, row.family) == (2.0, 0.6, "higher", "fidelity")
    assert set(ok[ok.score == "mia_auc"]["ranked"]) == {""} and set(ok[ok.score == "fd"]["ranked"]) == {"yes"}
    target = ok[ok.score == "detect_auc"]["target"].astype(float)
    assert set(target) == {SCORES["detect_auc"][2]}


def test_the_json_summary_holds_the_ranking_and_the_seed_statistics(tmp_path):
    out = tmp_path / "out"
    publish(write_results(tmp_path / "results"), out)
    summary = json.loads((out / f"{DATASET}.json").read_text(encoding="utf-8"))
    generators = {g["name"]: g for g in summary["generators"]}
    assert [g["name"] for g in summary["generators"]][:3] == ["marginals", "gaussian", "wgan"]
    assert generators["marginals"]["position"] == 1 and generators["copy-train"]["position"] is None
    assert generators["copy-train"]["control"] is True
    assert generators["gaussian"]["family_ranks"]["fidelity"] == 2.0
    precision = generators["gaussian"]["scores"]["precision"]
    assert (precision["mean"], precision["sd"], precision["n"]) == (2.0, 1.0, 3)
    assert generators["wgan"]["seeds_ok"] == 2 and generators["wgan"]["failures"]["2"]["status"] == "failed"
    assert summary["scores"]["fd"] == {"family": "fidelity", "direction": "lower", "target": None,
                                       "reference": pytest.approx(0.1), "ranked": True}
    assert summary["leaders"] == {"fidelity": ["marginals"]}  # fidelity ranks 1.75, 2 and 2.25
    assert (summary["modality"], summary["n"], summary["p"], summary["class_names"]) == ("expression", 60, 50,
                                                                                          ["A", "B", "C"])


def test_publish_all_writes_an_index_and_is_byte_identical_twice(tmp_path, capsys):
    results = write_results(tmp_path / "results")
    write_results(results, protocol="biased")
    out = tmp_path / "out"
    assert main(["publish", "--all", "--results", str(results), "--out", str(out)]) == 0
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert main(["publish", "--all", "--results", str(results), "--out", str(out)]) == 0
    again = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert again == first
    kinds = {p.suffix for p in first}
    assert kinds == {".md", ".csv", ".json", ".png"}
    index = (out / "README.md").read_text(encoding="utf-8")
    first_table = index.split("\n\n")[2]  # title, intro, then the first of the width-limited tables
    rows = [line for line in first_table.splitlines() if line.startswith("| [")]
    assert len(rows) == 2
    assert rows[0].startswith(f"| [{DATASET}]({DATASET}.md)")
    assert "- toyset: [page](toyset.md) · [CSV](toyset.csv) · [JSON](toyset.json)" in index
    assert rows[1].startswith("| [toyset@biased](toyset%40biased.md)")
    header = next(line for line in first_table.splitlines() if line.startswith("| dataset"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells[4:] == ["fidelity", "overall"]
    leader = [c.strip() for c in rows[0].strip("|").split("|")]
    assert leader[4] == "marginals" and leader[5] == "marginals"


def test_publishing_one_dataset_leaves_the_index_alone(tmp_path):
    results = write_results(tmp_path / "results")
    written = publish(results, tmp_path / "out", dataset=DATASET)
    assert not (tmp_path / "out" / "README.md").exists() and all(p.name != "README.md" for p in written)
    with open(tmp_path / "out" / f"{DATASET}.csv", newline="", encoding="utf-8") as handle:
        assert next(csv.reader(handle))[:3] == ["dataset", "protocol", "generator"]


def bootstrap_board():
    """a is best on every score in every seed; b and c trade places from seed to seed."""
    from test_leaderboard import make_record

    from benchmark.leaderboard import Board

    privacy = {"dcr_share": [0.5] * 3, "mia_auc": [0.5] * 3}
    values = {
        "a": {"precision": [0.9] * 3, "fd": [1.0] * 3, "detect_auc": [0.5] * 3, "density": [1.0] * 3, **privacy},
        "b": {"precision": [0.5, 0.7, 0.3], "fd": [2.0, 3.0, 2.5], "detect_auc": [0.6, 0.7, 0.65],
              "density": [1.2, 1.1, 1.3], **privacy},
        "c": {"precision": [0.45, 0.55, 0.5], "fd": [2.5, 2.0, 3.0], "detect_auc": [0.7, 0.6, 0.62],
              "density": [1.1, 1.3, 1.2], **privacy},
    }
    records = [make_record(g, seed, values=v) for g, v in values.items() for seed in range(3)]
    return Board.from_records(records, DATASET)


def test_rank_intervals_hold_the_rank_and_mark_generators_the_seeds_cannot_tell_apart():
    from benchmark.publish.uncertainty import rank_intervals

    board = bootstrap_board()
    intervals = board.intervals
    assert intervals.overall["a"] == (1.0, 1.0)  # best in every seed: no replicate moves it
    for g in ("b", "c"):
        low, high = intervals.overall[g]
        assert low <= board.ranking.overall[g] <= high and low < high
    assert intervals.overall["b"][1] >= intervals.overall["c"][0]
    assert intervals.overlaps_next(board.ranking.order) == {board.ranking.order[1]}  # b/c, never a
    assert rank_intervals(board) == intervals  # seeded: the same records give the same intervals
    from benchmark.leaderboard import render_markdown

    md = render_markdown(board, [])
    ranking = md.split("## Overall ranking", 1)[1].split("## ", 1)[0]
    marked = [line.split("|")[2].strip() for line in ranking.splitlines() if " ≈ |" in line]
    assert marked == [board.ranking.order[1]]
    assert "## Rank uncertainty" in md and "| a " in md.split("## Rank uncertainty", 1)[1]


def test_the_json_summary_publishes_what_the_page_does_no_user_folder_and_no_float_noise(tmp_path):
    """A failed seed's error loses its absolute paths as on the page; equal seed values have sd 0, not 1e-17."""
    results = write_results(tmp_path / "results")
    failed = make_record("wgan", 2, status="failed")
    failed["error"] = "FileNotFoundError: /home/alice/secret_project/weights.pt\nTraceback ..."
    write_record(record_path(results, DATASET, "wgan", 2), failed)
    publish(results, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / f"{DATASET}.json").read_text(encoding="utf-8"))
    generators = {g["name"]: g for g in summary["generators"]}
    assert generators["wgan"]["failures"]["2"]["error"].startswith("FileNotFoundError: weights.pt")
    assert "alice" not in (tmp_path / "out" / f"{DATASET}.json").read_text(encoding="utf-8")
    assert generators["marginals"]["scores"]["dcr_share"]["sd"] == 0.0  # 0.6 in every seed
