"""EMPIAR deposition documents from lambda-ber Dataset documents (`empiar-mirror deposition`)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURES, SAMPLE_ENTRIES, SHARED_REFERENCE, invoke, run_cli

from empiar_mirror.harvester.replay import SAMPLE_DIR
from empiar_mirror.index.deposition import countries, names, schema

STUDY = FIXTURES / "deposition" / "study.yaml"
STUDY_DEPOSITION = FIXTURES / "deposition" / "study.deposition.json"
ERROR = "empiar-mirror: error: "

# EMPIAR's codes, from its deposition schema (API-NOTES §1.9): the oracle the output is held to.
CATEGORY_CODES = {
    "micrographs - single frame": "T1",
    "micrographs - multiframe": "T2",
    "micrographs - focal pairs - unprocessed": "T3",
    "micrographs - focal pairs - contrast inverted": "T4",
    "picked particles - single frame - unprocessed": "T5",
    "picked particles - multiframe - unprocessed": "T6",
    "picked particles - single frame - processed": "T7",
    "picked particles - multiframe - processed": "T8",
    "tilt series": "T9",
    "class averages": "T10",
    "stitched maps": "T11",
    "diffraction images": "T12",
    "reconstructed volumes": "T13",
    "subtomograms": "T14",
}
_FORMATS = ["MRC", "MRCS", "TIFF", "IMAGIC", "DM3", "DM4", "SPIDER", "XML", "EER", "PNG", "JPEG"]
HEADER_CODES = {f: f"T{i}" for i, f in enumerate([*_FORMATS, "SMV", "EM", "TPX3"], start=1)}
DATA_CODES = {**HEADER_CODES, "BIG DATA VIEWER HDF5": "T8"}
del DATA_CODES["XML"]
VOXEL_CODES = {
    "UNSIGNED BYTE": "T1",
    "SIGNED BYTE": "T2",
    "UNSIGNED 16 BIT INTEGER": "T3",
    "SIGNED 16 BIT INTEGER": "T4",
    "UNSIGNED 32 BIT INTEGER": "T5",
    "SIGNED 32 BIT INTEGER": "T6",
    "32 BIT FLOAT": "T7",
    "BIT": "T8",
    "4 BIT INTEGER": "T9",
}
EXPERIMENT_CODES = {
    "SXT": 1,
    "INSILICO": 2,
    "EMDB": 3,
    "SBF-SEM": 4,
    "FIB-SEM": 5,
    "IHM": 6,
    "CLEM": 7,
    "CLXM": 8,
    "MicroED": 9,
    "ATUM-SEM": 11,
    "Hard X-ray/X-ray microCT": 12,
    "ssET": 13,
}
SCALE_CODES = {"molecule": "1", "virus": "2", "cell": "3", "tissue": "4", "organism": "5"}
# The countries people of the sample work in.
COUNTRY_CODES = {
    "Australia": "AU",
    "China": "CN",
    "Czech Republic": "CZ",
    "Finland": "FI",
    "France": "FR",
    "Germany": "DE",
    "Japan": "JP",
    "Norway": "NO",
    "Poland": "PL",
    "Spain": "ES",
    "Sweden": "SE",
    "United Kingdom": "GB",
    "United States": "US",
}

# What the exported lambda-ber document cannot say of an imageset (no lambda-ber slot, and the
# export leaves out the x_* columns that keep it) ...
NO_SLOT = {"voxel_type", "num_images_or_tilt_series", "frame_range_min", "frame_range_max"}
# ... and what it says only for some: lambda-ber's data_type and file_format are coarser.
ONE_CATEGORY = {
    "micrographs - multiframe",
    "class averages",
    "diffraction images",
    "reconstructed volumes",
    "subtomograms",
}
ONE_FORMAT = {"MRC", "MRCS", "TIFF", "EER", "BIG DATA VIEWER HDF5", "SMV"}
# Movies keep their frames, volumes their depth.
WITH_FRAMES = {"micrographs - multiframe", "reconstructed volumes", "subtomograms"}
# Fields the lambda-ber document never holds (compared, to show what a deposition lacks).
NEVER_HELD = {
    "citation.author_orcid",
    "contact.street",
    "contact.state_or_province",
    "contact.post_or_zip",
}
# A value the deposition may state where EMPIAR's record has none: the height of lambda-ber's one
# (square) pixel size.
MAY_ADD = {"imagesets.pixel_height"}


CITATION_FIELDS = (
    "title",
    "doi",
    "pubmedid",
    "journal",
    "journal_abbreviation",
    "volume",
    "issue",
    "first_page",
    "last_page",
    "language",
    "published",
    "j_or_nj_citation",
)


def raw_entry(accession: str) -> dict[str, Any]:
    """The entry as EMPIAR served it."""
    (body,) = json.loads((SAMPLE_DIR / "empiar" / f"{accession}.json").read_text()).values()
    return body


def coded(label: str, codes: dict[str, str], *, upper: bool = True) -> str:
    """EMPIAR's pair; formats of its own are in capitals, categories as the depositor wrote them."""
    if label in codes:
        return f"('{codes[label]}', '')"
    return f"('OT', '{label.upper() if upper else label}')"


def problem_paths(stderr: str) -> list[str]:
    return [line.split(": ", 1)[0] for line in stderr.splitlines()]


@dataclass
class Route:
    """One `deposition` run: its exit status, stderr and the document it wrote."""

    returncode: int
    stderr: str
    text: str

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.text)


def _deposition(*args: str, output: Path) -> Route:
    result = invoke("deposition", *args, "-o", str(output))
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    return Route(result.returncode, result.stderr, text)


@pytest.fixture(scope="module")
def db_path(harvested_db) -> Path:
    """The session's harvested sample: `export` and `deposition --db` only read it."""
    return harvested_db


@pytest.fixture(scope="module")
def routes(db_path, tmp_path_factory) -> dict[str, dict[str, Route]]:
    """Per sample entry: `export --extensions` then `deposition` (file), `deposition --db`, and
    `deposition` of a plain lambda-ber export (plain); in-process, one after the other."""
    work = tmp_path_factory.mktemp("routes")

    def run(accession: str) -> dict[str, Route]:
        plain, fuller = work / f"{accession}.yaml", work / f"{accession}.x.yaml"
        for path, extra in ((plain, ()), (fuller, ("--extensions",))):
            result = invoke("export", str(db_path), accession, *extra, "-o", str(path))
            assert result.returncode == 0, result.stderr
        return {
            "file": _deposition(str(fuller), output=work / f"{accession}.file.json"),
            "db": _deposition(
                "--db", str(db_path), accession, output=work / f"{accession}.db.json"
            ),
            "plain": _deposition(str(plain), output=work / f"{accession}.plain.json"),
        }

    return {accession: run(accession) for accession in SAMPLE_ENTRIES}


# --- agreement with the entry as EMPIAR served it --------------------------------------------


def _author_name(name: str) -> str | None:
    """EMPIAR's "Surname INITIALS" as the deposition writes it; None for names not in that form."""
    surname, _, initials = name.rpartition(" ")
    if surname and initials.isalpha() and initials.isupper():
        return f"('{surname}', '{initials}')"
    return None


# (field, value as EMPIAR served it, value in the deposition, whether it is of a shared row: a
# person known by ORCID or a publication known by DOI, which other records write too).
Pair = tuple[str, Any, Any, bool]


def _contact_pairs(raw: dict[str, Any], ours: dict[str, Any]) -> list[Pair]:
    email = raw.get("email")
    expected = {
        "first_name": raw.get("first_name"),
        "last_name": raw.get("last_name"),
        "organization": raw.get("organization"),
        "town_or_city": raw.get("town_or_city"),
        "street": raw.get("street"),
        "state_or_province": raw.get("state_or_province"),
        "post_or_zip": raw.get("post_or_zip"),
        "email": email.replace(" [at] ", "@") if email else None,
        "country": COUNTRY_CODES.get(raw.get("country") or "", raw.get("country")),
        "author_orcid": raw.get("author_orcid"),
    }
    shared = bool(raw.get("author_orcid"))
    return [(f"contact.{k}", v, ours.get(k), shared) for k, v in expected.items()]


def _nth(items: list[dict[str, Any]], i: int) -> dict[str, Any]:
    return items[i] if i < len(items) else {}


def comparisons(raw: dict[str, Any], dep: dict[str, Any]) -> list[Pair]:
    """Every field compared between the entry as EMPIAR served it and its deposition."""
    out: list[Pair] = [
        ("title", raw["title"], dep.get("title"), False),
        (
            "experiment_type",
            EXPERIMENT_CODES[raw["experiment_type"]],
            dep.get("experiment_type"),
            False,
        ),
        ("scale", SCALE_CODES.get(raw.get("scale") or ""), dep.get("scale"), False),
        (
            "cross_references",
            sorted(raw.get("cross_references") or []),
            sorted(r["name"] for r in dep["cross_references"]),
            False,
        ),
    ]
    for i, item in enumerate(raw["authors"]):
        ours, orcid = _nth(dep["authors"], i), item["author"]["author_orcid"]
        expected = _author_name(item["author"]["name"])
        if expected:
            out.append(("authors.name", expected, ours.get("name"), bool(orcid)))
        out.append(("authors.order_id", i, ours.get("order_id"), False))
        out.append(("authors.author_orcid", orcid, ours.get("author_orcid"), False))
    corresponding = (raw.get("corresponding_author") or {}).get("author")
    if corresponding:
        out += _contact_pairs(corresponding, dep.get("corresponding_author") or {})

    def by_name(person: dict[str, Any]) -> tuple[str, str]:
        return person.get("last_name") or "", person.get("first_name") or ""

    # The export keeps no order of principal investigators.
    pis = sorted(dep["principal_investigator"], key=by_name)
    for i, pi in enumerate(sorted(raw.get("principal_investigator") or [], key=by_name)):
        out += _contact_pairs(pi, _nth(pis, i))
    for i, cit in enumerate(raw.get("citation") or []):
        ours, shared = _nth(dep["citation"], i), bool(cit.get("doi") or cit.get("pubmedid"))
        served = {
            **{k: cit.get(k) for k in CITATION_FIELDS},
            "year": int(cit["year"]) if cit.get("year") else None,
        }
        out += [(f"citation.{k}", v, ours.get(k), shared) for k, v in served.items()]
        for j, author in enumerate(cit["authors"]):
            mine = _nth(ours.get("authors", []), j)
            name = _author_name(author["name"])
            out.append(("citation.author_name", name, mine.get("name"), shared))
            orcid = author.get("author_orcid")
            out.append(("citation.author_orcid", orcid, mine.get("author_orcid"), False))
    for i, iset in enumerate(raw["imagesets"]):
        ours = _nth(dep["imagesets"], i)
        served = {
            "name": iset["name"],
            "directory": iset["directory"].strip("/"),
            "category": coded(iset["category"], CATEGORY_CODES, upper=False),
            "header_format": coded(iset["header_format"], HEADER_CODES),
            "data_format": coded(iset["data_format"], DATA_CODES),
            "voxel_type": coded(iset["voxel_type"], VOXEL_CODES),
            "num_images_or_tilt_series": iset["num_images_or_tilt_series"],
            "frames_per_image": iset["frames_per_image"],
            "frame_range_min": iset.get("frame_range_min"),
            "frame_range_max": iset.get("frame_range_max"),
            "pixel_width": iset["pixel_width"],
            "pixel_height": iset["pixel_height"],
            "image_width": int(iset["image_width"]) if iset["image_width"] else None,
            "image_height": int(iset["image_height"]) if iset["image_height"] else None,
            "details": iset["details"],
        }
        out += [(f"imagesets.{k}", v, ours.get(k), False) for k, v in served.items()]
    return out


def tally(pairs: list[Pair]) -> dict[str, Counter]:
    """Per field, how often the deposition: agrees with EMPIAR; differs in a shared row (holding
    another record's value); lacks the value; adds one EMPIAR has not; or contradicts it."""
    out: dict[str, Counter] = {}
    for field, served, written, shared in pairs:
        served, written = (None if v == "" else v for v in (served, written))
        if served is None and written is None:
            continue
        if served == written:
            kind = "agree"
        elif shared and written is not None:
            kind = "shared"
        elif written is None:
            kind = "missing"
        else:
            kind = "added" if served is None else "wrong"
        out.setdefault(field, Counter())[kind] += 1
    return out


def _summary(label: str, tallies: dict[str, Counter], valid: int) -> str:
    lines = [f"{label}: {valid}/{len(SAMPLE_ENTRIES)} valid"]
    for field, counts in sorted(tallies.items()):
        total = counts.total() - counts["added"]
        lines.append(f"  {field:36} {counts['agree']:4}/{total:<4} {dict(counts)}")
    agree = sum(c["agree"] for c in tallies.values())
    total = sum(c.total() - c["added"] for c in tallies.values())
    lines.append(f"  all fields: {agree}/{total} = {agree / total:.1%} agree")
    return "\n".join(lines)


# --- problems the public record explains -------------------------------------------------------


def _explained(path: str, raw: dict[str, Any], *, extensions: bool) -> bool:
    """Whether a problem is the public record's (or, without extensions, the export's) lack."""
    field = path.rsplit(".", 1)[-1]
    if match := re.fullmatch(r"imagesets\[(\d+)\]\.(\w+)", path):
        iset = raw["imagesets"][int(match.group(1))]
        if iset.get(field) in (None, ""):
            return True
        if extensions:
            return False
        return (
            field in NO_SLOT
            or (field == "category" and iset["category"] not in ONE_CATEGORY)
            or (field.endswith("_format") and iset["data_format"] not in ONE_FORMAT)
            or (field == "frames_per_image" and iset["category"] not in WITH_FRAMES)
        )
    corresponding = (raw.get("corresponding_author") or {}).get("author") or {}
    pis = raw.get("principal_investigator") or []
    if path == "corresponding_author":
        return not corresponding
    if path.startswith("corresponding_author."):
        return not corresponding.get(field)
    if path == "principal_investigator":
        return not pis
    if path.startswith("principal_investigator["):
        return any(not pi.get(field) for pi in pis)
    if match := re.fullmatch(r"authors\[(\d+)\]\.name", path):
        return _author_name(raw["authors"][int(match.group(1))]["author"]["name"]) is None
    if path == "citation":
        return not raw.get("citation")
    if match := re.fullmatch(r"citation\[(\d+)\]\.(\w+)", path):
        value = raw["citation"][int(match.group(1))].get(field)
        # EMPIAR's deposition schema allows 8 characters of a page; its archive holds more.
        return value in (None, "") or (field.endswith("_page") and len(value) > 8)
    return path == "title" and len(raw["title"]) < 10


# --- the sample, entry by entry -----------------------------------------------------------------


@pytest.mark.parametrize("accession", SAMPLE_ENTRIES)
def test_both_routes_give_the_same_document(routes, accession):
    file_route, db_route = routes[accession]["file"], routes[accession]["db"]
    assert file_route.text and file_route.text == db_route.text
    assert (file_route.returncode, file_route.stderr) == (db_route.returncode, db_route.stderr)


@pytest.mark.parametrize("accession", SAMPLE_ENTRIES)
def test_every_problem_is_a_lack_of_the_record_or_the_export(routes, accession):
    route = routes[accession]["plain"]
    assert route.returncode == (1 if route.stderr else 0), route.stderr
    raw = raw_entry(accession)
    unexplained = [
        line
        for line in route.stderr.splitlines()
        if not _explained(line.split(": ", 1)[0], raw, extensions=False)
    ]
    assert not unexplained


@pytest.mark.parametrize("accession", SAMPLE_ENTRIES)
def test_valid_wherever_the_public_record_holds_what_the_schema_requires(routes, accession):
    route = routes[accession]["file"]
    raw = raw_entry(accession)
    unexplained = [
        line
        for line in route.stderr.splitlines()
        if not _explained(line.split(": ", 1)[0], raw, extensions=True)
    ]
    assert not unexplained
    assert route.returncode == (1 if route.stderr else 0)


@pytest.mark.parametrize("accession", SAMPLE_ENTRIES)
def test_the_document_agrees_with_the_entry_as_served(routes, accession):
    raw = raw_entry(accession)
    for name in ("plain", "file"):
        tallies = tally(comparisons(raw, routes[accession][name].document))
        wrong = {f: c for f, c in tallies.items() if c["wrong"]}
        assert not wrong, name
        added = {f for f, c in tallies.items() if c["added"]}
        assert added <= MAY_ADD, name
        missing = {f for f, c in tallies.items() if c["missing"]}
        if name == "file":
            assert missing <= NEVER_HELD
        else:
            imageset_gaps = {f"imagesets.{f}" for f in NO_SLOT | {"category", "frames_per_image"}}
            formats = {"imagesets.header_format", "imagesets.data_format"}
            assert missing <= NEVER_HELD | imageset_gaps | formats


def test_agreement_over_the_sample(routes):
    """The figures (shown with -s): entries valid, and per field how often the deposition agrees
    with EMPIAR."""
    for name, label in (
        ("plain", "plain export, then deposition"),
        ("file", "export --extensions, then deposition"),
    ):
        tallies: dict[str, Counter] = {}
        for accession in SAMPLE_ENTRIES:
            for field, counts in tally(
                comparisons(raw_entry(accession), routes[accession][name].document)
            ).items():
                tallies.setdefault(field, Counter()).update(counts)
        valid = sum(not routes[a][name].stderr for a in SAMPLE_ENTRIES)
        print("\n" + _summary(label, tallies, valid))
        assert not any(c["wrong"] for c in tallies.values())
        for field in ("title", "authors.author_orcid", "cross_references", "imagesets.name"):
            assert tallies[field]["agree"] == tallies[field].total()


# --- behaviour ----------------------------------------------------------------------------------


def test_a_complete_record_gives_a_valid_deposition(tmp_path):
    route = _deposition(str(STUDY), output=tmp_path / "dep.json")
    assert (route.returncode, route.stderr) == (0, "")
    assert route.document == json.loads(STUDY_DEPOSITION.read_text())
    contact = route.document["corresponding_author"]
    # "[at]" restored, the country as its ISO code, names and initials from given names.
    assert contact["email"] == "maja.lindqvist@example.org"
    assert contact["country"] == "SE"
    assert [a["name"] for a in route.document["authors"]] == [
        "('Lindqvist', 'MK')",
        "('Okoro', 'JP')",
        "('Brouwer', 'PJM')",
    ]
    assert schema.problems(route.document) == []


def test_yaml_and_json_give_the_same_document(tmp_path):
    as_json = tmp_path / "study.json"
    as_json.write_text(json.dumps(yaml.safe_load(STUDY.read_text())))
    from_yaml = run_cli("deposition", str(STUDY))
    from_json = run_cli("deposition", str(as_json))
    assert from_yaml.returncode == from_json.returncode == 0
    assert from_yaml.stdout == from_json.stdout == STUDY_DEPOSITION.read_text()


def test_release_option(tmp_path):
    route = _deposition(str(STUDY), "--release", "HP", output=tmp_path / "dep.json")
    assert route.returncode == 0 and route.document["release_date"] == "HP"


def test_at_restored_in_every_address(routes):
    seen = 0
    for accession in SAMPLE_ENTRIES:
        raw = raw_entry(accession)
        served = {pi["email"] for pi in raw.get("principal_investigator") or [] if pi.get("email")}
        written = {
            pi.get("email") for pi in routes[accession]["file"].document["principal_investigator"]
        }
        assert {e.replace(" [at] ", "@") for e in served} <= written
        assert not any("[at]" in (e or "") for e in written)
        seen += len(served)
    assert seen


def test_an_incomplete_record_exits_1_naming_each_field_and_still_writes(routes):
    route = routes["EMPIAR-10442"]["plain"]
    assert route.returncode == 1
    assert route.stderr.splitlines() == [
        "corresponding_author.email: missing; from the person's email",
        *[
            line
            for i in range(4)
            for line in (
                f"imagesets[{i}].num_images_or_tilt_series: missing; lambda-ber has no slot for "
                "it: give the data file x_num_images_or_tilt_series",
                f"imagesets[{i}].voxel_type: missing; lambda-ber has no slot for it: give the "
                "data file x_voxel_type (EMPIAR's label)",
            )
        ],
    ]
    assert route.document["title"].startswith("170314, Five-day-old Col-0")


def test_problems_of_an_empty_record(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("id: example:nothing\n")
    route = _deposition(str(empty), output=tmp_path / "dep.json")
    assert route.returncode == 1
    assert problem_paths(route.stderr) == [
        "title",
        "experiment_type",
        "authors",
        "corresponding_author",
        "principal_investigator",
        "imagesets",
        "citation",
    ]
    assert "authors: 0 given, at least 1 needed; from the study's people with role author" in (
        route.stderr.splitlines()
    )
    assert route.document == {
        "release_date": "RE",
        "cross_references": [],
        "biostudies_references": [],
        "idr_references": [],
        "empiar_references": [],
        "authors": [],
        "principal_investigator": [],
        "imagesets": [],
        "citation": [],
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- a list\n", "not a lambda-ber Dataset document (not a mapping)"),
        ('{"title": "no id"}', "not a lambda-ber Dataset document (it has no id)"),
        ("id: x:1\nstudies: 3\n", "`studies` is not a list"),
        ("id: x:1\npersons: [1, 2]\n", "`persons` is not a list of objects"),
        ("{: [", "neither JSON nor YAML (ParserError)"),
    ],
)
def test_not_a_dataset_exits_2(tmp_path, content, message):
    source = tmp_path / "bad.yaml"
    source.write_text(content)
    result = run_cli("deposition", str(source), "-o", str(tmp_path / "dep.json"))
    assert result.returncode == 2
    assert result.stderr == f"{ERROR}{source}: {message}\n"
    assert not (tmp_path / "dep.json").exists()


def test_a_deposition_is_not_a_dataset(tmp_path):
    example = resources.files("empiar_depositor") / "tests/deposition_json/working_example.json"
    source = tmp_path / "working_example.json"
    source.write_text(example.read_text())
    result = run_cli("deposition", str(source))
    assert result.returncode == 2
    assert result.stderr == f"{ERROR}{source}: not a lambda-ber Dataset document (it has no id)\n"


def test_unreadable_input_exits_2(tmp_path):
    missing = tmp_path / "missing.yaml"
    result = run_cli("deposition", str(missing))
    assert (result.returncode, result.stderr) == (
        2,
        f"{ERROR}cannot read {missing}: No such file or directory\n",
    )
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    result = run_cli("deposition", str(binary))
    assert (result.returncode, result.stderr) == (
        2,
        f"{ERROR}cannot read {binary}: not a text file\n",
    )


def test_unknown_accession_exits_2(db_path, tmp_path):
    result = run_cli("deposition", "--db", str(db_path), "EMPIAR-99999", "-o", str(tmp_path / "d"))
    assert (result.returncode, result.stderr) == (
        2,
        f"{ERROR}EMPIAR-99999 is not in this database\n",
    )
    assert not (tmp_path / "d").exists()
    result = run_cli("deposition", "--db", str(tmp_path / "none.db"), "EMPIAR-10442")
    assert result.returncode == 2 and result.stderr.startswith(ERROR)
    assert len(result.stderr.splitlines()) == 1


# --- the schema and its messages ----------------------------------------------------------------


def test_the_schema_is_read_from_the_installed_empiar_depositor():
    shipped = resources.files("empiar_depositor") / "empiar_deposition.schema.json"
    assert schema.schema() == json.loads(shipped.read_text(encoding="utf-8"))
    copy = SHARED_REFERENCE / "empiar" / "deposition-schema.json"
    if copy.is_file():
        assert schema.schema() == json.loads(copy.read_text(encoding="utf-8"))


def test_problems_name_the_field_and_what_is_wrong():
    example = resources.files("empiar_depositor") / "tests/deposition_json/working_example.json"
    document = json.loads(example.read_text())
    assert schema.problems(document) == []
    document["title"] = "Too short"
    document["authors"][1]["name"] = "Test Author"
    document["corresponding_author"]["email"] = "someone [at] example.org"
    document["corresponding_author"]["country"] = "Narnia"
    document["principal_investigator"] = []
    document["imagesets"][0]["voxel_type"] = "UNSIGNED BYTE"
    del document["imagesets"][0]["directory"]
    assert schema.problems(document) == [
        "title: 9 characters, at least 10 needed",
        "authors[1].name: 'Test Author' does not match "
        "^\\('[^0-9!\"£$%^&*()]+', '[^0-9!\"£$%^&*()]+'\\)$",
        "corresponding_author.email: 'someone [at] example.org' is not a valid email",
        "corresponding_author.country: 'Narnia' is not an ISO 3166-1 alpha-2 country code",
        "principal_investigator: 0 given, at least 1 needed; "
        "from the study's people with role principal_investigator",
        "imagesets[0].directory: missing; "
        "from the data file's file_path, below its run's raw_data_location",
        "imagesets[0].voxel_type: 'UNSIGNED BYTE' does not match "
        "^(\\('T([1-9])', ''\\))|\\('OT', '[A-Z0-9 ]+'\\)$",
    ]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Czech Republic", "CZ"),
        ("Czechia", "CZ"),
        ("United States of America", "US"),
        ("the Netherlands", "NL"),
        ("St. Lucia", "LC"),
        ("Côte d’Ivoire", "CI"),
        ("Bosnia & Herzegovina", "BA"),
        ("de", "DE"),
        ("Narnia", "Narnia"),
    ],
)
def test_country_codes(name, code):
    assert countries.country_code(name) == code


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("Paterlini A", "('Paterlini', 'A')"),
        ("van Haaren MM", "('van Haaren', 'MM')"),
        ("Brouwer, P.J.M.", "('Brouwer', 'PJM')"),
        ("Ilya Belevich", "('Belevich', 'I')"),
        ("Jean-Paul  Okoro", "('Okoro', 'JP')"),
        ("Kowalski Ł", "('Kowalski', 'Ł')"),
    ],
)
def test_author_names(name, written):
    assert names.author_name(name) == written
