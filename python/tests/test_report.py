"""The HTML report in a real browser: Debian's Chromium, headless, driven by Playwright, with
the network disabled. The page must open from disk with no console message, no failed request
and no request but its own file, draw every chart, show the numbers of the results, list every
finding in order, and show names from the data as text, never as markup."""

import io
import json
import math
import os
import pathlib
import shutil
import time

import numpy as np
import pyarrow as pa
import pytest

import cateye
from conftest import fixture_path, run_cli

ROLES = dict(metrics=["m0", "m1", "m2"], dimensions=["country", "platform", "tenure", "region"])

# Marks a drawn Vega chart has in its SVG.
MARKS = "svg .mark-symbol path, svg .mark-rule line, svg .mark-rect path, svg .mark-area path, svg .mark-line path"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from Debian's `chromium` package (.ci/run installs it)."""
    executable = os.environ.get("CATEYE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=["--disable-gpu"])
        yield chromium
        chromium.close()


class Opened:
    """A report opened offline, with what the browser saw: console messages, page errors,
    requests and failed requests."""

    def __init__(self, browser, path: pathlib.Path, html: str = None):
        self.context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.console, self.errors, self.requests, self.failed = [], [], [], []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.url = path.resolve().as_uri() if path else None
        started = time.perf_counter()
        if html is None:
            self.page.goto(self.url)
        else:
            self.page.set_content(html)
        self.load_seconds = time.perf_counter() - started

    def draw_all(self, frame=None):
        """Draws every chart; returns {drawn, failed}."""
        return (frame or self.page).evaluate("window.cateyeReport.drawAll()")

    def assert_clean(self):
        assert self.console == [], self.console
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        if self.url:
            assert set(self.requests) == {self.url}, self.requests

    def assert_every_chart_drawn(self, frame=None, at_least=1):
        frame = frame or self.page
        state = self.draw_all(frame)
        hosts = frame.query_selector_all(".chart-host")
        assert len(hosts) >= at_least
        assert state == {"drawn": len(hosts), "failed": 0}, state
        for host in hosts:
            label = host.get_attribute("aria-label")
            assert host.get_attribute("data-state") == "drawn", label
            assert len(host.query_selector_all(MARKS)) >= 2, f"chart '{label}' has no marks"
        return len(hosts)

    def close(self):
        self.context.close()


def not_blank(png: bytes) -> bool:
    """A screenshot with content: some non-white pixels and several colours."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.thumbnail((400, 400))
    pixels = list(getattr(image, "get_flattened_data", image.getdata)())
    inked = sum(1 for p in pixels if min(p) < 235) / len(pixels)
    return inked > 0.005 and len(set(pixels)) >= 8


def cell(row, field):
    return row.query_selector(f'td[data-field="{field}"]')


def shown_equals(td, value, rel):
    """The cell keeps `value` exactly in data-value and shows it to `rel`."""
    assert float(td.get_attribute("data-value")) == value
    shown = float(td.inner_text().replace(",", ""))
    assert math.isclose(shown, value, rel_tol=rel), (td.inner_text(), value)


@pytest.fixture(scope="module")
def demo(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    run_cli(cli, "demo", "--out", out)
    return out


def test_the_demo_report_opens_offline_draws_every_chart_and_shows_the_scan_numbers(browser, demo):
    scan = json.loads((demo / "results" / "scan.json").read_text())
    opened = Opened(browser, demo / "report.html")
    try:
        charts = opened.assert_every_chart_drawn(at_least=30)
        opened.assert_clean()
        sections = opened.page.query_selector_all("section.report-section")
        assert [s.get_attribute("id") for s in sections] == ["run", "srm", "findings", "effects", "deep-dive"]
        for section in sections:
            assert not_blank(section.screenshot()), section.get_attribute("id")
        # The SRM alert comes first.
        alert = opened.page.query_selector("#srm p.tone-alert")
        assert "notification_tweak" in alert.inner_text()
        # The top finding: its q-value, and its pair's effect with interval (CUPED when the metric
        # has a pre-period), exactly in data-value and to display precision in the text.
        top = scan["findings"][0]
        effect = next(e for e in scan["effects"] if (e["experiment"], e["metric"], e["arm"]) == (top["experiment"], top["metric"], top["arm"]))
        headline = effect["cuped"]["ate"] if effect["cuped"] else effect["ate"]
        row = opened.page.query_selector("#findings tbody tr[data-row='0']")
        assert cell(row, "experiment").inner_text() == top["experiment"]
        shown_equals(cell(row, "q_value"), top["q_value"], 0.05)
        shown_equals(cell(row, "effect"), headline["estimate"], 1e-3)
        shown_equals(cell(row, "ci_low"), headline["ci_low"], 1e-3)
        shown_equals(cell(row, "ci_high"), headline["ci_high"], 1e-3)
        print(f"demo report: {charts} charts drawn, loaded in {opened.load_seconds:.2f} s")
    finally:
        opened.close()


def test_cateye_report_of_the_saved_scan_json_is_the_demo_page(cli, demo, tmp_path):
    run_cli(cli, "report", demo / "results" / "scan.json", "-o", tmp_path / "again.html")
    assert (tmp_path / "again.html").read_bytes() == (demo / "report.html").read_bytes()


def test_the_fixture_report_lists_every_finding_of_scan_json_in_order(browser, tmp_path):
    result = cateye.scan(fixture_path("ab_scan_12x8000.parquet"), deep_dive=1, progress=False, **ROLES)
    findings = json.loads(result.to_json())["findings"]
    assert len(findings) > 0
    path = result.report(tmp_path / "fixture.html")
    opened = Opened(browser, path)
    try:
        show_all = opened.page.query_selector("#findings .table-footer button:has-text('Show all')")
        if show_all.is_visible():
            show_all.click()
        rows = opened.page.query_selector_all("#findings tbody tr[data-row]")
        listed = [tuple(cell(r, f).inner_text() for f in ("experiment", "metric", "arm", "dimension")) for r in rows]
        expected = [(f["experiment"], f["metric"], f["arm"], f["dimension"] or "—") for f in findings]
        assert listed == expected
        opened.assert_every_chart_drawn()
        opened.assert_clean()
    finally:
        opened.close()


HOSTILE = {
    "experiment": "<script>window.__injected = 1</script>",
    "metric": '"><img src=x onerror="window.__injected = 2">',
    "dimension": "' OR \"1\"=\"1\" & <b>bold</b>",
    "level": "🐈‍⬛ 猫 <svg onload=window.__injected=3>",
}


def test_hostile_names_are_shown_as_text_and_inject_nothing(browser, tmp_path):
    rng = np.random.default_rng(5)
    n = 8000
    arm = rng.integers(0, 2, n)
    level = rng.integers(0, 3, n)
    levels = np.array([HOSTILE["level"], "plain", "😀 emoji"])
    y = rng.normal(size=n) + arm * np.where(level == 0, 1.5, 0.0)
    table = pa.table({
        "experiment": [HOSTILE["experiment"]] * n,
        "variant": np.where(arm == 1, "treatment", "control"),
        HOSTILE["metric"]: y,
        HOSTILE["dimension"]: levels[level],
    })
    result = cateye.scan(table, metrics=[HOSTILE["metric"]], dimensions=[HOSTILE["dimension"]], deep_dive=1, progress=False)
    assert len(result.findings) >= 1
    opened = Opened(browser, result.report(tmp_path / "hostile.html"))
    try:
        opened.assert_every_chart_drawn()
        opened.assert_clean()
        page = opened.page
        assert page.evaluate("typeof window.__injected") == "undefined"
        assert page.evaluate("document.querySelectorAll('img, b, main svg[onload], [onerror]').length") == 0
        assert page.evaluate("document.scripts.length") == 5
        row = page.query_selector("#findings tbody tr[data-row='0']")
        for field in ("experiment", "metric", "dimension"):
            assert cell(row, field).inner_text() == HOSTILE[field]
        # The level name reaches the forest plot's axis as text.
        labels = page.eval_on_selector_all("#findings svg text", "ts => ts.map(t => t.textContent)")
        assert any(label.startswith("🐈") for label in labels), labels
    finally:
        opened.close()


def test_a_sweep_report_of_100_experiments_opens_and_filters(cli, browser, tmp_path):
    out = run_cli(cli, "bench", "report", "--dir", tmp_path, "--repeat", "3")
    print(out)
    path = tmp_path / "report.html"
    assert path.stat().st_size < 5_000_000
    opened = Opened(browser, path)
    try:
        page = opened.page
        assert len(page.query_selector_all("#findings tbody tr[data-row]")) == 50
        opened.assert_every_chart_drawn(at_least=5)
        opened.assert_clean()
        # Filter the findings by experiment and by q-value.
        select = page.query_selector("#findings select[data-filter='experiment']")
        experiment = select.query_selector_all("option")[1].get_attribute("value")
        select.select_option(experiment)
        rows = page.query_selector_all("#findings tbody tr[data-row]")
        assert rows and all(cell(r, "experiment").inner_text() == experiment for r in rows)
        select.select_option("")
        page.fill("#findings input[data-filter='q_value']", "1e-10")
        values = [float(cell(r, "q_value").get_attribute("data-value")) for r in page.query_selector_all("#findings tbody tr[data-row]")]
        assert values and all(v <= 1e-10 for v in values)
        print(f"sweep report: {path.stat().st_size / 1e6:.2f} MB, loaded in {opened.load_seconds:.2f} s")
    finally:
        opened.close()


def trial(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 5))
    w = (rng.uniform(size=n) < 0.5).astype(float)
    y = X[:, 0] + w * (X[:, 0] + X[:, 1]) + rng.normal(size=n)
    return X, y, w


def test_forest_and_learner_reports_draw_every_chart(browser, tmp_path):
    X, y, w = trial()
    forest = cateye.CausalForest(num_trees=200, seed=1).fit(X, y, w)
    learner = cateye.CateLearner(trees=50, select=True).fit(X, y, w)
    for fitted, sections, charts in [
        (forest, ["fit", "average", "individual", "calibration", "rate", "importance", "blp"], 5),
        (learner, ["fit", "arm-0"], 2),
    ]:
        path = fitted.report(tmp_path / f"{type(fitted).__name__}.html")
        opened = Opened(browser, path)
        try:
            assert [s.get_attribute("id") for s in opened.page.query_selector_all("section")] == sections
            assert opened.assert_every_chart_drawn() == charts
            opened.assert_clean()
        finally:
            opened.close()


def test_the_notebook_view_is_the_report_in_a_sandboxed_frame(browser, tmp_path):
    result = cateye.scan(fixture_path("ab_scan_12x8000.parquet"), deep_dive="none", progress=False, **ROLES)
    frame_html = result._repr_html_()
    assert frame_html.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts' in frame_html
    opened = Opened(browser, None, html=f"<!DOCTYPE html><html><body>{frame_html}</body></html>")
    try:
        frame = opened.page.frames[1]
        frame.wait_for_selector("#findings")
        opened.assert_every_chart_drawn(frame=frame)
        opened.assert_clean()
    finally:
        opened.close()
    # report() without a path gives the page; a path that cannot be read is a clear error.
    assert cateye.report(result).html == result.report().html
    with pytest.raises(cateye.CateyeError, match="cannot read"):
        cateye.report(tmp_path / "missing.json")
