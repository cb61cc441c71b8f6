"""A loopback server that answers like EBI and RCSB, from a snapshot of files.

The demo and the tests point the real harvester at it, so they exercise the same HTTP code as a
live harvest. A snapshot directory holds the bodies of single-record answers, exactly as the
services send them: `empiar/EMPIAR-NNNNN.json` (EMPIAR `entry/`), `emdb/EMD-N.json` (EMDB
`entry/`), `rcsb/entry/ID.json` (an RCSB entry under its GraphQL, i.e. mmCIF, field names) and
`rcsb/holdings/status/ID.json`; a map's validation analysis as the analysis route sends it,
`emdb/analysis/EMD-N.json`, and its search-index fields (`emdb/search_fields/EMD-N.json`, an
object of Solr field to value), from which the search route's CSV answers are built. The file
listing, EBI Search pages, EMDB search answers, RCSB
GraphQL answers and RCSB REST `core/entry/` answers (re-spelled as REST spells them, see
`rest_spelled`) are derived from them.
Faults can be scripted per URL path to rehearse what the real services do on a bad day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from empiar_mirror.harvester import sample_trees

SAMPLE_DIR = Path(__file__).parent / "sample"
# The size of a `huge_analysis` answer: past any bound the harvester puts on one.
HUGE_ANALYSIS = 40 * 1024 * 1024
# The bulk files `harvest --emdb all` reads, at the real services' paths below the base URL.
EMDB_HOLDINGS_PATH = "/pub/databases/emdb/status/latest/emdb_released_holdings.json"
PDB_LAST_MODIFIED_PATH = "/pub/pdb/holdings/released_structures_last_modified_dates.json.gz"
_ENTRY_RE = re.compile(r"^(?:EMPIAR-)?(\d{5,})$", re.IGNORECASE)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""').replace(",", "\\,") + '"'
    return text


def rest_name(name: str) -> str:
    """How RCSB's REST route spells a GraphQL (mmCIF) field name: snake_case of its camelCase,
    splitting only where a lower-case letter or digit meets a capital (`em_3d_reconstruction` ->
    `em3d_reconstruction`, `pdbx_database_id_PubMed` -> `pdbx_database_id_pub_med`)."""
    head, *rest = name.split("_")
    camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", camel).lower()


def rest_spelled(doc: object) -> object:
    """An RCSB document with every key, at every depth, spelled as the REST route spells it."""
    if isinstance(doc, dict):
        return {rest_name(k): rest_spelled(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [rest_spelled(v) for v in doc]
    return doc


def holdings_entry(emdb_id: str, date: str) -> dict:
    """A map's entry in EMDB's holdings file, with the files a real entry has (header, map,
    half maps, a mask, an FSC curve, a validation report), all last updated on `date`."""
    n = emdb_id.removeprefix("EMD-")
    kinds = {
        "headers": [f"emd-{n}-v30.xml"],
        "map": [f"emd_{n}.map.gz"],
        "half_maps": [f"emd_{n}_half_map_1.map.gz", f"emd_{n}_half_map_2.map.gz"],
        "masks": [f"emd_{n}_msk_1.map"],
        "fscs": [f"emd_{n}_fsc.xml"],
        "validation_reports": [f"emd_{n}_full_validation.pdf.gz"],
    }
    entry: dict = {"entry_last_update": date, "validation_reports_last_update": date}
    for kind, names in kinds.items():
        entry[kind] = [
            {
                "file_name": name,
                "md5_checksum": hashlib.md5(f"{name} {date}".encode()).hexdigest(),
                "last_update": date,
            }
            for name in names
        ]
    return entry


class Snapshot:
    """Record files from one or more directories; later directories override earlier ones."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.entries: dict[str, Path] = {}
        self.maps: dict[str, Path] = {}
        self.models: dict[str, Path] = {}
        self.holdings: dict[str, Path] = {}
        self.analyses: dict[str, Path] = {}
        self.search_fields: dict[str, Path] = {}
        for root in map(Path, roots):
            for folder, found in (
                ("empiar", self.entries),
                ("emdb", self.maps),
                ("emdb/analysis", self.analyses),
                ("emdb/search_fields", self.search_fields),
                ("rcsb/entry", self.models),
                ("rcsb/holdings/status", self.holdings),
            ):
                for path in sorted((root / folder).glob("*.json")):
                    found[path.stem.upper() if folder.startswith("rcsb") else path.stem] = path

    def update_date(self, accession: str) -> str:
        try:
            body = json.loads(self.entries[accession].read_bytes())
            entry = next(iter(body.values())) if isinstance(body, dict) else {}
            return str(entry.get("update_date") or entry.get("release_date") or "2000-01-01")
        except (ValueError, StopIteration, AttributeError):
            return "2000-01-01"


class ReplayServer:
    """Serve a snapshot on 127.0.0.1 from a background thread: `start()` returns the base URL.

    `faults` maps a request path to a list of scripted answers used one per request before the
    real answer: an int status ("503"), "429:<seconds>" (with Retry-After), "html" (an HTML page
    with status 200), "garbage" (invalid JSON), "truncated" (body shorter than its
    Content-Length), "reset" (the connection dropped mid-body), "stall:<seconds>" (no answer for
    that long), "drift" (the record's shape changed: wrong types, a missing key).
    `hidden` lists accessions left out of the file listing and EBI Search (listings drop names).
    `batch_omit` lists EMDB and PDB ids that batch answers leave out although the single-record
    routes serve them; `batch_twice` lists ids they answer twice, the second copy differing.
    With `validators`, single-record answers carry an ETag and honour
    If-None-Match with a 304. `latency` (seconds) delays every answer, as a distant server does.
    `empiar_post` says how EMPIAR's `POST entry/` answers: None, refused with a 405 (a server
    without the route); "keyed", as the 2018 spec describes the request (a comma list and dash
    ranges of ids, in the path or the body) and with the single route's shape, an object keyed
    by accession, ids it does not hold (or in `batch_omit`) absent; "array", the spec's literal
    answer, an array of bare entries: a shape the harvester must not take for the GET's.
    `bodies` maps a request path to the exact bytes answered there with status 200 (as HTML when
    they begin with "<", else as JSON): crafted listings, search pages, records, bulk files.
    EMDB's search CSV answers (`wt=csv`) carry the `fl` fields, less `csv_drop` and plus
    `csv_extra` (as a server that ignores part of `fl`), and a row for each id in `csv_unasked`
    whatever was asked. The analysis of each map in `huge_analysis` is a valid JSON document of
    HUGE_ANALYSIS bytes, sent as it is written.
    EMDB's holdings file (`EMDB_HOLDINGS_PATH`) lists the snapshot's released maps with crafted
    file lists (`emdb_holdings_document`); wwPDB's last-modified file (`PDB_LAST_MODIFIED_PATH`,
    gzip) the snapshot's models, keyed in lower case.
    Each entry's directory on the file server is served as autoindex pages of its tree: from
    `trees` ({accession: tree}, see `sample_trees`) where given, else built from the entry's
    imagesets and `sample/trees.json`.
    """

    def __init__(
        self,
        roots: Iterable[Path] = (SAMPLE_DIR,),
        *,
        faults: dict[str, list[str]] | None = None,
        hidden: Iterable[str] = (),
        batch_omit: Iterable[str] = (),
        batch_twice: Iterable[str] = (),
        validators: bool = False,
        latency: float = 0.0,
        bodies: dict[str, bytes] | None = None,
        empiar_post: str | None = None,
        trees: dict[str, sample_trees.Tree] | None = None,
        csv_drop: Iterable[str] = (),
        csv_extra: Iterable[str] = (),
        csv_unasked: Iterable[str] = (),
        huge_analysis: Iterable[str] = (),
    ) -> None:
        self.snapshot = Snapshot(roots)
        self.csv_drop = set(csv_drop)
        self.csv_extra = list(csv_extra)
        self.csv_unasked = list(csv_unasked)
        self.huge_analysis = set(huge_analysis)
        self.batch_omit = set(batch_omit)
        self.batch_twice = set(batch_twice)
        self.validators = validators
        self.latency = latency
        self.faults = {path: list(script) for path, script in (faults or {}).items()}
        self.hidden = set(hidden)
        self.bodies = dict(bodies or {})
        self.empiar_post = empiar_post
        self.trees = dict(trees or {})
        self.hits: Counter[str] = Counter()
        self.last_headers: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoints(self):
        from empiar_mirror.harvester.endpoints import Endpoints

        base = self.base_url
        return Endpoints(
            empiar_api=f"{base}/empiar/api",
            empiar_files=f"{base}/empiar/world_availability",
            ebi_search=f"{base}/ebisearch/ws/rest",
            emdb_api=f"{base}/emdb/api",
            rcsb_api=f"{base}/rcsb",
            emdb_files=f"{base}/pub/databases/emdb",
            wwpdb_files=f"{base}/pub/pdb",
        )

    def env(self) -> dict[str, str]:
        """The EMPIAR_MIRROR_* variables that point a harvest at this server."""
        return {
            f"EMPIAR_MIRROR_{name.upper()}": value for name, value in vars(self.endpoints()).items()
        }

    # --- request handling -------------------------------------------------------------------

    async def _fault(self, request: web.Request) -> web.StreamResponse | None:
        script = self.faults.get(request.path)
        if not script:
            return None
        fault = script.pop(0)
        kind, _, arg = fault.partition(":")
        if kind == "429" and arg:
            return web.json_response(
                {"detail": "slow down"}, status=429, headers={"Retry-After": arg}
            )
        if kind.isdigit():
            return web.json_response({"detail": "scripted failure"}, status=int(kind))
        if kind == "html":
            return web.Response(
                text="<html><body><h1>Service temporarily unavailable</h1></body></html>",
                content_type="text/html",
            )
        if kind == "garbage":
            return web.Response(text='{"EMPIAR-', content_type="application/json")
        if kind == "stall":
            await asyncio.sleep(float(arg or 30))
            return None
        if kind == "drift":
            # The entry asked for (an answer about another one is an identity error instead).
            match = _ENTRY_RE.match(request.path.rstrip("/").rsplit("/", 1)[-1])
            acc = f"EMPIAR-{match.group(1)}" if match else "EMPIAR-10442"
            return web.json_response(
                {acc: {"imagesets": {"name": 7}, "authors": "many", "dataset_size": []}}
            )
        if kind == "reset":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.content_length = 10_000
            await response.prepare(request)
            await response.write(b'{"EMPIAR-10442": {"ima')
            request.transport.abort()
            return response
        if kind == "truncated":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.content_length = 10_000
            await response.prepare(request)
            await response.write(b'{"EMPIAR-10442": {"title": "cut sh')
            request.transport.close()
            return response
        raise ValueError(f"unknown fault {fault!r}")

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        self.hits[request.path] += 1
        self.last_headers = dict(request.headers)
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = await self._fault(request)
        if fault is not None:
            return fault
        body = self.bodies.get(request.path)
        if body is not None:
            html = body.lstrip()[:1] == b"<"
            return web.Response(body=body, content_type="text/html" if html else "application/json")
        return await handler(request)

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        match = _ENTRY_RE.match(request.match_info["acc"])
        path = self.snapshot.entries.get(f"EMPIAR-{match.group(1)}") if match else None
        if path is None:
            return web.json_response({"detail": "Not found."}, status=404)
        return self._file(request, path)

    async def _entries(self, request: web.Request) -> web.Response:
        if self.empiar_post is None:
            return web.json_response({"detail": 'Method "POST" not allowed.'}, status=405)
        spec = request.match_info.get("ids") or (await request.text()).strip().strip('"')
        numbers: list[int] = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            low, _, high = (s.strip() for s in re.sub("(?i)EMPIAR-", "", part).partition("-"))
            if not low.isdigit() or not (high or low).isdigit():
                return web.json_response({"detail": f"not an id or range: {part}"}, status=400)
            numbers += range(int(low), int(high or low) + 1)
        found = {}
        for acc in (f"EMPIAR-{n}" for n in dict.fromkeys(numbers)):
            path = self.snapshot.entries.get(acc)
            if path is not None and acc not in self.batch_omit:
                found.update(json.loads(path.read_bytes()))  # {accession: entry}, as GET sends
        if self.empiar_post == "array":
            return web.json_response(list(found.values()))
        return web.json_response(found)

    def _file(self, request: web.Request, path: Path) -> web.Response:
        return self._body(request, path.read_bytes())

    def _body(self, request: web.Request, body: bytes) -> web.Response:
        """A single-record answer, with validators when the server is asked to send them."""
        if not self.validators:
            return web.Response(body=body, content_type="application/json")
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/json", headers={"ETag": etag})

    def _listed(self) -> list[str]:
        return [acc for acc in self.snapshot.entries if acc not in self.hidden]

    async def _listing(self, request: web.Request) -> web.Response:
        rows = []
        for acc in sorted(self._listed()):
            number = acc.removeprefix("EMPIAR-")
            stamp = dt.date.fromisoformat(self.snapshot.update_date(acc)[:10])
            rows.append(
                f'<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td>'
                f'<td><a href="{number}/">{number}/</a></td>'
                f'<td align="right">{stamp.isoformat()} 10:00  </td>'
                f'<td align="right">  - </td><td>&nbsp;</td></tr>'
            )
        body = (
            '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html><head>'
            "<title>Index of /empiar/world_availability</title></head><body>"
            "<h1>Index of /empiar/world_availability</h1><table>"
            '<tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
            '<th><a href="?C=S;O=A">Size</a></th></tr>'
            '<tr><td><a href="/empiar/">Parent Directory</a></td></tr>'
            + "\n".join(rows)
            + "</table></body></html>"
        )
        return web.Response(text=body, content_type="text/html")

    def _tree(self, accession: str) -> sample_trees.Tree | None:
        if accession not in self.trees:
            path = self.snapshot.entries.get(accession)
            if path is None:
                return None
            try:
                entry = next(iter(json.loads(path.read_bytes()).values()))
            except (ValueError, StopIteration, AttributeError):
                return None
            self.trees[accession] = sample_trees.build(entry, accession)
        return self.trees[accession]

    async def _directory(self, request: web.Request) -> web.Response:
        number, path = request.match_info["number"], request.match_info["path"]
        accession = f"EMPIAR-{number}"
        tree = self._tree(accession)
        folder = None if tree is None else sample_trees.find(tree, path)
        if folder is None or (path and not path.endswith("/")):
            return web.Response(status=404, text="Not Found")
        stamp = self.snapshot.update_date(accession)[:10] + " 10:00"
        body = sample_trees.page(request.path, folder, stamp)
        return web.Response(text=body, content_type="text/html")

    async def _search(self, request: web.Request) -> web.Response:
        ids = sorted(self._listed())
        start = int(request.query.get("start", 0))
        size = min(int(request.query.get("size", 15)), 100)
        page = [{"id": acc, "source": "empiar"} for acc in ids[start : start + size]]
        return web.json_response({"hitCount": len(ids), "entries": page, "facets": []})

    async def _emdb_entry(self, request: web.Request) -> web.Response:
        path = self.snapshot.maps.get(request.match_info["id"].upper())
        if path is None:
            return web.json_response({"detail": "Not found."}, status=404)
        return self._file(request, path)

    async def _emdb_search(self, request: web.Request) -> web.Response:
        # Only the id queries the harvester sends are understood: emdb_id:"EMD-1" OR ...
        ids = re.findall(r"EMD-\d+", request.match_info["query"], re.IGNORECASE)
        rows = int(request.query.get("rows", 20))
        page = int(request.query.get("page", 1))
        if request.query.get("wt") == "csv":
            return self._emdb_csv(request, [i.upper() for i in ids], rows, page)
        docs = []
        for emd in dict.fromkeys(i.upper() for i in ids):
            path = self.snapshot.maps.get(emd)
            if path is not None and emd not in self.batch_omit:
                # Search rows carry the database's internal id, as EMDB's do.
                internal_id = hashlib.sha1(emd.encode()).hexdigest()[:24]
                docs.append({"_id": internal_id, **json.loads(path.read_bytes())})
                if emd in self.batch_twice:
                    first = docs[-1]
                    docs.append({**first, "admin": {**first["admin"], "title": "another copy"}})
        return web.json_response(docs[(page - 1) * rows : page * rows])

    def _search_fields(self, emd: str) -> dict[str, object]:
        """A map's search-index fields: its own file's, over the id and title of its entry."""
        doc = json.loads(self.snapshot.maps[emd].read_bytes())
        title = (doc.get("admin") or {}).get("title") if isinstance(doc, dict) else None
        fields: dict[str, object] = {"emdb_id": emd, "title": title}
        path = self.snapshot.search_fields.get(emd)
        if path is not None:
            fields.update(json.loads(path.read_bytes()))
        return fields

    def _emdb_csv(self, request: web.Request, ids: list[str], rows: int, page: int):
        """A CSV answer as Solr writes it: the header names the fields, a list is comma-joined,
        a field holding a comma, quote or newline is quoted, its commas backslash-escaped."""
        asked = [f for f in request.query.get("fl", "emdb_id").split(",") if f]
        header = [f for f in asked if f not in self.csv_drop] + self.csv_extra
        held = self.snapshot.maps
        found = [i for i in dict.fromkeys(ids) if i in held and i not in self.batch_omit]
        found += [i for i in self.csv_unasked if i in held and i not in found]
        lines = [",".join(header)]
        for emd in found[(page - 1) * rows : page * rows]:
            fields = self._search_fields(emd)
            lines.append(",".join(_csv_cell(fields.get(f)) for f in header))
            if emd in self.batch_twice:
                other = {**fields, "resolution": 99.9}
                lines.append(",".join(_csv_cell(other.get(f)) for f in header))
        return web.Response(text="\n".join(lines) + "\n", content_type="text/csv")

    async def _emdb_analysis(self, request: web.Request) -> web.StreamResponse:
        number = request.match_info["id"].upper().removeprefix("EMD-")
        emd = f"EMD-{number}"
        if emd in self.huge_analysis:
            return await self._huge(request, number)
        path = self.snapshot.analyses.get(emd)
        if path is None:
            return web.json_response({"detail": "Not found."}, status=404)
        return self._file(request, path)

    async def _huge(self, request: web.Request, number: str) -> web.StreamResponse:
        """A well-formed analysis of HUGE_ANALYSIS bytes, written a megabyte at a time."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b"0," * (512 * 1024)
        try:
            await response.write(b'{"%s": {"residue_values": [' % number.encode())
            for _ in range(HUGE_ANALYSIS // len(chunk)):
                await response.write(chunk)
            await response.write(b"0]}}")
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client stopped reading, as it should
        return response

    def emdb_holdings_document(self) -> dict[str, dict]:
        """EMDB's holdings file for the snapshot's released maps: each map's update date, and
        the files a real entry has (header, map, half maps, a mask, an FSC curve, reports)."""
        found: dict[str, dict] = {}
        for emdb_id, path in sorted(self.snapshot.maps.items()):
            admin = json.loads(path.read_bytes()).get("admin") or {}
            status = ((admin.get("current_status") or {}).get("code") or {}).get("valueOf_")
            if status not in (None, "REL"):
                continue
            dates = admin.get("key_dates") or {}
            date = str(dates.get("update") or dates.get("map_release") or "2000-01-01")[:10]
            found[emdb_id] = holdings_entry(emdb_id, date)
        return found

    def pdb_last_modified_document(self) -> dict[str, str]:
        """wwPDB's last-modified file for the snapshot's models."""
        found = {}
        for pdb_id, path in sorted(self.snapshot.models.items()):
            info = json.loads(path.read_bytes()).get("rcsb_accession_info") or {}
            date = str(info.get("revision_date") or "2000-01-01T00:00:00+0000")
            found[pdb_id.lower()] = date[:19] + "+00:00"
        return found

    async def _emdb_holdings(self, request: web.Request) -> web.Response:
        body = json.dumps(self.emdb_holdings_document(), indent=1).encode()
        return web.Response(body=body, content_type="application/json")

    async def _pdb_last_modified(self, request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps(self.pdb_last_modified_document()).encode())
        return web.Response(body=body, content_type="application/octet-stream")

    async def _rcsb_entry(self, request: web.Request) -> web.Response:
        pdb_id = request.match_info["id"].upper()
        path = self.snapshot.models.get(pdb_id)
        if path is None:
            message = f"No data found for entry with ID: {pdb_id}"
            return web.json_response({"status": 404, "message": message}, status=404)
        doc = rest_spelled(json.loads(path.read_bytes()))
        return self._body(request, json.dumps(doc, indent=2, ensure_ascii=False).encode())

    async def _rcsb_holdings(self, request: web.Request) -> web.Response:
        pdb_id = request.match_info["id"].upper()
        path = self.snapshot.holdings.get(pdb_id)
        if path is None:
            if pdb_id in self.snapshot.models:
                body = {
                    "rcsb_id": pdb_id,
                    "rcsb_repository_holdings_combined": {
                        "status": "CURRENT",
                        "status_code": "REL",
                        "id_code_replaced_by_latest": None,
                    },
                }
                return web.json_response(body)
            message = f"No data found for entry id: {pdb_id}"
            return web.json_response({"status": 404, "message": message}, status=404)
        return web.Response(body=path.read_bytes(), content_type="application/json")

    async def _rcsb_graphql(self, request: web.Request) -> web.Response:
        query = (await request.json()).get("query", "")
        match = re.search(r"entries\s*\(\s*entry_ids\s*:\s*(\[.*?\])", query, re.S)
        if not match:
            return web.json_response(
                {"errors": [{"message": "only entries(entry_ids:) is served"}]}
            )
        entries = []
        for pdb_id in json.loads(match.group(1)):
            path = self.snapshot.models.get(str(pdb_id).upper())
            if path is None or str(pdb_id).upper() in self.batch_omit:
                continue  # unknown and obsolete ids are silently absent, as RCSB does
            doc = json.loads(path.read_bytes())
            # Answer with the top-level fields the query selects, as GraphQL would.
            entries.append({k: v for k, v in doc.items() if re.search(rf"\b{k}\b", query)})
            if str(pdb_id).upper() in self.batch_twice:
                first = entries[-1]
                entries.append({**first, "struct": {**first["struct"], "title": "another copy"}})
        return web.json_response({"data": {"entries": entries}})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/empiar/api/entry/{acc}/", self._entry)
        app.router.add_get("/empiar/api/entry/{acc}", self._entry)
        app.router.add_post("/empiar/api/entry/", self._entries)
        app.router.add_post("/empiar/api/entry/{ids}/", self._entries)
        app.router.add_post("/empiar/api/entry/{ids}", self._entries)
        app.router.add_get("/empiar/world_availability/", self._listing)
        app.router.add_get("/empiar/world_availability/{number:[0-9]+}/{path:.*}", self._directory)
        app.router.add_get("/ebisearch/ws/rest/empiar", self._search)
        app.router.add_get("/emdb/api/entry/{id}", self._emdb_entry)
        app.router.add_get("/emdb/api/search/{query}", self._emdb_search)
        app.router.add_get("/emdb/api/analysis/{id}", self._emdb_analysis)
        app.router.add_get("/rcsb/rest/v1/core/entry/{id}", self._rcsb_entry)
        app.router.add_get("/rcsb/rest/v1/holdings/status/{id}", self._rcsb_holdings)
        app.router.add_post("/rcsb/graphql", self._rcsb_graphql)
        app.router.add_get(EMDB_HOLDINGS_PATH, self._emdb_holdings)
        app.router.add_get(PDB_LAST_MODIFIED_PATH, self._pdb_last_modified)
        return app

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            # A stalled answer ends when its client hangs up, as a real server's would.
            self._runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=True)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", port)
            self._loop.run_until_complete(site.start())
            self.port = self._runner.addresses[0][1]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="replay-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("replay server did not start")
        return self.base_url

    def stop(self) -> None:
        if self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
