"""Download lists: an entry's files as TSV, URLs, aria2, wget and Globus lines; a path from the
archive never leaves the output directory."""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess

import pytest
from conftest import run_cli

from empiar_mirror.index import downloads

BASE = "https://ftp.ebi.ac.uk/empiar/world_availability/90014/"


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "data/../../x",
        "/etc/passwd",
        "data//x",
        "data/./x",
        "data\\..\\x",
        "data/bell\x07.tiff",
        "data/line\nbreak.tiff",
        "",
    ],
)
def test_a_path_that_could_leave_the_output_directory_is_refused(path):
    assert downloads.unsafe(path)


def test_a_plain_path_with_spaces_and_quotes_is_kept_and_quoted_each_way():
    file = downloads.File("EMPIAR-90014", "data/my movies/it's 1.eer", 1, "1", "movie")
    assert downloads.unsafe(file.path) is None
    (url,) = downloads.lines([file], "urls")
    assert url == BASE + "data/my%20movies/it%27s%201.eer"
    _, out = "".join(downloads.lines([file], "aria2")).split("\n")
    assert out == "  out=EMPIAR-90014/data/my movies/it's 1.eer"
    (globus,) = downloads.lines([file], "globus")
    assert shlex.split(globus) == [
        "/gridftp/empiar/world_availability/90014/data/my movies/it's 1.eer",
        "EMPIAR-90014/data/my movies/it's 1.eer",
    ]


def test_an_entrys_movies_as_urls_and_its_files_as_tsv(harvested_db):
    result = run_cli(
        "files", str(harvested_db), "EMPIAR-90014", "--role", "movie", "--format", "urls"
    )
    assert result.returncode == 0, result.stderr
    urls = result.stdout.splitlines()
    assert len(urls) == 60 and all(
        u.startswith(BASE + "data/eer/") and u.endswith(".eer") for u in urls
    )
    tsv = run_cli("files", str(harvested_db), "EMPIAR-90014").stdout.splitlines()
    assert tsv[0] == "accession\tpath\tsize_bytes\tsize_text\trole\turl"
    rows = [line.split("\t") for line in tsv[1:]]
    assert len(rows) == 125
    assert [
        "EMPIAR-90014",
        "data/eer/20231102_gain.gain",
        str(17 << 20),
        "17M",
        "gain_reference",
        BASE + "data/eer/20231102_gain.gain",
    ] in rows


def test_a_query_names_many_entries_and_the_wget_script_is_valid_shell(harvested_db, tmp_path):
    result = run_cli(
        "files",
        str(harvested_db),
        "--query",
        "select accession from empiar_entries where has_gain_reference order by accession",
        "--role",
        "gain_reference",
        "--format",
        "wget",
    )
    assert result.returncode == 0, result.stderr
    script = tmp_path / "get.sh"
    script.write_text(result.stdout)
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    assert result.stdout.count("\nwget -c -O ") == 8
    aria2 = run_cli(
        "files",
        str(harvested_db),
        "--query",
        "select accession from empiar_entries where has_gain_reference",
        "--format",
        "aria2",
        "--role",
        "gain_reference",
    ).stdout
    assert aria2.count("\n  out=EMPIAR-") == 8


def test_hostile_paths_in_the_file_are_refused_not_written(harvested_db, tmp_path):
    db = tmp_path / "m.db"
    shutil.copy(harvested_db, db)
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "insert into empiar_file (accession, path, role) values ('EMPIAR-90014', ?, 'movie')",
            [("data/eer/../../../../etc/cron.d/x",), ("/etc/passwd",), ("data/eer/a\x1b[2J.eer",)],
        )
    conn.close()
    for fmt in downloads.FORMATS:
        result = run_cli("files", str(db), "EMPIAR-90014", "--role", "movie", "--format", fmt)
        assert result.returncode == 1
        assert result.stderr.count("refused") == 3
        assert "etc" not in result.stdout and "\x1b" not in result.stdout
        assert result.stdout.count(".eer") >= 60


def test_usage_errors_say_so(harvested_db):
    assert run_cli("files", str(harvested_db)).returncode == 2
    assert run_cli("files", str(harvested_db), "EMPIAR-99999").returncode == 2
    assert run_cli("files", str(harvested_db), "EMPIAR-90014", "--role", "nope").returncode == 2
    bad = run_cli("files", str(harvested_db), "--query", "select title from empiar_entries")
    assert bad.returncode == 2 and "not an EMPIAR accession" in bad.stderr
