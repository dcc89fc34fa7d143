"""Leaderboard publishing from hand-built records (docs/records.md), checked against hand-computed numbers."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.leaderboard import fmt, fmt_mean_sd, publish
from benchmark.ranking import ScoreSpec, average_ranks, best_keys, rank_generators
from benchmark.store import record_path, write_record

DATASET = "toyset"
SPLIT = "a1b2c3d4e5f6" + "0" * 52
OLD_SPLIT = "0ld0ld0ld0ld" + "1" * 52
CLASSES = ["A", "B", "C"]

# score -> (family, direction, target, reference per seed)
SCORES = {
    "precision": ("fidelity", "higher", None, [0.6, 0.6, 0.6]),
    "fd": ("fidelity", "lower", None, [0.09, 0.11, 0.1]),  # mean over the 11 ok records: 0.1
    "detect_auc": ("fidelity", "target", 0.5, [0.52, 0.52, 0.52]),
    "density": ("fidelity", "target", None, [1.0, 1.0, 1.0]),
    "dcr_share": ("privacy", "target", 0.5, [0.5, 0.5, 0.5]),
    "mia_auc": ("privacy", "target", 0.5, [0.5, 0.5, 0.5]),
}

# generator -> score -> value per seed (None: the seed did not produce the score)
VALUES = {
    "gaussian": {"precision": [1, 2, 3], "fd": [3, 3, 3], "detect_auc": [0.9, 0.9, 0.9],
                 "density": [1.05, 1.05, 1.05], "dcr_share": [0.52] * 3, "mia_auc": [0.5] * 3},
    "marginals": {"precision": [0.5] * 3, "fd": [2, 2, 2], "detect_auc": [0.45] * 3,
                  "density": [0.8, None, 0.8], "dcr_share": [0.6] * 3, "mia_auc": [0.51] * 3},
    "wgan": {"precision": [0.3, 0.5, None], "fd": [1, 1, None], "detect_auc": [0.6, 0.6, None],
             "density": [1.3, 1.3, None], "dcr_share": [0.55, 0.55, None], "mia_auc": [0.7, 0.7, None]},
    "copy-train": {"precision": [5] * 3, "fd": [0] * 3, "detect_auc": [0.5] * 3,
                   "density": [1.0] * 3, "dcr_share": [0.5] * 3, "mia_auc": [0.5] * 3},
}
# Hand-computed ranks (ranked generators: gaussian, marginals, wgan; copy-train excluded).
#   fidelity: precision g1 m2 w3 | fd w1 m2 g3 | detect (|x-0.5|) m1 w2 g3 | density (|x-1.0|) g1 m2 w3
#             -> gaussian 2, marginals 1.75, wgan 2.25
#   privacy:  dcr g1 w2 m3 | mia g1 m2 w3 -> gaussian 1, marginals 2.5, wgan 2.5 (shown, not in overall)
#   overall:  the fidelity rank (privacy is a verdict: these records carry no null, so "not assessed")
FAIL_ERROR = "RuntimeError: CUDA out of memory | layer 3\nTraceback (most recent call last):\n  File x"


def make_record(generator: str, seed: int, *, status: str = "ok", split_hash: str = SPLIT,
                started_at: str = "2026-11-22T08:00:00+00:00", protocol: str = "standard",
                values: dict | None = None) -> dict:
    values = VALUES.get(generator, {}) if values is None else values
    metrics, failures = {}, {}
    if status == "ok":
        for name, (family, direction, target, refs) in SCORES.items():
            per_seed = values.get(name)
            if per_seed is None:
                continue
            if per_seed[seed] is None:
                failures[name] = "kernel density needs n > dimension (n=40, d=50)"
                continue
            metrics[name] = {"value": per_seed[seed], "reference": refs[seed], "direction": direction,
                             "target": target, "family": family}
    offset = {"gaussian": 0.0, "marginals": 1.0, "wgan": -1.0, "copy-train": 0.2}.get(generator, 0.5)
    return {
        "schema": 1,
        "config_hash": f"cfg-{generator}-{seed}",
        "protocol": protocol,
        "dataset": {
            "id": DATASET, "version": "1", "n": 60, "p": 50, "modality": "expression",
            "split_hash": split_hash, "class_names": CLASSES, "dropped_classes": {"D": 3},
            "n_train": 36, "n_holdout": 12, "n_test": 12,
            "source": "generated in the test", "license": "CC0-1.0", "citation": "Nobody et al. (2026)",
            "label_column": "cell_type",
        },
        "generator": {"name": generator, "budget": "smoke", "seed": seed, "hparams": {}},
        "status": status,
        "error": None if status == "ok" else FAIL_ERROR,
        "metrics": metrics,
        "metric_failures": failures,
        "compute": {"fit_s": 1.0 + seed, "sample_s": 0.5, "eval_s": 2.0, "peak_rss_mb": 100.0 + 10 * seed,
                    "n_params": 1234, "device": "cpu"},
        "provenance": {"package_version": "0.1.0", "git_sha": "deadbeefcafe0123456789", "python": "3.11.7",
                       "torch": "2.3.0", "numpy": "1.26.4", "platform": "Linux", "started_at": started_at},
        "projection": None if status != "ok" else {
            "method": "first two principal components of train-standardised features (PCA fit on train)",
            "real": {"x": [i % 7 - 3.0 for i in range(30)], "y": [(i * 3) % 5 - 2.0 for i in range(30)],
                     "label": [CLASSES[i % 3] for i in range(30)]},
            "synthetic": {"x": [i % 7 - 3.0 + offset for i in range(30)],
                          "y": [(i * 3) % 5 - 2.0 - offset for i in range(30)],
                          "label": [CLASSES[(i + seed) % 3] for i in range(30)]},
        },
    }


def write_results(root: Path, protocol: str = "standard") -> Path:
    for generator in VALUES:
        for seed in range(3):
            status = "failed" if (generator == "wgan" and seed == 2) else "ok"
            record = make_record(generator, seed, status=status, protocol=protocol)
            write_record(record_path(root, DATASET, generator, seed, protocol), record)
    return root


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_results(root)
    out = tmp_path_factory.mktemp("leaderboards")
    paths = publish(root, out)
    return root, out, paths, (out / f"{DATASET}.md").read_text(encoding="utf-8")


def section(md: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", md, flags=re.S | re.M)
    assert match, f"no section {title}"
    return match.group(1)


def full_table(family_section: str) -> str:
    """A family's table of every score: the folded one when the main table shows headlines only."""
    return family_section.split("<details><summary>All", 1)[-1]


def table_rows(text: str) -> dict[str, list[str]]:
    """First markdown table of ``text`` as {first cell: other cells}; header under key '__header__'."""
    rows = {}
    lines = [line for line in text.splitlines() if line.startswith("|")]
    for i, line in enumerate(lines):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if i == 0:
            rows["__header__"] = cells
        elif i > 1:
            rows[cells[0]] = cells[1:]
    return rows


def column(rows: dict[str, list[str]], name: str) -> dict[str, str]:
    index = rows["__header__"].index(name) - 1
    return {k: v[index] for k, v in rows.items() if k != "__header__"}


def test_publish_returns_markdown_and_figures(published):
    _, out, paths, md = published
    assert paths == [out / "toyset.md", out / "toyset.csv", out / "toyset.json", out / "figures" / "toyset_pca.png",
                     out / "figures" / "toyset_metrics.png", out / "README.md"]
    for png in paths[3:5]:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert f"](figures/{png.name})" in md
    assert md.startswith("# Leaderboard: toyset\n")


def test_dataset_card(published):
    md = published[3]
    card = section(md, "Dataset")
    for text in ("generated in the test", "CC0-1.0", "Nobody et al. (2026)", "60 × 50 (expression)",
                 "3 (label column `cell_type`): A, B, C", "D (3 samples)", "train 36 · holdout 12 · test 12",
                 "hash `a1b2c3d4e5f6`"):
        assert text in card
    assert "stale" not in card


def test_reference_row_and_mean_sd(published):
    rows = table_rows(full_table(section(published[3], "Fidelity")))
    assert rows["__header__"] == ["generator", "density", "detect_auc", "fd", "precision"]
    assert rows["real holdout (reference)"] == ["1", "0.52", "0.1", "0.6"]  # fd: mean of the per-record references
    assert column(rows, "precision")["gaussian"] == "**2 ± 1**"  # values 1, 2, 3
    assert column(rows, "precision")["wgan"] == "0.4 ± 0.141"  # 0.3, 0.5 (failed seed 2 excluded)
    assert column(rows, "density")["marginals"] == "0.8 ± 0 (n=2)"  # one seed's density failed
    privacy = table_rows(full_table(section(published[3], "Privacy")))
    assert privacy["real holdout (reference)"] == ["0.5", "0.5"]
    assert "## Genomics" not in published[3] and "## Utility" not in published[3]


def test_bold_follows_each_direction_and_skips_the_control(published):
    rows = table_rows(full_table(section(published[3], "Fidelity")))
    bold = {name: [g for g, cell in column(rows, name).items() if cell.startswith("**")]
            for name in ("precision", "fd", "detect_auc", "density")}
    assert bold == {
        "precision": ["gaussian"],  # higher; copy-train's 5 is larger but not ranked
        "fd": ["wgan"],  # lower; copy-train's 0 is smaller
        "detect_auc": ["marginals"],  # |0.45 - 0.5| smallest; copy-train sits exactly on 0.5
        "density": ["gaussian"],  # closest to the reference 1.0 (1.05), not to 0.5 and not the highest
    }
    assert not any("**" in cell for cell in rows["copy-train†"])
    legend = section(published[3], "Fidelity")
    assert "`density` → ref" in legend and "`detect_auc` → 0.5" in legend
    assert "`fd` ↓" in legend and "`precision` ↑" in legend


def test_overall_ranking_matches_hand_computation(published):
    md = published[3]
    ranking = section(md, "Overall ranking")
    rows = table_rows(ranking)
    assert rows["__header__"] == ["#", "generator", "fidelity", "overall (95% CI)", "privacy", "fit s", "sample s",
                                  "peak MB", "params", "seeds"]
    body = [line for line in ranking.splitlines() if line.startswith("|")][2:]
    order = [re.split(r"\|", line)[2].strip() for line in body]
    assert order == ["marginals", "gaussian", "wgan", "copy-train†"]
    by_name = {cells[0]: cells[1:] for cells in (re.split(r"\|", line)[2:-1] for line in body)}
    by_name = {k.strip(): [c.strip().split(" (")[0] for i, c in enumerate(v) if i not in (3, 4, 5, 6)]
               for k, v in by_name.items()}  # overall without its interval (tests/test_publish_exports.py)
    assert by_name["gaussian"] == ["2", "2", "not assessed", "3/3"]  # compute columns left out: hand-built records
    assert by_name["marginals"] == ["1.75", "1.75", "not assessed", "3/3"]
    assert by_name["wgan"] == ["2.25", "2.25", "not assessed", "2/3"]
    assert by_name["copy-train†"] == ["—", "not ranked", "not assessed", "3/3"]
    assert "† copy-train: privacy control" in ranking


def test_failures_section(published):
    failures = section(published[3], "Failures")
    rows = table_rows(failures)
    assert rows["wgan"] == ["2", "failed", "RuntimeError: CUDA out of memory \\| layer 3"]
    assert "Traceback" not in failures
    metric_table = failures.split("could not be computed")[1]
    assert table_rows(metric_table)["marginals"] == ["1", "density", "kernel density needs n > dimension (n=40, d=50)"]


def test_not_applicable_metrics_are_listed_apart_and_shown_as_n_a(tmp_path):
    write_results(tmp_path)
    for seed in range(3):
        record = make_record("flat", seed, values={name: [0.5] * 3 for name in SCORES if name != "detect_auc"})
        record["metric_not_applicable"] = {"detect_auc": "a constant output cannot be classified"}
        write_record(record_path(tmp_path, DATASET, "flat", seed), record)
    md = publish(tmp_path, tmp_path / "out")[0].read_text(encoding="utf-8")
    assert column(table_rows(full_table(section(md, "Fidelity"))), "detect_auc")["flat"] == "n/a"
    failures = section(md, "Failures")
    assert "flat" not in failures.split("Not applicable")[0]
    rows = table_rows(failures.split("Not applicable to these data")[1])
    assert rows["flat"] == ["0, 1, 2", "detect_auc", "a constant output cannot be classified"]


def test_compute_and_provenance(published):
    _, out, _, md = published
    rows = table_rows(section(md, "Compute"))
    assert rows["gaussian"] == ["smoke", "2 ± 1", "0.5 ± 0", "2 ± 0", "120", "1,234", "cpu"]
    assert rows["wgan"][1] == "1.5 ± 0.707"  # ok seeds 0 and 1 only
    provenance = section(md, "Provenance")
    assert "Generated from 12 records (11 ok)" in provenance
    assert "`deadbeefcafe`" in provenance and "`0.1.0`" in provenance
    assert "`python -m benchmark publish --results " in provenance and f" --dataset toyset --out {out.as_posix()}`" in provenance


def test_republishing_is_byte_identical(published):
    root, out, paths, md = published
    again = publish(root, out, dataset=DATASET)
    assert again == paths[:-1]  # one dataset: no index
    assert (out / "toyset.md").read_text(encoding="utf-8") == md
    second = out.parent / (out.name + "-again")
    publish(root, second)
    for path in paths:  # the pages differ only in the --out of their Re-publish line
        again = (second / path.relative_to(out)).read_bytes().replace(second.as_posix().encode(), out.as_posix().encode())
        assert again == path.read_bytes(), path.name


def test_stale_split_records_are_ignored(tmp_path):
    write_results(tmp_path)
    stale = make_record("oldgen", 0, split_hash=OLD_SPLIT, started_at="2026-01-01T00:00:00+00:00",
                        values={name: [100.0] * 3 for name in SCORES})
    write_record(record_path(tmp_path, DATASET, "oldgen", 0), stale)
    write_record(record_path(tmp_path, DATASET, "oldgen", 1), {**stale, "generator": {**stale["generator"], "seed": 1}})
    publish(tmp_path, tmp_path / "out")
    md = (tmp_path / "out" / "toyset.md").read_text(encoding="utf-8")
    assert "2 stale record(s) from an older split (`0ld0ld0ld0ld`) were ignored" in md
    assert "oldgen" not in md.split("## Provenance")[0].split("were ignored")[1]
    assert "Generated from 12 records (11 ok) in" in md and "2 stale record(s) ignored" in md


def test_newer_split_wins_even_with_fewer_records(tmp_path):
    write_results(tmp_path)  # SPLIT, started 2026-11-22
    newer = make_record("newgen", 0, split_hash=OLD_SPLIT, started_at="2026-12-01T00:00:00Z")
    write_record(record_path(tmp_path, DATASET, "newgen", 0), newer)
    publish(tmp_path, tmp_path / "out")
    md = (tmp_path / "out" / "toyset.md").read_text(encoding="utf-8")
    assert "12 stale record(s)" in md and "hash `0ld0ld0ld0ld`" in md
    assert "| newgen" in md


def test_protocol_in_title_and_dataset_selection(tmp_path):
    write_results(tmp_path / "res")
    write_results(tmp_path / "res", protocol="biased")
    paths = publish(tmp_path / "res", tmp_path / "out", dataset="toyset")
    assert {p.name for p in paths if p.suffix == ".md"} == {"toyset.md", "toyset@biased.md"}
    md = (tmp_path / "out" / "toyset@biased.md").read_text(encoding="utf-8")
    assert md.startswith("# Leaderboard: toyset (protocol: biased)\n")
    assert "(figures/toyset@biased_pca.png)" in md
    only = publish(tmp_path / "res", tmp_path / "out2", dataset="toyset@biased")
    assert [p.name for p in only if p.suffix == ".md"] == ["toyset@biased.md"]


def test_all_failed_and_missing_projection(tmp_path):
    for seed in range(2):
        write_record(record_path(tmp_path, DATASET, "broken", seed), make_record("broken", seed, status="timeout"))
    paths = publish(tmp_path, tmp_path / "out")
    assert [p.name for p in paths] == ["toyset.md", "toyset.csv", "toyset.json", "README.md"]
    md = paths[0].read_text(encoding="utf-8")
    assert "nothing is ranked" in md and "no ok seed" in md and "summaries to draw: no figures" in md
    assert table_rows(section(md, "Failures"))["broken"] == ["1", "timeout", "RuntimeError: CUDA out of memory \\| layer 3"]


def test_empty_results_raise(tmp_path):
    with pytest.raises(BenchmarkError, match="no records for any dataset under"):
        publish(tmp_path, tmp_path / "out")
    write_results(tmp_path / "res")
    with pytest.raises(BenchmarkError, match="no records for dataset pbmc68k under"):
        publish(tmp_path / "res", tmp_path / "out", dataset="pbmc68k")
    assert not (tmp_path / "out").exists()


def test_formatting():
    assert fmt_mean_sd([1, 2, 3]) == "2 ± 1"
    assert fmt_mean_sd([0.1, 0.1, 0.1]) == "0.1 ± 0"
    assert fmt_mean_sd([0.712]) == "0.712"
    assert fmt(1055.4) == "1055" and fmt(0.000123) == "0.000123" and fmt(-0.5) == "-0.5" and fmt(None) == "—"


def test_ranking_rules():
    assert average_ranks({"a": 1.0, "b": 1.0, "c": 0.5, "d": None}) == {"c": 1, "a": 2.5, "b": 2.5, "d": 4}
    near = ScoreSpec("auc", "fidelity", "target", 0.5)
    assert best_keys({"a": 0.52, "b": 0.48, "c": 0.6}, near) == {"a", "b"}  # float noise is a tie
    ref = ScoreSpec("density", "fidelity", "target", None, reference=1.0)
    assert best_keys({"a": 0.6, "b": 1.2, "c": 1.5}, ref) == {"b"}
    specs = [ScoreSpec("x", "fidelity", "higher"), ScoreSpec("y", "privacy", "lower"),
             ScoreSpec("z", "privacy", "mystery")]
    ranking = rank_generators({"a": {"x": 1, "y": 5, "z": 0}, "b": {"x": 2, "y": None, "z": 9}},
                              specs, ["a", "b"])
    assert ranking.family_ranks == {"fidelity": {"a": 2, "b": 1}, "privacy": {"a": 1, "b": 2}}
    # privacy is shown per score but is a verdict, not part of the overall rank
    assert ranking.order == ["b", "a"] and ranking.position == {"b": 1, "a": 2}
    assert math.isclose(ranking.overall["a"], 2.0)
    means = {"a": {"x": 1}, "b": {"x": 2}, "c": {"x": 3}}
    assert rank_generators(means, specs, ["a", "b", "c"]).order == ["c", "b", "a"]
    demoted = rank_generators(means, specs, ["a", "b", "c"], demoted=["c"])  # a leak goes last
    assert demoted.order == ["b", "a", "c"] and demoted.position == {"b": 1, "a": 2, "c": 3}


def test_sparse_records_are_handled(tmp_path):
    """Records with only the required keys still publish (with dashes), nothing crashes."""
    required = {"schema": 1, "config_hash": "c", "dataset": {"id": "toyset", "split_hash": "s"}}
    bare = {**required, "generator": {"name": "minimal", "seed": 0, "budget": "default"}, "status": "ok",
            "compute": {}, "metrics": {"odd": {"value": 1.0, "reference": 1.0, "direction": "sideways",
                                               "family": "fidelity"}}}
    write_record(tmp_path / "toyset" / "minimal" / "seed-0.json", bare)
    write_record(tmp_path / "toyset" / "crashed" / "seed-0.json",
                 {**required, "generator": {"name": "crashed", "seed": 0, "budget": "default"},
                  "status": "invalid_output", "error": "x" * 500})
    paths = publish(tmp_path, tmp_path / "out", dataset="toyset")
    md = paths[0].read_text(encoding="utf-8")
    assert md.startswith("# Leaderboard: toyset\n")
    assert "Not ranked (unknown direction): `odd`" in md
    error = table_rows(section(md, "Failures"))["crashed"][2]
    assert len(error) == 200 and error.endswith("…")


def test_hparam_variants_are_rows_of_their_own_and_early_stops_are_footnoted(tmp_path):
    """Records of one generator with other --hparam overrides never mix: each variant is a row (a control's
    variant stays a control), and a seed whose fit stopped at the wall-clock limit is marked and explained."""
    write_results(tmp_path)
    for seed in range(3):
        for name, overrides in (("wgan", {"steps": 8000, "lr": 1e-3}), ("copy-train", {"noise": 0.1})):
            record = make_record(name, seed, status="failed" if (name == "wgan" and seed == 2) else "ok",
                                 values={score: [v + 0.5 if v is not None else None for v in per_seed]
                                         for score, per_seed in VALUES[name].items()})
            record["generator"]["overrides"] = overrides
            record["generator"]["hparams"] = {"steps": 4000, "lr": 1e-4, **overrides, "graph_edges": 12}
            label = f"{name} [" + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())) + "]"
            if name == "wgan" and seed < 2:
                record["compute"]["training"] = {"steps_planned": 8000, "steps_done": 1200 + seed,
                                                 "stopped_early": True}
            write_record(record_path(tmp_path, DATASET, label, seed), record)
    plain = make_record("wgan", 1)  # a stopped seed of the plain generator without step counts
    plain["compute"]["training"] = {"stopped_early": True}
    write_record(record_path(tmp_path, DATASET, "wgan", 1), plain)
    md = publish(tmp_path, tmp_path / "out")[0].read_text(encoding="utf-8")
    ranking = section(md, "Overall ranking")
    lines = [line for line in ranking.splitlines() if line.startswith("| ")][1:]
    rows = {cells[1]: cells for cells in ([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines)}
    variant = "wgan \\[lr=0.001, steps=8000\\]‡"
    assert rows[variant][-1] == "2/3" and rows["wgan‡"][-1] == "2/3" and rows["marginals"][-1] == "3/3"
    control = rows["copy-train \\[noise=0.1\\]†"]
    assert control[0] == "—" and control[3] == "not ranked"
    assert rows[variant][0] == "4" and rows["wgan‡"][0] == "3"  # ranked beside the plain generator
    flat = " ".join(ranking.split())  # prose is wrapped at 160 characters
    assert ("‡ wgan \\[lr=0.001, steps=8000\\]: stopped at the wall-clock limit after 1,200 of 8,000 steps in "
            "seed 0; after 1,201 of 8,000 steps in seed 1 (a truncated fit, not the budget's result).") in flat
    assert "‡ wgan: stopped at the wall-clock limit in seed 1 (a truncated fit" in flat
    assert "† copy-train, copy-train \\[noise=0.1\\]: privacy control" in flat
    precision = column(table_rows(full_table(section(md, "Fidelity"))), "precision")
    assert precision["wgan‡"] == "0.4 ± 0.141" and precision[variant] == "0.9 ± 0.141"
    failed = table_rows(section(md, "Failures"))
    assert failed["wgan \\[lr=0.001, steps=8000\\]"][:2] == ["2", "failed"]


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, benchmark.leaderboard; print('matplotlib' in sys.modules, 'tabulate' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["False", "False"]


def test_main_table_shows_headline_scores_and_folds_the_rest(published):
    fidelity = section(published[3], "Fidelity")
    main = table_rows(fidelity)["__header__"]
    full = table_rows(full_table(fidelity))["__header__"]
    assert main == ["generator", "density", "fd", "precision"]  # the headline scores among the fixture's
    assert set(full) > set(main) and "<summary>All" in fidelity
