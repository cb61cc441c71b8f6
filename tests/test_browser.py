"""The portal as a person uses it: headless Chromium (Debian's package) driven by Playwright,
against `empiar-mirror serve` on the demo archive. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, harvest, query, run_cli, running

from empiar_mirror.index.portal.charts import CHARTS

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
        # A process of its own: Playwright's sync API may already run an event loop in this
        # thread, where the harvest's asyncio.run cannot start another.
        result = harvest(server, db, run=run_cli)
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture(scope="module")
def base_url(demo_db, tmp_path_factory):
    """`empiar-mirror serve` in its own process, as a user starts it; stopped by its PID."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    args = [sys.executable, "-m", "empiar_mirror.harvester", "serve", str(demo_db)]
    with running([*args, "--port", str(port)], port, log=log) as url:
        yield url


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
        rows = page.locator(f"#results-{table} tbody tr")
        return [rows.nth(i).locator("a.portal-id").first.inner_text() for i in range(rows.count())]

    # Best first: the current entry before the obsolete one it superseded, which says so.
    assert ids("empiar_entries") == ["EMPIAR-90022", "EMPIAR-90029"]
    obsolete = page.locator("#results-empiar_entries tbody tr").nth(1)
    assert obsolete.locator("td[data-column=status]").inner_text() == "obsolete"
    assert obsolete.locator("td[data-column=replaced_by] a.portal-id").inner_text() == (
        "EMPIAR-90022"
    )
    assert ids("emdb_maps") == ["EMD-25107"]
    assert ids("pdb_models") == ["7SGD"]


def test_clicking_a_facet_filters_the_table(page, base_url):
    page.goto(base_url + "/portal/empiar_entries")
    facet = page.locator("#facet-experiment_type li", has=page.locator("a", has_text="FIB-SEM"))
    count = int(facet.inner_text().split()[-1])
    facet.locator("a").click()
    page.wait_for_url(re.compile(r"experiment_type=FIB-SEM"))
    accessions = page.locator("table.rows-and-columns td.type-pk > a:first-child")
    assert accessions.count() == count == 3
    assert sorted(accessions.all_inner_texts()) == [
        "EMPIAR-11419",
        "EMPIAR-90004",
        "EMPIAR-90021",
    ]
    assert page.locator("h3").first.inner_text().startswith("3 rows where experiment_type")


def test_charts_render_offline(page, base_url):
    page.goto(base_url + "/-/charts")
    charts = page.locator("svg.portal-chart")
    assert charts.count() == len(CHARTS)
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50
        # Bars, or the squares of the validation chart's binned scatter.
        assert chart.locator("rect.bar, circle.cell").count() > 0
    microscopes = page.locator("#chart-microscopes rect.bar").first
    assert microscopes.locator("title").text_content() == "Titan Krios: 10"  # current entries
    assert page.outside == []  # nothing fetched from anywhere else: no CDN


def test_accession_links_lead_to_the_right_row_pages(page, base_url):
    page.goto(base_url + "/portal/empiar_entries?_search=Lassa&_sort=accession&_col=emdb_ids")
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


# Each cell's label on a phone, as the page draws it, against its column's header.
CARD_LABELS = """() => [...document.querySelectorAll('table.rows-and-columns')].flatMap(table => {
    const heads = [...table.querySelectorAll('thead th')].map(
        th => th.dataset.column || th.textContent.trim());
    return [...table.querySelectorAll('tbody tr')].flatMap(tr => [...tr.children].map(
        (td, i) => [heads[i], getComputedStyle(td, '::before').content]));
})"""


@pytest.mark.parametrize(
    "path",
    [
        "/portal/empiar_entries/EMPIAR-90010",
        "/portal/emdb_maps/EMD-25107",
        "/portal/pdb_models/9Z07",
        "/portal/empiar_entries",
        "/-/search?q=ribosome",
    ],
)
def test_phone_cards_label_each_cell_with_its_own_column(page, base_url, path):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + path)
    labels = page.evaluate(CARD_LABELS)
    assert len(labels) > 10
    assert [content for _, content in labels] == [f'"{head}"' for head, _ in labels]
    # Cards, not a table wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_laptop_first_screen_shows_the_rows_and_the_columns_read_first(page, base_url):
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(base_url + "/portal/empiar_entries")
    first_row = page.locator("table.rows-and-columns tbody tr").first.bounding_box()
    assert 0 < first_row["y"] < 768 - 40  # its first line at least
    for column in ("resolution_best_a", "microscope_families", "organisms", "release_date"):
        box = page.locator(f"table.rows-and-columns th.col-{column}").bounding_box()
        assert box["x"] + box["width"] <= 1366, column
    # The other columns and facets: one click away.
    page.locator("a", has_text=re.compile(r"show all \d+ columns")).click()
    page.wait_for_url(re.compile(r"_col="))
    assert page.locator("table.rows-and-columns th.col-image_count").count() == 1
    page.goto(base_url + "/portal/empiar_entries")
    assert not page.locator("#facet-scale").is_visible()
    page.locator("details.portal-more-facets summary").click()
    assert page.locator("#facet-scale").is_visible()


def test_the_table_search_ranks_its_results(page, base_url, demo_db):
    best = [
        a
        for (a,) in query(
            demo_db,
            "select e.accession from empiar_entries_fts f join empiar_entries e "
            "on e.rowid = f.rowid where empiar_entries_fts match 'ribosome' order by f.rank",
        )
    ]
    page.goto(base_url + "/portal/empiar_entries")
    page.fill("#_search", "ribosome")
    page.locator("form.filters input[type=submit]").click()
    page.wait_for_url(re.compile(r"/-/search\?q=ribosome&table=empiar_entries$"))
    assert page.locator("#results-empiar_entries a.portal-id").all_inner_texts() == best
    # Back to Datasette's page, newest first, with its facets.
    page.locator("a", has_text="in the table, with facets and filters").click()
    page.wait_for_url(re.compile(r"_sort_desc=release_date"))
    assert page.locator("#facet-experiment_type").count() == 1


@pytest.mark.parametrize(
    ("typed", "record"),
    [
        ("empiar-10442", "empiar_entries/EMPIAR-10442"),
        ("10442", "empiar_entries/EMPIAR-10442"),
        ("emd-90010", "emdb_maps/EMD-90010"),
        ("9z01", "pdb_models/9Z01"),
    ],
)
def test_an_id_typed_in_the_header_opens_its_record(page, base_url, typed, record):
    page.goto(base_url + "/portal/empiar_entries")
    box = page.locator(".portal-header-search input[name=q]")
    box.fill(typed)
    box.press("Enter")
    page.wait_for_url(base_url + "/portal/" + record)
    assert page.locator("h1 .portal-accession").inner_text() == record.split("/")[1]


def test_a_malformed_query_shows_the_search_page(page, base_url):
    page.goto(base_url + "/-/search?q=" + urllib.parse.quote('Lassa "glycoprotein'))
    assert page.locator("#portal-q").input_value() == 'Lassa "glycoprotein'
    assert page.locator("#results-emdb_maps a.portal-id").all_inner_texts() == ["EMD-25107"]
    page.goto(base_url + "/-/search?q=" + urllib.parse.quote("ribosome AND OR ("))
    assert "its words were searched for" in page.locator("p.message-warning").inner_text()
    assert page.locator("#portal-search-form").is_visible()
