"""Real responses recorded by other projects (tests/fixtures/recorded/, see SOURCES.md there):
what our readers and mappings must make of them. Every expected value was read in the document."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from empiar_mirror.harvester.mapping.from_empiar import map_entry
from empiar_mirror.harvester.raw.empiar import Entry, Imageset, parse_entry
from empiar_mirror.index import links
from empiar_mirror.index.lambda_ber import models as lb

RECORDED = FIXTURES / "recorded"


def recorded(name: str):
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def of_type(mapped, cls):
    return [r for r in mapped.records if type(r) is cls]


@pytest.fixture(scope="module")
def entry_11759() -> Entry:
    return parse_entry(recorded("empiar-EMPIAR-11759.json"), "11759")


def test_11759_wrapper_header_and_dates(entry_11759):
    """SBF-SEM entry, recorded in 2025: the accession comes from the wrapping key."""
    e = entry_11759
    assert e.accession == "EMPIAR-11759"  # asked for "11759", the body's key wins
    assert e.title == "Developing retina in zebrafish 55 hpf larval eye."
    assert (e.status, e.experiment_type, e.scale) == ("REL", "SBF-SEM", "tissue")
    assert (e.deposition_date, e.release_date, e.update_date, e.obsolete_date) == (
        "2023-11-01",
        "2024-01-15",
        "2024-01-15",
        None,
    )
    assert (e.dataset_size, e.entry_doi) == ("1.2 GB", "10.6019/EMPIAR-11759")
    assert e.cross_references == e.related_pdb_entries == e.grant_references == []
    # Fields we do not model yet are kept, not dropped.
    assert e.model_extra == {"workflow_file": None, "version_history": []}


def test_11759_people(entry_11759):
    """Authors come wrapped in `author`, PIs flat with extra keys, and nobody has an ORCID."""
    e = entry_11759
    assert [(a.name, a.author_orcid) for a in e.authors] == [("Wilsch-Bräuninger M", None)]
    contact = e.corresponding_author
    assert contact.full_name == "Michaela Wilsch-Bräuninger"
    assert (contact.organization, contact.town_or_city, contact.post_or_zip, contact.country) == (
        "Max Planck Institute of Molecular Cell Biology and Genetics",
        "Dresden",
        "01307",
        "Germany",
    )
    assert contact.email is None  # this record gives the e-mail only on the PI
    (pi,) = e.principal_investigator
    assert (pi.full_name, pi.email) == ("Michaela Wilsch-Bräuninger", "wilsch [at] mpi-cbg.de")
    assert pi.model_extra == {"entry": "EMPIAR-11759", "fax": None, "telephone": None}


def test_11759_placeholder_citation(entry_11759):
    """An unpublished citation that repeats the entry title: empty strings read as missing."""
    (cit,) = entry_11759.citation
    assert cit.title == "Developing retina in zebrafish 55 hpf larval eye."
    assert (cit.published, cit.j_or_nj_citation, cit.preprint) == (False, False, None)
    assert (cit.doi, cit.pubmedid, cit.journal, cit.year, cit.volume) == (None,) * 5
    assert cit.country is None  # served as ""
    assert [a.name for a in cit.authors] == ["Wilsch-Bräuninger M"]  # not wrapped here
    assert cit.model_extra == {
        "book_chapter_title": None,
        "publication_location": "",
        "publisher": "",
    }


def test_11759_imageset_types(entry_11759):
    """Image sizes are served as strings, pixel sizes as floats, empty patterns as ""."""
    (iset,) = entry_11759.imagesets
    assert (iset.name, iset.directory, iset.category) == (
        "Developing retina in zebrafish 55 hpf larval eye.",
        "data",
        "reconstructed volumes",
    )
    assert (iset.header_format, iset.data_format, iset.voxel_type) == (
        "DM3",
        "DM3",
        "UNSIGNED BYTE",
    )
    assert (iset.num_images_or_tilt_series, iset.frames_per_image) == (16, 1)
    assert (iset.frame_range_min, iset.frame_range_max) == (None, None)
    assert (iset.image_width, iset.image_height) == (5628, 5632)  # "5628", "5632"
    assert (iset.pixel_width, iset.pixel_height) == (80.0, 80.0)
    assert iset.micrographs_file_pattern is None and iset.picked_particles_directory is None
    assert "FEI Magellan400 SEM" in iset.details and iset.segmentations == []


def test_11759_front_door(entry_11759):
    row = map_entry(entry_11759).front_door
    assert (row["accession"], row["technique"], row["release_year"]) == (
        "EMPIAR-11759",
        "electron_microscopy",  # volume EM, not cryo-EM
        2024,
    )
    assert (row["dataset_size"], row["dataset_size_bytes"]) == ("1.2 GB", 1_200_000_000)
    assert (row["imageset_count"], row["image_count"]) == (1, 16)
    assert json.loads(row["categories"]) == ["reconstructed volumes"]
    assert json.loads(row["data_formats"]) == ["DM3"]
    assert row["pixel_size_min_a"] == 80.0
    assert links.stated(map_entry(entry_11759)) == []  # it links to no map or model
    assert row["corresponding_author"] == "Michaela Wilsch-Bräuninger"
    assert row["authors"] == "Wilsch-Bräuninger M"
    assert (row["citation_title"], row["citation_doi"], row["citation_year"]) == (
        "Developing retina in zebrafish 55 hpf larval eye.",
        None,
        None,
    )


def test_11759_records(entry_11759):
    m = map_entry(entry_11759)
    (image,) = of_type(m, lb.Image)
    assert image.image_type == "Image3D"  # "reconstructed volumes"
    assert (image.voxel_size.numeric_value, image.voxel_size.unit) == (80.0, "Angstroms")
    assert image.pixel_size is None
    assert (image.dimensions_x.numeric_value, image.dimensions_y.numeric_value) == (5628, 5632)
    (data_file,) = of_type(m, lb.DataFile)
    assert data_file.file_path == "https://ftp.ebi.ac.uk/empiar/world_availability/11759/data"
    assert (data_file.x_data_format, data_file.x_image_width) == ("DM3", 5628)
    (pub,) = of_type(m, lb.Publication)
    # No DOI and no PubMed id: the publication keeps a local id and is marked unpublished.
    assert (pub.id, pub.doi, pub.unpublished) == ("empiar:EMPIAR-11759/publication/1", None, True)
    (org,) = of_type(m, lb.Organization)
    assert (org.title, org.location, org.country) == (
        "Max Planck Institute of Molecular Cell Biology and Genetics",
        "Dresden",
        "Germany",
    )
    persons = {p.id: p for p in of_type(m, lb.Person)}
    # Without an ORCID the author, contact and PI rows are not merged (merging is by ORCID only).
    assert sorted(persons) == [
        "empiar:EMPIAR-11759/person/1",
        "empiar:EMPIAR-11759/person/contact",
        "empiar:EMPIAR-11759/person/pi-1",
    ]
    assert persons["empiar:EMPIAR-11759/person/pi-1"].email == "wilsch [at] mpi-cbg.de"
    links = of_type(m, lb.StudyPersonAssociation)
    roles = {(a.person_id.rsplit("/", 1)[-1], a.role) for a in links}
    assert roles == {("1", "author"), ("contact", "contact"), ("pi-1", "principal_investigator")}
    refs = of_type(m, lb.Study)[0].database_cross_references
    assert [(r.database_name, r.database_id) for r in refs] == [("empiar", "EMPIAR-11759")]
    assert refs[0].database_url == "https://doi.org/10.6019/EMPIAR-11759"


def test_10934_transcribed_imageset():
    """Super-resolution movies: sizes as strings, null frame range, a wildcard file pattern."""
    raw = recorded("empiar-EMPIAR-10934-imageset.json")
    iset = Imageset.model_validate(raw)
    assert iset.name == (
        "Multiframe micrographs of human Pol κ complexed with monoubiquitylated PCNA and DNA"
    )
    assert (iset.category, iset.header_format, iset.data_format) == (
        "micrographs - multiframe",
        "TIFF",
        "TIFF",
    )
    assert (iset.num_images_or_tilt_series, iset.frames_per_image) == (3889, 45)
    assert (iset.frame_range_min, iset.frame_range_max) == (None, None)
    assert (raw["image_width"], raw["image_height"]) == ("11520", "8184")
    assert (iset.image_width, iset.image_height) == (11520, 8184)
    assert (iset.pixel_width, iset.pixel_height) == (0.543, 0.543)
    assert iset.micrographs_file_pattern == (
        "data/CL44-1_20201106_111915/Images-Disc1/GridSquare_*/Data/FoilHole_*_fractions.tiff.bz2"
    )
    assert iset.picked_particles_file_pattern is None  # served as ""
    assert "1.086 Å/pix" in iset.details


def test_10934_imageset_maps_to_a_movie():
    """Inside an entry, the imageset becomes a TIFF movie file under the entry's own folder."""
    entry = Entry.model_validate(
        {
            "accession": "EMPIAR-10934",
            "title": "Cryo-EM multiframe micrographs of human Pol kappa complexed with DNA and "
            "monoubiquitylated PCNA",
            "imagesets": [recorded("empiar-EMPIAR-10934-imageset.json")],
        }
    )
    m = map_entry(entry)
    (data_file,) = of_type(m, lb.DataFile)
    assert data_file.file_path == (
        "https://ftp.ebi.ac.uk/empiar/world_availability/10934/data/CL44-1_20201106_111915"
    )
    assert (data_file.file_format, data_file.data_type) == ("tiff", "movie")
    (image,) = of_type(m, lb.Image)
    assert image.image_type == "Movie"
    assert (image.frames.numeric_value, image.pixel_size.numeric_value) == (45, 0.543)
    assert m.front_door["image_count"] == 3889
