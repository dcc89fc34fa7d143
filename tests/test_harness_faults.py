"""Fault injection: bad record files, clashing names, unwritable records, killed coordinators, slow plugins,
huge error texts, hostile input files and hostile names on a leaderboard. Nothing here touches the network."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from benchmark import registry
from benchmark.atomic import atomic_write, pid_alive, remove_stale_temps
from benchmark.cli import main
from benchmark.data import load_dataset
from benchmark.errors import DataError
from benchmark.leaderboard import md_text, publish
from benchmark.projection import MIN_BIN_COUNT
from benchmark.run.config import LoadOptions, RunConfig
from benchmark.run.runner import run
from benchmark.store import (
    cap_text,
    dataset_folder,
    load_record,
    record_path,
    safe_name,
    schema_problem,
    write_record,
)

FAST = ("exact_match",)  # the harness tests need a record, not the metric suite


def write_table(path: Path, n: int = 60, p: int = 4, seed: int = 0, unlabelled: int = 0) -> Path:
    """A small three-class CSV (first column the sample id, last the label)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, p)) + 5, columns=[f"g{j}" for j in range(p)])
    frame.insert(0, "id", [f"s{i:03d}" for i in range(n)])
    frame["label"] = np.array(["a", "b", "c"])[np.arange(n) % 3]
    frame.loc[: unlabelled - 1, "label"] = None
    frame.to_csv(path, index=False)
    return path


def write_plugin(path: Path, body: str) -> Path:
    """A plugin file registering the generator classes in ``body`` (Faulty base: fit stores p, sample zeros)."""
    header = textwrap.dedent("""
        import os, time
        import numpy as np
        from benchmark.registry import register_generator
        from generators.base import Generator

        class Faulty(Generator):
            modalities = frozenset({"expression", "counts", "genotype"})

            def fit(self, X, y, meta):
                self.p = X.shape[1]
                return self

            def sample(self, y):
                return np.zeros((len(y), self.p), dtype=np.float32)
    """)
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return path


def hanging_plugin(path: Path, name: str, pid_file: Path, seconds: int) -> Path:
    """A plugin whose generator ``name`` writes its job's pid to ``pid_file``, then sleeps in fit."""
    return write_plugin(path, f"""
        @register_generator
        class Hang(Faulty):
            name = {name!r}

            def fit(self, X, y, meta):
                open({str(pid_file)!r}, "w").write(str(os.getpid()))
                time.sleep({seconds})
    """)


def valid_record(name: str = "g", seed: int = 0, **extra) -> dict:
    return {"schema": 1, "status": "ok", "config_hash": "c", "dataset": {"id": "d", "split_hash": "s"},
            "generator": {"name": name, "seed": seed, "budget": "smoke"}, "compute": {},
            "metrics": {"exact_match_rate": {"value": 0.0, "reference": 0.0, "direction": "lower",
                                             "family": "privacy"}}, **extra}


def folder_of(csv: Path, budget: str = "smoke") -> str:
    return dataset_folder(load_dataset(str(csv)).dataset_id, "standard", budget)


def wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory) -> Path:
    return write_table(tmp_path_factory.mktemp("tiny") / "tiny.csv")


# ------------------------------------------------------------------------------------------------
# 1. bad records


@pytest.mark.parametrize("change, problem", [
    (lambda r: r.pop("config_hash"), "missing 'config_hash'"),
    (lambda r: r.update(status="done"), "'status' is 'done'"),
    (lambda r: r["generator"].update(seed="0"), "'generator.seed' must be an integer, got str"),
    (lambda r: r["dataset"].pop("split_hash"), "missing 'dataset.split_hash'"),
    (lambda r: r["metrics"]["exact_match_rate"].update(value=float("nan")), "value' must be a finite number"),
    (lambda r: r["metrics"]["exact_match_rate"].update(reference="0.1"), "reference' must be a finite number or null"),
    (lambda r: r["metrics"].update(x=[1]), "metrics.x must be an object"),
    (lambda r: r.update(compute=[]), "'compute' must be an object"),
    (lambda r: r.update(status="failed"), "a failed record needs 'error' as a string"),
    (lambda r: r.update(projection={"real": [1, 2]}), "'projection.real' must be an object"),
    (lambda r: r.update(protocol_info={"name": "biased", "fraction": 0.2}), "missing 'protocol_info.biased_labels'"),
])
def test_schema_problems_are_named(change, problem):
    record = valid_record()
    assert schema_problem(record) is None
    change(record)
    assert problem in schema_problem(record)


def test_extra_keys_and_the_committed_records_are_valid():
    extra = valid_record(code={"generator": "ab", "metrics": "cd"}, metric_not_applicable={"fd": "why"})
    extra["metrics"]["exact_match_rate"].update(null_mean=0.1, null_sd=0.01, target=None)
    assert schema_problem(extra) is None
    committed = sorted((ROOT / "leaderboards" / "records").glob("**/seed-*.json"))
    assert committed and all(load_record(path) for path in committed)


def test_bad_record_files_are_reported_and_redone_by_run(tiny_csv, tmp_path, caplog):
    config = RunConfig(dataset=str(tiny_csv), generators="marginals", seeds=3, budget="smoke", results_dir=tmp_path,
                       progress=False, metrics=FAST)
    folder = run(config).folders[0]
    paths = [record_path(tmp_path, folder, "marginals", seed) for seed in range(3)]
    paths[0].write_bytes(b'{"schema": 1, "status": "ok", "note": "\xff\xfe"}')
    paths[1].write_text(paths[1].read_text(encoding="utf-8")[:100], encoding="utf-8")
    record = json.loads(paths[2].read_text(encoding="utf-8"))
    record["generator"]["seed"] = "2"
    paths[2].write_text(json.dumps(record), encoding="utf-8")
    stale = paths[0].parent / f".seed-0.json.999999999-{socket.gethostname()}.0badc0de.tmp"
    stale.write_text("half a record")
    with caplog.at_level(logging.WARNING, logger="benchmark.run.runner"):
        again = run(config)
    assert sorted(again.done) == [f"{folder}/marginals/seed-{k}" for k in range(3)]
    redone = [r.getMessage() for r in caplog.records if r.getMessage().startswith("redoing ")]
    assert len(redone) == 3
    assert redone[0] == f"redoing {paths[0]}: is not UTF-8 text (byte 0xff at offset 39)"
    assert redone[1].startswith(f"redoing {paths[1]}: is not valid JSON, truncated? (")
    assert redone[2] == f"redoing {paths[2]}: 'generator.seed' must be an integer, got str \"2\""
    assert all(load_record(path)["status"] == "ok" for path in paths)
    assert not stale.exists()


def test_publish_skips_bad_records_with_one_warning_each(tmp_path, capsys):
    folder = tmp_path / "res" / "d"
    write_record(folder / "good" / "seed-0.json", {k: v for k, v in valid_record("good").items() if k != "schema"})
    bad = {
        "seed-0.json": b"\x80\x81 not utf-8",
        "seed-1.json": b'{"schema": 1, "status": "ok", "metr',
        "seed-2.json": json.dumps(valid_record("bad", metrics=[])).encode(),
        "seed-3.json": b"[" * 100_000 + b"]" * 100_000,
    }
    for name, payload in bad.items():
        (folder / "bad" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "bad" / name).write_bytes(payload)
    (folder / "bad" / "seed-4.json").mkdir()
    assert main(["publish", "--results", str(tmp_path / "res"), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning: skipped")]
    assert len(warnings) == 5 and "Traceback" not in err
    for name in [*bad, "seed-4.json"]:
        assert any(str(folder / "bad" / name) in line for line in warnings), name
    assert "good" in (tmp_path / "out" / "d.md").read_text(encoding="utf-8")
    (folder / "good" / "seed-0.json").write_text("{")  # every record bad: a one-line error, exit code 2
    assert main(["publish", "--results", str(tmp_path / "res"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: no records")


def full_record(seed: int) -> dict:
    """An ok record with every block publishing reads."""
    record = valid_record("g", seed, protocol="biased", error=None, metric_failures={"fd": "n too small"},
                          metric_not_applicable={"ld": "no positions"},
                          provenance={"started_at": "2026-01-01T00:00:00+00:00", "git_sha": "abc"},
                          protocol_info={"name": "biased", "biased_labels": ["a"], "train_counts": {"a": 9},
                                         "biased_train_counts": {"a": 2}, "fraction": 0.2})
    record["dataset"].update(class_names=["a", "b"], dropped_classes={"c": 2}, n=10, p=4, notes=["read x"])
    record["compute"].update(fit_s=1.0, device="cpu")
    record["projection"] = {"method": "pca", "real": {"x": [0.0, 1.0], "y": [1.0, 0.0], "label": ["a", "b"]},
                            "synthetic": {"x": [0.5], "y": [0.5], "label": ["a"]}}
    return record


def test_no_schema_valid_oddity_breaks_the_page():
    """Every value of every block replaced by each JSON type: the schema refuses it or the page renders."""
    from benchmark.leaderboard import Board, render_markdown
    from benchmark.publish.figures import Figure

    def paths(block, prefix=()):
        for key, value in block.items():
            yield (*prefix, key)
            if isinstance(value, dict):
                yield from paths(value, (*prefix, key))

    pca = Figure("pca", Path("figures/d_pca.png"), "PCA", "caption")
    rendered = 0
    for path in list(paths(full_record(0))):
        for odd in (None, 7, -1.5, "x", [], ["x", 1], {}, {"x": [1]}, True):
            record = full_record(0)
            parent = record
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = odd
            if schema_problem(record) is None:
                render_markdown(Board.from_records([record, full_record(1)], "d"), [pca])
                rendered += 1
    assert rendered > 50


# ------------------------------------------------------------------------------------------------
# 2. folder names


def test_folder_names_are_unique_and_card_folders_unchanged():
    for card_folder in ("pbmc68k", "1kg-chr1", "1kg-chr1@biased", "pbmc68k~smoke", "sim-ooa"):
        assert safe_name(card_folder) == card_folder
    assert dataset_folder("1kg-chr1", "biased") == "1kg-chr1@biased"
    assert dataset_folder("pbmc68k", budget="smoke") == "pbmc68k~smoke"
    names = ["x/y", "x_y", "x\\y", "x y", "../x_y", ".x_y", "", "é", "a" * 300, "a" * 301]
    folders = [safe_name(name) for name in names]
    assert len(set(folders)) == len(names)
    assert all(safe_name(f) == f and len(f) <= 150 and "/" not in f for f in folders)
    assert safe_name("x/y") == "x_y-" + __import__("hashlib").sha256(b"x/y").hexdigest()[:8]
    assert "@" not in dataset_folder("a@biased.csv-1234abcd")  # a file id cannot fake a protocol folder
    for folder in (ROOT / "leaderboards" / "records").iterdir():  # committed folders keep their names
        if folder.name != "splits":
            record = load_record(next(folder.glob("*/seed-0.json")))
            budget = record["generator"]["budget"]
            assert dataset_folder(record["dataset"]["id"], record["protocol"], budget) == folder.name


def test_user_files_with_one_stem_get_their_own_folders(tmp_path):
    table = write_table(tmp_path / "ok.csv")
    vcf = tmp_path / "ok.vcf"
    samples = [f"s{i:03d}" for i in range(30)]
    rng = np.random.default_rng(1)
    lines = ["##fileformat=VCFv4.2", "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                                                 "FORMAT", *samples])]
    for pos in range(1, 9):
        calls = [f"{a}|{b}" for a, b in rng.integers(0, 2, size=(30, 2))]
        lines.append("\t".join(["1", str(pos * 100), ".", "A", "G", ".", "PASS", ".", "GT", *calls]))
    vcf.write_text("\n".join(lines) + "\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("".join(f"{s},{'ab'[i % 2]}\n" for i, s in enumerate(samples)))
    (tmp_path / "elsewhere").mkdir()
    other = write_table(tmp_path / "elsewhere" / "ok.csv", seed=9)
    ids = [load_dataset(str(table)).dataset_id, load_dataset(str(vcf), labels_file=str(labels)).dataset_id,
           load_dataset(str(other)).dataset_id]
    assert ids[0].startswith("ok.csv-") and ids[1].startswith("ok.vcf-") and ids[2].startswith("ok.csv-")
    assert len({dataset_folder(i) for i in ids}) == 3
    assert load_dataset(str(table)).dataset_id == ids[0]  # stable


# ------------------------------------------------------------------------------------------------
# 3. unwritable records, temp files, umask


def test_a_record_path_that_is_a_folder_stops_the_run_and_keeps_the_record(tiny_csv, tmp_path, capsys, caplog):
    blocked = record_path(tmp_path, folder_of(tiny_csv), "marginals", 0)
    blocked.mkdir(parents=True)
    code = main(["run", "--dataset", str(tiny_csv), "--generators", "marginals", "--seeds", "1", "--budget",
                 "smoke", "--results", str(tmp_path), "--no-progress", "--metrics", "exact_match"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"redoing {blocked}: is a folder, not a record file" in caplog.text
    message = err.strip().splitlines()[-1]
    assert message.startswith(f"error: cannot write the record {blocked} (Is a directory); the job's record was "
                              "saved to ")
    kept = Path(re.search(r"saved to (\S+\.json) instead", message).group(1))
    assert kept.parent == Path(__import__("tempfile").gettempdir())
    assert load_record(kept)["generator"]["name"] == "marginals"
    kept.unlink()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_stops_the_run(tiny_csv, tmp_path, capsys):
    locked = record_path(tmp_path, folder_of(tiny_csv), "marginals", 0).parent
    locked.mkdir(parents=True)
    locked.chmod(0o555)
    try:
        code = main(["run", "--dataset", str(tiny_csv), "--generators", "marginals", "--seeds", "1", "--budget",
                     "smoke", "--results", str(tmp_path), "--no-progress", "--metrics", "exact_match"])
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err
    assert code == 2 and f"error: cannot write the record {locked / 'seed-0.json'} (Permission denied)" in err
    Path(re.search(r"saved to (\S+\.json) instead", err).group(1)).unlink()


def test_a_full_disk_stops_the_run_and_kills_running_jobs(tiny_csv, tmp_path, monkeypatch, capsys):
    pid_file = tmp_path / "hang.pid"
    plugin = hanging_plugin(tmp_path / "hang_full_disk.py", "hang-full-disk", pid_file, 600)

    def disk_full(path, record):
        assert wait_for(pid_file.exists, 30)  # the hanging job is running when the write fails
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("benchmark.run.runner.write_record", disk_full)
    code = main(["run", "--dataset", str(tiny_csv), "--generators", "marginals,hang-full-disk", "--jobs", "2",
                 "--seeds", "1", "--budget", "smoke", "--results", str(tmp_path), "--no-progress", "--metrics",
                 "exact_match", "--plugin", str(plugin)])
    err = capsys.readouterr().err
    assert code == 2 and "(No space left on device)" in err and "running jobs killed" in err
    assert not pid_alive(int(pid_file.read_text()))
    kept = Path(re.search(r"saved to (\S+\.json) instead", err).group(1))
    assert json.loads(kept.read_text())["status"] == "ok"
    kept.unlink()


def test_a_results_folder_that_is_a_file_is_one_line_of_error(tiny_csv, tmp_path, capsys):
    (tmp_path / "results").write_text("not a folder")
    code = main(["run", "--dataset", str(tiny_csv), "--generators", "marginals", "--seeds", "1", "--budget",
                 "smoke", "--results", str(tmp_path / "results"), "--no-progress", "--metrics", "exact_match"])
    assert code == 2 and capsys.readouterr().err.startswith("error: [Errno 20] Not a directory: ")


def test_temp_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "d" / "g" / "seed-0.json"
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, signal
        from benchmark.atomic import atomic_write
        def write(handle):
            handle.write(b'{{"half": ')
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        atomic_write({str(target)!r}, write)
    """)], cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL
    [left] = target.parent.glob(".seed-0.json.*.tmp")
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40]
    live = target.parent / f".seed-1.json.{os.getpid()}-{host}.0123abcd.tmp"
    other_host = target.parent / ".seed-2.json.1-elsewhere.0123abcd.tmp"
    foreign = target.parent / ".notes.tmp"
    for path in (live, other_host, foreign):
        path.write_text("x")
    assert remove_stale_temps(tmp_path) == [left]
    assert live.exists() and other_host.exists() and foreign.exists() and not target.exists()


def test_files_are_created_with_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        atomic_write(tmp_path / "r.json", lambda handle: handle.write(b"{}"))
    finally:
        os.umask(previous)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# ------------------------------------------------------------------------------------------------
# 4. jobs die with their coordinator


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_job_processes_die_with_the_coordinator(tiny_csv, tmp_path, how):
    pid_file = tmp_path / "job.pid"
    plugin = hanging_plugin(tmp_path / f"hang_{how.name.lower()}.py", "hang-forever", pid_file, 3600)
    results = tmp_path / "results"
    coordinator = subprocess.Popen(
        [sys.executable, "-m", "benchmark", "run", "--dataset", str(tiny_csv), "--plugin", str(plugin),
         "--generators", "marginals,hang-forever", "--seeds", "1", "--budget", "smoke", "--results", str(results),
         "--no-progress", "--metrics", "exact_match"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(pid_file.exists, 60), coordinator.stderr.read() if coordinator.poll() is not None else ""
        job = int(pid_file.read_text())
        coordinator.send_signal(how)
        _, err = coordinator.communicate(timeout=30)
        assert wait_for(lambda: not pid_alive(job), 5), f"job {job} outlived its coordinator"
    finally:
        coordinator.kill()
    if how == signal.SIGTERM:
        assert coordinator.returncode == 143
        assert err.strip().splitlines()[-1].startswith("terminated (SIGTERM): running jobs killed; finished "
                                                       "records are kept")
        [kept] = results.glob("*/marginals/seed-0.json")
        assert load_record(kept)["status"] == "ok"
        assert not list(results.glob("*/hang-forever/*.json"))


# ------------------------------------------------------------------------------------------------
# 5. plugins imported only where needed


def test_a_plugin_file_is_imported_only_by_jobs_of_its_generators(tiny_csv, tmp_path):
    imports = tmp_path / "imports.txt"
    plugin = write_plugin(tmp_path / "counted_plugin.py", f"""
        with open({str(imports)!r}, "a") as log:
            log.write(f"{{os.getpid()}}\\n")

        @register_generator
        class Counted(Faulty):
            name = "counted"

            def fit(self, X, y, meta):
                with open({str(imports)!r} + ".job", "w") as out:
                    out.write(str(os.getpid()))
                return super().fit(X, y, meta)
    """)
    registry.load_plugin_file(plugin)
    assert registry.plugin_files_of("counted") == (str(plugin.resolve()),)
    assert registry.plugin_files_of("marginals") == ()
    run(RunConfig(dataset=str(tiny_csv), generators="marginals", seeds=1, budget="smoke", results_dir=tmp_path,
                  progress=False, metrics=FAST))
    assert imports.read_text().split() == [str(os.getpid())]  # the built-in job did not import it
    run(RunConfig(dataset=str(tiny_csv), generators="counted", seeds=1, budget="smoke", results_dir=tmp_path,
                  progress=False, metrics=FAST))
    job = Path(f"{imports}.job").read_text()
    assert imports.read_text().split() == [str(os.getpid()), job]


def test_only_the_named_entry_point_is_loaded(monkeypatch):
    from importlib.metadata import EntryPoint

    slow = EntryPoint("slow", "no_such_module_anywhere:Thing", registry.ENTRY_POINT_GROUP)
    mine = EntryPoint("gaussian-again", "generators.baselines:GaussianGenerator", registry.ENTRY_POINT_GROUP)
    loaded = []
    monkeypatch.setattr(registry, "entry_points", lambda group: [slow, mine])
    monkeypatch.setattr(registry, "_load_entry_point", lambda entry: loaded.append(entry.name))
    monkeypatch.setattr(registry, "_discovered", True)
    registry.get_generator("marginals")
    assert loaded == []
    with pytest.raises(Exception, match="unknown generator"):
        registry.get_generator("gaussian-again")
    assert loaded == ["gaussian-again"]


# ------------------------------------------------------------------------------------------------
# 6. capped error text


def test_huge_and_unprintable_errors_are_capped(tiny_csv, tmp_path):
    plugin = write_plugin(tmp_path / "noisy_plugin.py", """
        class Unprintable(Exception):
            def __str__(self):
                raise ValueError("no")

        @register_generator
        class Huge(Faulty):
            name = "huge-error"

            def fit(self, X, y, meta):
                raise RuntimeError("start " + "x" * 50_000_000 + " end")

        @register_generator
        class Broken(Faulty):
            name = "broken-error"

            def fit(self, X, y, meta):
                raise Unprintable()
    """)
    registry.load_plugin_file(plugin)
    summary = run(RunConfig(dataset=str(tiny_csv), generators="huge-error,broken-error", seeds=1, budget="smoke",
                            results_dir=tmp_path, progress=False, metrics=FAST, jobs=2))
    folder = summary.folders[0]
    huge = load_record(record_path(tmp_path, folder, "huge-error", 0))
    assert huge["status"] == "failed" and len(huge["error"]) < 4200
    assert huge["error"].startswith("fit: RuntimeError: start xxx") and "noisy_plugin.py:" in huge["error"]
    assert re.search(r"\[\.\.\. \d+ characters cut \.\.\.\]", huge["error"])
    broken = load_record(record_path(tmp_path, folder, "broken-error", 0))
    assert broken["error"].startswith("fit: Unprintable: (the exception's message cannot be shown)")
    assert cap_text("short") == "short"
    capped = cap_text("a" * 3000 + "b" * 3000, keep=100)
    assert capped == "a" * 100 + "\n[... 5800 characters cut ...]\n" + "b" * 100


# ------------------------------------------------------------------------------------------------
# 7. input checks


def test_values_beyond_float32_are_a_data_error(tmp_path):
    path = write_table(tmp_path / "big.csv")
    frame = pd.read_csv(path)
    frame.loc[4, "g2"] = -1e300
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"big\.csv: value -1e\+300 at sample 's004', column 'g2' is too large "
                                         r"for float32"):
        load_dataset(str(path))


def test_a_table_without_feature_columns_is_a_data_error(tmp_path):
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(20)], "label": ["a", "b"] * 10})
    frame.to_csv(tmp_path / "bare.csv", index=False)
    frame.to_parquet(tmp_path / "bare.parquet", index=False)
    for name in ("bare.csv", "bare.parquet"):
        with pytest.raises(DataError, match=rf"{name}: no feature columns: the table holds only the sample id and "
                                            "the label"):
            load_dataset(str(tmp_path / name))


def test_parquet_uses_the_first_column_as_the_sample_id(tmp_path):
    frame = pd.read_csv(write_table(tmp_path / "t.csv"))
    frame.insert(1, "batch", np.arange(len(frame)) % 2)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    ds = load_dataset(str(tmp_path / "t.parquet"))
    assert ds.sample_ids[0] == "s000" and ds.feature_names.tolist() == ["batch", "g0", "g1", "g2", "g3"]
    by_batch = frame.assign(id=[f"r{i}" for i in range(len(frame))]).rename(columns={"id": "name"})
    by_batch.to_parquet(tmp_path / "t.parquet", index=False)
    ds = load_dataset(str(tmp_path / "t.parquet"), id_column="name")
    assert ds.sample_ids[1] == "r1" and "name" not in ds.feature_names.tolist()


def test_dropped_and_imputed_data_are_logged_and_recorded(tmp_path, caplog):
    csv = write_table(tmp_path / "gaps.csv", n=150, unlabelled=2)
    frame = pd.read_csv(csv)
    frame.loc[10, "g1"] = np.nan
    frame["g3"] = np.nan
    frame.to_csv(csv, index=False)
    with caplog.at_level(logging.WARNING, logger="benchmark.data"):
        summary = run(RunConfig(dataset=str(csv), generators="marginals", seeds=1, budget="smoke", results_dir=tmp_path,
                                progress=False, metrics=FAST, load=LoadOptions(drop_missing=True)))
    lines = [r.getMessage() for r in caplog.records if r.name == "benchmark.data"]
    assert lines == ["gaps.csv: dropped 2 samples without a label in gaps.csv (e.g. 's000', 's001')",
                     "gaps.csv: dropped 1 features with more than 1% missing values ('g3')",
                     "gaps.csv: dropped 1 samples with missing values ('s010')"]
    record = load_record(record_path(tmp_path, summary.folders[0], "marginals", 0))
    assert set(lines) <= {f"gaps.csv: {note}" for note in record["dataset"]["notes"]}
    samples = [f"s{i}" for i in range(100)]
    vcf = tmp_path / "calls.vcf"
    head = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
    rows = [["1", "100", ".", "A", "G,T", ".", ".", ".", "GT", *["0|1"] * 100],
            ["1", "200", ".", "AT", "A", ".", ".", ".", "GT", *["0|1"] * 100],
            ["1", "300", ".", "C", "T", ".", ".", ".", "GT", *(["1|1"] * 99 + [".|."])],
            ["1", "301", ".", "C", "T", ".", ".", ".", "GT", *(["1|1"] * 98 + [".|."] * 2)]]
    rows += [["1", str(400 + k), ".", "C", "T", ".", ".", ".", "GT", *["0|1", "1|1"] * 50] for k in range(3)]
    vcf.write_text("\n".join("\t".join(row) for row in [head, *rows]) + "\n")
    labels = tmp_path / "pops.csv"
    labels.write_text("".join(f"{s},{'xy'[i % 2]}\n" for i, s in enumerate(samples)))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="benchmark.data"):
        ds = load_dataset(str(vcf), labels_file=str(labels))
    lines = [r.getMessage() for r in caplog.records if r.name == "benchmark.data"]
    assert lines == ["calls.vcf: dropped records: 1 multi-allelic, 1 indel, structural or other non-SNP",
                     "calls.vcf: dropped 1 SNPs with more than 1% missing calls",
                     "calls.vcf: imputed 1 missing calls in 1 SNPs with the SNP's most frequent dosage"]
    assert all(line.split(": ", 1)[1] in ds.info["notes"] for line in lines)


# ------------------------------------------------------------------------------------------------
# 8. safe publishing

HOSTILE = ["<img src=x onerror=alert(1)>", "a|b", "**x**", "`code`", "[link](http://x)", "_em_", "$\\alpha$",
           "<script>alert(1)</script>"]


def hostile_record(generator: str, seed: int, status: str = "ok") -> dict:
    record = valid_record(generator, seed, status=status, protocol="standard")
    record["dataset"].update(id="d", class_names=HOSTILE, source="/home/alice/secret/study.csv",
                             citation="<b>x</b> | **y**", label_column="cell`type", title="t")
    record["metrics"] = {"<i>m</i>|**s**": {"value": 0.5 + seed, "reference": 0.5, "direction": "higher",
                                            "family": "<b>fam</b>"}}
    record["projection"] = {"method": "PCA of /home/alice/secret/study.csv",
                            "real": {"x": [0.0, 1.0, 2.0], "y": [1.0, 0.0, 2.0], "label": HOSTILE[:3]},
                            "synthetic": {"x": [0.5, 1.0], "y": [1.0, 0.5], "label": HOSTILE[3:5]}}
    if status != "ok":
        record.update(error="<img src=x onerror=alert(1)> | **boom** at /home/alice/secret/plugin.py:3", metrics={})
    return record


def test_hostile_names_render_as_literal_text(tmp_path):
    for k, name in enumerate(HOSTILE):
        write_record(record_path(tmp_path / "res", "d", name, 0), hostile_record(name, 0, "ok" if k % 2 else "failed"))
    md = publish(tmp_path / "res", tmp_path / "out")[0].read_text(encoding="utf-8")
    prose = "\n".join(line for line in md.splitlines() if not line.startswith("!["))  # our figure links
    prose = re.sub(r"`[^`\n]*`", "code", prose)  # code spans show their text literally
    assert not re.search(r"<(?!/?(details|summary)>)", prose), "raw HTML reached the page"
    assert not re.search(r"(?<!\\)\*\*(x|y|s)", prose) and "/home/alice" not in md
    assert not re.search(r"(?<!\\)[$`\[]", prose.replace("code", "")), "unescaped math, code or link"
    assert "&lt;img src=x onerror=alert(1)>" in md and "a\\|b" in md and "\\*\\*x\\*\\*" in md
    assert "study.csv" in md and "plugin.py:3" in md
    width = None
    for line in md.splitlines():  # every row of a table has as many cells as its header
        cells = len(re.split(r"(?<!\\)\|", line)) - 2 if line.startswith("|") else None
        width = width if cells is not None and width is not None else cells
        assert cells == width, line
    assert md_text("<a href='x'>") == "&lt;a href='x'>" and md_text("snake_case _x_") == "snake_case \\_x\\_"


def test_few_features_give_densities_never_real_points(tmp_path):
    csv = write_table(tmp_path / "two.csv", n=90, p=2)
    summary = run(RunConfig(dataset=str(csv), generators="copy-train", seeds=1, budget="smoke", results_dir=tmp_path,
                            progress=False, metrics=FAST))
    path = record_path(tmp_path, summary.folders[0], "copy-train", 0)
    projection = load_record(path)["projection"]
    for side in ("real", "synthetic"):
        block = projection[side]
        assert "x" not in block and "y" not in block
        counts = np.array(block["counts"])
        assert counts.shape == (8, 8) and not ((counts > 0) & (counts < MIN_BIN_COUNT)).any()
    assert str(tmp_path) not in path.read_text(encoding="utf-8")  # no absolute path of the user file
    paths = publish(tmp_path, tmp_path / "out")
    assert any(p.name.endswith("_pca.png") for p in paths)


def test_broken_projection_blocks_draw_as_empty_panels(tmp_path):
    from benchmark import plots

    odd = [{"x": "abc", "y": 5, "label": 7}, {"x": [1.0, "a", None], "y": [1.0, 2.0, 3.0], "label": "ab"},
           {"x_edges": [0, 1], "y_edges": [0, 1], "counts": [[1, 2]]}, {"counts": "x"}]
    path = plots.pca_grid(tmp_path / "p.png", odd[0], [("g", block) for block in odd[1:]], ["$x$", "a"], "t$")
    assert path.stat().st_size > 0
    grid = {"x_edges": [0.0, 1.0, 2.0], "y_edges": [0.0, 1.0], "counts": [[3], [4]], "outside": 1}
    assert plots.pca_grid(tmp_path / "d.png", grid, [("$g$", odd[2]), ("h", grid)], [], "t").stat().st_size > 0

