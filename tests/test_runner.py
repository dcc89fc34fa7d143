"""End-to-end runs: records, resume, determinism, privacy controls and failure handling."""

import json

import pandas as pd
import pytest
from conftest import ROOT, blob_table

from benchmark.cli import main
from benchmark.run.config import LoadOptions, RunConfig
from benchmark.run.runner import run
from benchmark.store import iter_records, read_record

FAULTY = str(ROOT / "tests" / "plugins" / "faulty.py")
LIGHT = ("precision_recall", "exact_match", "dcr", "mia", "tstr_lr")  # what these tests read


@pytest.fixture(scope="module")
def pbmc_results(tmp_path_factory):
    """gaussian and copy-train on the default dataset, one seed (shared by the pbmc68k tests)."""
    results = tmp_path_factory.mktemp("pbmc-results")
    summary = run(RunConfig(generators="gaussian,copy-train", seeds=1, results_dir=results, progress=False,
                            metrics=LIGHT))
    assert summary.failed == []
    return results


def scores(results, generator, seed=0, folder="pbmc68k"):
    record = read_record(results / folder / generator / f"seed-{seed}.json")
    assert record is not None and record["status"] == "ok", record
    return record


def test_copy_train_is_flagged_by_privacy_metrics(pbmc_results):
    metrics = scores(pbmc_results, "copy-train")["metrics"]
    assert metrics["exact_match_rate"]["value"] == 1.0
    assert metrics["dcr_share"]["value"] >= 0.95
    assert metrics["mia_auc"]["value"] > 0.9


def test_gaussian_privacy_is_measurably_closer_to_train_than_fresh_data(pbmc_results):
    """A per-class Gaussian fitted on ~40 cells x 765 genes per class draws mean + Σ z_i x_i / √n: every
    sample holds a scaled copy of each training row of its class. The membership attack sees it
    (well above its null), yet far from the memorizer, and no row is a copy."""
    metrics = scores(pbmc_results, "gaussian")["metrics"]
    mia = metrics["mia_auc"]
    assert mia["value"] > mia["null_mean"] + 3 * mia["null_sd"]
    assert mia["value"] < 0.8 < scores(pbmc_results, "copy-train")["metrics"]["mia_auc"]["value"]
    assert metrics["exact_match_rate"]["value"] == 0.0


def test_gaussian_dcr_share_is_one_half_when_classes_are_well_sampled(tmp_path):
    """With many more rows per class than features the Gaussian is a fresh draw: share ~ 0.5."""
    X, y = blob_table(n_per_class=400, p=6, seed=3)
    frame = pd.DataFrame(X, columns=[f"g{j}" for j in range(X.shape[1])])
    frame.insert(0, "id", [f"s{i:04d}" for i in range(len(frame))])
    frame["label"] = y
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    summary = run(RunConfig(dataset=str(path), generators="gaussian,copy-train", seeds=1, results_dir=tmp_path / "r",
                            progress=False, load=LoadOptions(label_column="label"), metrics=LIGHT))
    folder = summary.folders[0]  # wide.csv-<content hash>
    gaussian = scores(tmp_path / "r", "gaussian", folder=folder)["metrics"]
    copy = scores(tmp_path / "r", "copy-train", folder=folder)["metrics"]
    assert abs(gaussian["dcr_share"]["value"] - 0.5) <= 0.1
    assert abs(gaussian["mia_auc"]["value"] - 0.5) <= 0.1
    assert copy["dcr_share"]["value"] >= 0.95 and copy["exact_match_rate"]["value"] == 1.0


def test_metric_selection_by_family_and_name(tmp_path):
    from benchmark.errors import ConfigError

    run(RunConfig(generators="marginals", seeds=1, results_dir=tmp_path, progress=False, metrics=("privacy", "mmd")))
    record = scores(tmp_path, "marginals")
    assert {s["family"] for s in record["metrics"].values()} == {"privacy", "fidelity"}
    assert "mmd" in record["metrics"] and "precision" not in record["metrics"]
    with pytest.raises(ConfigError, match="neither a metric nor a family"):
        run(RunConfig(generators="marginals", seeds=1, results_dir=tmp_path, progress=False, metrics=("nope",)))


def test_record_has_the_documented_blocks(pbmc_results):
    record = scores(pbmc_results, "gaussian")
    assert record["dataset"]["id"] == "pbmc68k"
    assert record["dataset"]["p"] == 765
    assert record["dataset"]["dropped_classes"] == {"CD4+/CD45RA+/CD25- Naive T": 8}
    assert record["dataset"]["n"] == 692
    assert len(record["dataset"]["class_names"]) == 9
    assert set(record["compute"]) >= {"fit_s", "sample_s", "eval_s", "peak_rss_mb", "n_params", "device"}
    assert set(record["provenance"]) >= {"package_version", "git_sha", "python", "torch", "numpy", "platform"}
    for name, score in record["metrics"].items():
        assert score["reference"] is not None or name in record["metric_failures"], name
        assert score["direction"] in {"higher", "lower", "target", "info"}
        assert score["family"] in {"fidelity", "utility", "privacy", "genomics"}
    projection = record["projection"]
    assert len(projection["real"]["x"]) == record["dataset"]["n_test"]
    assert len(projection["synthetic"]["x"]) == record["dataset"]["n_train"]
    assert not any(s["family"] == "genomics" for s in record["metrics"].values())


def test_same_seed_gives_identical_records(pbmc_results, tmp_path):
    run(RunConfig(generators="gaussian", seeds=1, results_dir=tmp_path, progress=False, metrics=LIGHT))
    first = scores(pbmc_results, "gaussian")
    again = scores(tmp_path, "gaussian")
    for block in ("metrics", "metric_failures", "projection", "dataset", "generator", "config_hash"):
        assert first[block] == again[block], block


def test_rerun_skips_finished_jobs_and_resumes_missing_ones(pbmc_results):
    again = run(RunConfig(generators="gaussian,copy-train", seeds=1, results_dir=pbmc_results, progress=False,
                          metrics=LIGHT))
    assert again.done == [] and sorted(again.skipped) == ["pbmc68k/copy-train/seed-0", "pbmc68k/gaussian/seed-0"]
    (pbmc_results / "pbmc68k" / "copy-train" / "seed-0.json").unlink()  # as if the run was killed
    resumed = run(RunConfig(generators="gaussian,copy-train", seeds=1, results_dir=pbmc_results, progress=False,
                            metrics=LIGHT))
    assert resumed.done == ["pbmc68k/copy-train/seed-0"] and resumed.skipped == ["pbmc68k/gaussian/seed-0"]
    forced = run(RunConfig(generators="gaussian", seeds=1, results_dir=pbmc_results, force=True, progress=False,
                           metrics=LIGHT))
    assert forced.done == ["pbmc68k/gaussian/seed-0"]


def test_failing_generators_give_records_and_the_run_goes_on(blob_csv, tmp_path):
    from benchmark.registry import load_plugin_file

    load_plugin_file(FAULTY)
    config = RunConfig(
        dataset=str(blob_csv), generators="faulty-crash,faulty-nan,faulty-hang,faulty-killed,faulty-memory,marginals",
        seeds=1, results_dir=tmp_path, timeout_s=20, memory_limit_gb=3, jobs=2, progress=False,
        load=LoadOptions(label_column="tissue"), metrics=LIGHT,
    )
    summary = run(config)
    folder = summary.folders[0]  # blobs.csv-<content hash>
    assert summary.done == [f"{folder}/marginals/seed-0"]
    assert summary.exit_code == 3
    records = {r["generator"]["name"]: r for r in iter_records(tmp_path, folder)}
    assert records["marginals"]["status"] == "ok"
    assert records["faulty-crash"]["status"] == "failed"
    assert records["faulty-crash"]["error"].startswith("fit: RuntimeError: deliberate failure in fit")
    assert records["faulty-nan"]["status"] == "invalid_output"
    assert "row 3, feature 1 ('gene1')" in records["faulty-nan"]["error"]
    assert records["faulty-hang"]["status"] == "timeout"
    assert "20 s" in records["faulty-hang"]["error"] and "'fit'" in records["faulty-hang"]["error"]
    assert records["faulty-killed"]["status"] == "failed"
    assert "signal 9" in records["faulty-killed"]["error"]
    assert records["faulty-memory"]["status"] == "failed"
    assert "out of memory" in records["faulty-memory"]["error"]
    for record in records.values():
        assert record["dataset"]["split_hash"] == records["marginals"]["dataset"]["split_hash"]


def test_cli_run_and_publish_on_a_csv(blob_csv, tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "boards"
    code = main(["run", "--dataset", str(blob_csv), "--label-column", "tissue", "--generators",
                 "gaussian,marginals", "--seeds", "2", "--budget", "smoke", "--results", str(results),
                 "--no-progress"])
    assert code == 0
    assert "4 jobs ok" in capsys.readouterr().out
    assert main(["publish", "--results", str(results), "--out", str(out)]) == 0
    [board_path] = out.glob("blobs.csv-*~smoke.md")
    board = board_path.read_text(encoding="utf-8")
    assert "gaussian" in board and "marginals" in board
    assert (out / "figures").is_dir()


def test_genotype_run_reports_genomics_metrics(tmp_path):
    summary = run(RunConfig(dataset="sim-ooa", generators="marginals", seeds=1, budget="smoke",
                            results_dir=tmp_path, progress=False, metrics=("genomics", "dcr")))
    assert summary.failed == []
    record = json.loads((tmp_path / "sim-ooa~smoke" / "marginals" / "seed-0.json").read_text())
    families = {score["family"] for score in record["metrics"].values()}
    assert "genomics" in families
    assert record["dataset"]["modality"] == "genotype"
