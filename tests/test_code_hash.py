"""Code hashes in records: what they cover, and the check for records produced by other code."""

import json
import shutil
import textwrap

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from benchmark import code_hash
from benchmark.code_hash import code_block, module_closure_hash, stale_records
from benchmark.registry import get_generator, load_plugin_file
from benchmark.run.config import LoadOptions, RunConfig
from benchmark.run.runner import run
from benchmark.store import read_record


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def package(tmp_path):
    """A stand-in generators package: a.py imports b (absolute) and c (relative); b imports sub/helper."""
    pkg = tmp_path / "pkg"
    write(pkg / "__init__.py")
    write(pkg / "base.py", "class Generator: pass\n")
    write(pkg / "a.py", "import numpy\nfrom pkg.b import x\nfrom . import c\n")
    write(pkg / "b.py", "from .sub.helper import y\nx = y\n")
    write(pkg / "c.py")
    write(pkg / "d.py", "import pkg.a\n")
    write(pkg / "sub" / "__init__.py")
    write(pkg / "sub" / "helper.py", "y = 1\n")
    return pkg


def test_generator_hash_covers_imported_modules_only(package):
    before = module_closure_hash(package / "a.py", package)
    write(package / "d.py", "changed = True\n")  # not imported by a
    write(package / "e.py", "import pkg.a\n")  # a new generator module
    write(package / "__init__.py", "# a new line\n")
    assert module_closure_hash(package / "a.py", package) == before
    for changed in ("b.py", "c.py", "sub/helper.py", "base.py"):
        (package / changed).write_text((package / changed).read_text() + "\n# edit\n")
        after = module_closure_hash(package / "a.py", package)
        assert after != before, changed
        before = after


def test_plugin_hash_covers_its_own_folder(package, tmp_path):
    plugin = tmp_path / "plugins" / "mine.py"
    write(plugin, "from generators_helper import z\nfrom pkg.sub.helper import y\n")
    write(plugin.parent / "generators_helper.py", "z = 2\n")
    before = module_closure_hash(plugin, package)
    write(plugin.parent / "other.py", "w = 3\n")
    assert module_closure_hash(plugin, package) == before
    for changed in (plugin.parent / "generators_helper.py", package / "sub" / "helper.py"):
        changed.write_text(changed.read_text() + "\n# edit\n")
        assert module_closure_hash(plugin, package) != before
        before = module_closure_hash(plugin, package)


def test_entry_point_package_hash_covers_its_own_modules(package, tmp_path):
    module = tmp_path / "site" / "my_package" / "mixup.py"
    write(module.parent / "__init__.py")
    write(module, "from my_package.helpers import h\nfrom .layers import k\nimport my_package\n")
    write(module.parent / "helpers.py", "h = 1\n")
    write(module.parent / "layers.py", "k = 1\n")
    before = module_closure_hash(module, package)
    for changed in ("helpers.py", "layers.py", "__init__.py"):
        (module.parent / changed).write_text("# edit\n")
        assert module_closure_hash(module, package) != before, changed
        before = module_closure_hash(module, package)


def record(path, generator, code):
    write(path, json.dumps({"schema": 1, "status": "ok", "generator": {"name": generator, "seed": 0}, "code": code}))


PROBE = '''
from benchmark.registry import register_generator
from generators.baselines import UniformGenerator


@register_generator
class StaleProbe(UniformGenerator):
    """Uniform under another name, for the staleness test."""

    name = "stale-probe"
'''


def test_stale_records_flags_edited_generator_code(tmp_path):
    plugin = tmp_path / "plugin" / "stale_probe.py"
    write(plugin, PROBE)
    load_plugin_file(plugin)
    results = tmp_path / "results"
    record(results / "d" / "stale-probe" / "seed-0.json", "stale-probe", code_block(get_generator("stale-probe")))
    record(results / "d" / "gaussian" / "seed-0.json", "gaussian", code_block(get_generator("gaussian")))
    assert stale_records(results) == []
    write(plugin, PROBE + "\n# edited\n")
    assert stale_records(results) == [(results / "d" / "stale-probe" / "seed-0.json",
                                       "generator code changed since the record was produced")]


def test_stale_records_flags_edited_metric_code_and_missing_hashes(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "metrics", checkout / "metrics", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("protocol_scores.py", "protocols.py"):
        write(checkout / "benchmark" / name, (ROOT / "benchmark" / name).read_text())
    monkeypatch.setattr(code_hash, "ROOT", checkout)
    results = tmp_path / "results"
    fresh = results / "d" / "marginals" / "seed-0.json"
    record(fresh, "marginals", code_block(get_generator("marginals")))
    record(results / "d" / "marginals" / "seed-1.json", "marginals", None)
    assert stale_records(results) == [(results / "d" / "marginals" / "seed-1.json",
                                       "no code hash (produced before records carried one)")]
    privacy = checkout / "metrics" / "privacy.py"
    privacy.write_text(privacy.read_text() + "\n# edit\n")
    assert (fresh, "metrics code changed since the record was produced") in stale_records(results)


def test_records_carry_the_code_hash_and_a_code_change_reruns_the_job(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(5, 1, size=(60, 4)), columns=[f"g{j}" for j in range(4)])
    frame.insert(0, "sample", [f"s{i:03d}" for i in range(60)])
    frame["tissue"] = np.array(["liver", "lung", "brain"])[np.arange(60) % 3]
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    config = RunConfig(dataset=str(path), generators="marginals", seeds=1, budget="smoke", results_dir=tmp_path / "r",
                       progress=False, load=LoadOptions(label_column="tissue"), metrics=("dcr",))
    job = run(config).done
    assert len(job) == 1
    (stored_path,) = (tmp_path / "r").glob("*/marginals/seed-0.json")
    assert read_record(stored_path)["code"] == code_block(get_generator("marginals"))
    assert stale_records(tmp_path / "r") == []
    assert run(config).skipped == job
    monkeypatch.setattr(code_hash, "metrics_code_hash", lambda: "0" * 64)
    assert run(config).done == job
