"""The base URLs of the services we harvest, overridable for mirrors and the loopback demo."""

from __future__ import annotations

from dataclasses import dataclass, fields
from urllib.parse import quote, urlsplit, urlunsplit


def without_credentials(url: str) -> str:
    """A URL as it may be stored, shown or logged: any `user:password@` taken out. Requests still
    carry them (an endpoint behind basic authentication); nothing else does."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


@dataclass(frozen=True)
class Endpoints:
    """Base URLs; request paths are appended to these exactly as the real services lay them out."""

    empiar_api: str = "https://www.ebi.ac.uk/empiar/api"
    empiar_files: str = "https://ftp.ebi.ac.uk/empiar/world_availability"
    ebi_search: str = "https://www.ebi.ac.uk/ebisearch/ws/rest"
    emdb_api: str = "https://www.ebi.ac.uk/emdb/api"
    rcsb_api: str = "https://data.rcsb.org"
    # The bulk files `harvest --emdb all` enumerates and detects changes with.
    emdb_files: str = "https://ftp.ebi.ac.uk/pub/databases/emdb"
    wwpdb_files: str = "https://files.wwpdb.org/pub/pdb"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"--{f.name.replace('_', '-')}: not an http(s) URL: {value!r}")
            object.__setattr__(self, f.name, value.rstrip("/"))

    def public(self) -> dict[str, str]:
        """The base URLs as they may be stored and shown."""
        return {f.name: without_credentials(getattr(self, f.name)) for f in fields(self)}

    def empiar_entry(self, accession: str) -> str:
        return f"{self.empiar_api}/entry/{accession}/"

    def empiar_entries(self, ids: str) -> str:
        """`POST` route for many entries: `ids` a comma list or a range of numbers."""
        return f"{self.empiar_api}/entry/{ids}/"

    def empiar_listing(self) -> str:
        return f"{self.empiar_files}/"

    def empiar_directory(self, accession: str, path: str = "") -> str:
        """An entry's directory on the file server: `path` relative to it, each part quoted."""
        number = accession.removeprefix("EMPIAR-")
        inner = "".join(f"{quote(part, safe='')}/" for part in path.split("/") if part)
        return f"{self.empiar_files}/{number}/{inner}"

    def emdb_holdings(self) -> str:
        """EMDB's weekly list of every released map with its files (API-NOTES 7.2)."""
        return f"{self.emdb_files}/status/latest/emdb_released_holdings.json"

    def pdb_last_modified(self) -> str:
        """wwPDB's gzipped object of every released entry's last-modification time (7.3)."""
        return f"{self.wwpdb_files}/holdings/released_structures_last_modified_dates.json.gz"

    def ebi_search_empiar(self) -> str:
        return f"{self.ebi_search}/empiar"

    @classmethod
    def env_vars(cls) -> dict[str, str]:
        """Field name -> the environment variable that overrides it."""
        return {f.name: f"EMPIAR_MIRROR_{f.name.upper()}" for f in fields(cls)}
