"""empiar-mirror: harvest EMPIAR, EMDB and PDB metadata into one SQLite file."""

from importlib.metadata import version

__version__ = version("empiar-mirror")
PROJECT_URL = "https://github.com/empiar-mirror/empiar-mirror"
USER_AGENT = f"empiar-mirror/{__version__} (+{PROJECT_URL})"
