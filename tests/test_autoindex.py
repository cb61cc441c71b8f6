"""Directory listings as EBI's file server serves them (Apache mod_autoindex, API-NOTES §1.12 and
§7.1), and the bad ones: each trouble is the directory's, in bounded time."""

from __future__ import annotations

import time

import pytest

from empiar_mirror.harvester import sample_trees
from empiar_mirror.harvester.raw import autoindex

HEAD = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html>\n <head>\n'
    "  <title>Index of /empiar/world_availability/10934</title>\n </head>\n <body>\n"
    "<h1>Index of /empiar/world_availability/10934</h1>\n  <table>\n"
    '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
    '<th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
    '<th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>\n'
    '   <tr><th colspan="5"><hr></th></tr>\n'
    '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td>'
    '<td><a href="/empiar/world_availability/">Parent Directory</a></td><td>&nbsp;</td>'
    '<td align="right">  - </td><td>&nbsp;</td></tr>\n'
)
TAIL = '   <tr><th colspan="5"><hr></th></tr>\n</table>\n</body></html>\n'


def row(href: str, text: str, when: str = "2022-01-26 12:24", size: str = " 12K") -> str:
    icon = "folder.gif" if href.endswith("/") else "unknown.gif"
    return (
        f'<tr><td valign="top"><img src="/icons/{icon}" alt="[   ]"></td>'
        f'<td><a href="{href}">{text}</a></td><td align="right">{when}  </td>'
        f'<td align="right">{size}</td><td>&nbsp;</td></tr>\n'
    )


def page(*rows: str) -> str:
    return HEAD + "".join(rows) + TAIL


def test_a_real_page_gives_its_rows_and_skips_sort_and_parent_links():
    listing = autoindex.parse(
        page(
            row("10934.xml", "10934.xml", size=" 12K"),
            row("data/", "data/", size="  - "),
            row(
                "FoilHole_1_Data_2_fractions.tiff", "FoilHole_1_Data_2_fractions.tiff", size="543M"
            ),
            row("gain%20ref.mrc", "gain ref.mrc", size="9.8K"),
            row("README", "README", when="26-Jan-2022 09:05", size="512 "),
        )
    )
    assert listing.problems == []
    assert [(r.name, r.is_dir, r.modified, r.size_text, r.size_bytes) for r in listing.rows] == [
        ("10934.xml", False, "2022-01-26T12:24", "12K", 12 * 1024),
        ("data", True, "2022-01-26T12:24", None, None),
        ("FoilHole_1_Data_2_fractions.tiff", False, "2022-01-26T12:24", "543M", 543 << 20),
        ("gain ref.mrc", False, "2022-01-26T12:24", "9.8K", round(9.8 * 1024)),
        ("README", False, "2022-01-26T09:05", "512", 512),
    ]


def test_the_preformatted_form_is_read_from_the_href_not_the_cut_text():
    html = (
        "<html><body><h1>Index of /x</h1><pre>"
        '<img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>  '
        '<a href="?C=M;O=A">Last modified</a>\n<hr>'
        '<img src="/icons/back.gif" alt="[PARENTDIR]"> <a href="/x/">Parent Directory</a>  -\n'
        '<img src="/icons/folder.gif" alt="[DIR]"> <a href="movies/">movies/</a>'
        "                 2023-05-01 10:00    -   \n"
        '<img src="/icons/unknown.gif" alt="[   ]"> <a href="a_very_long_name_of_a_movie.eer">'
        "a_very_long_name_of..&gt;</a> 2023-05-01 10:01  1.2G  \n<hr></pre></body></html>"
    )
    listing = autoindex.parse(html)
    assert [(r.name, r.is_dir, r.size_text) for r in listing.rows] == [
        ("movies", True, None),
        ("a_very_long_name_of_a_movie.eer", False, "1.2G"),
    ]


def test_the_loopback_archive_serves_what_the_parser_reads():
    tree = {"a.eer": "1.2G", "data": {"b.tiff": "543M"}}
    listing = autoindex.parse(
        sample_trees.page("/empiar/world_availability/1/", tree, "2024-01-02 10:00")
    )
    assert [(r.name, r.is_dir) for r in listing.rows] == [("a.eer", False), ("data", True)]


@pytest.mark.parametrize(
    "href, why",
    [
        ("..%2F..%2Fetc", "slash"),
        ("a%2Fb.tiff", "slash"),
        ("../", "loop"),
        ("./", "loop"),
        ("/empiar/world_availability/10934/", "loop"),
        ("https://elsewhere.example/x", "loop"),
        ("bell%07.tiff", "control"),
        ("new%0Aline.tiff", "control"),
        ("x" * 5000, "5,000 characters"),
        ("%FF%FE.tiff", "UTF-8"),
    ],
)
def test_a_name_that_is_no_child_is_the_directorys_problem(href, why):
    listing = autoindex.parse(page(row("good.tiff", "good.tiff"), row(href, "x")))
    assert [r.name for r in listing.rows] == ["good.tiff"]
    assert listing.problem_count == 1 and why in listing.problems[0]


@pytest.mark.parametrize("size", ["  - ", "1.2Z", "12Q", "9999999999K", "1e9"])
def test_a_size_no_unit_explains_is_kept_as_served_and_named(size):
    listing = autoindex.parse(page(row("movie.eer", "movie.eer", size=size)))
    (only,) = listing.rows
    assert only.size_bytes is None and listing.problem_count == 1


def test_a_name_listed_twice_is_named_and_kept_once():
    listing = autoindex.parse(page(row("a.tiff", "a.tiff"), row("a.tiff", "a.tiff", size="1.0G")))
    assert len(listing.rows) == 1 and "twice" in listing.problems[0]


def test_a_million_rows_is_refused_in_bounded_time():
    line = row("f.tiff", "f.tiff")
    html = HEAD + line * 1_000_000 + TAIL
    started = time.process_time()
    with pytest.raises(autoindex.ListingError) as caught:
        autoindex.parse(html)
    assert caught.value.kind == "too-many-rows"
    assert time.process_time() - started < 30


def test_one_long_line_costs_no_more_than_a_tidy_page():
    # No row ends: the text kept per row is bounded, the time linear.
    html = HEAD + '<tr><td><a href="a.tiff">a.tiff</a></td><td>' + "x " * 2_000_000 + TAIL
    started = time.process_time()
    listing = autoindex.parse(html)
    assert time.process_time() - started < 10
    assert listing.rows == [] or listing.rows[0].modified is None


def test_a_page_with_no_links_is_no_listing():
    with pytest.raises(autoindex.ListingError):
        autoindex.parse("<html><body>Service temporarily unavailable</body></html>")
