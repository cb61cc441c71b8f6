"""A loopback server that answers like EBI and RCSB, from a snapshot of files.

The demo and the tests point the real harvester at it, so they exercise the same HTTP code as a
live harvest. A snapshot directory holds `empiar/EMPIAR-NNNNN.json` (entry responses, exactly as
the API sends them); the file listing and EBI Search pages are derived from those entries.
Faults can be scripted per URL path to rehearse what the real services do on a bad day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

SAMPLE_DIR = Path(__file__).parent / "sample"
_ENTRY_RE = re.compile(r"^(?:EMPIAR-)?(\d{5,})$", re.IGNORECASE)


class Snapshot:
    """Entry files from one or more directories; later directories override earlier ones."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.entries: dict[str, Path] = {}
        for root in roots:
            for path in sorted((Path(root) / "empiar").glob("EMPIAR-*.json")):
                self.entries[path.stem] = path

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
    Content-Length), "stall:<seconds>" (no answer for that long).
    `hidden` lists accessions left out of the file listing and EBI Search (listings drop names).
    """

    def __init__(
        self,
        roots: Iterable[Path] = (SAMPLE_DIR,),
        *,
        faults: dict[str, list[str]] | None = None,
        hidden: Iterable[str] = (),
    ) -> None:
        self.snapshot = Snapshot(roots)
        self.faults = {path: list(script) for path, script in (faults or {}).items()}
        self.hidden = set(hidden)
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
        from harvester.endpoints import Endpoints

        base = self.base_url
        return Endpoints(
            empiar_api=f"{base}/empiar/api",
            empiar_files=f"{base}/empiar/world_availability",
            ebi_search=f"{base}/ebisearch/ws/rest",
            emdb_api=f"{base}/emdb/api",
            rcsb_api=f"{base}/rcsb",
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
        fault = await self._fault(request)
        if fault is not None:
            return fault
        return await handler(request)

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        match = _ENTRY_RE.match(request.match_info["acc"])
        path = self.snapshot.entries.get(f"EMPIAR-{match.group(1)}") if match else None
        if path is None:
            return web.json_response({"detail": "Not found."}, status=404)
        return web.Response(body=path.read_bytes(), content_type="application/json")

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

    async def _search(self, request: web.Request) -> web.Response:
        ids = sorted(self._listed())
        start = int(request.query.get("start", 0))
        size = min(int(request.query.get("size", 15)), 100)
        page = [{"id": acc, "source": "empiar"} for acc in ids[start : start + size]]
        return web.json_response({"hitCount": len(ids), "entries": page, "facets": []})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/empiar/api/entry/{acc}/", self._entry)
        app.router.add_get("/empiar/api/entry/{acc}", self._entry)
        app.router.add_get("/empiar/world_availability/", self._listing)
        app.router.add_get("/ebisearch/ws/rest/empiar", self._search)
        return app

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._runner = web.AppRunner(self.app(), access_log=None)
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
