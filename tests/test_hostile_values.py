"""Hostile values at the raw layer: numbers no column can hold are set aside (read as absent and
named), control characters are stripped, ids that fit no archive are dropped, listings with
junk in them are read, in one pass."""

from __future__ import annotations

import subprocess
import sys

import pytest

from empiar_mirror.harvester.raw.emdb import integer, number, parse_emdb, text
from empiar_mirror.harvester.raw.empiar import Entry, Imageset
from empiar_mirror.harvester.raw.normalize import (
    MAX_INTEGER,
    normalize_emdb_id,
    normalize_pdb_id,
    parse_size_bytes,
    setting_aside,
    well_formed,
)
from empiar_mirror.harvester.raw.rcsb import parse_holdings, parse_rcsb
from empiar_mirror.harvester.sources.empiar import parse_listing
from empiar_mirror.index.archives import EMDB, EMPIAR, PDB

NINES = "9" * 400


@pytest.mark.parametrize(
    "field, value, named",
    [
        ("num_images_or_tilt_series", 10**20, "100000000000000000000 (beyond ±2^53)"),
        ("num_images_or_tilt_series", MAX_INTEGER + 1, "(beyond ±2^53)"),
        ("num_images_or_tilt_series", -(10**20), "(beyond ±2^53)"),
        ("num_images_or_tilt_series", NINES, "(beyond ±2^53)"),
        ("num_images_or_tilt_series", "9" * 5000, "(beyond ±2^53)"),  # past Python's int limit
        ("num_images_or_tilt_series", float("inf"), "inf (not finite)"),
        ("num_images_or_tilt_series", float("nan"), "nan (not finite)"),
        ("num_images_or_tilt_series", 3.5, "3.5 (not a whole number)"),
        ("pixel_width", float("nan"), "nan (not finite)"),
        ("pixel_width", float("-inf"), "-inf (not finite)"),
        ("pixel_width", "Infinity", "'Infinity' (not finite)"),
        ("pixel_width", "1e400", "'1e400' (not finite)"),
        ("pixel_width", 10**400, "(too large for a float)"),
    ],
)
def test_an_out_of_range_number_is_set_aside_and_named(field, value, named):
    with setting_aside() as aside:
        iset = Imageset.model_validate({field: value, "name": "kept"})
    assert getattr(iset, field) is None and iset.name == "kept"
    (note,) = aside
    assert note.startswith(field) and note.endswith(named), note
    assert len(note) < 120  # a 400-digit value is shown cut short


@pytest.mark.parametrize(
    "field, value, kept",
    [
        ("num_images_or_tilt_series", MAX_INTEGER, MAX_INTEGER),
        ("num_images_or_tilt_series", "4000", 4000),
        ("num_images_or_tilt_series", 4000.0, 4000),
        ("num_images_or_tilt_series", "variable", None),  # no number: absent, not set aside
        ("pixel_width", "1.07", 1.07),
        ("pixel_width", 1e300, 1e300),
        ("pixel_width", 2, 2.0),
    ],
)
def test_numbers_in_range_are_kept(field, value, kept):
    with setting_aside() as aside:
        iset = Imageset.model_validate({field: value})
    assert getattr(iset, field) == kept and aside == []


def _entry(**fields) -> Entry:
    return Entry.model_validate({"accession": "EMPIAR-10001", "title": "t", **fields})


@pytest.mark.parametrize("size", [f"{NINES} GB", "1001 PB", int(NINES), f"1{'0' * 19}"])
def test_an_absurd_dataset_size_is_set_aside(size):
    with setting_aside() as aside:
        entry = _entry(dataset_size=size)
    assert entry.dataset_size is None
    (note,) = aside
    assert note.startswith("dataset_size '") and note.endswith("(beyond an exabyte)")
    assert parse_size_bytes(f"{NINES} GB") is None  # and the mapping's reading never overflows


def test_a_non_finite_number_for_a_text_is_set_aside():
    with setting_aside() as aside:
        entry = _entry(scale=float("nan"), dataset_size=float("inf"), entry_doi=12)
    assert (entry.scale, entry.dataset_size, entry.entry_doi) == (None, None, "12")
    assert sorted(aside) == ["dataset_size inf (not finite)", "scale nan (not finite)"]


def test_a_large_but_possible_dataset_size_is_kept():
    with setting_aside() as aside:
        entry = _entry(dataset_size="999 PB")
    assert entry.dataset_size == "999 PB" and aside == []
    assert parse_size_bytes("999 PB") == 999 * 10**15
    assert parse_size_bytes("12345") is None  # a bare number states no unit


def test_set_aside_outside_a_collection_only_reads_as_absent():
    assert Imageset.model_validate({"pixel_width": float("nan")}).pixel_width is None
    assert number("Infinity") is None


def test_control_characters_are_stripped_from_text():
    entry = _entry(
        title="A\x00 title\x1b[0m\x7f\x85",
        scale="line\none\ttab\r",
        cross_references=["EMD-\x001234"],
        authors=[{"author": {"name": "\x07"}}],
    )
    assert entry.title == "A title[0m"
    assert entry.scale == "line\none\ttab"
    assert entry.cross_references == ["EMD-1234"]
    assert entry.authors[0].name is None  # nothing left but the control character
    assert text({"valueOf_": "Cryo\x00-EM\x1b"}) == "Cryo-EM"


def test_emdb_numbers():
    with setting_aside() as aside:
        assert number({"valueOf_": "Infinity", "units": "Å"}) is None
        assert number(float("nan")) is None
        assert number(10**400) is None
        assert integer(float("inf")) is None
        assert integer(10**20) is None
        assert number("3.97") == 3.97 and integer("152340") == 152340
    assert aside == [
        "'Infinity' (not finite)",
        "nan (not finite)",
        f"1{'0' * 39}… (401 characters) (too large for a float)",
        "inf (not finite)",
        "100000000000000000000 (beyond ±2^53)",
    ]


def test_an_emdb_block_of_the_wrong_type_reads_as_absent():
    entry = parse_emdb(
        {
            "emdb_id": "EMD-1234",
            "admin": {"title": "t"},
            "structure_determination_list": {"structure_determination": "see the paper"},
        }
    )
    assert entry.title == "t" and entry.method is None and entry.resolution is None
    entry = parse_emdb(
        {
            "emdb_id": "EMD-1234",
            "structure_determination_list": {
                "structure_determination": [{"method": "x", "image_processing": ["junk"]}]
            },
        }
    )
    assert entry.method == "x" and entry.software == []


BOGUS_IDS = [
    "/rcsb/INTERNAL/ADMIN?DELETE=ALL",
    "../../admin",
    "7SGD?x=1",
    "7SGD/../9Z01",
    "\u0667SGD",  # an Arabic-Indic digit
    "7SGD\n",  # a newline is not an id's (stripped, it would be; see below)
    "EMD-\u0661\u0662\u0663\u0664",
    "",
]


@pytest.mark.parametrize("value", BOGUS_IDS)
def test_ids_that_fit_no_archive_are_dropped(value):
    if value == "7SGD\n":
        assert normalize_pdb_id(value) == "7SGD"  # surrounding space is no part of an id
        assert not well_formed(PDB, value)
        return
    assert normalize_pdb_id(value) is None
    assert normalize_emdb_id(value) is None
    assert not any(well_formed(a, value) for a in (EMPIAR, EMDB, PDB))


def test_ids_that_fit_are_normalized():
    assert normalize_pdb_id("7sgd") == "7SGD"
    assert normalize_pdb_id("pdb_00007sgd") == "7SGD"
    assert normalize_pdb_id("pdb_00017sgd") == "PDB_00017SGD"
    assert normalize_emdb_id("emd-1234") == normalize_emdb_id(" 1234 ") == "EMD-1234"
    assert well_formed(PDB, "PDB_00017SGD") and well_formed(EMPIAR, "EMPIAR-10442")


def test_linked_ids_in_documents_are_checked():
    emdb = parse_emdb(
        {
            "emdb_id": "EMD-1234",
            "crossreferences": {
                "pdb_list": {"pdb_reference": [{"pdb_id": BOGUS_IDS[0]}, {"pdb_id": "7sgd"}]},
                "emdb_list": {
                    "emdb_reference": [{"emdb_id": "EMD-1/../2"}, {"emdb_id": "EMD-5678"}]
                },
            },
        }
    )
    assert emdb.pdb_ids == ["7SGD"] and emdb.related_emdb_ids == ["EMD-5678"]
    model = parse_rcsb(
        {
            "rcsb_id": "7SGD",
            "rcsb_entry_container_identifiers": {
                "emdb_ids": ["EMD-25107", "EMD-?x"],
                "related_emdb_ids": ["../x", "EMD-25108"],
            },
            "pdbx_database_PDB_obs_spr": [{"replace_pdb_id": "../x"}, {"replace_pdb_id": "1abc"}],
        }
    )
    assert model.emdb_ids == ["EMD-25107"] and model.related_emdb_ids == ["EMD-25108"]
    assert model.replaces == ["1ABC"]
    holdings = {"rcsb_repository_holdings_combined": {"id_code_replaced_by_latest": BOGUS_IDS[0]}}
    assert parse_holdings(holdings, "1ABC").replaced_by is None


def test_junk_in_the_file_listing_is_skipped():
    html = (
        '<tr><td><a href="10442/">10442/</a></td><td>2024-01-02 10:00</td></tr>'
        '<tr><td><a href="1234/">1234/</a></td><td>2024-01-02 10:00</td></tr>'
        '<tr><td><a href="\u0661\u0660\u0664\u0664\u0662/">x</a></td></tr>'
        '<tr><td><a href="10443/">10443/</a></td><td>31-Foo-2024 10:00</td></tr>'
        '<tr><td><a href="10444/">10444/</a></td><td>2024-13-45 10:00</td></tr>'
        '<tr><td><a href="10445/">10445/</a></td><td>29-Feb-2024 09:30</td></tr>'
    )
    assert parse_listing(html) == {
        "EMPIAR-10442": "2024-01-02T10:00",
        "EMPIAR-10443": None,
        "EMPIAR-10444": None,
        "EMPIAR-10445": "2024-02-29T09:30",
    }


def test_a_huge_one_line_listing_is_read_in_one_pass():
    """4.6 MB on one line, 200,000 directories, no row end: a second or so; read row by row to
    the end of the text it took many minutes (the hang guard is the subprocess timeout)."""
    program = (
        "from empiar_mirror.harvester.sources.empiar import parse_listing\n"
        "rows = ''.join(f'<a href=\"{n}/\"></a> ' for n in range(100_000, 300_000))\n"
        "html = f'<html><body><pre>{rows}</pre></body></html>'\n"
        "assert len(html) > 4_600_000 and chr(10) not in html\n"
        "print(len(parse_listing(html)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200000"


def test_long_padded_sizes_and_instrument_names_are_read_in_one_pass():
    """A dataset size and instrument names of 300,000 characters, padded so that patterns with
    two runs of spaces in a row backtrack: a fraction of a second; read that way it took many
    minutes, the writer thread stuck on one record (the hang guard is the subprocess timeout)."""
    program = (
        "import json\n"
        "from empiar_mirror.harvester.archives import MAPPERS\n"
        "from empiar_mirror.harvester.mapping import instruments\n"
        "from empiar_mirror.harvester.replay import SAMPLE_DIR\n"
        "doc = json.loads((SAMPLE_DIR / 'empiar' / 'EMPIAR-10442.json').read_text())\n"
        "doc['EMPIAR-10442']['dataset_size'] = '1' + ' ' * 300_000 + 'x'\n"
        "mapped = MAPPERS['empiar'](doc, 'EMPIAR-10442')\n"
        "print(mapped.front_door['dataset_size_bytes'])\n"
        "print(instruments.classify_detector('(1' + ' ' * 300_000 + 'y').known)\n"
        "print(instruments.classify_microscope('TECNAI ' * 40_000).known)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "False", "False"]
