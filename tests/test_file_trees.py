"""Every file of every entry: the crawl over the loopback archive's autoindex pages, incremental,
resumable per directory, and never losing a file on one listing's absence."""

from __future__ import annotations

import copy
import json

from conftest import harvest, query

from empiar_mirror.harvester import sample_trees
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer

ACC = "EMPIAR-90014"
LISTING = "/empiar/world_availability/90014/"


def sample_tree(acc: str = ACC) -> dict:
    entry = next(iter(json.loads((SAMPLE_DIR / "empiar" / f"{acc}.json").read_text()).values()))
    return sample_trees.build(entry, acc)


def files(db, acc=ACC) -> dict[str, tuple]:
    rows = query(
        db,
        "select path, size_bytes, size_text, role, imageset, missing_listings, removed_on "
        "from empiar_file where accession = ?",
        (acc,),
    )
    return {r[0]: r[1:] for r in rows}


def test_the_sample_trees_land_with_roles_and_imagesets(tmp_path):
    db = tmp_path / "m.db"
    with ReplayServer([SAMPLE_DIR]) as srv:
        result = harvest(srv, db, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["files"]
    assert summary["entries"] == 36 and summary["failed"] == 0
    assert summary["files"] == query(db, "select count(*) from empiar_file")[0][0]
    got = files(db)
    assert got["data/eer/20231102_gain.gain"][2:4] == ("gain_reference", 1)
    assert got["data/eer/defects.txt"][2] == "defect_map"
    assert got["data/coordinates/micrograph_00001.cbox"][2:4] == ("particle_coordinates", None)
    assert got["90014.xml"][2] == "header_xml"
    movie = got["data/eer/FoilHole_00000001_Data_28460001_fractions.eer"]
    assert movie[:4] == (round(1.2 * 2**30), "1.2G", "movie", 1)
    assert query(
        db,
        "select path, file_count, subdirectory_count from empiar_directory "
        "where accession = ? order by path",
        (ACC,),
    ) == [
        ("", 2, 1),
        ("data", 0, 3),
        ("data/class_averages", 60, 0),
        ("data/coordinates", 1, 0),
        ("data/eer", 62, 0),
    ]
    # Every directory listed once; the entry's own directory is marked listed whole.
    assert srv.hits[LISTING + "data/eer/"] == 1
    (top,) = query(
        db,
        "select modified, listed_at from empiar_directory where accession = ? and path = ''",
        (ACC,),
    )
    assert top[0] == "2020-08-03T10:00" and top[1]


def test_an_unchanged_archive_lists_no_tree_again_and_a_changed_entry_only_what_changed(
    tmp_path,
):
    db = tmp_path / "m.db"
    tree = sample_tree()
    with ReplayServer([SAMPLE_DIR], trees={ACC: tree}) as srv:
        assert harvest(srv, db).returncode == 0
        before = dict(srv.hits)
        assert harvest(srv, db).returncode == 0
        assert srv.hits[LISTING] == before[LISTING]  # not even the entry's own directory
        # The entry changes: a movie is added in data/eer, whose time moves.
        srv.snapshot.update_date = lambda acc, f=srv.snapshot.update_date: (
            "2025-01-01" if acc == ACC else f(acc)
        )
        tree["data"]["eer"]["new_movie.eer"] = "1.1G"
        assert harvest(srv, db).returncode == 0
    assert srv.hits[LISTING] == before[LISTING] + 1
    assert srv.hits[LISTING + "data/"] == before[LISTING + "data/"] + 1
    assert srv.hits[LISTING + "data/eer/"] == before[LISTING + "data/eer/"] + 1
    assert files(db)["data/eer/new_movie.eer"][2] == "movie"


def test_a_file_missing_from_one_listing_is_kept_and_from_two_marked_removed(tmp_path):
    db = tmp_path / "m.db"
    tree = sample_tree()
    days = iter(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"])
    with ReplayServer([SAMPLE_DIR], trees={ACC: tree}) as srv:
        day = {"now": next(days)}
        srv.snapshot.update_date = lambda acc, f=srv.snapshot.update_date: (
            day["now"] if acc == ACC else f(acc)
        )
        assert harvest(srv, db, "--ids", ACC).returncode == 0
        gone = "data/eer/defects.txt"
        del tree["data"]["eer"]["defects.txt"]  # one back end drops a name
        day["now"] = next(days)
        assert harvest(srv, db, "--ids", ACC).returncode == 0
        assert files(db)[gone][4:] == (1, None)
        assert query(
            db,
            "select count(*) from empiar_file where accession = ? and removed_on is null",
            (ACC,),
        )[0][0] == len(files(db))
        day["now"] = next(days)
        assert harvest(srv, db, "--ids", ACC).returncode == 0
        assert files(db)[gone][4] == 2 and files(db)[gone][5] is not None
        tree["data"]["eer"]["defects.txt"] = "1.2K"  # back again: the mark goes
        day["now"] = next(days)
        assert harvest(srv, db, "--ids", ACC).returncode == 0
        assert files(db)[gone][4:] == (0, None)


def test_a_failing_directory_is_its_entrys_error_and_the_crawl_resumes_there(tmp_path):
    db = tmp_path / "m.db"
    faults = {LISTING + "data/eer/": ["404"]}
    with ReplayServer([SAMPLE_DIR], faults=faults) as srv:
        first = harvest(srv, db)
        assert first.returncode == 1
        (error,) = query(db, "select source, accession, kind, service, message from harvest_errors")
        assert error[:4] == ("empiar_files", ACC, "http", "empiar_files")
        assert "data/eer" in error[4]
        # Every other entry's tree landed; this one is not marked listed whole.
        assert (
            query(
                db,
                "select count(*) from empiar_directory where path = '' and listed_at is not null",
            )[0][0]
            == 35
        )
        assert not any(p.startswith("data/eer/") for p in files(db))
        hits = dict(srv.hits)
        second = harvest(srv, db)
    assert second.returncode == 0, second.stderr
    # Only this entry was listed again; its leaf directories listed whole were skipped.
    assert srv.hits[LISTING + "data/eer/"] == hits[LISTING + "data/eer/"] + 1
    assert srv.hits[LISTING + "data/class_averages/"] == hits[LISTING + "data/class_averages/"]
    assert (
        srv.hits["/empiar/world_availability/90017/"] == hits["/empiar/world_availability/90017/"]
    )
    assert any(p.startswith("data/eer/") for p in files(db))


def test_hostile_listings_are_their_directorys_error_never_the_runs(tmp_path):
    db = tmp_path / "m.db"
    tree = copy.deepcopy(sample_tree())
    # A loop: a directory holding itself, listed deeper and deeper.
    loop: dict = {}
    loop["again"] = loop
    tree["data"]["loop"] = loop
    bad = (
        b'<html><body><table><tr><td><a href="?C=N;O=D">Name</a></td></tr>'
        b'<tr><td><a href="../">../</a></td><td>2024-01-01 10:00</td><td> - </td></tr>'
        b'<tr><td><a href="x%2F..%2Fy">x</a></td><td>2024-01-01 10:00</td><td>1.2Z</td></tr>'
        b'<tr><td><a href="fine.tiff">fine.tiff</a></td><td>2024-01-01 10:00</td>'
        b"<td>1.0G</td></tr></table></body></html>"
    )
    with ReplayServer(
        [SAMPLE_DIR], trees={ACC: tree}, bodies={LISTING + "data/coordinates/": bad}
    ) as srv:
        result = harvest(srv, db)
    assert result.returncode == 1
    errors = query(db, "select accession, kind, message from harvest_errors order by message")
    assert {e[0] for e in errors} == {ACC}
    assert any("loop" in e[2] for e in errors) and any("slash" in e[2] for e in errors)
    assert any("deeper" in e[2] for e in errors)
    assert files(db)["data/coordinates/fine.tiff"][1] == "1.0G"
    assert (
        query(
            db, "select count(*) from empiar_directory where path = '' and listed_at is not null"
        )[0][0]
        == 35
    )


def test_no_files_skips_the_trees(tmp_path):
    db = tmp_path / "m.db"
    with ReplayServer([SAMPLE_DIR]) as srv:
        assert harvest(srv, db, "--no-files", "--no-linked").returncode == 0
    assert query(db, "select count(*) from empiar_file")[0][0] == 0
    assert srv.hits[LISTING] == 0


def test_the_files_decide_each_entrys_facts_and_its_gain_reference(harvested_db):
    facts = query(
        harvested_db,
        "select accession, file_count, movie_format, has_gain_reference, has_defect_map, "
        "has_particle_coordinates, has_mdoc, files_listed_at is not null from empiar_entries "
        "where accession in ('EMPIAR-90014', 'EMPIAR-10988', 'EMPIAR-90022') order by accession",
    )
    assert facts == [
        ("EMPIAR-10988", 85, "TIFF", 1, 0, 0, 1, 1),
        ("EMPIAR-90014", 125, "EER", 1, 1, 1, 0, 1),
        ("EMPIAR-90022", 61, "MRC", 0, 0, 0, 0, 1),
    ]
    assert query(
        harvested_db,
        "select sum(file_count), sum(file_bytes) from empiar_entries",
    ) == query(harvested_db, "select count(*), sum(size_bytes) from empiar_file")
    assert query(
        harvested_db,
        "select x_num_images_or_tilt_series, x_files_found from data_file "
        "where id = 'empiar:EMPIAR-90019/imageset/3'",
    ) == [(41, 41)]
    checks = dict(
        query(
            harvested_db,
            "select accession || ' ' || rule, passed from metadata_check where rule in "
            "('gain_reference', 'files_match_declaration')",
        )
    )
    # EER with a .gain file; integer movies without one; 41 tomograms for 41 declared.
    assert checks["EMPIAR-90014 gain_reference"] == 1
    assert checks["EMPIAR-90022 gain_reference"] == 0
    assert checks["EMPIAR-90019 files_match_declaration"] == 0  # 41 of 18,432 subtomograms
    assert checks["EMPIAR-11419 files_match_declaration"] == 1


def test_without_files_the_facts_stay_empty_and_the_words_decide(tmp_path):
    db = tmp_path / "m.db"
    with ReplayServer([SAMPLE_DIR]) as srv:
        assert harvest(srv, db, "--no-files", "--ids", "EMPIAR-90014").returncode == 0
    assert query(
        db, "select file_count, has_gain_reference, files_listed_at from empiar_entries"
    ) == [(None, None, None)]
    assert query(
        db,
        "select passed, detail from metadata_check where rule = 'files_match_declaration'",
    ) == [(None, "files not listed")]


def test_progress_counts_directories_and_files(tmp_path):
    with ReplayServer([SAMPLE_DIR]) as srv:
        result = harvest(srv, tmp_path / "m.db", "--progress", "--no-linked")
    assert result.returncode == 0, result.stderr
    shown = result.stderr.replace("\r", "\n")
    assert "Listing files (148 directories, 2425 files)" in shown
