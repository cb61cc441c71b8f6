"""The portal, through Datasette's in-process client: links, escaping, canned queries, charts,
search over everything, row pages and robots.txt, on the demo archive."""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import datasette_get, harvested_sample, invoke
from conftest import query as sql_rows

from empiar_mirror.index import portal as plugin
from empiar_mirror.index.portal import charts, descriptions, links, table_page
from empiar_mirror.index.serve import load_metadata, make_datasette

XSS = "<script>alert('xss')</script>"
XSS_ESCAPED = "&lt;script&gt;alert("
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def portal_db(tmp_path_factory):
    # Not always "empiar.db": URLs must use the file's stem, whatever it is.
    return harvested_sample(tmp_path_factory.mktemp("portal"), "portal.db")


get = datasette_get


def rows(db, path):
    r = get(db, path + ("&" if "?" in path else "?") + "_shape=objects")
    assert r.status_code == 200, r.text
    return r.json()["rows"]


@pytest.fixture(scope="module")
def cell(portal_db):
    """render_cell as Datasette calls it, for the database named `portal`."""
    ds = make_datasette(portal_db)

    def render(value, column, table="empiar_entries", row=None):
        return plugin.render_cell(
            row=row, value=value, column=column, table=table, database="portal", datasette=ds
        )

    return render


# Links everywhere --------------------------------------------------------------------------


def test_ids_link_to_the_mirror_row_and_to_the_archive(cell):
    html = cell("EMPIAR-10442", "accession")
    assert 'href="/portal/empiar_entries/EMPIAR-10442"' in html
    assert 'href="https://www.ebi.ac.uk/empiar/EMPIAR-10442/"' in html
    html = cell("EMD-25107", "emdb_id", "emdb_maps")
    assert 'href="/portal/emdb_maps/EMD-25107"' in html
    assert 'href="https://www.ebi.ac.uk/emdb/EMD-25107"' in html
    html = cell("7SGD", "replaced_by", "pdb_models")
    assert 'href="/portal/pdb_models/7SGD"' in html
    assert 'href="https://www.rcsb.org/structure/7SGD"' in html
    # Not an id of the column's archive: left to Datasette's own (escaping) rendering.
    assert cell("EMD-25107", "pdb_id") is None
    assert cell("EMPIAR-1<b>", "accession") is None
    assert cell("Some title", "title") is None


def test_json_arrays_render_as_lists_with_ids_linked_and_values_filtering(cell):
    html = cell('["EMD-90010", "EMD-90011"]', "emdb_ids")
    assert html.startswith('<ul class="portal-list">') and html.count("<li>") == 2
    assert 'href="/portal/emdb_maps/EMD-90011"' in html
    assert 'href="https://www.ebi.ac.uk/emdb/EMD-90011"' in html
    html = cell('["Homo sapiens", "Mus musculus"]', "organisms")
    assert 'href="/portal/empiar_entries?organisms__arraycontains=Homo+sapiens"' in html
    assert cell("[300.0]", "voltages_kv") == '<ul class="portal-list"><li>300</li></ul>'
    assert cell("[]", "pdb_ids") == "&nbsp;"


def test_dois_and_orcids_link_out(cell):
    html = cell("10.6019/EMPIAR-10442", "entry_doi")
    assert 'href="https://doi.org/10.6019/EMPIAR-10442"' in html
    html = cell("doi:10.5555/empiar-demo.90010", "doi", "publication")
    assert 'href="https://doi.org/10.5555/empiar-demo.90010">10.5555/empiar-demo.90010<' in html
    html = cell("https://orcid.org/0000-0009-2190-6713", "orcid", "person")
    assert 'href="https://orcid.org/0000-0009-2190-6713"' in html


def test_everything_rendered_is_escaped(cell):
    html = cell(f'["{XSS}", "a\\" onmouseover=\\"x"]', "organisms")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'onmouseover="x"' not in html
    assert "<script>" not in cell(f"10.1/{XSS}", "citation_doi")


# Every page that shows EMPIAR-90030, whose title carries a script.
SCRIPT_PAGES = [
    "/portal/empiar_entries?accession=EMPIAR-90030",
    "/portal/empiar_entries/EMPIAR-90030",
    "/portal/emdb_maps/EMD-90030",
    "/portal/high_resolution_single_particle",
    "/-/search?q=apoferritin",
]


@pytest.mark.parametrize("path", SCRIPT_PAGES)
def test_the_script_in_a_title_shows_as_text(portal_db, path):
    r = get(portal_db, path)
    assert r.status_code == 200
    assert XSS not in r.text and "<b>bold</b>" not in r.text
    assert XSS_ESCAPED in r.text


def test_table_page_links_ids_arrays_and_the_primary_key(portal_db):
    columns = "&".join(f"_col={c}" for c in ("emdb_ids", "pdb_ids", "entry_doi", "microscopes"))
    html = get(portal_db, f"/portal/empiar_entries?accession=EMPIAR-90010&{columns}").text
    # The primary key: Datasette links the row; the portal adds the archive page beside it.
    (pk_cell,) = re.findall(r'<td class="col-accession type-pk"[^>]*>(.*?)</td>', html)
    assert '<a href="/portal/empiar_entries/EMPIAR-90010">EMPIAR-90010</a>' in pk_cell
    assert 'href="https://www.ebi.ac.uk/empiar/EMPIAR-90010/"' in pk_cell
    assert 'href="/portal/emdb_maps/EMD-90011"' in html
    assert 'href="/portal/pdb_models/9Z02"' in html
    assert 'href="https://doi.org/10.6019/EMPIAR-90010"' in html
    assert "microscopes__arraycontains=FEI+TITAN+KRIOS" in html


# Canned queries ----------------------------------------------------------------------------

QUERIES = load_metadata()["databases"]["empiar"]["queries"]
# Every map of a mirror of linked maps has its raw data in EMPIAR, by construction: this query
# is for a mirror of the whole of EMDB (tests/test_coverage.py gives it a map without).
WHOLE_EMDB_QUERIES = {"maps_without_raw_data"}


def test_every_canned_query_is_described_and_runs(portal_db):
    assert len(QUERIES) >= 7
    for name, query in QUERIES.items():
        assert query["title"] and query["description"], name
        r = get(portal_db, f"/portal/{name}.json?_shape=objects")
        assert r.status_code == 200 and r.json()["ok"], (name, r.text[:300])
        if name not in WHOLE_EMDB_QUERIES:
            assert r.json()["rows"], f"{name} finds nothing on the demo archive"


def test_broken_cross_links_lists_the_withdrawn_map_and_the_obsolete_model(portal_db):
    found = {
        (r["problem"], r["accession"], r["emdb_id"], r["pdb_id"], r["replaced_by"])
        for r in rows(portal_db, "/portal/broken_cross_links.json")
    }
    assert found == {
        ("EMDB map not public (404)", "EMPIAR-90010", "EMD-90011", None, None),
        ("PDB model obsolete", "EMPIAR-90010", "EMD-90010", "9Z02", "9Z07"),
    }
    html = get(portal_db, "/portal/broken_cross_links").text
    assert 'href="https://www.rcsb.org/structure/9Z07"' in html
    assert 'href="/portal/emdb_maps/EMD-90011"' in html


def test_high_resolution_single_particle_takes_a_resolution(portal_db):
    found = rows(portal_db, "/portal/high_resolution_single_particle.json?max_resolution=2.5")
    assert [(r["accession"], r["emdb_id"]) for r in found] == [
        ("EMPIAR-90030", "EMD-90030"),
        ("EMPIAR-90027", "EMD-90027"),
        ("EMPIAR-90025", "EMD-90025"),
    ]
    # EMD-90026 is obsolete (superseded by EMD-90025): there only when asked for.
    everything = rows(
        portal_db,
        "/portal/high_resolution_single_particle.json?max_resolution=2.5&include_obsolete=yes",
    )
    assert ("EMPIAR-90025", "EMD-90026") in {(r["accession"], r["emdb_id"]) for r in everything}
    default = rows(portal_db, "/portal/high_resolution_single_particle.json")
    assert max(r["resolution_a"] for r in default) <= 3 and len(default) > len(found)
    assert "EMPIAR-90003" not in {r["accession"] for r in default}  # helical, 3.35 Å


def test_microscope_and_detector_filters(portal_db):
    base = "/portal/by_microscope_and_detector.json"
    talos = rows(portal_db, base + "?microscope=arctica")
    assert [(r["accession"], r["microscope"]) for r in talos] == [
        ("EMPIAR-90007", "FEI TALOS ARCTICA")
    ]
    k3 = {r["accession"] for r in rows(portal_db, base + "?detector=K3")}
    assert k3 == {"EMPIAR-90013", "EMPIAR-90019"}
    # By family: a Falcon 4i, a Falcon IV and a Falcon 4 are one detector (EMD-90014, which
    # EMPIAR-90014 and 90017 link, spells it `FEI FALCON IV`), a TFS KRIOS a Titan Krios.
    both = rows(portal_db, base + "?microscope=krios&detector=falcon+4i")
    falcon_4 = {"EMPIAR-90014", "EMPIAR-90017", "EMPIAR-90025", "EMPIAR-90027", "EMPIAR-90030"}
    assert {r["accession"] for r in both} == falcon_4
    for spelling in ("falcon+IV", "Falcon+4", "FALCON+4i"):
        found = rows(portal_db, base + f"?microscope=Titan+Krios&detector={spelling}")
        assert {r["accession"] for r in found} == falcon_4


def test_released_or_updated_since(portal_db):
    found = rows(portal_db, "/portal/released_or_updated_since.json?since=2025-08-01")
    assert [(r["accession"], r["what"]) for r in found] == [
        ("EMPIAR-90030", "released"),
        ("EMPIAR-90028", "released"),
        ("EMPIAR-90027", "updated"),  # released 2025-06-30, updated 2025-08-11
    ]


def test_entries_with_fitted_models(portal_db):
    found = {
        (r["accession"], r["emdb_id"], r["pdb_id"])
        for r in rows(portal_db, "/portal/entries_with_fitted_models.json")
    }
    assert ("EMPIAR-90010", "EMD-90010", "9Z07") in found  # the replacement model too
    assert ("EMPIAR-90022", "EMD-25107", "7SGD") in found  # a map shared by two entries
    assert "EMPIAR-90001" not in {a for a, _, _ in found}  # its map has no model
    # Current entries only, unless asked: the obsolete EMPIAR-90029 shares that map.
    assert "EMPIAR-90029" not in {a for a, _, _ in found}
    everything = rows(portal_db, "/portal/entries_with_fitted_models.json?include_obsolete=yes")
    assert ("EMPIAR-90029", "EMD-25107", "7SGD") in {
        (r["accession"], r["emdb_id"], r["pdb_id"]) for r in everything
    }


def test_entries_per_year_and_largest_datasets(portal_db):
    per_year = rows(portal_db, "/portal/entries_per_year_and_type.json")
    # The obsolete EMPIAR-90029 and the simulated EMPIAR-90005 and 90024 left out.
    assert sum(r["entries"] for r in per_year) == 33
    counts = {(r["release_year"], r["experiment_type"]): r["entries"] for r in per_year}
    assert counts[(2022, "EMDB")] == 2
    per_year = rows(portal_db, "/portal/entries_per_year_and_type.json?include_obsolete=yes")
    assert sum(r["entries"] for r in per_year) == 34
    everything = "/portal/entries_per_year_and_type.json?include_obsolete=yes&include_simulated=yes"
    assert sum(r["entries"] for r in rows(portal_db, everything)) == 36
    largest = rows(portal_db, "/portal/largest_datasets.json?n=3")
    assert [r["accession"] for r in largest] == ["EMPIAR-90012", "EMPIAR-90010", "EMPIAR-90015"]


# Charts ------------------------------------------------------------------------------------


def test_charts_page_draws_every_chart_inline_with_no_outside_resources(portal_db):
    r = get(portal_db, "/-/charts")
    assert r.status_code == 200
    for spec in charts.CHARTS:
        assert f'id="chart-{spec.slug}"' in r.text, spec.slug
    assert "<script src" not in r.text and "cdn" not in r.text.lower()


def svg(db, slug):
    r = get(db, f"/-/charts/{slug}.svg")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    return ET.fromstring(r.text)  # well-formed XML, or this raises


def bars(root):
    return [el for el in root.iter(f"{SVG}rect") if el.get("class") == "bar"]


def test_each_chart_is_a_non_empty_svg_of_the_data(portal_db):
    releases = svg(portal_db, "releases")
    tips = {el.find(f"{SVG}title").text for el in bars(releases)}
    # Current entries only: the obsolete EMPIAR-90029 (2022, EMDB) is counted when asked.
    assert "2022 · EMDB: 2" in tips and "2014 · SBF-SEM: 1" in tips
    r = get(portal_db, "/-/charts/releases.svg?include_obsolete=yes")
    assert "2022 · EMDB: 3" in {el.find(f"{SVG}title").text for el in bars(ET.fromstring(r.text))}
    resolution = svg(portal_db, "resolution")
    assert [el.find(f"{SVG}title").text for el in bars(resolution)] == [
        "<2 Å: 1",
        "2–3 Å: 6",
        "3–4 Å: 3",  # and the obsolete EMPIAR-90029's, when asked
        "4–6 Å: 1",
        ">10 Å: 1",
    ]
    microscopes = svg(portal_db, "microscopes")
    assert [el.find(f"{SVG}title").text for el in bars(microscopes)][:2] == [
        # `FEI TITAN KRIOS` and `TFS KRIOS` entries, current ones: one instrument family.
        "Titan Krios: 10",
        "CRYO ARM 300: 1",
    ]
    assert len(bars(svg(portal_db, "detectors"))) == 5
    sizes = svg(portal_db, "sizes")
    # Current entries of measured data: not the obsolete 90029 nor the simulated 90005, 90024.
    assert sum(int(el.find(f"{SVG}title").text.split(": ")[1]) for el in bars(sizes)) == 33
    # Bars link to the entries they count.
    links = [a.get("href") for a in microscopes.iter(f"{SVG}a")]
    assert (
        "/portal/empiar_entries?microscope_families__arraycontains=Titan+Krios"
        "&status__notin=OBS%2CWDRN%2Cnot+public&simulated=0"
    ) in links
    assert get(portal_db, "/-/charts/nosuch.svg").status_code == 404


def test_chart_labels_are_escaped_and_empty_data_still_draws():
    drawn = charts.bar_chart("t <i>", "x", [charts.Bar(XSS, 3, 'a" onclick="x')])
    assert "<script>" not in drawn and "<i>" not in drawn and 'onclick="x"' not in drawn
    ET.fromstring(str(drawn))
    empty = charts.column_chart("Nothing", "n", [], {})
    assert "No data" in empty
    ET.fromstring(str(empty))


# Search everything -------------------------------------------------------------------------


def search(db, q):
    r = get(db, f"/-/search.json?q={q}")
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    pks = {"empiar_entries": "accession", "emdb_maps": "emdb_id", "pdb_models": "pdb_id"}
    return {table: [row[pks[table]] for row in results[table]["rows"]] for table in pks}


def test_one_search_finds_entries_maps_and_models(portal_db):
    found = search(portal_db, "Lassa")
    assert sorted(found["empiar_entries"]) == ["EMPIAR-90022", "EMPIAR-90029"]
    assert found["emdb_maps"] == ["EMD-25107"] and found["pdb_models"] == ["7SGD"]
    ribosome = search(portal_db, "ribosome")
    assert {"EMPIAR-90001", "EMPIAR-90025"} <= set(ribosome["empiar_entries"])
    assert {"EMD-90001", "EMD-90025"} <= set(ribosome["emdb_maps"])


def test_search_by_accession_and_odd_input(portal_db):
    assert search(portal_db, "empiar-10442")["empiar_entries"][0] == "EMPIAR-10442"
    assert search(portal_db, "emd-90011")["emdb_maps"] == ["EMD-90011"]  # withdrawn, still found
    assert search(portal_db, "9z02")["pdb_models"] == ["9Z02"]
    assert search(portal_db, "zzzznothing") == {
        "empiar_entries": [],
        "emdb_maps": [],
        "pdb_models": [],
    }
    for odd in ('"unbalanced', "AND OR (", "NEAR(", "*"):
        assert get(portal_db, f"/-/search.json?q={odd}").status_code == 200, odd


def test_search_page_links_results(portal_db):
    r = get(portal_db, "/-/search?q=Lassa")
    assert r.status_code == 200
    assert 'href="/portal/pdb_models/7SGD"' in r.text
    assert 'href="/portal/empiar_entries?_search=Lassa"' not in r.text  # all shown: no "more"
    assert 'value="Lassa"' in r.text


# Row pages, home page, robots ----------------------------------------------------------------


def test_entry_page_shows_imagesets_maps_models_authors_and_citation(portal_db):
    html = get(portal_db, "/portal/empiar_entries/EMPIAR-90010").text
    assert "Falcon III movies of AAV9 capsids" in html and "Polished AAV9 particle movies" in html
    assert 'href="/portal/data_file/empiar~3AEMPIAR-90010~2Fimageset~2F1"' in html
    assert 'href="/portal/emdb_maps/EMD-90011"' in html and "not public" in html
    assert 'href="/portal/pdb_models/9Z07"' in html  # the replacement, fitted to its map
    assert "FEI FALCON III (4k x 4k)" in html and "single particle" in html
    # EMPIAR's spelling of the shared citation's authors wins over the PDB's ASCII folding.
    assert html.index("Nguyễn TH") < html.index("Fitzgerald A") < html.index("Wang L")
    assert 'href="https://orcid.org/0000-0009-2190-6713"' in html
    assert "High-resolution structure of the AAV9 capsid reveals glycan receptor contacts" in html
    assert 'href="https://doi.org/10.5555/empiar-demo.90010"' in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/99001001/"' in html


def test_map_and_model_pages_show_what_they_link(portal_db):
    html = get(portal_db, "/portal/emdb_maps/EMD-25107").text
    for link in ("empiar_entries/EMPIAR-90022", "empiar_entries/EMPIAR-90029", "pdb_models/7SGD"):
        assert f'href="/portal/{link}"' in html
    html = get(portal_db, "/portal/pdb_models/9Z07").text
    assert "Replaces" in html and 'href="/portal/pdb_models/9Z02"' in html
    # Other tables keep Datasette's own row page.
    html = get(portal_db, "/portal/dataset/empiar~3AEMPIAR-90010").text
    assert "portal-facts" not in html and "Adeno-associated virus serotype 9" in html


def test_home_page_offers_search_tables_and_questions(portal_db):
    html = get(portal_db, "/").text
    assert 'action="/-/search"' in html and 'href="/-/charts"' in html
    for name, query in QUERIES.items():
        assert f'href="/portal/{name}"' in html and query["title"] in html
    assert "<strong>36</strong> EMPIAR entries" in html


def test_every_page_has_the_search_box(portal_db):
    for path in ("/portal", "/portal/dataset", "/portal/largest_datasets", "/-/charts"):
        html = get(portal_db, path).text
        assert 'class="portal-header-search" action="/-/search"' in html, path


def test_robots_txt_keeps_crawlers_out(portal_db):
    r = get(portal_db, "/robots.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text.splitlines() == ["User-agent: *", "Disallow: /"]

    async def configured():
        metadata = {**load_metadata(), "plugins": {"empiar-mirror": {"robots_txt": "Allow: /\n"}}}
        ds = make_datasette(portal_db, metadata)
        return (await ds.client.get("/robots.txt")).text

    assert asyncio.run(configured()) == "Allow: /\n"


def test_serve_settings(portal_db):
    settings = get(portal_db, "/-/settings.json").json()
    assert settings["sql_time_limit_ms"] == 3000
    assert settings["default_facet_size"] == 15 and settings["facet_time_limit_ms"] == 500
    slow = get(
        portal_db,
        "/portal.json?sql=with+recursive+c(x)+as+(select+1+union+all+"
        "select+x%2B1+from+c)+select+count(*)+from+c",
    )
    assert slow.status_code == 400 and "interrupted" in slow.text.lower()


# The table page's first screen ---------------------------------------------------------------


def header_columns(html):
    return re.findall(r'<th [^>]*data-column="([^"]+)"', html)


def test_table_page_leads_with_the_columns_read_first(portal_db):
    html = get(portal_db, "/portal/empiar_entries").text
    assert header_columns(html) == table_page.LEAD_COLUMNS["empiar_entries"]
    # Every cell names its column, the label a phone shows for it.
    cells = re.findall(r'<td class="col-[^"]*" data-column="([^"]+)"', html)
    assert cells[: len(header_columns(html))] == table_page.LEAD_COLUMNS["empiar_entries"]
    # The rest are one click away: Datasette's own `_col`, the lead columns first.
    (everything,) = re.findall(r'<a href="([^"]+)" rel="nofollow">show all (\d+) columns', html)
    url, count = everything
    shown = header_columns(get(portal_db, url.replace("&amp;", "&")).text)
    assert len(shown) == int(count) == len(sql_rows(portal_db, "pragma table_info(empiar_entries)"))
    lead = table_page.LEAD_COLUMNS["empiar_entries"]
    assert shown[: len(lead)] == lead
    # A column the reader hides stays hidden; columns the reader chose are shown as chosen.
    hidden = header_columns(get(portal_db, "/portal/empiar_entries?_nocol=title").text)
    assert hidden == [c for c in table_page.LEAD_COLUMNS["empiar_entries"] if c != "title"]
    chosen = get(portal_db, "/portal/empiar_entries?_col=status&_col=title").text
    assert header_columns(chosen) == ["accession", "status", "title"]
    assert 'href="/portal/empiar_entries" rel="nofollow">back to the columns read first' in chosen
    # Other tables keep Datasette's order.
    assert header_columns(get(portal_db, "/portal/emdb_maps").text)[:3] == [
        "emdb_id",
        "title",
        "status",
    ]


def test_table_page_folds_all_but_the_lead_facets(portal_db):
    html = get(portal_db, "/portal/empiar_entries").text
    shown, _, folded = html.partition('<details class="portal-more-facets">')
    facets = r'class="facet-info [^"]*" id="facet-([a-z_]+)"'
    assert re.findall(facets, shown) == table_page.LEAD_FACETS["empiar_entries"]
    metadata = load_metadata()["databases"]["empiar"]["tables"]["empiar_entries"]["facets"]
    every = {f if isinstance(f, str) else f["array"] for f in metadata}
    assert set(re.findall(facets, folded)) == every - set(table_page.LEAD_FACETS["empiar_entries"])
    # A lead facet shows its first values, the rest folded under "n more".
    experiment_types = re.search(r'id="facet-experiment_type".*?</ul>\s*</div>', html, re.S)[0]
    first, _, rest = experiment_types.partition('class="portal-facet-more"')
    assert first.count("<li>") == table_page.FACET_VALUES_SHOWN and rest.count("<li>") > 0
    # A facet the reader asked for, or chose a value of, is shown, with all its values.
    html = get(portal_db, "/portal/empiar_entries?scale=virus").text
    shown = html.partition('<details class="portal-more-facets">')[0]
    assert 'id="facet-scale"' in shown
    html = get(portal_db, "/portal/empiar_entries?_facet=image_count").text
    assert 'id="facet-image_count"' in html.partition('<details class="portal-more-facets">')[0]


def test_descriptions_render_their_code_spans_and_escape_the_rest(portal_db):
    html = get(portal_db, "/portal/empiar_entries").text
    assert "<code>EMD-25107</code>" in html and "`EMD-25107`" not in html
    description = re.search(r'<div class="metadata-description">(.*?)</div>', html, re.S)[1]
    assert "`" not in description and "flattened for browsing" in description
    assert "<code>&lt;2 Å</code>" in html  # a column description, folded away
    assert descriptions.inline_markdown("a `<b>` & <i>x</i> `") == (
        "a <code>&lt;b&gt;</code> &amp; &lt;i&gt;x&lt;/i&gt; `"
    )


# Search: rank order, ids, syntax ---------------------------------------------------------


def test_a_searched_table_page_goes_to_the_ranked_search(portal_db):
    ranked = "/-/search?q=ribosome&table=empiar_entries"
    r = get(portal_db, "/portal/empiar_entries?_search=ribosome")
    assert r.status_code == 302 and r.headers["location"] == ranked
    # What the table's own form sends: its empty filter row and the default order.
    form = "_filter_column=&_filter_op=exact&_filter_value=&_sort=release_date&_sort_by_desc=on"
    r = get(portal_db, f"/portal/empiar_entries?_search=ribosome&{form}")
    assert r.status_code == 302 and r.headers["location"] == ranked
    # A sort, filter or format the reader chose keeps Datasette's table page.
    for path in (
        "/portal/empiar_entries?_search=ribosome&_sort=accession",
        "/portal/empiar_entries?_search=ribosome&_sort_desc=release_date",
        "/portal/empiar_entries?_search=ribosome&_filter_column=&_filter_op=exact"
        "&_filter_value=&_sort=accession",
        "/portal/empiar_entries?_search=ribosome&technique=cryo_em",
        "/portal/empiar_entries.json?_search=ribosome",
        "/portal/empiar_entries",
    ):
        r = get(portal_db, path)
        assert "/-/search" not in r.headers.get("location", "") and r.status_code < 400, path
    assert get(portal_db, "/portal/emdb_maps?_search=Lassa").headers["location"] == (
        "/-/search?q=Lassa&table=emdb_maps"
    )


def ranked(db, q):
    return [
        accession
        for (accession,) in sql_rows(
            db,
            "select e.accession from empiar_entries_fts f join empiar_entries e "
            "on e.rowid = f.rowid where empiar_entries_fts match ? order by f.rank",
            (q,),
        )
    ]


def test_search_results_come_in_rank_order(portal_db):
    best = ranked(portal_db, "ribosome")
    by_date = sql_rows(portal_db, "select accession from empiar_entries order by release_date desc")
    newest = [a for (a,) in by_date if a in best]
    assert len(best) > 2 and best != newest  # the two orders differ, so the test can tell
    found = get(portal_db, "/-/search.json?q=ribosome&table=empiar_entries").json()
    assert [r["accession"] for r in found["results"]["empiar_entries"]["rows"]] == best
    assert search(portal_db, "ribosome")["empiar_entries"] == best
    html = get(portal_db, "/-/search?q=ribosome&table=empiar_entries").text
    assert re.findall(r'href="/portal/empiar_entries/(EMPIAR-\d+)"', html) == best
    # Datasette's own page, newest first, with facets: one click away, and back.
    assert 'href="/portal/empiar_entries?_search=ribosome&amp;_sort_desc=release_date"' in html
    html = get(portal_db, "/portal/empiar_entries?_search=ribosome&_sort_desc=release_date").text
    assert '<a href="/-/search?q=ribosome&amp;table=empiar_entries">the best matches first' in html


def test_one_front_door_searched_a_page_at_a_time(portal_db, monkeypatch):
    monkeypatch.setattr("empiar_mirror.index.portal.search.SEARCH_PAGE", 2)
    best = ranked(portal_db, "ribosome")
    pages = []
    for page in (1, 2, 3):
        r = get(portal_db, f"/-/search.json?q=ribosome&table=empiar_entries&page={page}")
        pages += [row["accession"] for row in r.json()["results"]["empiar_entries"]["rows"]]
    assert pages == best
    html = get(portal_db, "/-/search?q=ribosome&table=empiar_entries&page=2").text
    assert 'href="/-/search?q=ribosome&amp;table=empiar_entries&amp;page=3" rel="next"' in html
    assert 'href="/-/search?q=ribosome&amp;table=empiar_entries&amp;page=1" rel="prev"' in html
    assert get(portal_db, "/-/search?q=ribosome&table=nosuch").status_code == 404
    # A page number no reader asks for is the first page, not an error.
    for page in ("9" * 30, "9" * 5000, "0", "-3", "²"):
        r = get(portal_db, f"/-/search.json?q=ribosome&table=empiar_entries&page={page}")
        assert r.status_code == 200, page


@pytest.mark.parametrize(
    ("q", "table", "pk"),
    [
        ("10442", "empiar_entries", "EMPIAR-10442"),
        ("empiar-10442", "empiar_entries", "EMPIAR-10442"),
        ("EMPIAR-10442", "empiar_entries", "EMPIAR-10442"),
        ("emd-90010", "emdb_maps", "EMD-90010"),
        ("25107", "emdb_maps", "EMD-25107"),
        ("9z01", "pdb_models", "9Z01"),
    ],
)
def test_an_id_in_any_case_finds_and_opens_its_record(portal_db, q, table, pk):
    assert search(portal_db, q)[table][0] == pk
    scoped = get(portal_db, f"/-/search.json?q={q}&table={table}").json()
    assert scoped["results"][table]["rows"][0][links.TABLE_PK[table]] == pk
    # What the header's box sends: the record's own page.
    r = get(portal_db, f"/-/search?q={q}")
    assert r.status_code == 302 and r.headers["location"] == f"/portal/{table}/{pk}"
    # The table's search box: the record first.
    r = get(portal_db, f"/portal/{table}?_search={q}")
    html = get(portal_db, r.headers["location"]).text
    assert html.index(f'href="/portal/{table}/{pk}"') < html.index("</tbody>")


def test_prefix_phrase_and_boolean_queries(portal_db):
    def entries(q):
        return set(search(portal_db, q)["empiar_entries"])

    ribosome, lassa = entries("ribosome"), entries("Lassa")
    assert ribosome and lassa and not ribosome & lassa
    assert entries("riboso*") >= ribosome and entries("riboso") == set()
    assert entries("Lassa OR ribosome") == lassa | ribosome
    assert entries("ribosome NOT yeast") == ribosome - entries("yeast") != ribosome
    assert entries("(Lassa OR ribosome) AND human") == (lassa | ribosome) & entries("human")
    assert entries('"Lassa virus"') <= lassa


@pytest.mark.parametrize("q", ['"unbalanced', "AND OR (", "a (b", "NEAR(", "*", ")(", "NOT"])
def test_a_malformed_query_is_read_as_words_never_an_error(portal_db, q):
    r = get(portal_db, f"/-/search.json?q={q}")
    assert r.status_code == 200 and r.json()["error"] is None
    for path in (f"/-/search?q={q}", f"/-/search?q={q}&table=empiar_entries"):
        r = get(portal_db, path)
        assert r.status_code == 200, path
        assert 'id="portal-search-form"' in r.text and "Error" not in r.text
    # Datasette's own table search never fails on it either.
    r = get(portal_db, f"/portal/empiar_entries?_search={q}&_sort=accession")
    assert r.status_code == 200 and re.search(r"\d+ rows? where search matches", r.text)


def test_a_malformed_query_says_what_was_searched(portal_db):
    r = get(portal_db, "/-/search?q=AND+OR+(")
    assert "its words were searched for: <code>&#34;AND&#34; &#34;OR&#34;</code>" in r.text
    assert get(portal_db, "/-/search.json?q=a+(b").json()["words"] == '"a" "b"'
    assert get(portal_db, '/-/search.json?q="unbalanced').json()["words"] is None


# Home page and footer --------------------------------------------------------------------


def test_home_page_says_when_and_from_where_it_was_harvested(portal_db, tmp_path):
    html = get(portal_db, "/").text
    assert re.search(r"Last harvested <strong>\d{4}-\d\d-\d\d \d\d:\d\d UTC</strong>", html)
    assert re.search(r"from the archives at 127\.0\.0\.1:\d+\.", html)  # the loopback server
    demo = tmp_path / "demo.db"
    result = invoke("demo", "--db", str(demo), "--no-serve")
    assert result.returncode == 0, result.stderr
    html = get(demo, "/").text
    assert "from the <strong>demo sample</strong> bundled with empiar-mirror" in html


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/portal",
        "/portal/empiar_entries",
        "/portal/empiar_entries/EMPIAR-90010",
        "/-/search",
        "/-/charts",
        "/portal/largest_datasets",
        "/portal/no_such_table",
    ],
)
def test_every_page_shows_the_version(portal_db, path):
    version = importlib.metadata.version("empiar-mirror")
    html = get(portal_db, path).text
    assert f'<span class="portal-version">empiar-mirror {version}</span>' in html
