"""empiar-mirror: harvest EMPIAR, EMDB and PDB metadata into one SQLite file."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/empiar-mirror/empiar-mirror"
USER_AGENT = f"empiar-mirror/{__version__} (+{PROJECT_URL})"
