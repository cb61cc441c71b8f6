"""Reading what EMPIAR really sends: wrappers, type drift and the normalizers."""

from __future__ import annotations

import json

import pydantic
import pytest
from conftest import FIXTURES

from empiar_mirror.harvester.raw.empiar import (
    Entry,
    Imageset,
    NotAnEntry,
    parse_entry,
    unwrap_entry,
)
from empiar_mirror.harvester.raw.normalize import (
    iso_date,
    listify,
    normalize_pdb_id,
    parse_size_bytes,
)
from empiar_mirror.harvester.replay import SAMPLE_DIR
from empiar_mirror.harvester.sources.empiar import parse_ids, parse_listing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("43.2 GB", 43_200_000_000),
        ("1.9 TB", 1_900_000_000_000),
        ("850.0 MB", 850_000_000),
        ("12 gb", 12_000_000_000),
        ("7  KB", 7_000),
        ("variable", None),
        ("", None),
        (None, None),
    ],
)
def test_dataset_size_in_decimal_bytes(text, expected):
    assert parse_size_bytes(text) == expected


def test_small_normalizers():
    assert listify(None) == [] and listify({"a": 1}) == [{"a": 1}] and listify([1]) == [1]
    assert iso_date("2022-10-12T00:00:00") == "2022-10-12"
    assert iso_date("2023-01-05T00:00:00.000+00:00") == "2023-01-05"
    assert iso_date("12/10/2022") is None
    assert normalize_pdb_id("7sgd") == "7SGD"
    assert normalize_pdb_id("pdb_00007sgd") == "7SGD"
    assert normalize_pdb_id("pdb_00017sgd") == "PDB_00017SGD"


def test_recorded_imageset_types():
    """The transcribed EMPIAR-10943 imageset: null sizes, float pixels, empty patterns."""
    raw = json.loads((FIXTURES / "imageset-EMPIAR-10943.json").read_text())
    iset = Imageset.model_validate(raw)
    assert iset.pixel_width == 0.824 and iset.image_width is None
    assert iset.num_images_or_tilt_series == 4000
    assert iset.micrographs_file_pattern is None  # "" carries no information


def test_type_drift_is_absorbed():
    iset = Imageset.model_validate(
        {
            "image_width": "3838",
            "image_height": "variable",
            "pixel_width": "1.07",
            "num_images_or_tilt_series": "510",
            "frames_per_image": 40,
        }
    )
    assert (iset.image_width, iset.image_height, iset.pixel_width) == (3838, None, 1.07)
    assert iset.num_images_or_tilt_series == 510
    entry = Entry.model_validate(
        {
            "accession": "EMPIAR-10001",
            "title": "t",
            "cross_references": [{"name": "EMD-1234"}, "EMD-5678", ""],
            "related_pdb_entries": "7sgd",
            "corresponding_author": {},
            "citation": {
                "year": 2019,
                "volume": 5,
                "doi": "doi:10.1/x",
                "authors": [{"author": {"name": "Yan D", "author_orcid": None}}],
            },
            "brand_new_field": {"kept": True},
        }
    )
    assert entry.cross_references == ["EMD-1234", "EMD-5678"]
    assert entry.related_pdb_entries == ["7sgd"]
    assert entry.corresponding_author is None
    assert entry.citation[0].year == 2019 and entry.citation[0].volume == "5"
    assert entry.citation[0].doi == "10.1/x"
    assert entry.citation[0].authors[0].name == "Yan D"
    assert entry.model_extra == {"brand_new_field": {"kept": True}}


def test_response_wrappers():
    body = {"title": "bare", "imagesets": []}
    assert unwrap_entry({"EMPIAR-10442": body}, "10442") == ("EMPIAR-10442", body)
    assert unwrap_entry(body, "EMPIAR-10442") == ("EMPIAR-10442", body)
    assert unwrap_entry([{"EMPIAR-10442": body}], "x") == ("EMPIAR-10442", body)
    for bad in ({}, [], "text", {"detail": "Not found."}, {"EMPIAR-1": body, "EMPIAR-2": body}):
        with pytest.raises(NotAnEntry):
            unwrap_entry(bad, "EMPIAR-10442")


def test_every_sample_entry_parses_and_drift_is_rejected():
    for path in (SAMPLE_DIR / "empiar").glob("*.json"):
        entry = parse_entry(json.loads(path.read_text()), path.stem)
        assert entry.accession == path.stem
    with pytest.raises(pydantic.ValidationError):
        parse_entry({"EMPIAR-10001": {"title": "t", "imagesets": "see website"}}, "EMPIAR-10001")
    with pytest.raises(pydantic.ValidationError):
        parse_entry({"EMPIAR-10001": {"imagesets": []}}, "EMPIAR-10001")  # no title


def test_ids_specification():
    assert parse_ids("EMPIAR-10002,10100-10102, empiar-10002") == [
        "EMPIAR-10002",
        "EMPIAR-10100",
        "EMPIAR-10101",
        "EMPIAR-10102",
    ]
    for bad in ("10002,abc", "10005-10001", "10000-999999", ""):
        with pytest.raises(ValueError):
            parse_ids(bad)


def test_autoindex_listing_in_both_apache_layouts():
    table = (
        '<tr><td><a href="?C=N;O=D">Name</a></td></tr>'
        '<tr><td><a href="/empiar/">Parent Directory</a></td></tr>'
        '<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td>'
        '<td><a href="10002/">10002/</a></td><td align="right">2017-02-21 09:49  </td>'
        '<td align="right">  - </td></tr>'
        '<tr><td><a href="10934/">10934/</a></td><td align="right">2022-02-07 13:05</td></tr>'
    )
    assert parse_listing(table) == {
        "EMPIAR-10002": "2017-02-21T09:49",
        "EMPIAR-10934": "2022-02-07T13:05",
    }
    pre = (
        '<pre><a href="10002/">10002/</a>                 21-Feb-2017 09:49    -\n'
        '<a href="10003/">10003/</a>                 -\n'
        '<a href="README.txt">README.txt</a>         01-Jan-2020 00:00  1.2K\n</pre>'
    )
    assert parse_listing(pre) == {"EMPIAR-10002": "2017-02-21T09:49", "EMPIAR-10003": None}
