"""Mapping recorded EMPIAR responses to lambda-ber records (pure functions, no database), and the
purity of every archive's mapping."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from empiar_mirror.harvester.archives import MAPPERS
from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.mapping.from_empiar import map_entry
from empiar_mirror.harvester.raw.empiar import parse_entry
from empiar_mirror.harvester.replay import SAMPLE_DIR
from empiar_mirror.index import links
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.record import RELATED_EMDB, RELATED_PDB


def mapped(accession: str):
    path = SAMPLE_DIR / "empiar" / f"{accession}.json"
    return map_entry(parse_entry(json.loads(path.read_text()), accession))


def of_type(m, cls):
    return [r for r in m.records if type(r) is cls]


def test_recorded_10442_people_merge_across_roles():
    m = mapped("EMPIAR-10442")
    persons = {p.id: p for p in of_type(m, lb.Person)}
    belevich = persons["https://orcid.org/0000-0003-2190-4909"]
    # Author "Belevich I" and corresponding author Ilya Belevich are one person.
    assert belevich.full_name == "Belevich I"
    assert (belevich.given_name, belevich.family_name) == ("Ilya", "Belevich")
    assert belevich.affiliation.startswith("Electron Microscopy Unit")
    pi = persons["https://orcid.org/0000-0002-7287-8459"]
    assert pi.email == "yrjo.helariutta [at] slcu.cam.ac.uk"
    roles = sorted((a.person_id[-19:], a.role) for a in of_type(m, lb.StudyPersonAssociation))
    assert ("0000-0002-7287-8459", "principal_investigator") in roles
    assert ("0000-0003-2190-4909", "contact") in roles
    assert len(persons) == 4
    orgs = {o.id: o for o in of_type(m, lb.Organization)}
    assert orgs["empiar:organization/sainsbury-laboratory-university-of-cambridge"].country == (
        "United Kingdom"
    )


def test_recorded_10442_files_images_and_experiment():
    m = mapped("EMPIAR-10442")
    files = of_type(m, lb.DataFile)
    assert [f.id for f in files] == [f"empiar:EMPIAR-10442/imageset/{k}" for k in range(1, 5)]
    first = files[0]
    assert first.file_path == "https://ftp.ebi.ac.uk/empiar/world_availability/10442/data/MRC_Files"
    # An SBF-SEM section stack, filed as `micrographs - multiframe`: a volume, not a movie.
    assert (first.file_format, first.data_type) == ("mrc", "raw_data")
    assert first.x_frames_per_image == 1061
    image = of_type(m, lb.Image)[0]
    assert image.image_type == "Image3D" and image.frames is None
    assert image.dimensions_z.numeric_value == 1061 and image.pixel_size.unit == "Angstroms"
    experiment = of_type(m, lb.ExperimentRun)[0]
    assert (experiment.technique, experiment.experiment_code) == (
        "electron_microscopy",
        "EMPIAR-10442",
    )
    assert experiment.raw_data_location.endswith("/world_availability/10442/")
    metric = of_type(m, lb.AdditionalMetric)[0]
    assert (metric.attribute_id, metric.numeric_value, metric.unit) == (
        "empiar:dataset_size",
        43.2e9,
        "bytes",
    )
    refs = of_type(m, lb.Study)[0].database_cross_references
    assert refs[0].database_url == "https://doi.org/10.6019/EMPIAR-10442"


@pytest.mark.parametrize(
    "accession, technique, image_types",
    [
        ("EMPIAR-10988", "cryo_et", ["Movie", "Image3D", "Image2D"]),
        ("EMPIAR-11419", "electron_microscopy", ["Image2D"]),
        # "Sub-tomogram averaging in RELION": its words say cryo-ET.
        ("EMPIAR-10045", "cryo_et", ["Image2D"]),
    ],
)
def test_techniques_and_image_classes(accession, technique, image_types):
    m = mapped(accession)
    assert of_type(m, lb.ExperimentRun)[0].technique == technique
    assert [i.image_type for i in of_type(m, lb.Image)] == image_types


def test_grants_become_funders():
    m = mapped("EMPIAR-11419")
    (grant,) = of_type(m, lb.StudyOrganizationAssociation)
    funder = {o.id: o for o in of_type(m, lb.Organization)}[grant.organization_id]
    assert grant.role == "funder" and grant.award_number
    assert funder.organization_type == "funding_agency"


def test_old_record_without_contact_or_cross_references():
    m = mapped("EMPIAR-10045")
    assert m.front_door["corresponding_author"] is None
    assert links.stated(m) == []
    assert m.front_door["scale"] is None
    assert not of_type(m, lb.Publication)


def test_crafted_quirks_map_cleanly():
    linked = mapped("EMPIAR-90022")
    stated = [(link.relation, target) for link, target in links.stated(linked)]
    assert stated == [(RELATED_EMDB, "EMD-25107"), (RELATED_PDB, "7SGD")]
    names = {x.database_name for x in of_type(linked, lb.Study)[0].database_cross_references}
    assert names == {"empiar", "emdb", "pdb"}
    assert mapped("EMPIAR-90013").front_door["citation_year"] == 2019  # served as an integer
    obsolete = mapped("EMPIAR-90029").front_door
    assert (obsolete["status"], obsolete["obsolete_date"]) == ("OBS", "2023-04-03")


def test_shared_publication_and_person_have_global_ids():
    a, b = mapped("EMPIAR-90019"), mapped("EMPIAR-90021")
    pubs_a = {p.id for p in of_type(a, lb.Publication)}
    assert pubs_a == {p.id for p in of_type(b, lb.Publication)} == {"doi:10.5555/empiar-demo.90019"}
    orcid = "https://orcid.org/0000-0009-1373-0201"
    assert orcid in {p.id for p in of_type(a, lb.Person)} & {p.id for p in of_type(b, lb.Person)}


# Every answer of the bundled sample, with the mapper that reads it: the purity tests cover all.
SAMPLE_ANSWERS = [
    (source, path)
    for source, folder in (
        ("empiar", "empiar"),
        ("emdb", "emdb"),
        ("pdb", "rcsb/entry"),
        ("pdb_holdings", "rcsb/holdings/status"),
    )
    for path in sorted((SAMPLE_DIR / folder).glob("*.json"))
]


def written(source: str, accession: str, data) -> str:
    """All a mapping hands the store, as text: its ids, its front door, every record's rows."""
    m = MAPPERS[source](data, accession)
    rows = [r.rows() for r in m.records]
    return json.dumps([m.source, m.accession, m.dataset_id, m.front_door, rows], default=repr)


# A century ahead: a mapping that reads the clock writes another date, year or age.
LATER = dt.datetime(2126, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


class _LaterDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return LATER.astimezone(tz) if tz else LATER.replace(tzinfo=None)

    @classmethod
    def utcnow(cls):
        return LATER.replace(tzinfo=None)

    @classmethod
    def today(cls):
        return LATER.replace(tzinfo=None)


class _LaterDate(dt.date):
    @classmethod
    def today(cls):
        return LATER.date()


def _later_module(module: types.ModuleType, **names) -> types.ModuleType:
    later = types.ModuleType(module.__name__)
    later.__dict__.update(vars(module), **names)
    return later


def later_clocks(monkeypatch) -> None:
    """Every clock the project's modules hold (a `datetime` or `time` module, class or function
    they imported), set to LATER: the clock's own modules are C code, not patchable."""
    stamp = LATER.timestamp()
    later_time = _later_module(
        time,
        time=lambda: stamp,
        time_ns=lambda: int(stamp) * 10**9,
        localtime=lambda secs=None: time.localtime(stamp if secs is None else secs),
        gmtime=lambda secs=None: time.gmtime(stamp if secs is None else secs),
    )
    later = {
        id(dt): _later_module(dt, datetime=_LaterDatetime, date=_LaterDate),
        id(dt.datetime): _LaterDatetime,
        id(dt.date): _LaterDate,
        id(time): later_time,
        id(time.time): later_time.time,
    }
    for name, module in list(sys.modules.items()):
        if name.startswith("empiar_mirror."):
            for attr, value in list(vars(module).items()):
                if id(value) in later:
                    monkeypatch.setattr(module, attr, later[id(value)])


def test_mapping_is_pure(monkeypatch):
    """The same answer always gives the same rows: mapped again from a copy, after every other
    record, a century later, in another time zone and with the archives elsewhere; and the
    answer itself is left as it was (the raw payload is stored from it)."""
    answers = [(s, p.stem, json.loads(p.read_text())) for s, p in SAMPLE_ANSWERS]
    pristine = copy.deepcopy(answers)
    first = [written(*answer) for answer in answers]
    assert answers == pristine
    with monkeypatch.context() as changed:
        later_clocks(changed)
        changed.setenv("TZ", "Pacific/Kiritimati")
        time.tzset()
        for name in Endpoints.env_vars().values():
            changed.setenv(name, "http://127.0.0.1:9/elsewhere/")
        again = [written(*answer) for answer in copy.deepcopy(answers[::-1])][::-1]
    time.tzset()
    for (source, accession, _), before, after in zip(answers, first, again, strict=True):
        assert after == before, (source, accession)
    assert answers == pristine


def test_mapping_does_not_depend_on_the_hash_seed():
    """The rows come out in the same order whatever order sets and hashes iterate in: the
    sample mapped in processes of two hash seeds, and here."""
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from test_mapping_empiar import SAMPLE_ANSWERS, written; "
        "print(json.dumps([written(s, p.stem, json.loads(p.read_text())) "
        "for s, p in SAMPLE_ANSWERS]))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(Path(__file__).parent)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "2")
    ]
    here = [written(s, p.stem, json.loads(p.read_text())) for s, p in SAMPLE_ANSWERS]
    for run in runs:
        out, _ = run.communicate(timeout=300)
        assert run.returncode == 0
        for (source, path), ours, theirs in zip(SAMPLE_ANSWERS, here, json.loads(out), strict=True):
            assert theirs == ours, (source, path.stem)
