"""Synthetic data in and out: ``run --save-synthetic`` files and the ``score`` command (docs/scoring.md)."""

import anndata
import numpy as np
import pandas as pd
import pytest
from conftest import blob_table

from benchmark.cli import build_parser, main
from benchmark.dataset import DatasetMeta
from benchmark.errors import ConfigError, DataError
from benchmark.leaderboard import publish
from benchmark.run.config import RunConfig
from benchmark.run.runner import run
from benchmark.run.score import score_config, score_file
from benchmark.run.synthetic_files import read_synthetic, synthetic_path
from benchmark.store import load_record, write_record

LIGHT = ("precision_recall", "exact_match", "dcr", "mia", "tstr_lr")
GENES = tuple(f"gene{j}" for j in range(8))
CLASSES = ("brain", "liver", "lung")
META = DatasetMeta("blobs", "expression", GENES, CLASSES)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny CSV dataset and one gaussian job run with --save-synthetic: (dataset, results, record path)."""
    root = tmp_path_factory.mktemp("score")
    X, y = blob_table(n_per_class=40, p=len(GENES))
    frame = pd.DataFrame(X, columns=list(GENES))
    frame.insert(0, "sample", [f"cell{i:03d}" for i in range(len(frame))])
    frame["label"] = np.array(["liver", "lung", "brain"])[y]
    dataset = root / "blobs.csv"
    frame.to_csv(dataset, index=False)
    results = root / "results"
    summary = run(RunConfig(dataset=str(dataset), generators="gaussian", seeds=1, budget="smoke", results_dir=results,
                            progress=False, metrics=LIGHT, save_synthetic=True))
    assert summary.failed == []
    return dataset, results, results / summary.folders[0] / "gaussian" / "seed-0.json"


def score(saved, file, *options):
    """Score ``file`` in this process, as ``python -m benchmark score`` would; returns the record."""
    dataset, results, _ = saved
    args = build_parser().parse_args(["score", "--dataset", str(dataset), "--synthetic", str(file), "--results",
                                      str(results), "--budget", "smoke", "--metrics", ",".join(LIGHT),
                                      "--no-progress", *options])
    return load_record(score_file(score_config(args), args.synthetic, args.name))


def saved_rows(saved):
    with np.load(synthetic_path(saved[2])) as archive:
        return archive["X"], archive["labels"]


def test_save_synthetic_keeps_rows_labels_and_features_beside_the_record(saved):
    record = load_record(saved[2])
    path = synthetic_path(saved[2])
    assert path.name == "seed-0.synthetic.npz" and not path.match("seed-*.json")
    with np.load(path) as archive:
        assert archive["X"].shape == (record["dataset"]["n_train"], len(GENES))
        assert archive["labels"].dtype.kind == "U" and set(archive["labels"]) == set(CLASSES)
        assert tuple(archive["feature_names"]) == GENES
        assert str(archive["dataset_id"]) == record["dataset"]["id"]
        assert str(archive["split_hash"]) == record["dataset"]["split_hash"]


def test_scoring_the_saved_file_reproduces_the_run(saved):
    run_record = load_record(saved[2])
    record = score(saved, synthetic_path(saved[2]), "--name", "gaussian-file")
    for block in ("metrics", "metric_failures", "metric_not_applicable", "projection", "dataset", "protocol"):
        assert record[block] == run_record[block], block
    external = record["generator"].pop("external")
    assert record["generator"] == {"name": "gaussian-file", "budget": "external", "seed": 0, "hparams": {},
                                   "overrides": {}}
    assert external["file"] == "seed-0.synthetic.npz" and external["n_rows"] == run_record["dataset"]["n_train"]
    assert len(external["sha256"]) == 64 and record["compute"]["eval_s"] >= 0


def test_score_a_shuffled_csv_and_an_h5ad(saved, tmp_path):
    X, labels = saved_rows(saved)
    order = np.random.default_rng(0).permutation(len(X))
    frame = pd.DataFrame(X[order], columns=list(GENES)).assign(label=labels[order])
    frame.to_csv(tmp_path / "mine.csv", index=False)
    from_csv = score(saved, tmp_path / "mine.csv")
    assert from_csv["generator"]["name"] == "mine" and from_csv["generator"]["external"]["n_rows"] == len(X)
    adata = anndata.AnnData(X, obs=pd.DataFrame({"label": labels}, index=[f"s{i}" for i in range(len(X))]),
                            var=pd.DataFrame(index=list(GENES)))
    adata.write_h5ad(tmp_path / "cells.h5ad")
    from_h5ad = score(saved, tmp_path / "cells.h5ad", "--name", "cells")
    assert from_h5ad["metrics"] == load_record(saved[2])["metrics"]  # same rows, same labels, same order


def test_h5ad_layer_and_label_column_options(tmp_path):
    X = np.arange(11 * len(GENES), dtype=np.float32).reshape(11, len(GENES))
    adata = anndata.AnnData(np.zeros_like(X), obs=pd.DataFrame({"tissue": ["lung"] * 11}, index=list("abcdefghijk")),
                            var=pd.DataFrame(index=list(GENES)), layers={"synthetic": X})
    adata.write_h5ad(tmp_path / "layer.h5ad")
    rows, codes = read_synthetic(tmp_path / "layer.h5ad", META, label_column="tissue", layer="synthetic")
    np.testing.assert_array_equal(rows, X)
    assert codes.tolist() == [2] * 11
    with pytest.raises(DataError, match=r"layer\.h5ad: no obs column 'label' \(name it with --label-column\)"):
        read_synthetic(tmp_path / "layer.h5ad", META)


def write_table(path, X, labels, columns=GENES, label_column="label"):
    frame = pd.DataFrame(X, columns=list(columns))
    if label_column is not None:
        frame[label_column] = labels
    frame.to_csv(path, index=False)
    return path


GOOD = np.full((12, len(GENES)), 1.5)
GOOD_LABELS = np.array(CLASSES * 4)


def test_a_good_table_reads_to_rows_and_label_codes(tmp_path):
    X, codes = read_synthetic(write_table(tmp_path / "ok.csv", GOOD, GOOD_LABELS), META)
    np.testing.assert_array_equal(X, GOOD)
    assert codes.tolist() == [0, 1, 2] * 4


def test_wrong_feature_sets_are_named(tmp_path):
    missing = write_table(tmp_path / "missing.csv", GOOD[:, :6], GOOD_LABELS, GENES[:6])
    with pytest.raises(DataError, match=r"missing\.csv: not the dataset's feature set: 2 of its 8 features missing "
                                        r"\('gene6', 'gene7'\)"):
        read_synthetic(missing, META)
    extra = tmp_path / "extra.csv"
    pd.DataFrame(GOOD, columns=list(GENES)).assign(label=GOOD_LABELS).to_csv(extra)  # pandas index kept
    with pytest.raises(DataError, match=r"extra\.csv: .*1 column\(s\) not among them \('Unnamed: 0'\) "
                                        r"\(a pandas index\? write the table with index=False\)"):
        read_synthetic(extra, META)
    swapped = write_table(tmp_path / "order.csv", GOOD, GOOD_LABELS, (*GENES[:2], GENES[3], GENES[2], *GENES[4:]))
    with pytest.raises(DataError, match=r"order\.csv: features are in another order than the dataset's: position 2 "
                                        r"holds 'gene3', the dataset has 'gene2' there"):
        read_synthetic(swapped, META)


def test_bad_labels_are_named_with_their_row(tmp_path):
    labels = GOOD_LABELS.astype(object)
    labels[5] = "kidney"
    with pytest.raises(DataError, match=r"unknown label 'kidney' \(first at row 5 \(line 7\)\); the dataset's "
                                        r"classes: 'brain', 'liver', 'lung'"):
        read_synthetic(write_table(tmp_path / "kidney.csv", GOOD, labels), META)
    with pytest.raises(DataError, match=r"no label column 'label' \(name it with --label-column\); columns: 'gene0'"):
        read_synthetic(write_table(tmp_path / "nolabel.csv", GOOD, None, label_column=None), META)
    labels[5] = ""
    with pytest.raises(DataError, match=r"empty label at row 5 \(line 7\)"):
        read_synthetic(write_table(tmp_path / "empty-label.csv", GOOD, labels), META)


def test_bad_values_are_named_with_row_and_column(tmp_path):
    X = GOOD.copy()
    X[3, 4] = np.nan
    with pytest.raises(DataError, match=r"nan\.csv: NaN at row 3 \(line 5\), feature 'gene4'"):
        read_synthetic(write_table(tmp_path / "nan.csv", X, GOOD_LABELS), META)
    X[3, 4] = np.inf
    np.savez(tmp_path / "inf.npz", X=X, labels=GOOD_LABELS)
    with pytest.raises(DataError, match=r"inf\.npz: an infinite value at row 3, feature 'gene4'"):
        read_synthetic(tmp_path / "inf.npz", META)
    text = pd.DataFrame(GOOD, columns=list(GENES)).assign(label=GOOD_LABELS)
    text["gene2"] = text["gene2"].astype(object)
    text.loc[7, "gene2"] = "high"
    text.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(DataError, match=r"text\.csv: column 'gene2' is not numeric \(dtype object\); row 7 \(line 9\) "
                                        r"holds 'high'"):
        read_synthetic(tmp_path / "text.csv", META)


def test_genotypes_must_be_dosages(tmp_path):
    snps = DatasetMeta("geno", "genotype", ("rs1", "rs2", "rs3"), ("A", "B"))
    X = np.tile([0.0, 1.0, 2.0], (12, 1))
    labels = np.array(["A", "B"] * 6)
    rows, _ = read_synthetic(write_table(tmp_path / "ok.csv", X, labels, snps.feature_names), snps)
    assert rows.dtype == np.int8 and rows.tolist() == X.tolist()
    X[4, 1] = 3
    with pytest.raises(DataError, match=r"genotype value 3\.0 at row 4 \(line 6\), SNP 'rs2' is outside \{0,1,2\}"):
        read_synthetic(write_table(tmp_path / "three.csv", X, labels, snps.feature_names), snps)
    X[4, 1] = 0.5
    with pytest.raises(DataError, match=r"genotype value 0\.5 at row 4 \(line 6\), SNP 'rs2' is not a whole number"):
        read_synthetic(write_table(tmp_path / "half.csv", X, labels, snps.feature_names), snps)


def test_unreadable_files_are_named(tmp_path):
    np.savez_compressed(tmp_path / "full.npz", X=GOOD, labels=GOOD_LABELS)
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.npz: cannot read the \.npz archive, truncated"):
        read_synthetic(tmp_path / "cut.npz", META)
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        read_synthetic(tmp_path / "empty.csv", META)
    with pytest.raises(DataError, match=r"header\.csv: the file has no rows"):
        read_synthetic(write_table(tmp_path / "header.csv", GOOD[:0], GOOD_LABELS[:0]), META)
    with pytest.raises(DataError, match=r"absent\.csv: file not found"):
        read_synthetic(tmp_path / "absent.csv", META)
    (tmp_path / "rows.xlsx").write_bytes(b"x")
    with pytest.raises(DataError, match=r"rows\.xlsx: unsupported extension; expected one of \.csv\.gz"):
        read_synthetic(tmp_path / "rows.xlsx", META)
    np.savez(tmp_path / "nolabels.npz", X=GOOD)
    with pytest.raises(DataError, match=r"nolabels\.npz: no array 'labels'"):
        read_synthetic(tmp_path / "nolabels.npz", META)


def test_a_saved_file_is_scored_only_on_its_own_split(saved):
    with pytest.raises(DataError, match=r"seed-0\.synthetic\.npz: was saved by a run on dataset .*, split "
                                        r"[0-9a-f]{12}, not on this dataset"):
        read_synthetic(synthetic_path(saved[2]), DatasetMeta("other", "expression", GENES, CLASSES))


def test_each_class_needs_the_holdout_count_of_rows(saved, tmp_path):
    X, labels = saved_rows(saved)
    keep = (labels != "brain") | (np.cumsum(labels == "brain") <= 2)
    write_table(tmp_path / "few.csv", X[keep], labels[keep])
    with pytest.raises(DataError, match=r"few\.csv: class 'brain' has 2 rows, at least \d+ needed"):
        score(saved, tmp_path / "few.csv")


def test_names_of_generators_and_run_records_are_refused(saved):
    with pytest.raises(ConfigError, match=r"--name 'gaussian' is the name of a registered generator"):
        score(saved, synthetic_path(saved[2]), "--name", "gaussian")
    record = load_record(saved[2])
    record["generator"]["name"] = "plugin-gan"  # as if run with a plugin this process does not load
    write_record(saved[2].parent.parent / "plugin-gan" / "seed-0.json", record)
    with pytest.raises(ConfigError, match=r"plugin-gan/seed-0\.json holds a record of generator 'plugin-gan' made by "
                                          r"`run`; give the external file another --name"):
        score(saved, synthetic_path(saved[2]), "--name", "plugin-gan")


def test_the_record_is_published_ranked_and_marked_external(saved, tmp_path):
    record = score(saved, synthetic_path(saved[2]), "--name", "gaussian-file")
    out = tmp_path / "boards"
    publish(saved[1], out)
    page = next(p for p in out.glob("*.md") if p.name != "README.md").read_text(encoding="utf-8")
    ranking = page.split("## Overall ranking", 1)[1].split("##", 1)[0]
    row = next(line for line in ranking.splitlines() if "gaussian-file (external file)" in line)
    assert row.split("|")[1].split()[0].isdigit()  # ranked like any generator
    assert any("| gaussian " in line for line in ranking.splitlines())  # a run's row is not marked
    sha = record["generator"]["external"]["sha256"][:12]
    assert f"gaussian-file: `seed-0.synthetic.npz`, sha256 `{sha}`" in " ".join(ranking.split())


def test_cli_exit_codes_and_messages(saved, tmp_path, capsys):
    dataset, results, _ = saved
    X, labels = saved_rows(saved)
    good = write_table(tmp_path / "cli.csv", X, labels)
    common = ["score", "--dataset", str(dataset), "--results", str(results), "--budget", "smoke", "--no-progress",
              "--metrics", ",".join(LIGHT)]
    assert main([*common, "--synthetic", str(good)]) == 0
    folder = saved[2].parent.parent
    assert capsys.readouterr().out.splitlines() == [
        f"record: {folder / 'cli' / 'seed-0.json'}",
        f"publish with: python -m benchmark publish --results {results} --dataset {folder.name}"]
    assert load_record(folder / "cli" / "seed-0.json")["generator"]["external"]["file"] == "cli.csv"
    bad = write_table(tmp_path / "bad.csv", X, np.where(labels == "lung", "kidney", labels))
    assert main([*common, "--synthetic", str(bad)]) == 2
    assert "error: bad.csv: unknown label 'kidney'" in capsys.readouterr().err


def test_a_scored_record_is_current_while_the_metric_code_is(saved, tmp_path):
    """Committed external records rest on the metric code only: they have no generator code to go stale."""
    from benchmark.code_hash import stale_records

    rows, labels = saved_rows(saved)
    file = tmp_path / "current.npz"
    np.savez_compressed(file, X=rows, labels=labels)
    results = tmp_path / "only-external"
    dataset, _, _ = saved
    args = build_parser().parse_args(["score", "--dataset", str(dataset), "--synthetic", str(file), "--results",
                                      str(results), "--budget", "smoke", "--metrics", ",".join(LIGHT),
                                      "--no-progress"])
    path = score_file(score_config(args), args.synthetic, args.name)
    assert stale_records(results) == []
    record = load_record(path)
    record["code"]["metrics"] = "0" * 64
    write_record(path, record)
    assert [reason for _, reason in stale_records(results)] == ["metrics code changed since the record was produced"]
