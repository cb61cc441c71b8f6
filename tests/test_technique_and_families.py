"""Technique and method from all the evidence (linked maps, imagesets, words, experiment type),
and instruments in families: the rule table, then harvests of the sample through the CLI."""

from __future__ import annotations

import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import datasette_get, harvest, invoke, query, run_cli

from empiar_mirror.harvester.mapping import vocab
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.index import portal
from empiar_mirror.index.front_doors import GENERIC_EXPERIMENT_TYPES
from empiar_mirror.index.lambda_ber.enums import ExperimentalMethodEnum, TechniqueEnum

SOURCES = {"emdb", "imagesets", "text", "experiment_type"}
NEW_COLUMNS = {  # the key, then the columns migration 005 adds
    "empiar_entries": [
        "accession",
        "experimental_method",
        "technique_source",
        "own_technique_source",
        "microscope_families",
        "detector_families",
    ],
    "emdb_maps": ["emdb_id", "microscope_family", "detector_family"],
}


def technique_table(db, accessions=None) -> dict[str, tuple]:
    rows = query(
        db,
        "select accession, technique, experimental_method, technique_source from empiar_entries",
    )
    return {a: tuple(r) for a, *r in rows if accessions is None or a in accessions}


def sample_copy(tmp_path):
    """The bundled sample in a directory of the test's own, to edit records in."""
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, root)
    return root


def edit_map(root, emdb_id: str, change) -> None:
    path = root / "emdb" / f"{emdb_id}.json"
    doc = json.loads(path.read_text())
    change(doc["structure_determination_list"]["structure_determination"][0])
    path.write_text(json.dumps(doc))


def harvested(root, db, *extra, run=invoke):
    with ReplayServer([root]) as server:
        result = harvest(server, db, *extra, run=run)
    assert result.returncode == 0, result.stderr
    return result


# The rule table: a pure function of the EMPIAR record ---------------------------------------

ET_, STA, ED = "electron_tomography", "subtomogram_averaging", "electron_diffraction"
SPA, HELICAL, EC = "single_particle_analysis", "helical_reconstruction", "electron_crystallography"
EM, XRAY, TYPE = "electron_microscopy", "xray_tomography", "experiment_type"


@pytest.mark.parametrize(
    "experiment_type, categories, words, expected",
    [
        # Categories first, then words, then the type.
        ("EMDB", ["subtomograms", "tilt series"], [], ("cryo_et", STA, "imagesets")),
        ("EMDB", ["micrographs - tilt series"], [], ("cryo_et", ET_, "imagesets")),
        ("EMDB", ["tilt series"], ["single particle"], ("cryo_et", ET_, "imagesets")),
        ("EMDB", ["diffraction images"], [], ("microed", ED, "imagesets")),
        ("EMDB", ["class averages"], ["Sub-tomogram averaging"], ("cryo_et", STA, "text")),
        ("EMDB", [], ["Cryo-electron tomography of yeast lamellae"], ("cryo_et", ET_, "text")),
        ("EMDB", [], ["Movies", "combined into tilt series stacks"], ("cryo_et", ET_, "text")),
        ("EMDB", [], ["In situ cryo-ET of synapses"], ("cryo_et", ET_, "text")),
        ("EMDB", [], ["MicroED of proteinase K"], ("microed", ED, "text")),
        ("EMDB", [], ["2D electron crystallography of AQP0"], ("microed", EC, "text")),
        ("EMDB", [], ["Helical reconstruction of TMV"], ("cryo_em", HELICAL, "text")),
        ("EMDB", [], ["Single-particle cryo-EM of GroEL"], ("cryo_em", SPA, "text")),
        ("EMDB", [], ["FIB-SEM volume of a HeLa cell"], (EM, None, "text")),
        ("EMDB", [], ["Serial block-face SEM of cortex"], (EM, None, "text")),
        ("EMDB", [], ["Soft X-ray tomography of yeast"], (XRAY, None, "text")),
        ("EMDB", [], ["Array tomography of synapses"], (EM, None, "text")),
        ("EMDB", [], ["Serial section electron tomography"], (EM, ET_, "text")),
        # False positives the order and the word boundaries keep out.
        ("EMDB", [], ["Milled on a cryo-FIB/SEM, then tomograms"], ("cryo_et", ET_, "text")),
        ("EMDB", [], ["Subtomograms of the ribosome; tomography"], ("cryo_et", STA, "text")),
        (
            "EMDB",
            [],
            ["Cryo-electron tomography data on cryo-FIB lamellae"],
            ("cryo_et", ET_, "text"),
        ),
        ("EMDB", [], ["An alpha-helical bundle"], ("cryo_em", None, TYPE)),
        ("EMDB", [], ["Cryo-EM of the 80S ribosome, FIB-milled"], ("cryo_em", None, TYPE)),
        ("EMDB", [], ["Photosystem I (PSI) in nanodiscs"], ("cryo_em", None, TYPE)),
        # A type that names its technique decides, whatever the words and categories say.
        ("SXT", ["tilt series"], ["Soft X-ray tomography"], (XRAY, None, TYPE)),
        ("CLEM", ["reconstructed volumes"], ["Electron tomograms"], (EM, None, TYPE)),
        ("ssET", ["tilt series"], [], (EM, ET_, TYPE)),
        ("INSILICO", ["tilt series"], ["Simulated cryo-ET"], (EM, None, TYPE)),
        ("MicroED", [], ["Lamellae milled by cryo-FIB/SEM"], ("microed", ED, TYPE)),
        # No type at all: the evidence, else the default.
        (None, [], ["cryo-ET of cilia"], ("cryo_et", ET_, "text")),
        (None, [None], [None], (EM, None, TYPE)),
    ],
)
def test_own_evidence_rule_table(experiment_type, categories, words, expected):
    assert vocab.own_technique(experiment_type, categories, words) == expected


# Harvested through the CLI --------------------------------------------------------------------

INTERESTING = {
    # Real entries: cryo-ET that EMPIAR files as "EMDB" with no tilt-series imageset.
    "EMPIAR-12104": ("cryo_et", ET_, "text"),
    "EMPIAR-10045": ("cryo_et", STA, "text"),
    "EMPIAR-10988": ("cryo_et", ET_, "imagesets"),
    "EMPIAR-11561": ("cryo_et", ET_, "imagesets"),
    # EMDB-typed entries whose maps decide: subtomogram averaging, helical, single particle.
    "EMPIAR-90019": ("cryo_et", STA, "emdb"),
    "EMPIAR-90003": ("cryo_em", "helical_reconstruction", "emdb"),
    "EMPIAR-90001": ("cryo_em", "single_particle_analysis", "emdb"),
    "EMPIAR-90025": ("cryo_em", "single_particle_analysis", "emdb"),
    # Types that name their technique.
    "EMPIAR-10442": ("electron_microscopy", None, "experiment_type"),  # SBF-SEM
    "EMPIAR-90004": ("electron_microscopy", None, "experiment_type"),  # FIB-SEM
    "EMPIAR-90008": ("electron_microscopy", ET_, "experiment_type"),  # ssET
    "EMPIAR-90011": ("xray_tomography", None, "experiment_type"),  # SXT, with tilt series
    "EMPIAR-90006": ("microed", ED, "experiment_type"),
    "EMPIAR-90018": ("integrative_modeling", None, "experiment_type"),
}


def test_technique_of_the_sample_entries(harvested_db):
    assert technique_table(harvested_db, INTERESTING) == INTERESTING
    rows = query(
        harvested_db,
        "select e.accession, e.experiment_type, e.technique, e.experimental_method, "
        "e.technique_source, e.own_technique_source, r.technique, r.experimental_method "
        "from empiar_entries e join experiment_run r on r.id = 'empiar:' || e.accession "
        "|| '/experiment'",
    )
    assert len(rows) == len(list((SAMPLE_DIR / "empiar").glob("*.json")))
    for acc, kind, technique, method, source, own, run_technique, run_method in rows:
        assert technique in set(TechniqueEnum) and source in SOURCES, acc
        assert method is None or method in set(ExperimentalMethodEnum), acc
        assert own in SOURCES - {"emdb"}, acc
        if source != "emdb":  # the entry's own verdict, which its experiment keeps
            assert (technique, method, source) == (run_technique, run_method, own), acc
        if kind not in GENERIC_EXPERIMENT_TYPES:
            assert source == "experiment_type", acc
            assert (technique, method) == vocab.EXPERIMENT_TYPE.get(
                kind, (vocab.DEFAULT_TECHNIQUE, None)
            ), acc


def test_entry_page_says_the_technique_in_words(harvested_db):
    def facts(acc):
        html = datasette_get(harvested_db, f"/mirror/empiar_entries/{acc}").text
        return html[html.index('<dl class="portal-facts">') : html.index("</dl>")]

    assert (
        "<dt>Technique</dt><dd>cryo-ET · subtomogram averaging "
        '<span class="portal-muted">(from the linked EMDB maps)</span>'
    ) in facts("EMPIAR-90019")
    assert "cryo-ET · tomography" in facts("EMPIAR-12104")
    assert "(from the words of the entry)" in facts("EMPIAR-12104")
    assert "cryo-EM · helical" in facts("EMPIAR-90003")
    assert "<dt>Technique</dt>" not in facts("EMPIAR-10442")  # SBF-SEM says it already
    # Method words are emdb_maps.method's.
    template = (Path(portal.__file__).parent / "templates" / "_portal_row.html").read_text()
    for method, label in vocab.METHOD_LABEL.items():
        assert f'"{method.value}": "{label}"' in template


def test_maps_decide_once_they_arrive_and_again_when_they_change(tmp_path):
    root = sample_copy(tmp_path)
    db = tmp_path / "mirror.db"
    harvested(root, db, "--no-linked")
    own = {
        "EMPIAR-90001": ("cryo_em", None, "experiment_type"),
        "EMPIAR-90003": ("cryo_em", "helical_reconstruction", "text"),
        "EMPIAR-90019": ("cryo_et", STA, "imagesets"),
        "EMPIAR-12104": ("cryo_et", ET_, "text"),
    }
    assert technique_table(db, own) == own

    harvested(root, db)  # the linked maps arrive: the entries' rows are not written again
    assert technique_table(db, own) == {
        "EMPIAR-90001": ("cryo_em", "single_particle_analysis", "emdb"),
        "EMPIAR-90003": ("cryo_em", "helical_reconstruction", "emdb"),
        "EMPIAR-90019": ("cryo_et", STA, "emdb"),
        "EMPIAR-12104": ("cryo_et", ET_, "text"),
    }

    # EMDB revises two maps' methods, one to a method we have no word for: the entries follow,
    # and the one whose map no longer decides falls back to its own evidence, and says so.
    edit_map(root, "EMD-90001", lambda sd: sd.update(method="electronCrystallography"))
    edit_map(root, "EMD-90019", lambda sd: sd.update(method="someNewMethod"))
    harvested(root, db, "--full")
    assert query(db, "select method from emdb_maps where emdb_id = 'EMD-90019'") == [
        ("someNewMethod",)
    ]
    assert technique_table(db, own) == {
        "EMPIAR-90001": ("microed", "electron_crystallography", "emdb"),
        "EMPIAR-90003": ("cryo_em", "helical_reconstruction", "emdb"),
        "EMPIAR-90019": ("cryo_et", STA, "imagesets"),
        "EMPIAR-12104": ("cryo_et", ET_, "text"),
    }


# Instruments in families ------------------------------------------------------------------------


def test_families_beside_the_served_spellings(harvested_db):
    maps = query(
        harvested_db,
        "select distinct microscope, microscope_family, detector, detector_family from emdb_maps "
        "where status != 'not public'",
    )
    microscopes = dict({(m, f) for m, f, _, _ in maps})
    detectors = dict({(d, f) for _, _, d, f in maps})
    assert microscopes == {
        "FEI TITAN KRIOS": "Titan Krios",
        "TFS KRIOS": "Titan Krios",
        "FEI TALOS ARCTICA": "Talos Arctica",
        "TFS GLACIOS": "Glacios",
        "JEOL CRYO ARM 300": "CRYO ARM 300",
    }
    assert detectors == {
        "GATAN K2 SUMMIT (4k x 4k)": "K2",
        "GATAN K3 (6k x 4k)": "K3",
        "GATAN K3 BIOQUANTUM (6k x 4k)": "K3",
        "FEI FALCON II (4k x 4k)": "Falcon II",
        "FEI FALCON III (4k x 4k)": "Falcon III",
        "FEI FALCON IV (4k x 4k)": "Falcon 4",
        "TFS FALCON 4i (4k x 4k)": "Falcon 4",
    }
    assert query(
        harvested_db,
        "select microscope_family, detector_family from emdb_maps where status = 'not public'",
    ) == [(None, None)]
    entries = {
        acc: (json.loads(m), json.loads(d))
        for acc, m, d in query(
            harvested_db,
            "select accession, microscope_families, detector_families from empiar_entries",
        )
    }
    # EMD-90014 (FEI FALCON IV) and EMD-90017 (TFS FALCON 4i): one detector family.
    assert entries["EMPIAR-90017"] == (["Titan Krios", "Glacios"], ["Falcon 4"])
    assert entries["EMPIAR-90019"] == (["Titan Krios"], ["K3"])
    assert entries["EMPIAR-10442"] == ([], [])


def test_default_facets_and_charts_use_the_families(harvested_db):
    facets = datasette_get(harvested_db, "/mirror/empiar_entries.json").json()["facet_results"]
    assert "microscopes" not in facets and "detectors" not in facets
    counts = {f["value"]: f["count"] for f in facets["microscope_families"]["results"]}
    assert counts == {"Titan Krios": 11, "Talos Arctica": 1, "CRYO ARM 300": 1, "Glacios": 1}
    counts = {f["value"]: f["count"] for f in facets["detector_families"]["results"]}
    assert counts == {"Falcon 4": 5, "K2": 4, "K3": 2, "Falcon II": 1, "Falcon III": 1}
    sources = {f["value"]: f["count"] for f in facets["technique_source"]["results"]}
    assert set(sources) == SOURCES
    maps = datasette_get(harvested_db, "/mirror/emdb_maps.json").json()["facet_results"]
    assert {f["value"] for f in maps["microscope_family"]["results"]} == {
        "Titan Krios",
        "Talos Arctica",
        "CRYO ARM 300",
        "Glacios",
    }

    svg = ET.fromstring(datasette_get(harvested_db, "/-/charts/microscopes.svg").text)
    ns = "{http://www.w3.org/2000/svg}"
    bars = [el for el in svg.iter(f"{ns}rect") if el.get("class") == "bar"]
    assert [b.find(f"{ns}title").text for b in bars] == [
        "Titan Krios: 10",  # current entries: the obsolete EMPIAR-90029 is left out
        "CRYO ARM 300: 1",
        "Glacios: 1",
        "Talos Arctica: 1",
    ]
    links = [a.get("href") for a in svg.iter(f"{ns}a")]
    assert (
        "/mirror/empiar_entries?microscope_families__arraycontains=Titan+Krios"
        "&status__notin=OBS%2CWDRN%2Cnot+public&simulated=0"
    ) in links
    # The family array renders as links that filter by it.
    html = datasette_get(harvested_db, "/mirror/empiar_entries?accession=EMPIAR-90017").text
    assert "microscope_families__arraycontains=Glacios" in html


UNKNOWN = "ACME ZEPTOSCOPE 9000 (4k x 4k)"


def test_an_unknown_microscope_is_its_own_family_and_named_once(tmp_path):
    root = sample_copy(tmp_path)
    # Two maps of one entry with a microscope no vocabulary knows.
    for emdb_id in ("EMD-90025", "EMD-90026"):
        edit_map(
            root,
            emdb_id,
            lambda sd: sd["microscopy_list"]["microscopy"][0].update(microscope=UNKNOWN),
        )
    db = tmp_path / "mirror.db"
    # Once per run is once per process: an in-process harvest would find it said already.
    result = harvested(root, db, run=run_cli)
    warning = "unknown microscope 'ACME ZEPTOSCOPE 9000 (4k x 4k)' kept as its own family"
    assert result.stderr.count(warning) == 1, result.stderr
    assert "unknown detector" not in result.stderr
    assert query(
        db,
        "select emdb_id, microscope, microscope_family from emdb_maps "
        "where emdb_id in ('EMD-90025', 'EMD-90026') order by 1",
    ) == [
        ("EMD-90025", UNKNOWN, "ACME ZEPTOSCOPE 9000"),
        ("EMD-90026", UNKNOWN, "ACME ZEPTOSCOPE 9000"),
    ]
    assert query(
        db, "select microscope_families from empiar_entries where accession = 'EMPIAR-90025'"
    ) == [('["ACME ZEPTOSCOPE 9000"]',)]
    # A reindex is a run of its own: it says so once again.
    result = run_cli("reindex", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(warning) == 1, result.stderr


def test_reindex_fills_the_new_columns_of_a_file_harvested_before(harvested_db, tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(harvested_db, db)
    expected = {
        t: query(db, f"select {', '.join(c)} from {t} order by 1") for t, c in NEW_COLUMNS.items()
    }
    # The file as the version before this migration left it.
    conn = sqlite3.connect(db)
    with conn:
        # Migration 012 came later: undo it too (its search triggers read these columns).
        for table in ("emdb_maps", "pdb_models"):
            for trigger in ("ai", "ad", "au"):
                conn.execute(f"drop trigger {table}_{trigger}")
        conn.execute("alter table empiar_entries drop column replaced_by")
        conn.execute("alter table pdb_models drop column instrument_text")
        conn.execute(
            "delete from _sqlite_migrations "
            "where name = 'm012_status_successors_and_instrument_search'"
        )
        for table, columns in NEW_COLUMNS.items():
            for column in columns[1:]:
                conn.execute(f"alter table {table} drop column {column}")
        conn.execute(
            "delete from _sqlite_migrations where name = 'm005_technique_and_instrument_families'"
        )
    conn.close()

    result = invoke("reindex", str(db))
    assert result.returncode == 0, result.stderr
    for table, columns in NEW_COLUMNS.items():
        assert query(db, f"select {', '.join(columns)} from {table} order by 1") == expected[table]
