"""Instrument families: every enumerated or served spelling of a microscope or detector maps to
one family, so facets and charts show one bar per instrument."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from empiar_mirror.harvester.mapping.instruments import (
    classify_detector,
    classify_microscope,
    detector_family,
    microscope_family,
    normalise,
    vocabulary,
)
from empiar_mirror.harvester.replay import SAMPLE_DIR

CLASSIFY = {"microscopes": classify_microscope, "detectors": classify_detector}


def _sample_instruments() -> tuple[set[str], set[str]]:
    """Microscope and detector values as the sample EMDB and RCSB documents hold them."""
    microscopes: set[str] = set()
    detectors: set[str] = set()

    def as_list(node):
        return node if isinstance(node, list) else [node]

    for path in sorted((SAMPLE_DIR / "emdb").glob("EMD-*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        determinations = doc["structure_determination_list"]["structure_determination"]
        for sd in as_list(determinations):
            for mic in as_list(sd["microscopy_list"]["microscopy"]):
                microscopes.add(mic["microscope"])
                for rec in as_list(mic["image_recording_list"]["image_recording"]):
                    model = rec["film_or_detector_model"]
                    detectors.add(model["valueOf_"] if isinstance(model, dict) else model)
    for path in sorted((SAMPLE_DIR / "rcsb" / "entry").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        microscopes.update(i["microscope_model"] for i in doc.get("em_imaging", []))
        detectors.update(r["film_or_detector_model"] for r in doc.get("em_image_recording", []))
    return microscopes, detectors


@pytest.mark.parametrize("kind", ["microscopes", "detectors"])
def test_every_served_value_in_the_data_file_maps_to_its_family(kind):
    for served, family in vocabulary()[kind].items():
        assert family and family.strip() == family, served
        assert CLASSIFY[kind](served) == (family, True), served


def test_every_enumerated_value_is_in_the_data_file():
    sources = vocabulary()["sources"]
    assert {s["kind"] for s in sources} == {"microscopes", "detectors"}
    for source in sources:
        assert source["repository"] and source["path"] and source["values"], source
        missing = set(source["values"]) - set(vocabulary()[source["kind"]])
        assert not missing, (source["repository"], source["path"], missing)


def test_the_upstream_enumerations_are_recorded():
    # EMDB's XML schema and the wwPDB dictionary both enumerate both items.
    repos = {(s["repository"], s["kind"]) for s in vocabulary()["sources"]}
    for repo in ("emdb-empiar/emdb-schemas", "wwpdb-dictionaries/mmcif_pdbx"):
        assert {(repo, "microscopes"), (repo, "detectors")} <= repos


@pytest.mark.parametrize(
    "value", ["FEI TITAN KRIOS", "TFS KRIOS", "FEI TITAN KRIOS G4", "Thermo Fisher Krios G4i"]
)
def test_krios_spellings_are_one_family(value):
    assert microscope_family(value) == "Titan Krios"


@pytest.mark.parametrize(
    ("value", "family"),
    [
        ("GATAN K3 (6k x 4k)", "K3"),
        ("GATAN K3 BIOQUANTUM (6k x 4k)", "K3"),
        ("Gatan K3 BioContinuum", "K3"),
        ("FEI FALCON IV (4k x 4k)", "Falcon 4"),
        ("TFS FALCON 4i (4k x 4k)", "Falcon 4"),
        ("FEI Falcon IV (4k X 4k)", "Falcon 4"),
        ("FEI FALCON III (4k x 4k)", "Falcon III"),
        ("GATAN K2 SUMMIT (4k x 4k)", "K2"),
        ("DIRECT ELECTRON DE-64 (8k x 8k)", "DE-64"),
    ],
)
def test_detector_spellings_are_one_family(value, family):
    assert detector_family(value) == family


@pytest.mark.parametrize(
    ("value", "family"),
    [
        ("TFS GLACIOS", "Glacios"),
        ("Glacios 2", "Glacios"),
        ("FEI TALOS ARCTICA", "Talos Arctica"),
        ("FEI TECNAI ARCTICA", "Talos Arctica"),
        ("JEOL CRYO ARM 300", "CRYO ARM 300"),
        ("JEOL CRYOARM 300", "CRYO ARM 300"),
        ("FEI TECNAI F20", "Tecnai F20"),
        ("FEI Tecnai G2 F20 TWIN", "Tecnai F20"),
        ("Tecnai G2 Spirit BioTWIN", "Tecnai Spirit"),
        ("JEOL JEM-2100F", "JEOL 2100F"),
        ("FEI/PHILIPS CM200FEG/ST", "Philips CM200"),
    ],
)
def test_microscope_spellings_are_one_family(value, family):
    assert microscope_family(value) == family


def test_every_sample_instrument_maps_to_a_known_family():
    microscopes, detectors = _sample_instruments()
    assert microscopes and detectors
    for value in microscopes:
        assert classify_microscope(value).known, value
    for value in detectors:
        assert classify_detector(value).known, value


def test_unknown_values_are_their_own_family_and_flagged():
    assert classify_microscope("Acme Ultra 9000") == ("Acme Ultra 9000", False)
    assert classify_detector("  Acme  Cam (4k x 4k) ") == ("Acme Cam", False)
    assert microscope_family("Acme Ultra 9000") == "Acme Ultra 9000"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_values_have_no_family(value):
    assert classify_microscope(value) == (None, True)
    assert detector_family(value) is None


@pytest.mark.parametrize("kind", ["microscopes", "detectors"])
def test_normalised_spellings_are_unambiguous(kind):
    families = defaultdict(set)
    for served, family in vocabulary()[kind].items():
        families[normalise(served)].add(family)
    assert {core: f for core, f in families.items() if len(f) > 1} == {}


@pytest.mark.parametrize("kind", ["microscopes", "detectors"])
def test_families_are_far_fewer_than_spellings(kind):
    # Most enumerated microscopes are distinct instruments, so the ratio is not lower.
    spellings = vocabulary()[kind]
    assert len(set(spellings.values())) < 0.75 * len(spellings)
