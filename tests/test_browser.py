"""The portal as a person uses it: headless Chromium (Debian's package) driven by Playwright,
against `empiar-mirror serve` on the demo archive. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import harvest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's `chromium` package (.ci/run does)",
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from empiar_mirror.harvester.replay import ReplayServer

    db = tmp_path_factory.mktemp("browser") / "portal.db"
    with ReplayServer() as server:
        result = harvest(server, db)
    assert result.returncode == 0, result.stderr
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(demo_db, tmp_path_factory):
    """`empiar-mirror serve` in its own process, as a user starts it; stopped by its PID."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "empiar_mirror.harvester",
                "serve",
                str(demo_db),
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/-/versions.json", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, base_url, request):
    """A fresh page that may only talk to the local server, records dialogs and outside
    requests, and leaves a full-page screenshot named after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.outside = []

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    def only_local(route):
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.on("dialog", on_dialog)
    context.route("**/*", only_local)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert page.outside == [], "the portal asked for something beyond the local server"


def test_search_box_returns_the_expected_entries(page, base_url):
    page.goto(base_url + "/")
    page.fill("#portal-home-q", "Lassa")
    page.press("#portal-home-q", "Enter")
    page.wait_for_url(re.compile(r"/-/search\?q=Lassa"))

    def ids(table):
        return sorted(page.locator(f"#results-{table} a.portal-id").all_inner_texts())

    assert ids("empiar_entries") == ["EMPIAR-90022", "EMPIAR-90029"]
    assert ids("emdb_maps") == ["EMD-25107"]
    assert ids("pdb_models") == ["7SGD"]


def test_clicking_a_facet_filters_the_table(page, base_url):
    page.goto(base_url + "/portal/empiar_entries")
    facet = page.locator("#facet-experiment_type li", has=page.locator("a", has_text="FIB-SEM"))
    count = int(facet.inner_text().split()[-1])
    facet.locator("a").click()
    page.wait_for_url(re.compile(r"experiment_type=FIB-SEM"))
    types = page.locator("table.rows-and-columns td.col-experiment_type").all_inner_texts()
    assert types == ["FIB-SEM"] * count and count == 3
    accessions = page.locator("table.rows-and-columns td.type-pk > a:first-child")
    assert sorted(accessions.all_inner_texts()) == [
        "EMPIAR-11419",
        "EMPIAR-90004",
        "EMPIAR-90021",
    ]
    assert page.locator("h3").first.inner_text().startswith("3 rows where experiment_type")


def test_charts_render_offline(page, base_url):
    page.goto(base_url + "/-/charts")
    charts = page.locator("svg.portal-chart")
    assert charts.count() == 5
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50
        assert chart.locator("rect.bar").count() > 0
    microscopes = page.locator("#chart-microscopes rect.bar").first
    assert microscopes.locator("title").text_content() == "FEI TITAN KRIOS: 6"
    assert page.outside == []  # nothing fetched from anywhere else: no CDN


def test_accession_links_lead_to_the_right_row_pages(page, base_url):
    page.goto(base_url + "/portal/empiar_entries?_search=Lassa&_sort=accession")
    page.locator("td.col-emdb_ids a.portal-id", has_text="EMD-25107").first.click()
    page.wait_for_url(base_url + "/portal/emdb_maps/EMD-25107")
    assert page.locator("h1 .portal-accession").inner_text() == "EMD-25107"
    assert "Lassa virus glycoprotein" in page.locator("h1").inner_text()
    page.locator("table.portal-related a.portal-id", has_text="EMPIAR-90022").click()
    page.wait_for_url(base_url + "/portal/empiar_entries/EMPIAR-90022")
    assert page.locator("h1 .portal-accession").inner_text() == "EMPIAR-90022"
    assert page.locator("h2", has_text="Imagesets").count() == 1
    external = page.locator("table.portal-related a.portal-out").first
    assert external.get_attribute("href") == "https://www.ebi.ac.uk/emdb/EMD-25107"


def test_script_in_a_title_renders_as_text(page, base_url):
    title = "Apoferritin benchmark <script>alert('xss')</script> & <b>bold</b> test"
    page.goto(base_url + "/portal/empiar_entries/EMPIAR-90030")
    assert page.locator("h1").inner_text() == "EMPIAR-90030 " + title
    for path in ("/portal/empiar_entries?_search=apoferritin", "/-/search?q=apoferritin"):
        page.goto(base_url + path)
        assert title in page.locator("table").first.inner_text(), path
    for path in (
        "/portal/empiar_entries/EMPIAR-90030",
        "/portal/empiar_entries?_search=apoferritin",
        "/-/search?q=apoferritin",
    ):
        page.goto(base_url + path)
        injected = page.evaluate(
            "[...document.scripts].some(s => s.text.includes('xss'))"
            " || [...document.querySelectorAll('b')].some(b => b.textContent === 'bold')"
        )
        assert injected is False, path
    assert page.dialogs == []  # no alert() ran
