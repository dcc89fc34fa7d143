"""Dataset cards: discovery, validation, hashing, fast import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cards import card_hash, get_card, list_cards, parse_card
from benchmark.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("OMICS_BENCHMARK_CARDS", raising=False)


def test_builtin_cards_listed():
    ids = [card.id for card in list_cards()]
    assert "pbmc68k" in ids and "sim-ooa" in ids
    assert ids == sorted(ids)


def test_card_fields():
    card = get_card("pbmc68k")
    assert card.modality == "expression" and card.loader == "scanpy-pbmc68k"
    assert card.label_column == "bulk_labels" and card.min_class_size == 10
    assert card.license and card.citation and card.source_text and card.source_urls
    sim = get_card("sim-ooa")
    assert sim.params_for("default")["individuals_per_population"] == 300
    smoke = sim.params_for("smoke")
    assert smoke["individuals_per_population"] == 30 and smoke["right"] == 20_200_000
    assert smoke["left"] == 20_000_000 and smoke["seed"] == 1
    with pytest.raises(ConfigError, match="no size"):
        sim.params_for("huge")


def test_unknown_id_lists_known():
    with pytest.raises(ConfigError) as err:
        get_card("nope")
    assert "pbmc68k" in str(err.value) and "sim-ooa" in str(err.value)


def test_card_hash_canonical(tmp_path):
    text = (ROOT / "datasets" / "sim-ooa.toml").read_text()
    a = tmp_path / "a" / "sim-ooa.toml"
    a.parent.mkdir()
    a.write_text("# a comment\n" + text)
    assert card_hash(parse_card(a)) == card_hash(get_card("sim-ooa"))
    a.write_text(text.replace("seed = 1", "seed = 2"))
    assert card_hash(parse_card(a)) != card_hash(get_card("sim-ooa"))
    assert len(card_hash(get_card("sim-ooa"))) == 64


def test_extra_folder_env(monkeypatch, tmp_path):
    folder = tmp_path / "cards"
    folder.mkdir()
    (folder / "my-sim.toml").write_text(
        (ROOT / "datasets" / "sim-ooa.toml").read_text().replace('id = "sim-ooa"', 'id = "my-sim"')
    )
    monkeypatch.setenv("OMICS_BENCHMARK_CARDS", str(folder))
    assert get_card("my-sim").loader == "msprime-ooa"


@pytest.mark.parametrize(
    "body, message",
    [
        ('id = "bad"\nversion = "1"\ntitle = "t"\nmodality = "expression"\n', "loader"),
        ('id = "bad"\nversion = "1"\ntitle = "t"\nmodality = "rna"\nloader = "x"\n[label]\ncolumn = "y"\n', "modality"),
        ('id = "other"\nversion = "1"\ntitle = "t"\nmodality = "counts"\nloader = "x"\n[label]\ncolumn = "y"\n', "file name"),
        ("id = ", "invalid TOML"),
    ],
)
def test_bad_card(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message) as err:
        parse_card(path)
    assert "bad.toml" in str(err.value)


def test_cards_import_is_light():
    code = "import sys, benchmark.cards as c; c.list_cards(); print('pandas' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
