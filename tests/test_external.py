"""External generators declared in TOML (benchmark/run/external.py) and the synthcity adapter, with a fake synthcity."""

from __future__ import annotations

import ast
import gc
import json
import re
import shutil
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
from benchmark.atomic import pid_alive
from benchmark.cli import main
from benchmark.code_hash import code_block, files_hash
from benchmark.dataset import DatasetMeta
from benchmark.errors import ConfigError, GeneratorError
from benchmark.registry import SYNTHCITY_ENV
from benchmark.run import external
from benchmark.run.config import RunConfig
from benchmark.run.runner import run
from benchmark.store import load_record

EXAMPLE = ROOT / "examples" / "external_generator"
FAST = ("exact_match",)  # these tests need a record, not the metric suite
SCRIPT_HEADER = """\
import json, os, sys, time
import numpy as np
phase, meta_path, train_path, model = sys.argv[1:5]
meta = json.load(open(meta_path))
if phase == "sample":
    labels_path, output = sys.argv[5:7]
"""
COPY_FIRST_ROWS = """\
if phase == "fit":
    print("learning nothing", file=sys.stderr)
else:
    train, y = np.load(train_path), np.load(labels_path)["y"]
    first = {c: np.flatnonzero(train["y"] == c)[0] for c in np.unique(train["y"])}
    X = train["X"][[first[c] for c in y]]
"""


@pytest.fixture(autouse=True)
def registry_restored(monkeypatch):
    """External generators registered by a test leave the registry with it (other tests run ``all``)."""
    registry.discover()
    monkeypatch.setattr(registry, "_GENERATORS", dict(registry._GENERATORS))
    monkeypatch.setattr(registry, "_FILE_OF", dict(registry._FILE_OF))


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory) -> Path:
    """60 rows x 4 genes (g0..g3), three classes a, b, c."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 4)) + 5, columns=[f"g{j}" for j in range(4)])
    frame.insert(0, "id", [f"s{i:03d}" for i in range(60)])
    frame["label"] = np.array(["a", "b", "c"])[np.arange(60) % 3]
    path = tmp_path_factory.mktemp("tiny") / "tiny.csv"
    frame.to_csv(path, index=False)
    return path


def copy_then(lines: str) -> str:
    """The copy-first-rows script, then ``lines`` in its sample branch."""
    return COPY_FIRST_ROWS + textwrap.indent(textwrap.dedent(lines), "    ")


def declare(folder: Path, name: str, body: str, extra: str = "", script: str = SCRIPT_HEADER) -> Path:
    """gen.toml and gen.py in ``folder``: ``{python} gen.py fit|sample META TRAIN MODEL [LABELS OUTPUT]``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gen.py").write_text(script + body, encoding="utf-8")
    toml = folder / "gen.toml"
    toml.write_text(textwrap.dedent(f"""\
        name = "{name}"
        modalities = ["expression"]
        fit = ["{{python}}", "gen.py", "fit", "{{meta}}", "{{train}}", "{{model}}"]
        sample = "{{python}} gen.py sample {{meta}} {{train}} {{model}} {{labels}} {{output}}"
    """) + textwrap.dedent(extra), encoding="utf-8")
    return toml


def run_one(csv: Path, toml: Path | str, results: Path, **options) -> dict:
    """Run one seed of ``toml`` (or a ``synthcity:`` name) on ``csv``; its record."""
    spec = toml if isinstance(toml, str) else f"external:{toml}"
    run(RunConfig(dataset=str(csv), generators=spec, seeds=1, budget="smoke", results_dir=results, progress=False,
                  metrics=FAST, **options))
    [path] = results.glob("*/*/seed-0.json")
    return load_record(path)


def small_meta(p: int = 4) -> DatasetMeta:
    return DatasetMeta("tiny", "expression", tuple(f"g{j}" for j in range(p)), ("a", "b", "c"))


def my_folders() -> list[Path]:
    """Temporary folders of external generators run by this process."""
    return list(Path(external.tempfile.gettempdir()).glob(f"{external.TEMP_PREFIX}{socket.gethostname()}.*"))


def wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not condition():
        time.sleep(0.1)
    return condition()


# ------------------------------------------------------------------------------------------------
# runs through the harness


def test_an_external_generator_runs_and_its_rows_come_back(tiny_csv, tmp_path):
    toml = declare(tmp_path / "gen", "ext-copy", copy_then("""\
        np.savez(output, X=X)
        json.dump({"n_params": 7}, open(os.path.join(os.path.dirname(output), "info.json"), "w"))
    """))
    record = run_one(tiny_csv, toml, tmp_path / "results")
    assert record["status"] == "ok", record["error"]
    assert record["generator"]["name"] == "ext-copy"
    assert record["metrics"]["exact_match_rate"]["value"] == 1.0  # the train rows the command copied
    assert record["compute"]["n_params"] == 7
    files = {"toml:gen.toml": toml, "file:gen.py": toml.parent / "gen.py"}
    assert record["code"]["generator"] == files_hash(files)


def test_rows_keep_the_requested_label_order_and_files_are_removed(tmp_path):
    toml = declare(tmp_path, "ext-order", copy_then("np.savez(output, X=X)\n"))
    X = np.arange(36, dtype=np.float32).reshape(9, 4)
    y = np.array([2, 0, 1, 1, 0, 2, 2, 1, 0])
    generator = registry.get_generator(f"external:{toml}")(budget="smoke", seed=3)
    phases: list[str] = []
    generator.report = phases.append
    folder = generator.fit(X, y, small_meta()).folder
    assert "fit: learning nothing" in phases
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["feature_names"] == ["g0", "g1", "g2", "g3"] and meta["format"] == "npz"
    labels = np.array([1, 1, 0, 2, 0])
    rows = generator.sample(labels)
    assert np.array_equal(rows, X[[2, 2, 1, 0, 1]])
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model", "train.npz"]
    del generator
    gc.collect()
    assert not folder.exists()


def test_a_failing_command_gives_its_exit_code_and_last_stderr_lines(tiny_csv, tmp_path):
    toml = declare(tmp_path / "gen", "ext-exit", textwrap.dedent("""\
        for i in range(25):
            print(f"line {i:02d}", file=sys.stderr)
        sys.exit(3)
    """))
    before = set(my_folders())
    record = run_one(tiny_csv, toml, tmp_path / "results")
    assert record["status"] == "failed"
    error = record["error"]
    assert "fit command exited with code 3: " in error and "gen.py fit" in error
    assert "last stderr lines:\nline 05\n" in error and "line 24" in error and "line 04" not in error
    assert set(my_folders()) <= before


def test_a_hanging_command_times_out_and_dies_with_its_job(tiny_csv, tmp_path):
    pid_file = tmp_path / "command.pid"
    toml = declare(tmp_path / "gen", "ext-hang", textwrap.dedent("""\
        open(os.environ["PID_FILE"], "w").write(str(os.getpid()))
        print("hanging now", file=sys.stderr)
        time.sleep(300)
    """), extra=f"""\
        [env]
        PID_FILE = "{pid_file}"
    """)
    record = run_one(tiny_csv, toml, tmp_path / "results", timeout_s=6)
    assert record["status"] == "timeout"
    assert "in phase 'fit: hanging now'" in record["error"]
    pid = int(pid_file.read_text())
    assert wait_for(lambda: not pid_alive(pid), 5), f"the command {pid} outlived its job"


def test_nan_rows_are_invalid_output_naming_row_and_feature(tiny_csv, tmp_path):
    toml = declare(tmp_path / "gen", "ext-nan", copy_then("""\
        X = X.astype(np.float32)
        X[2, 1] = np.nan
        np.savez(output, X=X)
    """))
    record = run_one(tiny_csv, toml, tmp_path / "results")
    assert record["status"] == "invalid_output"
    assert "first at row 2, feature 1 ('g1')" in record["error"]


PARQUET_SCRIPT = """\
import sys
import pyarrow.parquet as pq  # not pandas.read_parquet: apache/arrow#34314 aborts the interpreter at exit
phase, train_path = sys.argv[1:3]
train = pq.read_table(train_path).to_pandas()
assert list(train.columns[-1:]) == ["label"] and set(train["label"]) == {"a", "b", "c"}, train.columns
if phase == "sample":
    labels_path, output, order = sys.argv[3:6]
    wanted = pq.read_table(labels_path).to_pandas()
    assert list(wanted.columns) == ["y", "label"]
    first = train.groupby("label").head(1).set_index("label")
    rows = first.loc[wanted["label"]].reset_index()
    columns = list(first.columns) if order == "same" else list(first.columns)[::-1]
    rows[columns + ["label"]].to_parquet(output)
"""


def declare_parquet(folder: Path, name: str, order: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gen.py").write_text(PARQUET_SCRIPT, encoding="utf-8")
    toml = folder / "gen.toml"
    toml.write_text(textwrap.dedent(f"""\
        name = "{name}"
        modalities = ["expression"]
        format = "parquet"
        fit = ["{{python}}", "gen.py", "fit", "{{train}}"]
        sample = ["{{python}}", "gen.py", "sample", "{{train}}", "{{labels}}", "{{output}}", "{order}"]
    """), encoding="utf-8")
    return toml


def test_parquet_files_round_trip(tiny_csv, tmp_path):
    record = run_one(tiny_csv, declare_parquet(tmp_path / "gen", "ext-parquet", "same"), tmp_path / "results")
    assert record["status"] == "ok", record["error"]
    assert record["metrics"]["exact_match_rate"]["value"] == 1.0


def test_parquet_columns_out_of_order_name_the_first_mismatch(tmp_path):
    cls = registry.get_generator(f"external:{declare_parquet(tmp_path, 'ext-parquet-order', 'reversed')}")
    generator = cls(budget="smoke").fit(np.ones((6, 4), np.float32), np.array([0, 1, 2, 0, 1, 2]), small_meta())
    with pytest.raises(GeneratorError, match=r"synthetic.parquet: column 0 is 'g3', expected the feature 'g0'"):
        generator.sample(np.array([0, 1]))


# ------------------------------------------------------------------------------------------------
# declarations, registry and code hash

GOOD = {"name": '"ext-ok"', "modalities": '["expression"]', "fit": '["{python}", "fit.py", "{train}"]',
        "sample": '["{python}", "sample.py", "{output}"]'}


@pytest.mark.parametrize("change, problem", [
    ({"sample": None}, "missing key 'sample'"),
    ({"fitt": '"x"'}, "unknown key 'fitt'"),
    ({"fit": '["{python}", "{trian}"]'}, r"key 'fit': unknown placeholder \{trian\} in '\{trian\}'; known: \{python\}"),
    ({"fit": '"run {output}"'}, r"key 'fit': unknown placeholder \{output\} .*only the sample command has it"),
    ({"fit": "3"}, "key 'fit': must be an array of strings or a string, got an integer"),
    ({"modalities": '"expression"'}, "key 'modalities': must be a non-empty array"),
    ({"modalities": '["rna"]'}, "key 'modalities': unknown modality 'rna'"),
    ({"name": '"two words"'}, "key 'name': 'two words' is not a valid generator name"),
    ({"format": '"csv"'}, "key 'format': must be one of npz, parquet"),
    ({"workdir": '"nowhere"'}, "key 'workdir': .*nowhere is not a folder"),
    ({"env": "{ X = 1 }"}, "key 'env.X': must be a string, got an integer"),
    ({"budgets": "{ fast = {} }"}, "key 'budgets.fast': unknown budget"),
    ({"name": '"gaussian"'}, "the generator name 'gaussian' is taken by generators.baselines.GaussianGenerator"),
])
def test_bad_declarations_name_the_file_and_the_key(tmp_path, change, problem):
    fields = {**GOOD, **change}
    toml = tmp_path / "bad.toml"
    toml.write_text("".join(f"{key} = {value}\n" for key, value in fields.items() if value is not None))
    with pytest.raises(ConfigError, match=f"^(external:)?{re.escape(str(toml))}: {problem}"):
        registry.get_generator(f"external:{toml}")


def test_a_missing_or_broken_toml_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="external generator file .*nope.toml does not exist"):
        registry.get_generator(f"external:{tmp_path / 'nope.toml'}")
    (tmp_path / "broken.toml").write_text("name = \n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        registry.get_generator(f"external:{tmp_path / 'broken.toml'}")


def test_budgets_are_hyperparameters_the_commands_get(tmp_path):
    toml = declare(tmp_path, "ext-budgets", "", extra="""\
        [budgets.smoke]
        steps = 10
        widths = [8, 16]
    """)
    cls = registry.get_generator(f"external:{toml}")
    assert cls.budgets == {"smoke": {"steps": 10, "widths": (8, 16)}, "default": {}, "paper": {}}
    assert cls(budget="smoke", steps=20).meta_block(5, small_meta())["hparams"] == {"steps": 20, "widths": [8, 16]}


def test_the_source_string_reloads_the_generator_and_the_hash_follows_the_files(tmp_path):
    toml = declare(tmp_path, "ext-source", "")
    cls = registry.get_generator(f"external:{toml}")
    assert registry.resolve_generators(f"marginals, external:{toml}", "expression") == ["marginals", "ext-source"]
    [source] = registry.plugin_files_of("ext-source")
    assert source == f"external:{toml.resolve()}"
    registry.load_plugin_file(source)
    assert registry.get_generator("ext-source") is cls
    before = code_block(cls)["generator"]
    (tmp_path / "gen.py").write_text("# changed\n")
    assert code_block(cls)["generator"] != before


def test_a_command_that_cannot_start_is_named(tmp_path):
    toml = tmp_path / "gen.toml"
    toml.write_text('name = "ext-missing"\nmodalities = ["expression"]\nfit = "./no-such-program {train}"\n'
                    'sample = "./no-such-program {output}"\n')
    generator = registry.get_generator(f"external:{toml}")(budget="smoke")
    with pytest.raises(GeneratorError, match=r"fit command cannot start: No such file or directory: './no-such-pro"):
        generator.fit(np.ones((3, 4), np.float32), np.array([0, 1, 2]), small_meta())
    assert generator.folder is None


def test_a_sample_command_that_writes_no_rows_is_named(tmp_path):
    toml = declare(tmp_path, "ext-silent", 'print("nothing to write", file=sys.stderr)\n')
    generator = registry.get_generator(f"external:{toml}")(budget="smoke")
    generator.fit(np.ones((3, 4), np.float32), np.array([0, 1, 2]), small_meta())
    with pytest.raises(GeneratorError, match=r"sample command exited with code 0 but did not write synthetic.npz: "
                                             r".*gen.py sample .*; last stderr lines:\nnothing to write$"):
        generator.sample(np.array([0, 1]))


# ------------------------------------------------------------------------------------------------
# the documented example


@pytest.fixture
def python3_with_numpy() -> None:
    """The example's commands run `python3` from PATH (another interpreter than the harness's, on purpose)."""
    found = subprocess.run(["python3", "-c", "import numpy"], capture_output=True) if shutil.which("python3") else None
    if found is None or found.returncode != 0:
        pytest.skip("the example runs `python3` from PATH, which is missing or has no numpy")


def test_the_example_passes_check_generator(capsys, python3_with_numpy):
    assert main(["check-generator", f"external:{EXAMPLE / 'gen.toml'}"]) == 0
    assert "PASSED" in capsys.readouterr().out


def test_the_documented_example_runs_from_the_command_line(tiny_csv, tmp_path, python3_with_numpy):
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--dataset", str(tiny_csv), "--generators",
         "external:examples/external_generator/gen.toml", "--budget", "smoke", "--seeds", "1", "--results",
         str(results), "--no-progress", "--metrics", "exact_match"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [path] = results.glob("*/class-means/seed-0.json")
    record = load_record(path)
    assert record["status"] == "ok" and record["compute"]["n_params"] == 24
    doc = (ROOT / "docs" / "external.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:toml|python)\n(.*?)```", doc, flags=re.S)
    for name in ("gen.toml", "class_means.py"):
        assert (EXAMPLE / name).read_text(encoding="utf-8") in blocks, f"docs/external.md differs from {name}"


# ------------------------------------------------------------------------------------------------
# synthcity, with a fake synthcity package

FAKE_SYNTHCITY = {
    "synthcity/__init__.py": "",
    "synthcity/plugins/__init__.py": """\
        from synthcity.plugins.fake import FakePlugin


        class Plugins:
            def get(self, name, **kwargs):
                if name not in ("fake-plugin", "fake-nocond"):
                    raise ValueError(f"Plugin {name} doesn't exist.")
                return FakePlugin(name, **kwargs)
    """,
    "synthcity/plugins/fake.py": """\
        import numpy as np
        import pandas as pd


        class Loader:
            def __init__(self, data, target_column):
                self.data, self.target_column = data, target_column

            def dataframe(self):
                return self.data


        class FakePlugin:
            '''Per-class Gaussian rows; "fake-nocond" refuses a condition like synthcity's arf.'''

            def __init__(self, name, random_state=0, device="cpu"):
                self.plugin, self.random_state, self.device = name, random_state, device
                self.expecting_conditional = False

            def fit(self, loader, cond=None):
                if cond is not None and self.plugin == "fake-nocond":
                    raise NotImplementedError("conditional generation is not currently available")
                self.expecting_conditional = cond is not None
                frame, self.target = loader.dataframe(), loader.target_column
                groups = frame.groupby(self.target)
                self.mean, self.sd = groups.mean(), groups.std()
                return self

            def generate(self, count, constraints, random_state, cond=None):
                (column, op, code), = constraints.rules
                assert column == self.target and op == "==", constraints.rules
                assert (cond is not None) == self.expecting_conditional
                assert cond is None or (len(cond) == count and (cond == code).all())
                rng = np.random.default_rng(random_state)
                rows = rng.normal(self.mean.loc[code], self.sd.loc[code], size=(count, self.mean.shape[1]))
                frame = pd.DataFrame(rows, columns=self.mean.columns)
                frame[self.target] = code
                return Loader(frame, self.target)
    """,
    "synthcity/plugins/core/__init__.py": "",
    "synthcity/plugins/core/dataloader.py": "from synthcity.plugins.fake import Loader as GenericDataLoader\n",
    "synthcity/plugins/core/constraints.py": """\
        class Constraints:
            def __init__(self, rules):
                self.rules = rules
    """,
    "synthcity/utils/__init__.py": "",
    "synthcity/utils/serialization.py": """\
        import pickle


        def save_to_file(path, model):
            with open(path, "wb") as handle:
                pickle.dump(model, handle)


        def load_from_file(path):
            with open(path, "rb") as handle:
                return pickle.load(handle)
    """,
}


@pytest.fixture(scope="module")
def fake_python(tmp_path_factory) -> str:
    """An interpreter whose environment has the fake synthcity package (the harness's Python, another PYTHONPATH)."""
    root = tmp_path_factory.mktemp("fake-synthcity")
    for name, text in FAKE_SYNTHCITY.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    python = root / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{root}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return str(python)


def test_a_synthcity_plugin_runs_end_to_end_in_its_own_interpreter(tiny_csv, tmp_path, monkeypatch, fake_python):
    monkeypatch.setenv(SYNTHCITY_ENV, fake_python)
    record = run_one(tiny_csv, "synthcity:fake-plugin", tmp_path / "results")
    assert record["status"] == "ok", record["error"]
    assert record["generator"]["name"] == "synthcity-fake-plugin"
    assert record["generator"]["hparams"] == {"plugin_kwargs": None}
    assert record["metrics"]["exact_match_rate"]["value"] == 0.0
    assert registry.plugin_files_of("synthcity-fake-plugin") == (f"synthcity:fake-plugin@{fake_python}",)


def test_a_synthcity_plugin_without_conditioning_is_fitted_without_it(fake_python):
    cls = registry.get_generator(f"synthcity:fake-nocond@{fake_python}")
    X = np.repeat(np.array([[0.0] * 4, [100.0] * 4, [200.0] * 4], np.float32), 10, axis=0)
    X += np.random.default_rng(0).normal(size=X.shape).astype(np.float32)
    generator = cls(budget="smoke").fit(X, np.repeat([0, 1, 2], 10), small_meta())
    rows = generator.sample(np.array([2, 0, 1, 2]))
    assert np.allclose(rows.mean(axis=1), [200, 0, 100, 200], atol=5)


def test_synthcity_without_an_interpreter_explains_the_setup(monkeypatch, tmp_path):
    monkeypatch.delenv(SYNTHCITY_ENV, raising=False)
    with pytest.raises(ConfigError) as error:
        registry.get_generator("synthcity:ctgan")
    message = str(error.value)
    for part in ("--synthcity-python PATH", SYNTHCITY_ENV, "pip install torch==2.2.2 --index-url "
                 "https://download.pytorch.org/whl/cpu", "pip install 'synthcity==0.2.12' 'opacus<1.5'"):
        assert part in message
    monkeypatch.setenv(SYNTHCITY_ENV, str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="nope' .* is not an executable file"):
        registry.get_generator("synthcity:ctgan")


def test_the_synthcity_runner_imports_only_numpy_pandas_synthcity_and_the_standard_library():
    tree = ast.parse(external.RUNNER.read_text(encoding="utf-8"))
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    third_party = roots - set(sys.stdlib_module_names)
    assert third_party == {"numpy", "pandas", "synthcity"}
