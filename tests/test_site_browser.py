"""The static web leaderboard in a real browser: Debian's Chromium, headless, driven by Selenium over file://.
Skipped when Chromium, its driver or selenium is absent, except where OMICS_BENCHMARK_BROWSER_TEST=required
(CI, which installs them): there their absence fails the test. Screenshots go to the test's tmp_path and, when the
environment variable SITE_SCREENSHOT_DIR is set, also there."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_leaderboard import make_record, write_results

from benchmark.leaderboard import publish
from benchmark.publish.site import write_site
from benchmark.store import record_path, write_record

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")

REQUIRED = os.environ.get("OMICS_BENCHMARK_BROWSER_TEST") == "required"

if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    absent = f"{CHROMIUM} or {CHROMEDRIVER} is absent (Debian: apt-get install chromium chromium-driver)"
    if REQUIRED:
        raise RuntimeError(f"OMICS_BENCHMARK_BROWSER_TEST=required but {absent}")
    pytest.skip(absent, allow_module_level=True)
if REQUIRED:
    import selenium.webdriver as webdriver
else:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

# generator -> score -> value per seed: seeds that differ, so every point of the scatter has its own place
EXTRA = {
    "tvae": {"precision": [0.7, 0.8, 0.9], "fd": [1.5, 1.7, 1.9], "detect_auc": [0.7, 0.72, 0.74],
             "density": [1.4, 1.5, 1.6], "dcr_share": [0.58, 0.6, 0.62], "mia_auc": [0.6, 0.61, 0.62]},
    "tabddpm": {"precision": [0.2, 0.25, 0.3], "fd": [4.0, 4.5, 5.0], "detect_auc": [0.8, 0.85, 0.9],
                "density": [0.6, 0.65, 0.7], "dcr_share": [0.45, 0.46, 0.47], "mia_auc": [0.5, 0.5, 0.5]},
}
FIT_SECONDS = {"tvae": 7.0, "tabddpm": 0.3}


def write_extra(results: Path) -> None:
    """Two more expression generators (a VAE and a diffusion model) and a genotype leaderboard."""
    for generator, values in EXTRA.items():
        for seed in range(3):
            record = make_record(generator, seed, values=values)
            record["compute"]["fit_s"] = FIT_SECONDS[generator] + seed
            write_record(record_path(results, "toyset", generator, seed), record)
    for generator in ("gaussian", "marginals", "copy-train"):
        for seed in range(3):
            record = make_record(generator, seed)
            record["dataset"].update(id="toygeno", modality="genotype")
            write_record(record_path(results, "toygeno", generator, seed), record)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    results = write_results(tmp_path_factory.mktemp("results"))
    write_extra(results)
    out = tmp_path_factory.mktemp("leaderboards")
    publish(results, out)
    write_site(out)
    return out / "site"


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1400, 1000)
    yield driver
    driver.quit()


def open_page(browser, page: Path) -> None:
    browser.get(page.as_uri())
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def severe(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(browser, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    assert browser.save_screenshot(str(path))
    if os.environ.get("SITE_SCREENSHOT_DIR"):
        target = Path(os.environ["SITE_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / name)
    return path


def column(browser, table_id: str, header: str) -> list[float | None]:
    """The sort values of one column of a table's displayed body rows (None for a blank cell), top to bottom."""
    table = browser.find_element(By.ID, table_id)
    headers = [th.text.rstrip("↕▲▼") for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    index = headers.index(header)
    values = []
    for row in table.find_elements(By.CSS_SELECTOR, "tbody tr"):
        if row.is_displayed() and "pinned" not in (row.get_attribute("class") or ""):
            value = row.find_elements(By.TAG_NAME, "td")[index].get_attribute("data-sort")
            values.append(float(value) if value else None)
    return values


def click_header(browser, table_id: str, header: str) -> None:
    for button in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} thead th button.sort"):
        if button.text == header:
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
            button.click()
            return
    raise AssertionError(f"no header {header} in #{table_id}")


def displayed_families(browser, selector: str) -> dict[str, bool]:
    """data-family -> whether any element of ``selector`` with it is displayed."""
    shown: dict[str, bool] = {}
    for element in browser.find_elements(By.CSS_SELECTOR, selector):
        family = element.get_attribute("data-family")
        shown[family] = shown.get(family, False) or element.is_displayed()
    return shown


def test_every_page_loads_without_console_errors(browser, site, tmp_path):
    for name in ("index.html", "toyset.html", "toygeno.html"):
        open_page(browser, site / name)
        assert browser.find_elements(By.CSS_SELECTOR, "table.sortable tbody tr")
        if name != "index.html":
            assert browser.find_elements(By.CSS_SELECTOR, "#scatter circle.point")
            images = browser.find_elements(By.TAG_NAME, "img")
            assert images
            for image in images:  # loaded lazily: scroll each one into view, then it must decode
                browser.execute_script("arguments[0].scrollIntoView()", image)
                WebDriverWait(browser, 10).until(lambda d, image=image: image.get_property("complete"))
                assert image.get_property("naturalWidth") > 0, image.get_attribute("src")
        assert severe(browser) == [], name
    open_page(browser, site / "index.html")
    screenshot(browser, tmp_path, "index.png")


COMMITTED_SITE = Path(__file__).resolve().parents[1] / "leaderboards" / "site"


@pytest.mark.skipif(not (COMMITTED_SITE / "index.html").is_file(), reason="no committed leaderboards/site/")
def test_the_committed_site_loads_without_console_errors_and_every_image_decodes(browser, tmp_path):
    pages = sorted(COMMITTED_SITE.glob("*.html"))
    assert len(pages) >= 2
    for page in pages:
        open_page(browser, page)
        assert browser.find_elements(By.CSS_SELECTOR, "table.sortable tbody tr"), page.name
        for image in browser.find_elements(By.TAG_NAME, "img"):
            browser.execute_script("arguments[0].scrollIntoView()", image)
            WebDriverWait(browser, 10).until(lambda d, image=image: image.get_property("complete"))
            assert image.get_property("naturalWidth") > 0, image.get_attribute("src")
        assert severe(browser) == [], page.name
    open_page(browser, COMMITTED_SITE / "pbmc68k.html")
    screenshot(browser, tmp_path, "committed-pbmc68k.png")


def test_clicking_a_numeric_header_sorts_and_clicking_again_reverses(browser, site):
    open_page(browser, site / "toyset.html")
    click_header(browser, "ranking", "fit s")
    ascending = column(browser, "ranking", "fit s")
    assert ascending == sorted(ascending) and len(set(ascending)) >= 3
    click_header(browser, "ranking", "fit s")
    assert column(browser, "ranking", "fit s") == sorted(ascending, reverse=True)
    click_header(browser, "ranking", "overall rank")
    ranks = column(browser, "ranking", "overall rank")
    assert ranks[-1] is None and ranks[:-1] == sorted(ranks[:-1])  # copy-train is not ranked: always last
    click_header(browser, "ranking", "overall rank")
    again = column(browser, "ranking", "overall rank")
    assert again[-1] is None and again[:-1] == sorted(ranks[:-1], reverse=True)
    click_header(browser, "scores-fidelity", "precision ↑")
    precision = column(browser, "scores-fidelity", "precision ↑")
    assert precision == sorted(precision)
    first = browser.find_element(By.CSS_SELECTOR, "#scores-fidelity tbody tr")
    assert "real holdout (reference)" in first.text  # the reference row stays on top
    assert severe(browser) == []


def test_the_family_filter_hides_other_families_and_all_brings_them_back(browser, site):
    open_page(browser, site / "toyset.html")
    everything = displayed_families(browser, "#ranking tbody tr")
    assert set(everything) == {"baseline", "other", "privacy control", "VAE", "diffusion"}
    assert all(everything.values())
    family = Select(browser.find_element(By.ID, "family-filter"))
    family.select_by_value("VAE")
    assert displayed_families(browser, "#ranking tbody tr") == {f: f == "VAE" for f in everything}
    assert displayed_families(browser, "#scores-fidelity tbody tr[data-family]") == {f: f == "VAE" for f in everything}
    points = displayed_families(browser, "#scatter circle.point")
    assert points["VAE"] and not any(shown for f, shown in points.items() if f != "VAE")
    family.select_by_value("")
    assert all(displayed_families(browser, "#ranking tbody tr").values())
    assert all(displayed_families(browser, "#scatter circle.point").values())
    assert severe(browser) == []


def test_score_family_checkboxes_show_and_hide_columns(browser, site):
    open_page(browser, site / "toyset.html")
    fidelity_header = browser.find_element(By.CSS_SELECTOR, '#ranking th[data-score-family="fidelity"]')
    privacy_section = browser.find_element(By.CSS_SELECTOR, 'section[data-score-family="privacy"]')
    assert fidelity_header.is_displayed() and privacy_section.is_displayed()
    for box in browser.find_elements(By.CSS_SELECTOR, "input.column-toggle"):
        box.click()
    assert not fidelity_header.is_displayed() and not privacy_section.is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, '#ranking td[data-score-family="fidelity"]').is_displayed()
    browser.find_element(By.CSS_SELECTOR, 'input.column-toggle[value="fidelity"]').click()
    assert fidelity_header.is_displayed() and not privacy_section.is_displayed()


def test_the_modality_filter_on_the_index_hides_rows(browser, site):
    open_page(browser, site / "index.html")
    rows = browser.find_elements(By.CSS_SELECTOR, "#generators tbody tr")
    modalities = {row.get_attribute("data-modality") for row in rows}
    assert modalities == {"expression", "genotype"} and all(row.is_displayed() for row in rows)
    modality = Select(browser.find_element(By.ID, "modality-filter"))
    modality.select_by_value("genotype")
    assert all(row.is_displayed() == (row.get_attribute("data-modality") == "genotype") for row in rows)
    Select(browser.find_element(By.ID, "family-filter")).select_by_value("baseline")
    shown = [row for row in rows if row.is_displayed()]
    assert {(r.get_attribute("data-modality"), r.get_attribute("data-family")) for r in shown} == {("genotype", "baseline")}
    modality.select_by_value("")
    Select(browser.find_element(By.ID, "family-filter")).select_by_value("")
    assert all(row.is_displayed() for row in rows)
    assert severe(browser) == []


def test_hovering_a_scatter_point_shows_its_generator_seed_and_values(browser, site, tmp_path):
    open_page(browser, site / "toyset.html")
    Select(browser.find_element(By.ID, "scatter-x")).select_by_value("precision")
    Select(browser.find_element(By.ID, "scatter-y")).select_by_value("fd")
    point = browser.find_element(By.CSS_SELECTOR, '#scatter circle.point[data-generator="tvae"][data-seed="1"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    tooltip = browser.find_element(By.CSS_SELECTOR, "#scatter .tooltip")
    assert not tooltip.is_displayed()
    ActionChains(browser).move_to_element(point).perform()
    WebDriverWait(browser, 5).until(lambda d: tooltip.is_displayed())
    assert tooltip.text.splitlines() == ["tvae", "seed 1", "precision: 0.8", "fd: 1.7"]
    screenshot(browser, tmp_path, "toyset-scatter.png")
    reference = browser.find_element(By.CSS_SELECTOR, "#scatter .reference-point")
    ActionChains(browser).move_to_element(reference).perform()
    WebDriverWait(browser, 5).until(lambda d: "real holdout (reference)" in tooltip.text)
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, tmp_path, "toyset.png")
    assert severe(browser) == []
