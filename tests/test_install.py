"""The package as installed: one top-level name, every file shipped, the portal a Datasette
plugin that plain `datasette FILE` loads, the read-only commands free of the network stack, and
everything but `deposition` free of the optional extra."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, free_port, http_get, running

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def wheel(wheel_path) -> zipfile.ZipFile:
    return zipfile.ZipFile(wheel_path)


def test_the_wheel_has_one_top_level_name(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"empiar_mirror"}


def test_the_wheel_ships_every_file_of_both_folders(wheel):
    tracked = subprocess.run(
        ["git", "ls-files", "harvester", "index"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout: cannot list the project's files")
    shipped = set(wheel.namelist())
    missing = [p for p in tracked if f"empiar_mirror/{p}" not in shipped]
    assert not missing, f"add their folders to pyproject's packages: {missing[:5]}"


def test_the_wheel_registers_the_command_and_the_datasette_plugin(wheel):
    (name,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    text = wheel.read(name).decode()
    assert "empiar-mirror = empiar_mirror.harvester.cli:cli" in text
    assert "[datasette]\nempiar_mirror = empiar_mirror.index.portal" in text


def test_index_never_imports_the_harvester():
    for path in (ROOT / "index").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith("empiar_mirror.harvester"), f"{path}: {name}"


@pytest.mark.parametrize("command", [["status"], ["export", "EMPIAR-10442"], ["serve", "--help"]])
def test_read_only_commands_load_no_network_stack(harvested_db, command):
    args = [*command[:1], str(harvested_db), *command[1:]] if command[0] != "serve" else command
    code = (
        "import sys\n"
        "from empiar_mirror.harvester.cli import cli\n"
        "try:\n"
        f"    cli({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "loaded = [m for m in ('aiohttp', 'tenacity') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def without(*modules: str) -> str:
    """Python code that makes importing `modules` fail as it does when they are not installed."""
    return "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)


@pytest.mark.parametrize("missing", ["empiar_depositor", "jsonschema"])
def test_deposition_without_its_extra_says_how_to_install_it(missing):
    study = FIXTURES / "deposition" / "study.yaml"
    code = without(missing) + (
        f"from empiar_mirror.harvester.cli import cli\ncli(['deposition', {str(study)!r}])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "empiar-mirror: error: the deposition command needs the optional extra: "
        "pip install 'empiar-mirror[deposition]'\n"
    )


def test_parquet_without_its_extra_says_how_to_install_it(harvested_db, tmp_path):
    code = without("pyarrow") + (
        "from empiar_mirror.harvester.cli import cli\n"
        f"cli(['export', {str(harvested_db)!r}, '--format', 'parquet', '-o', "
        f"{str(tmp_path / 'out')!r}])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "empiar-mirror: error: the Parquet export needs the optional extra: "
        "pip install 'empiar-mirror[parquet]'\n"
    )


def test_nothing_but_the_deposition_schema_needs_the_extra(harvested_db):
    code = without("empiar_depositor", "jsonschema") + (
        "import importlib, pkgutil\n"
        "import empiar_mirror.harvester, empiar_mirror.index\n"
        "for package in (empiar_mirror.harvester, empiar_mirror.index):\n"
        "    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if not module.name.endswith(('.__main__', '.deposition.schema')):\n"
        "            importlib.import_module(module.name)\n"
        "from empiar_mirror.harvester.cli import cli\n"
        f"cli(['export', {str(harvested_db)!r}, 'EMPIAR-10442'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "EMPIAR-10442" in result.stdout


def test_plain_datasette_shows_the_portal(harvested_db, tmp_path):
    port = free_port()
    args = [str(BIN / "datasette"), "serve", str(harvested_db), "-p", str(port)]
    with running(args, port, log=tmp_path / "datasette.log") as base:

        def get(path: str) -> tuple[int, str]:
            status, _, body = http_get(base + path)
            return status, body.decode()

        plugins = json.loads(get("/-/plugins.json")[1])
        assert "empiar-mirror" in {p["name"] for p in plugins}
        # The bundled metadata, under whatever name the file is served.
        metadata = json.loads(get("/-/metadata.json")[1])
        assert metadata["databases"]["mirror"]["tables"]["empiar_entries"]["description"]
        assert "Charts" in get("/")[1]
        assert get("/-/charts")[0] == 200
        status, page = get("/-/search?q=EMPIAR-10442")
        assert status == 200 and "EMPIAR-10442" in page
        status, page = get("/mirror/empiar_entries/EMPIAR-10442")
        assert status == 200 and "portal-kicker" in page
        status, css = get("/-/static-plugins/empiar-mirror/portal.css")
        assert status == 200 and "portal" in css
