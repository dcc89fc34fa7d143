"""The static web leaderboard (``publish --html``), checked without a browser: pages, links, embedded data,
determinism and escaping of text taken from records."""

from __future__ import annotations

import html
import io
import json
from contextlib import redirect_stdout
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_leaderboard import DATASET, make_record, write_results

from benchmark.cli import main
from benchmark.publish.site import GENERATOR_FAMILIES, generator_family, write_site
from benchmark.store import record_path, write_record

HOSTILE = "<script>alert(1)</script>"


class PageParser(HTMLParser):
    """Every link target, element id and JSON data block of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()
        self.json_blocks: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.targets += [values[key] or "" for key in ("href", "src") if key in values]
        if "id" in values:
            self.ids.add(values["id"] or "")
        self._in_json = tag == "script" and values.get("type") == "application/json"
        if self._in_json:
            self.json_blocks.append("")

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.json_blocks[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json = False


def parse(page: Path) -> PageParser:
    parser = PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def write_hostile(results: Path) -> None:
    """A generator whose name is markup, with the toy records' scores."""
    for seed in range(3):
        record = make_record("gaussian", seed)
        record["generator"]["name"] = HOSTILE
        write_record(record_path(results, DATASET, HOSTILE, seed), record)


def site_files(site: Path) -> dict[Path, bytes]:
    return {p.relative_to(site): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[list[str], Path, list[str]]:
    """Two toy leaderboards (standard and biased protocol) published with ``--html``: the command line, the
    out folder and the paths the command printed."""
    results = write_results(tmp_path_factory.mktemp("results"))
    write_results(results, protocol="biased")
    write_hostile(results)
    out = tmp_path_factory.mktemp("leaderboards")
    argv = ["publish", "--all", "--results", str(results), "--out", str(out), "--html"]
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert main(argv) == 0
    return argv, out, printed.getvalue().splitlines()


def test_publish_html_writes_every_page_asset_and_figure(published):
    _, out, printed = published
    site = out / "site"
    expected = {"index.html", f"{DATASET}.html", f"{DATASET}@biased.html", "assets/site.js", "assets/site.css",
                f"figures/{DATASET}_pca.png", f"figures/{DATASET}@biased_metrics.png"}
    assert expected <= {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert str(site / "index.html") in printed and str(out / f"{DATASET}.md") in printed
    for figure in (site / "figures").iterdir():
        assert figure.read_bytes() == (out / "figures" / figure.name).read_bytes()


def test_every_link_resolves_and_every_data_block_parses(published):
    _, out, _ = published
    pages = sorted((out / "site").glob("*.html"))
    assert len(pages) == 3
    for page in pages:
        parsed = parse(page)
        assert parsed.targets
        for target in parsed.targets:
            parts = urlsplit(target)
            if parts.scheme == "data":
                continue
            assert not parts.scheme and not parts.netloc, f"{page.name} links outside the site: {target}"
            if parts.path:
                assert (page.parent / unquote(parts.path)).is_file(), f"{page.name}: {target} does not exist"
            if parts.fragment:
                linked = page.parent / unquote(parts.path) if parts.path else page
                assert parts.fragment in parse(linked).ids, f"{page.name}: no element {target}"
        blocks = [json.loads(block) for block in parsed.json_blocks]
        if page.name == "index.html":
            assert blocks == []
            continue
        [scatter] = blocks
        assert scatter["default"] == ["dcr_share", "density"]  # no precision/recall pair: the first two scores
        assert set(scatter["scores"]) == {"precision", "fd", "detect_auc", "density", "dcr_share", "mia_auc"}
        points = {(p["generator"], p["seed"]) for p in scatter["points"]}
        assert ("wgan", 1) in points and ("wgan", 2) not in points  # seed 2 failed: no point
        assert len(points) == 14 if page.name == f"{DATASET}.html" else 11


def test_the_dataset_page_shows_ranks_failures_references_and_figures(published):
    _, out, _ = published
    page = (out / "site" / f"{DATASET}.html").read_text(encoding="utf-8")
    assert '<tr data-filterable="" data-family="baseline" data-generator="marginals">' in page
    markdown_row = next(line for line in (out / f"{DATASET}.md").read_text(encoding="utf-8").splitlines()
                        if line.startswith("| 1 ") and "marginals" in line)
    overall = [cell.strip() for cell in markdown_row.split("|")][4]
    row = page.split('data-generator="marginals">', 1)[1].split("</tr>", 1)[0]
    assert f">{overall}</td>" in row  # the overall rank with its interval, as on the markdown page
    assert ">0.8 ± 0 (n=2)</td>" in page  # a score that only 2 of 3 ok seeds have
    assert "not ranked" in page and "copy-train†" in page
    assert "wgan, seed 2: failed: RuntimeError: CUDA out of memory | layer 3" in page
    assert '<tr class="pinned reference"><td class="name">real holdout (reference)</td>' in page
    assert "fd ↓" in page and "detect_auc → 0.5" in page and "density → ref" in page
    summary = json.loads((out / f"{DATASET}.json").read_text(encoding="utf-8"))
    captions = ([f["caption"] for f in summary["figures"]] if "figures" in summary
                else [f"{DATASET}_metrics.png", f"{DATASET}_pca.png"])
    assert all(f"<figcaption>{html.escape(c)}</figcaption>" in page for c in captions)
    assert "toyset@biased_pca" not in page
    index = (out / "site" / "index.html").read_text(encoding="utf-8")
    assert '<a href="toyset%40biased.html">toyset@biased</a>' in index
    assert '<option value="expression">expression</option>' in index


def test_publishing_twice_gives_byte_identical_site_files(published):
    argv, out, _ = published
    first = site_files(out / "site")
    with redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    assert site_files(out / "site") == first


def test_text_from_records_is_escaped(published):
    _, out, _ = published
    for name in ("index.html", f"{DATASET}.html"):
        page = (out / "site" / name).read_text(encoding="utf-8")
        assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script" not in page.replace('<script src="assets/site.js" defer></script>', "").replace(
            '<script type="application/json" id="scatter-data">', "")
    data = parse(out / "site" / f"{DATASET}.html").json_blocks[0]
    assert "\\u003cscript\\u003e" in data and HOSTILE in {p["generator"] for p in json.loads(data)["points"]}


def test_figures_listed_in_the_summary_keep_their_captions(tmp_path):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    for name in ("a_pca.png", "a_b_pca.png", "a_metrics.png"):
        (out / "figures" / name).write_bytes(b"png " + name.encode())
    for folder in ("a", "a_b"):
        summary = {"dataset": folder, "folder": folder, "protocol": "standard", "generators": [], "scores": {}}
        if folder == "a_b":
            summary["figures"] = [{"path": "figures/a_b_pca.png", "caption": "Real & synthetic <rows>.", "alt": "PCA"},
                                  {"path": "figures/a_b_missing.png", "caption": "never written"}]
        (out / f"{folder}.json").write_text(json.dumps(summary), encoding="utf-8")
    write_site(out)
    fallback = (out / "site" / "a.html").read_text(encoding="utf-8")
    assert "figures/a_metrics.png" in fallback and "figures/a_pca.png" in fallback and "a_b_pca" not in fallback
    assert fallback.index("a_metrics.png") < fallback.index("a_pca.png")
    listed = (out / "site" / "a_b.html").read_text(encoding="utf-8")
    assert "<figcaption>Real &amp; synthetic &lt;rows&gt;.</figcaption>" in listed and "never written" not in listed
    assert 'alt="PCA"' in listed
    assert (out / "site" / "figures" / "a_b_pca.png").read_bytes() == b"png a_b_pca.png"


def test_generator_families_follow_the_registered_name():
    from benchmark.registry import all_generators

    assert set(GENERATOR_FAMILIES) <= set(all_generators())
    assert generator_family({"name": "wgan-gp [steps=1000]", "base": "wgan-gp"}) == "GAN"
    assert generator_family({"name": "my-model (external file)", "base": "my-model"}) == "other"
    assert generator_family({"name": "copy-train", "base": "copy-train", "control": True}) == "privacy control"
    assert generator_family({"name": "tvae", "base": "tvae"}) == "VAE"


def test_a_context_score_is_marked_as_context_not_as_closest_to_the_reference(tmp_path):
    """TRTR accuracy is `info`: shown beside the scores, never ranked, as on the markdown page."""
    results = tmp_path / "results"
    for generator in ("gaussian", "marginals"):
        for seed in range(2):
            record = make_record(generator, seed)
            record["metrics"]["trtr_lr_accuracy"] = {"value": 0.9, "reference": 0.9, "direction": "info",
                                                     "target": None, "family": "utility"}
            write_record(record_path(results, DATASET, generator, seed), record)
    out = tmp_path / "out"
    with redirect_stdout(io.StringIO()):
        assert main(["publish", "--all", "--results", str(results), "--out", str(out), "--html"]) == 0
    page = (out / "site" / f"{DATASET}.html").read_text(encoding="utf-8")
    assert "trtr_lr_accuracy (context, not ranked)" in page and "trtr_lr_accuracy → ref" not in page
    scatter = json.loads(parse(out / "site" / f"{DATASET}.html").json_blocks[0])
    assert scatter["scores"]["trtr_lr_accuracy"]["better"] == "context, not ranked"
    assert scatter["scores"]["density"]["better"] == "closest to the reference"
    assert scatter["scores"]["detect_auc"]["better"] == "closest to 0.5"
