"""Each entry as a detached LAMBDA Core RO-Crate, checked in the profile's three layers: the
document against its JSON Schema, each entity against its own class, and the graph rules."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_ENTRIES, backup_copy, run_cli
from sqlite_utils import Database

from empiar_mirror.index import reprocessing
from empiar_mirror.index.export import entry_accessions
from empiar_mirror.index.rocrate import PROFILE, RO_CRATE, entry_crate

jsonschema = pytest.importorskip("jsonschema")

PROFILE_DIR = (
    Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "lambda-ber" / "rocrate"
)
SCHEMA_FILE = PROFILE_DIR / "lambda_rocrate_core.schema.json"
DESCRIPTOR_ID = re.compile(r"^(.*/)?ro-crate-metadata\.json$")
LAMBDA_CORE = "https://w3id.org/lambda/profile/core/"
# @type -> the profile class an entity of that type is checked against; the first match wins.
CLASSES = (
    ("lambda:SampleComponentInteraction", "ComponentInteractionEntity"),
    ("lambda:NucleicAcid", "NucleicAcidEntity"),
    ("Protein", "ProteinEntity"),
    ("MolecularEntity", "SmallMoleculeEntity"),
    ("BioChemEntity", "SampleEntity"),
    ("File", "CrateFile"),
    ("MediaObject", "CrateFile"),
    ("Person", "PersonEntity"),
    ("Organization", "OrganizationEntity"),
    ("SoftwareApplication", "SoftwareApplicationEntity"),
    ("DefinedTerm", "DefinedTermEntity"),
    ("PropertyValue", "PropertyValueEntity"),
    ("IndividualProduct", "InstrumentEntity"),
    ("CreateAction", "WorkflowRunAction"),
    ("Action", "ExperimentRunAction"),
    ("CreativeWork", "RelatedWork"),
)
# A dataset part that names none of the three pointers says in `missing` which it lacks.
POINTER_FIELDS = {"conformsTo", "schemaRecord", "identifier", "url"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_FILE.exists():
        pytest.skip(f"the LAMBDA Core RO-Crate profile is not at {PROFILE_DIR}")
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _types(entity: dict[str, Any]) -> list[str]:
    kinds = entity.get("@type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _root_id(crate: dict[str, Any]) -> str | None:
    for entity in crate["@graph"]:
        if DESCRIPTOR_ID.match(entity.get("@id", "")) and "about" in entity:
            return entity["about"].get("@id")
    return None


def _classify(entity: dict[str, Any], root_id: str | None) -> str | None:
    types = _types(entity)
    if DESCRIPTOR_ID.match(entity.get("@id", "")) and "about" in entity and "File" not in types:
        return "MetadataDescriptor"
    if "Dataset" in types:
        return "CrateRoot" if entity.get("@id") == root_id else "CrateDatasetPart"
    return next((cls for kind, cls in CLASSES if kind in types), None)


def _normalized(entity: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The two normalizations the profile asks of a reader: a prefixed key compacted to its term,
    a single value expanded where the class declares a list."""
    out = {}
    for key, value in entity.items():
        key = key.split(":", 1)[1] if key.startswith(("lambda:", "lambdarc:")) else key
        kind = properties.get(key, {}).get("type")
        declares_list = kind == "array" or (isinstance(kind, list) and "array" in kind)
        out[key] = [value] if declares_list and not isinstance(value, list) else value
    return out


def _references(value: Any) -> list[str]:
    """Every `{"@id": ...}` reference inside a property value."""
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    if isinstance(value, dict):
        if set(value) == {"@id"}:
            return [value["@id"]]
        return [r for v in value.values() for r in _references(v)]
    return []


def _missing_declarations(entity: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in entity.get("missing") or [] if isinstance(m, dict)]


def violations(schema: dict[str, Any], crate: dict[str, Any]) -> list[str]:
    """Every way `crate` breaks the profile, in its three layers; empty when it conforms."""
    validator = jsonschema.Draft201909Validator
    problems = [f"document: {e.message}" for e in validator(schema).iter_errors(crate)]
    graph = crate.get("@graph") or []
    root_id = _root_id(crate)
    by_id = {e.get("@id"): e for e in graph}

    for entity in graph:
        cls = _classify(entity, root_id)
        where = entity.get("@id")
        if cls is None:
            problems.append(f"{where}: no profile class for @type {_types(entity)}")
            continue
        properties = schema["$defs"][cls]["properties"]
        one_class = {"$defs": schema["$defs"], "$ref": f"#/$defs/{cls}"}
        for error in validator(one_class).iter_errors(_normalized(entity, properties)):
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where} ({cls}) {path}: {error.message}")

    root = by_id.get(root_id)
    if root is None:
        return problems + ["no metadata descriptor whose `about` names an entity in the graph"]
    profiles = {c.get("@id") for c in root.get("conformsTo") or [] if isinstance(c, dict)}
    if RO_CRATE not in profiles:
        problems.append("the root's conformsTo names no RO-Crate 1.2")
    if not any(p and p.startswith(LAMBDA_CORE) for p in profiles):
        problems.append("the root's conformsTo names no LAMBDA Core profile")
    declared = {m.get("field") for m in _missing_declarations(root)}
    for field in ("license", "datePublished"):
        if field not in root and field not in declared:
            problems.append(f"the root omits {field!r} without declaring it missing")

    for entity in graph:
        where = entity.get("@id")
        for part in entity.get("hasPart") or []:
            if part.get("@id") not in by_id:
                problems.append(f"{where}: hasPart {part.get('@id')} is no entity in the graph")
        for key, value in entity.items():
            for target in _references(value) if key != "@id" else []:
                # Inside the crate (relative, or under the root): it must be described here.
                inside = "://" not in target or target.startswith(root_id)
                if inside and target not in by_id and key != "hasPart":
                    problems.append(f"{where}: {key} names {target}, which the graph lacks")
        missing = _missing_declarations(entity)
        for m in missing:
            if m.get("reason") != "not-applicable" and not m.get("blocks"):
                problems.append(f"{where}: missing {m.get('field')!r} says no tier it blocks")
            if m.get("field") in entity:
                problems.append(f"{where}: {m.get('field')!r} is both present and missing")
        if _classify(entity, root_id) == "CrateDatasetPart":
            nested = any(
                (c.get("@id") or "").startswith(LAMBDA_CORE) for c in entity.get("conformsTo") or []
            ) and (
                any(DESCRIPTOR_ID.match(p.get("@id", "")) for p in entity.get("hasPart") or [])
                or "://" in where
            )
            record = "schemaRecord" in entity
            remote = bool(entity.get("identifier")) and bool(entity.get("url"))
            reasoned = any(m.get("field") in POINTER_FIELDS for m in missing)
            if not (nested or record or remote or reasoned):
                problems.append(f"{where}: a dataset part with no metadata pointer and no reason")
    return problems


@pytest.fixture(scope="module")
def crates(harvested_db) -> dict[str, dict[str, Any]]:
    db = Database(harvested_db)
    try:
        return {accession: entry_crate(db, accession) for accession in entry_accessions(db)}
    finally:
        db.close()


def test_the_helper_accepts_the_profiles_valid_examples_and_rejects_the_invalid_one(schema):
    for example in sorted((PROFILE_DIR / "examples" / "valid").glob("*.json")):
        assert violations(schema, json.loads(example.read_text())) == [], example.name
    invalid = json.loads(
        (PROFILE_DIR / "examples" / "invalid" / "missing-no-reason.json").read_text()
    )
    assert any("'reason' is a required property" in p for p in violations(schema, invalid))


def test_every_sample_entry_gives_a_conformant_crate(schema, crates):
    assert sorted(crates) == sorted(SAMPLE_ENTRIES)
    for accession, crate in crates.items():
        assert violations(schema, crate) == [], accession


def test_each_graph_rule_can_fail(schema, crates):
    """Break a good crate one rule at a time: the helper names each break."""
    good = crates["EMPIAR-10442"]

    def broken(change) -> list[str]:
        crate = copy.deepcopy(good)
        change({e["@id"]: e for e in crate["@graph"]}, crate)
        return violations(schema, crate)

    root_id = _root_id(good)
    part_id = next(e["@id"] for e in good["@graph"] if "#imageset-" in e["@id"])
    cases = {
        "hasPart": lambda g, c: g[root_id]["hasPart"].append({"@id": root_id + "#nowhere"}),
        "no metadata pointer": lambda g, c: g[part_id].pop("identifier"),
        "says no tier": lambda g, c: g[root_id]["missing"].append(
            {"field": "author", "reason": "not-registered"}
        ),
        "both present and missing": lambda g, c: g[root_id]["missing"].append(
            {"field": "license", "reason": "not-registered", "blocks": "S1"}
        ),
        "omits 'datePublished'": lambda g, c: g[root_id].pop("datePublished"),
        "LAMBDA Core": lambda g, c: g[root_id]["conformsTo"].pop(),
        "no metadata descriptor": lambda g, c: c["@graph"].pop(0),
        "Additional properties": lambda g, c: g[part_id].update(frames=40),
        "which the graph lacks": lambda g, c: g[root_id].update(author=[{"@id": "#nobody"}]),
    }
    for expected, change in cases.items():
        assert any(expected in p for p in broken(change)), expected


def test_the_crate_says_what_the_verdict_says(crates):
    crate = crates["EMPIAR-10442"]
    base = "https://www.ebi.ac.uk/empiar/EMPIAR-10442/"
    graph = {e["@id"]: e for e in crate["@graph"]}
    root = graph[base]
    assert graph[base + "ro-crate-metadata.json"]["about"] == {"@id": base}
    assert root["@type"] == ["Dataset", "lambda:Dataset"]
    assert {"@id": PROFILE} in root["conformsTo"] and {"@id": RO_CRATE} in root["conformsTo"]
    assert root["license"] == {"@id": "https://creativecommons.org/publicdomain/zero/1.0/"}
    assert root["datePublished"] == "2020-10-23"
    assert root["sufficiency"] == {
        "s1Findable": True,
        "s2CoreComplete": True,
        "s2AcquisitionComplete": True,
    }
    assert [(m["field"], m["reason"], "blocks" in m) for m in root["missing"]] == [
        ("frames and dose", "not-applicable", False),
        ("gain reference", "not-applicable", False),
    ]
    assert root["author"][0] == {"@id": "https://orcid.org/0000-0002-1777-3160"}
    assert graph["https://orcid.org/0000-0002-1777-3160"]["author_position"] == 1
    assert not any("email" in e for e in crate["@graph"])
    # SBF-SEM: scanning electron microscopy.
    assert root["measurementTechnique"] == {"@id": "http://purl.obolibrary.org/obo/FBbi_00000257"}
    parts = [graph[p["@id"]] for p in root["hasPart"]]
    assert [p["@id"] for p in parts] == [f"{base}#imageset-{n}" for n in (1, 2, 3, 4)]
    first = parts[0]
    assert (first["partCount"], first["contentSize"]) == (1, "5153960756")
    assert {"@type": "PropertyValue", "propertyID": "DOI", "value": "10.6019/EMPIAR-10442"} in (
        first["identifier"]
    )
    assert first["url"] == base
    # Its files sit in the first imageset's directory: no bytes found is said, not zero.
    assert "contentSize" not in parts[1]
    assert parts[1]["missing"][0]["field"] == "contentSize"

    samples = crates["EMPIAR-90007"]
    graph = {e["@id"]: e for e in samples["@graph"]}
    taxa = {
        e["organism"]["@id"]
        for e in samples["@graph"]
        if "lambda:Sample" in _types(e) and "organism" in e
    }
    assert "http://purl.obolibrary.org/obo/NCBITaxon_9606" in taxa


def test_absent_facts_are_declared_with_the_tier_they_block(schema, harvested_db, tmp_path):
    db_path = backup_copy(harvested_db, tmp_path / "copy.db")
    db = Database(db_path)
    try:
        with db.conn:
            db.execute("update empiar_entries set files_listed_at = null")
            db.execute(
                "update empiar_entries set release_date = null, entry_doi = null "
                "where accession = 'EMPIAR-10442'"
            )
            reprocessing.refresh(db)
        crate = entry_crate(db, "EMPIAR-10442")
    finally:
        db.close()
    assert violations(schema, crate) == []
    graph = {e["@id"]: e for e in crate["@graph"]}
    root = graph["https://www.ebi.ac.uk/empiar/EMPIAR-10442/"]
    declared = {m["field"]: (m["reason"], m.get("blocks")) for m in root["missing"]}
    assert declared["datePublished"] == ("not-registered", "S1")
    assert declared["entry DOI"] == ("not-registered", "S1")
    assert declared["files"] == ("not-available", "S2-acquisition")
    # No verdict until the files are listed: the crate claims no acquisition tier either way.
    assert root["sufficiency"] == {"s1Findable": False, "s2CoreComplete": False}
    assert [p["propertyID"] for p in root["identifier"]] == ["EMPIAR"]


def test_every_gap_the_verdict_can_name_has_a_tier():
    whats = {reprocessing.TITLE_AND_DATE, reprocessing.DOI, reprocessing.UNLISTED}
    whats |= {reprocessing.NO_RAW, *(w for w, _ in reprocessing.ACQUISITION_RULES.values())}
    whats |= {rule.replace("_", " ") for rule in reprocessing.CORE_RULES}
    assert whats == set(reprocessing.GAP_TIERS)


def test_the_command_writes_one_crate_per_entry(harvested_db, tmp_path):
    out = tmp_path / "crates"
    result = run_cli("export", str(harvested_db), "--format", "rocrate", "-o", str(out))
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{a}-ro-crate-metadata.json" for a in SAMPLE_ENTRIES)
    one = run_cli("export", str(harvested_db), "empiar-10442", "--format", "rocrate")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout) == json.loads(
        (out / "EMPIAR-10442-ro-crate-metadata.json").read_text()
    )
    refused = run_cli("export", str(harvested_db), "EMD-90001", "--format", "rocrate")
    assert refused.returncode != 0 and "per entry" in refused.stderr
