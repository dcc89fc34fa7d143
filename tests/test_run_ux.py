"""What a new user meets first: early name checks, progress, where publish writes, data info on a file,
the offline error, the leaders table at the end of a run."""

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main


@pytest.fixture
def no_data_preparation(monkeypatch):
    """Fail the test if the run gets as far as loading and scoring the data."""

    def refuse(config):
        raise AssertionError("the data were prepared before the names were checked")

    monkeypatch.setattr("benchmark.run.runner.prepare", refuse)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--generators", "gaussian,gausian", "unknown generator 'gausian'"),
    ("--metrics", "fidelity,privacyy", "--metrics: 'privacyy': neither a metric nor a family"),
    ("--hparam", "shrinkag=auto", "--hparam shrinkag=auto: no selected generator has the hyperparameter 'shrinkag'"),
    ("--hparam", "gaussian.extra_noise=lots", "gaussian.extra_noise must be a number, got the str 'lots'"),
])
def test_misspelt_names_fail_before_the_data_are_prepared(no_data_preparation, tmp_path, capsys, option, value,
                                                           message):
    assert main(["run", "--no-progress", "--results", str(tmp_path), option, value]) == 2
    assert message in capsys.readouterr().err


def test_reference_scoring_shows_a_progress_bar(capsys):
    from benchmark.run.prepared import reference_with_progress

    class Context:
        def reference(self, progress):
            for done, name in enumerate(["precision_recall", "dcr"]):
                progress(name, done, 2)
            progress("done", 2, 2)
            return {"scores": {}}

    assert reference_with_progress(Context(), show=True) == {"scores": {}}
    err = capsys.readouterr().err
    assert "reference scores: dcr" in err and "2/2" in err
    reference_with_progress(Context(), show=False)
    assert capsys.readouterr().err == ""


def blob_csv(path, n=60):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(5, 1, size=(n, 4)), columns=[f"g{j}" for j in range(4)])
    frame.insert(0, "sample", [f"s{i:03d}" for i in range(n)])
    frame["tissue"] = np.array(["liver", "lung", "brain"])[np.arange(n) % 3]
    frame.to_csv(path, index=False)
    return path


def test_run_ends_with_the_leaders_and_publish_writes_under_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = blob_csv(tmp_path / "tiny.csv")
    assert main(["run", "--dataset", str(data), "--label-column", "tissue", "--generators", "marginals,uniform",
                 "--seeds", "1", "--budget", "smoke", "--metrics", "mia,mmd", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "leaders" in out and "fidelity" in out and "privacy: pass" in out
    assert main(["publish"]) == 0
    pages = [p for p in (tmp_path / "results" / "leaderboards").glob("*.md") if p.name != "README.md"]
    assert len(pages) == 1 and not (tmp_path / "leaderboards").exists()
    assert (tmp_path / "results" / "leaderboards" / "README.md").is_file()  # the index of every page
    assert "--out results/leaderboards`" in pages[0].read_text(encoding="utf-8")


def test_data_info_reads_a_user_file_with_the_run_options(tmp_path, capsys):
    data = blob_csv(tmp_path / "tiny.csv", n=33)
    assert main(["data", "info", str(data), "--label-column", "tissue"]) == 0
    out = capsys.readouterr().out
    assert "n = 33 samples, p = 4 features, 3 labels:" in out
    assert "modality:    expression" in out and "column 'tissue'" in out
    assert "11  brain" in out and "notes:" in out
    assert main(["data", "info", str(data)]) == 2  # no 'label' column: the same error as `run`
    assert "label column 'label' not found" in capsys.readouterr().err


def test_offline_run_names_every_missing_file_with_its_path(monkeypatch, tmp_path, capsys):
    from benchmark.cards import get_card
    from benchmark.download import local_path

    monkeypatch.setenv("OMICS_BENCHMARK_OFFLINE", "1")
    assert main(["run", "--dataset", "tcga", "--no-progress", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    files = get_card("tcga").files
    assert f"{len(files)} file(s) missing" in err
    for remote in files:
        assert f"save it as: {local_path(remote)}" in err
