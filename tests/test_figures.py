"""Leaderboard figures (benchmark/publish/figures.py, charts.py) from hand-built records: which figures a
page gets, what their captions say, the Pareto front, and that odd summaries never break publishing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.leaderboard import publish
from benchmark.publish.charts import Point, pareto_front
from benchmark.store import record_path, schema_problem, write_record

CLASSES = ["A", "B"]
ALL_KINDS = ["pca", "umap", "metrics", "precision_recall", "utility_privacy", "tstr", "correlation", "ld_decay",
             "allele_frequency"]

# generator -> (precision, recall, tstr, dcr_share, corr_error, synthetic correlation of features 0 and 1)
GENERATORS = {
    "useful": (0.8, 0.7, 0.9, 0.70, 0.05, 0.8),
    "private": (0.6, 0.5, 0.6, 0.48, 0.30, 0.1),
    "dominated": (0.5, 0.4, 0.5, 0.75, 0.20, 0.3),
    "copy-train": (0.9, 0.9, 0.95, 1.0, 0.0, 0.9),
}


def score(value: float, family: str, direction: str, reference: float | None, **extra) -> dict:
    return {"value": value, "reference": reference, "direction": direction, "target": extra.pop("target", None),
            "family": family, **extra}


def points(shift: float, n: int = 30) -> dict:
    return {"x": [i / n + shift for i in range(n)], "y": [(i % 5) / 5 for i in range(n)],
            "label": [CLASSES[i % 2] for i in range(n)]}


def record(generator: str, seed: int, summaries: dict | None = None) -> dict:
    precision, recall, tstr, dcr, corr_error, corr = GENERATORS[generator]
    wobble = 0.01 * seed
    metrics = {
        "precision": score(precision + wobble, "fidelity", "higher", 0.75),
        "recall": score(recall, "fidelity", "higher", 0.72),
        "density": score(1.0 - wobble, "fidelity", "target", 1.0),
        "coverage": score(recall, "fidelity", "higher", 0.8),
        "corr_error": score(corr_error, "fidelity", "lower", 0.02),
        "tstr_lr_balanced_accuracy": score(tstr, "utility", "higher", 0.88),
        "trtr_lr_balanced_accuracy": score(0.92, "utility", "info", 0.92),
        "dcr_share": score(dcr, "privacy", "target", 0.5, target=0.5, null_mean=0.5, null_sd=0.02),
        "af_corr": score(0.99 - corr_error, "genomics", "higher", 0.99),
    }
    if summaries is None:
        summaries = {
            "umap": {"method": "UMAP", "real": points(0.0), "synthetic": points(0.1)},
            "correlation": {"method": "Pearson", "features": ["1:100", "1:200"],
                            "real": [[1.0, 0.8], [0.8, 1.0]], "synthetic": [[1.0, corr], [corr, 1.0]]},
            "ld_decay": {"unit": "bp", "bin_edges": [0.0, 500.0, 1000.0], "pairs": [10, 8],
                         "real": [0.3, 0.1], "holdout": [0.28, 0.11], "synthetic": [corr * 0.3, None]},
            "allele_frequency": {"snps": "3 of 3 SNPs", "real": [0.1, 0.5, 0.9], "synthetic": [0.12, 0.5, 0.85]},
        }
    return {
        "schema": 1, "status": "ok", "config_hash": f"{generator}-{seed}", "protocol": "standard",
        "dataset": {"id": "toygeno", "split_hash": "f" * 64, "class_names": CLASSES, "modality": "genotype",
                    "n": 90, "p": 3},
        "generator": {"name": generator, "budget": "default", "seed": seed, "hparams": {}},
        "metrics": metrics, "compute": {"fit_s": 1.0, "sample_s": 0.1, "peak_rss_mb": 100.0, "n_params": 10},
        "projection": {"method": "pca", "real": points(0.0), "synthetic": points(0.05)},
        "summaries": summaries,
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    results, out = tmp_path_factory.mktemp("results"), tmp_path_factory.mktemp("out")
    for generator in GENERATORS:
        for seed in range(2):
            write_record(record_path(results, "toygeno", generator, seed), record(generator, seed))
    publish(results, out, "toygeno")
    return out


def test_every_figure_is_drawn_linked_and_captioned(published):
    summary = json.loads((published / "toygeno.json").read_text(encoding="utf-8"))
    assert [f["kind"] for f in summary["figures"]] == ALL_KINDS
    page = (published / "toygeno.md").read_text(encoding="utf-8")
    for figure in summary["figures"]:
        png = published / figure["path"]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert f"![{figure['alt']}]({figure['path']})" in page
        assert figure["caption"].split(" ")[0] in page


def test_captions_name_what_the_records_say(published):
    captions = {f["kind"]: f["caption"] for f in json.loads((published / "toygeno.json").read_text())["figures"]}
    # utility high, dcr_share low: useful (0.9, 0.70) and private (0.6, 0.48) are on the front; dominated
    # (0.5, 0.75) is beaten on both by useful; copy-train is a control and never on it
    assert "Pareto front of the ranked generators (private, useful)" in captions["utility_privacy"]
    assert "lowest useful and highest private" in captions["correlation"]  # corr_error 0.05 and 0.30
    assert "`precision` vs `recall` and `density` vs `coverage`" in captions["precision_recall"]
    assert "3 of 3 SNPs" in captions["allele_frequency"] and "seed 0" in captions["ld_decay"]


def test_the_pareto_front_keeps_only_undominated_points():
    pts = [Point("a", 0.9, 0.7, ()), Point("b", 0.6, 0.5, ()), Point("c", 0.5, 0.75, ()), Point("d", 0.9, 0.8, ()),
           Point("e", 0.6, 0.5, ())]
    assert [p.generator for p in pareto_front(pts)] == ["b", "e", "a"]  # ties both stay; d loses to a on y


def test_records_without_summaries_get_the_score_figures_and_a_note(tmp_path):
    for generator in ("useful", "private"):
        old = record(generator, 0)
        del old["summaries"]
        write_record(record_path(tmp_path, "toygeno", generator, 0), old)
    publish(tmp_path, tmp_path / "out", "toygeno")
    kinds = [f["kind"] for f in json.loads((tmp_path / "out" / "toygeno.json").read_text())["figures"]]
    assert kinds == ["pca", "metrics", "precision_recall", "utility_privacy", "tstr"]
    assert "No record has figure summaries" in (tmp_path / "out" / "toygeno.md").read_text()


@pytest.mark.parametrize("odd", [
    {"umap": {"method": "x", "real": {"x": [1, "a", None], "y": [2], "label": []}, "synthetic": {}}},
    {"correlation": {"features": [], "real": [], "synthetic": []}},
    {"correlation": {"features": ["a"], "real": [[None]], "synthetic": [[None]]}},
    {"ld_decay": {"unit": "SNPs", "bin_edges": [0, 1], "pairs": [0], "real": [None], "holdout": [None],
                  "synthetic": [None]}},
    {"allele_frequency": {"real": [], "synthetic": []}},
    {"allele_frequency": {"real": [0.5, 0.5], "synthetic": [0.5, 0.5]}},
])
def test_odd_summaries_the_schema_accepts_still_publish(tmp_path, odd):
    odd_record = record("useful", 0, summaries=odd)
    assert schema_problem(odd_record) is None
    write_record(record_path(tmp_path, "toygeno", "useful", 0), odd_record)
    write_record(record_path(tmp_path, "toygeno", "private", 0), record("private", 0))
    paths = publish(tmp_path, tmp_path / "out", "toygeno")
    assert all(Path(p).exists() for p in paths)


def test_the_page_names_each_summary_figure_no_record_allows(tmp_path, published):
    """A smoke run's records have no UMAP: the page says so; a page with every figure has no such note."""
    for generator in ("useful", "private"):
        smoke = record(generator, 0)
        smoke["dataset"]["p"] = 50  # enough features for a UMAP
        smoke["summaries"] = {"correlation": smoke["summaries"]["correlation"]}
        write_record(record_path(tmp_path, "toygeno", generator, 0), smoke)
    publish(tmp_path, tmp_path / "out", "toygeno")
    page = (tmp_path / "out" / "toygeno.md").read_text(encoding="utf-8")
    assert "No record has figure summaries for the UMAP, LD-decay, allele-frequency figures" in page
    assert "No record has figure summaries" not in (published / "toygeno.md").read_text(encoding="utf-8")
