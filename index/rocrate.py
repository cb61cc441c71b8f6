"""One EMPIAR entry as a detached LAMBDA Core RO-Crate (profile 0.3.3): metadata only, every
`@id` absolute under the entry's page, built from the tables alone.

The root is the entry; each imageset is one dataset part (its declared image count and the bytes
found on the file server, never one entity per file), registered remotely by the entry's DOI and
accession plus its page. Absences come from the "Can I reprocess this?" verdict
(`reprocessing_gaps`), each with the tier it blocks, and `reprocessable_tier` gives the
sufficiency flags. The samples of the linked EMDB maps carry their NCBI taxon ids; the imaging
method is an FBbi term where `rocrate_terms.json` knows one; the authors are people by ORCID.

Written as plain JSON-LD rather than through ro-crate-py: that library dates the root to the
moment of writing when no date is given (an absence this profile must declare instead), keeps the
metadata descriptor's `@id` relative, and brings requests, jinja2 and arcp for a document of a
dozen entities.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index import reading
from empiar_mirror.index.reprocessing import GAP_TIERS

RO_CRATE = "https://w3id.org/ro/crate/1.2"
PROFILE = "https://w3id.org/lambda/profile/core/0.3.3"
CONTEXT = [
    f"{RO_CRATE}/context",
    {"lambda": "http://w3id.org/lambda/", "lambdarc": "http://w3id.org/lambda/rocrate/"},
]
METADATA_FILE = "ro-crate-metadata.json"
# EMBL-EBI's terms of use put EMPIAR's data under CC0.
LICENSE = "https://creativecommons.org/publicdomain/zero/1.0/"
EMBL_EBI = "https://ror.org/02catss52"
ENTRY_PAGE = "https://www.ebi.ac.uk/empiar/{}/"
EMDB_PAGE = "https://www.ebi.ac.uk/emdb/{}"
OBO = "http://purl.obolibrary.org/obo/"

# Verdict tier -> the profile's sufficiency tier and flag.
_TIERS = {
    "findable": ("S1", "s1Findable"),
    "core metadata": ("S2-core", "s2CoreComplete"),
    "acquisition complete": ("S2-acquisition", "s2AcquisitionComplete"),
}
_REASONS = {
    "not deposited": "not-deposited",
    "not registered": "not-registered",
    "not applicable": "not-applicable",
    # The files exist; this mirror has not listed them yet.
    "not listed yet": "not-available",
}
_TERMS = json.loads(Path(__file__).with_name("rocrate_terms.json").read_text(encoding="utf-8"))
_ACCESSION = re.compile(r"^(?:EMPIAR-)?(\d+)$", re.IGNORECASE)


def _ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


def _missing(field: str, reason: str, tier: str | None, note: str | None = None) -> dict:
    out = {"field": field, "reason": reason}
    # Not-applicable blocks nothing, by the profile's definition.
    if reason != "not-applicable":
        out["blocks"] = tier
    if note:
        out["note"] = note
    return out


def _identifiers(entry: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    if entry["entry_doi"]:
        out.append({"@type": "PropertyValue", "propertyID": "DOI", "value": entry["entry_doi"]})
    out.append({"@type": "PropertyValue", "propertyID": "EMPIAR", "value": entry["accession"]})
    return out


def _sufficiency(entry: dict[str, Any]) -> dict[str, bool]:
    reached = list(_TIERS).index(entry["reprocessable_tier"]) if entry["reprocessable_tier"] else -1
    flags = {flag: i <= reached for i, (_, flag) in enumerate(_TIERS.values())}
    if entry["reprocessable"] is None:
        # Files not listed yet: the verdict gives no answer, so neither does the crate.
        del flags["s2AcquisitionComplete"]
    return flags


def _root_missing(entry: dict[str, Any]) -> list[dict]:
    out = []
    if not entry["release_date"]:
        out.append(_missing("datePublished", "not-registered", "S1"))
    for gap in json.loads(entry["reprocessing_gaps"] or "[]"):
        tier = _TIERS[GAP_TIERS[gap["what"]]][0]
        out.append(_missing(gap["what"], _REASONS[gap["reason"]], tier, gap["detail"] or None))
    return out


def _imageset_part(entry: dict[str, Any], row: dict[str, Any], base: str) -> dict[str, Any]:
    number = row["id"].rsplit("/", 1)[-1]
    count, found = row["x_num_images_or_tilt_series"], row["x_files_found"]
    words = [w for w in (row["x_empiar_category"], row["x_data_format"]) if w]
    if row["file_path"]:
        words.append(f"in {row['file_path']}")
    what = f"Imageset {number} of {entry['accession']}"
    part: dict[str, Any] = {
        "@id": f"{base}#imageset-{number}",
        "@type": "Dataset",
        "name": row["title"] or f"Imageset {number}",
        "description": f"{what}: {', '.join(words)}." if words else f"{what}.",
        "identifier": _identifiers(entry),
        "url": base,
        "rawIncluded": False,
    }
    if row["x_empiar_category"]:
        part["additionalType"] = row["x_empiar_category"]
    missing = []
    if count is not None:
        part["partCount"] = count
    else:
        missing.append(_missing("partCount", "not-registered", "S2-core"))
    if entry["files_listed_at"] is not None and found:
        part["contentSize"] = str(row["x_bytes_found"])
    else:
        note = (
            "the entry's files are not listed yet"
            if entry["files_listed_at"] is None
            else "no listed file is matched to this imageset"
        )
        missing.append(_missing("contentSize", "not-available", "S2-acquisition", note))
    if missing:
        part["missing"] = missing
    return part


def _samples(db: Database, accession: str) -> list[dict[str, Any]]:
    """The samples of the entry's linked EMDB maps, each with its organism's taxon id."""
    out = []
    for row in reading.rows(
        db,
        "select s.*, e.emdb_id, m.emdb_url from empiar_emdb e "
        "join sample s on s.id = 'emdb:' || e.emdb_id || '/sample' "
        "left join emdb_maps m on m.emdb_id = e.emdb_id "
        "where e.accession = ? order by e.emdb_id",
        [accession],
    ):
        sample: dict[str, Any] = {
            "@id": f"{row['emdb_url'] or EMDB_PAGE.format(row['emdb_id'])}#sample",
            "@type": ["BioChemEntity", "lambda:Sample"],
            "name": row["title"] or f"Sample of {row['emdb_id']}",
            "sample_code": row["sample_code"] or row["emdb_id"],
        }
        if row["sample_type"]:
            sample["sample_type"] = row["sample_type"]
        if row["organism"] and row["organism"].startswith("NCBITaxon:"):
            sample["organism"] = _ref(OBO + row["organism"].replace(":", "_"))
        out.append(sample)
    return out


def _authors(db: Database, accession: str, base: str) -> list[dict[str, Any]]:
    """The entry's authors in order, by ORCID where known, else by an id under the entry.
    No e-mail: a crate is published, and contact details stay in the mirror."""
    out = []
    for row in reading.rows(
        db,
        "select p.*, sp.author_position from study_person sp join person p on p.id = "
        "sp.person_id where sp.study_id = ? and sp.role = 'author' "
        "order by sp.author_position, p.id",
        [f"empiar:{accession}/study"],
    ):
        local = row["id"].split("/", 1)[-1].replace("/", "-")
        person: dict[str, Any] = {
            "@id": row["id"] if row["id"].startswith("https://") else f"{base}#{local}",
            "@type": "Person",
        }
        for key, column in (
            ("name", "full_name"),
            ("orcid", "orcid"),
            ("givenName", "given_name"),
            ("familyName", "family_name"),
            ("affiliation", "affiliation"),
            ("author_position", "author_position"),
        ):
            if row[column] is not None:
                person[key] = row[column]
        out.append(person)
    return out


def _imaging_method(entry: dict[str, Any]) -> dict[str, Any] | None:
    by_type, by_technique = _TERMS["by_experiment_type"], _TERMS["by_technique"]
    term = by_type.get(entry["experiment_type"]) or by_technique.get(entry["technique"])
    if term is None:
        return None
    return {
        "@id": OBO + term.replace(":", "_"),
        "@type": "DefinedTerm",
        "name": _TERMS["terms"][term],
        "termCode": term,
        "inDefinedTermSet": f"{OBO}fbbi.owl",
    }


def _citation(entry: dict[str, Any]) -> dict[str, Any] | None:
    doi = entry["citation_doi"]
    if not doi:
        return None
    return {
        "@id": f"https://doi.org/{doi}",
        "@type": "CreativeWork",
        "name": entry["citation_title"] or doi,
        "identifier": [{"@type": "PropertyValue", "propertyID": "DOI", "value": doi}],
        "url": f"https://doi.org/{doi}",
    }


def _description(entry: dict[str, Any]) -> str:
    facts = [entry["experiment_type"] or "EMPIAR entry"]
    if entry["imageset_count"] is not None:
        count = entry["imageset_count"]
        facts.append(f"{count} imageset{'' if count == 1 else 's'}")
    if entry["dataset_size"]:
        facts.append(entry["dataset_size"])
    return (
        f"{entry['accession']} in EMPIAR ({', '.join(facts)}). A metadata-only crate: the files "
        "stay on EMPIAR's server, and each imageset is one part."
    )


def _entry(db: Database, accession: str) -> dict[str, Any]:
    match = _ACCESSION.match(accession.strip())
    if match is None:
        raise LookupError(f"{accession} is not an EMPIAR accession: crates are written per entry")
    acc = f"EMPIAR-{match.group(1)}"
    rows = reading.rows(
        db,
        "select e.*, d.id is not null as public from empiar_entries e "
        "left join dataset d on d.id = 'empiar:' || e.accession where e.accession = ?",
        [acc],
    )
    if not rows:
        raise LookupError(f"{acc} is not in this database")
    if not rows[0]["public"]:
        raise LookupError(f"{acc} is not public: the database holds no record of it")
    return rows[0]


def entry_crate(db: Database, accession: str) -> dict[str, Any]:
    """The `ro-crate-metadata.json` document of one EMPIAR entry."""
    entry = _entry(db, accession)
    base = entry["empiar_url"] or ENTRY_PAGE.format(entry["accession"])
    prefix = f"empiar:{entry['accession']}/imageset/"
    parts = [
        _imageset_part(entry, row, base)
        for row in reading.rows(
            db,
            "select * from data_file where id >= ? and id < ? order by length(id), id",
            [prefix, prefix[:-1] + "0"],
        )
    ]
    samples = _samples(db, entry["accession"])
    authors = _authors(db, entry["accession"], base)
    contextual = [
        {"@id": EMBL_EBI, "@type": "Organization", "name": "EMBL-EBI", "ror": EMBL_EBI},
    ]
    root: dict[str, Any] = {
        "@id": base,
        "@type": ["Dataset", "lambda:Dataset"],
        "name": entry["title"] or entry["accession"],
        "description": _description(entry),
        "conformsTo": [_ref(RO_CRATE), _ref(PROFILE)],
        "license": _ref(LICENSE),
        "conditionsOfAccess": "open",
        "identifier": _identifiers(entry),
        "url": base,
        "publisher": _ref(EMBL_EBI),
        "packageTier": "manifest",
    }
    for key, column in (
        ("datePublished", "release_date"),
        ("dateCreated", "deposition_date"),
        ("dateModified", "update_date"),
    ):
        if entry[column]:
            root[key] = entry[column]
    if entry["dataset_size_bytes"] is not None:
        root["contentSize"] = str(entry["dataset_size_bytes"])
    if authors:
        root["author"] = [_ref(a["@id"]) for a in authors]
    if entry["experiment_type"]:
        root["keywords"] = [entry["experiment_type"]]
    if entry["technique"]:
        root["technique"] = entry["technique"]
    method = _imaging_method(entry)
    if method:
        root["measurementTechnique"] = _ref(method["@id"])
        contextual.append(method)
    citation = _citation(entry)
    if citation:
        root["citation"] = [_ref(citation["@id"])]
        contextual.append(citation)
    taxa = {s["organism"]["@id"] for s in samples if "organism" in s}
    if len(taxa) == 1:
        root["organism"] = _ref(taxa.pop())
    root["sufficiency"] = _sufficiency(entry)
    missing = _root_missing(entry)
    if missing:
        root["missing"] = missing
    root["hasPart"] = [_ref(e["@id"]) for e in (*parts, *samples)]
    descriptor = {
        "@id": base + METADATA_FILE,
        "@type": "CreativeWork",
        "conformsTo": [_ref(RO_CRATE)],
        "about": _ref(base),
    }
    return {
        "@context": CONTEXT,
        "@graph": [descriptor, root, *parts, *samples, *authors, *contextual],
    }


def dump(crate: dict[str, Any]) -> str:
    return json.dumps(crate, ensure_ascii=False, indent=2) + "\n"
