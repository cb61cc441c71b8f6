"""The loopback archive's file trees, built from a small description (`sample/trees.json`) and
each sample entry's imagesets, and served as Apache mod_autoindex pages in the format EBI's file
server sends (API-NOTES §1.12): so a demo or a test crawls realistic trees (EER and TIFF movies,
gain references, defect files, mdocs, tilt angles, STAR and box coordinates, READMEs) without
thousands of checked-in files."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from urllib.parse import quote

DESCRIPTION = Path(__file__).parent / "sample" / "trees.json"

# name -> (size text, or None for a directory)
Tree = dict[str, "str | Tree"]


def build(entry: dict, accession: str, description: dict | None = None) -> Tree:
    """An entry's tree: {name: size text | subtree}."""
    spec = description or json.loads(DESCRIPTION.read_text())
    number = accession.removeprefix("EMPIAR-")
    tree: Tree = {f"{number}.xml": " 12K"}
    for imageset in entry.get("imagesets") or []:
        kind = spec["kinds"].get(imageset.get("category") or "")
        directory = (imageset.get("directory") or "").strip("/")
        if kind is None or not directory:
            continue
        count = int(imageset.get("num_images_or_tilt_series") or 1)
        if kind.get("stacks"):
            count = math.ceil(count / spec["per_stack"])
        extension = spec["extensions"].get(imageset.get("data_format") or "", "mrc")
        folder = _folder(tree, directory)
        # Imagesets sharing a directory hold files of their own: numbering carries on.
        first = len(folder) + 1
        for n in range(first, first + min(count, spec["cap"])):
            folder[f"{kind['name'].format(n=n, k=n)}.{extension}"] = kind["size"]
    for item in spec["extra"].get(accession, []):
        path, _, size = item.partition(" ")
        folder_path, _, name = path.rpartition("/")
        _folder(tree, folder_path)[name] = size
    return tree


def _folder(tree: Tree, path: str) -> Tree:
    for part in filter(None, path.split("/")):
        tree = tree.setdefault(part, {})  # type: ignore[assignment]
    return tree


def find(tree: Tree, path: str) -> Tree | None:
    """The subtree at `path` ('' for the top), or None."""
    for part in filter(None, path.split("/")):
        child = tree.get(part)
        if not isinstance(child, dict):
            return None
        tree = child
    return tree


def page(title_path: str, folder: Tree, stamp: str) -> str:
    """An Apache 2.4 FancyIndexing HTMLTable page, as ftp.ebi.ac.uk serves it."""
    rows = []
    for name in sorted(folder):
        child = folder[name]
        is_dir = isinstance(child, dict)
        href = quote(name) + "/" * is_dir
        icon, alt = ("folder.gif", "[DIR]") if is_dir else ("unknown.gif", "[   ]")
        size = "  - " if is_dir else child
        shown = html.escape(name + "/" * is_dir)
        rows.append(
            f'<tr><td valign="top"><img src="/icons/{icon}" alt="{alt}"></td>'
            f'<td><a href="{href}">{shown}</a></td>'
            f'<td align="right">{stamp}  </td><td align="right">{size}</td><td>&nbsp;</td></tr>'
        )
    title = html.escape(title_path)
    parent = html.escape(title_path.rstrip("/").rsplit("/", 1)[0] + "/")
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html>\n <head>\n'
        f"  <title>Index of {title}</title>\n </head>\n <body>\n<h1>Index of {title}</h1>\n"
        '  <table>\n   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
        '<th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
        '<th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>\n'
        '   <tr><th colspan="5"><hr></th></tr>\n'
        '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td>'
        f'<td><a href="{parent}">Parent Directory</a></td><td>&nbsp;</td>'
        '<td align="right">  - </td><td>&nbsp;</td></tr>\n'
        + "\n".join(rows)
        + '\n   <tr><th colspan="5"><hr></th></tr>\n</table>\n</body></html>\n'
    )
