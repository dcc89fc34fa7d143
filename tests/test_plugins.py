import re
from importlib.metadata import EntryPoint

import pytest
from conftest import ROOT

from benchmark import registry
from benchmark.conformance import check_generator
from benchmark.errors import ConfigError

EXAMPLE = ROOT / "examples" / "mixup_plugin.py"


def test_readme_plugin_example_is_the_tested_file():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks, "README's plugin example differs from examples/mixup_plugin.py"
    assert len(EXAMPLE.read_text(encoding="utf-8").strip().splitlines()) <= 30


def test_example_plugin_loads_and_passes_the_conformance_kit():
    registry.load_plugin_file(EXAMPLE)
    report = check_generator("mixup")
    assert report.passed, report.render()


def test_missing_or_broken_plugin_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        registry.load_plugin_file(tmp_path / "nope.py")
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module_anywhere\n")
    with pytest.raises(ConfigError, match=r"broken.py failed to import: ModuleNotFoundError"):
        registry.load_plugin_file(broken)


def test_entry_point_plugins_register_and_failures_are_reported(monkeypatch):
    good = EntryPoint("good", "generators.baselines:GaussianGenerator", registry.ENTRY_POINT_GROUP)
    bad = EntryPoint("bad", "no_such_package.module:Thing", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [good, bad])
    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.setattr(registry, "_PLUGIN_ERRORS", {})
    assert "gaussian" in registry.all_generators()
    errors = registry.plugin_errors()
    assert list(errors) == ["bad (no_such_package.module:Thing)"]
    assert "ModuleNotFoundError" in errors["bad (no_such_package.module:Thing)"]


def test_unknown_generator_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown generator 'nope'; known: .*gaussian"):
        registry.get_generator("nope")


def test_generators_all_keeps_those_supporting_the_modality():
    names = registry.resolve_generators("all", "genotype")
    assert {"gaussian", "marginals", "copy-train"} <= set(names)
    with pytest.raises(ConfigError, match="empty"):
        registry.resolve_generators(" , ", "expression")
