"""The client installs without the server: `pip install ask-panel` into a fresh venv, then use it against a server.

Installs with pip as it is configured here (the machine's local mirror, its wheel cache, then PyPI), the way
a user would; `make install` needs the same indexes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.conftest import Account

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg", "procrastinate", "redis", "alembic"}


@pytest.fixture(scope="module")
def slim_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with `pip install <this repository>` (no extras): the client and the CLI only."""
    scratch = tmp_path_factory.mktemp("slim")
    source = scratch / "source"  # a clean copy: no build/ or egg-info left by an earlier install
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    home = scratch / "venv"
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=540,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    yield home


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_") and k != "PYTHONPATH"}
    clean.update(env or {})
    return subprocess.run(list(args), capture_output=True, text=True, env=clean, timeout=120, cwd=home)


def test_the_client_install_has_none_of_the_server_s_dependencies(slim_venv: Path) -> None:
    listed = run(slim_venv, str(slim_venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze")
    installed = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert {"ask-panel", "httpx2", "pydantic", "typer", "rich"} <= installed
    assert installed.isdisjoint(SERVER_ONLY), installed & SERVER_ONLY


def test_the_client_installed_alone_runs_a_panel_against_a_server(slim_venv: Path, account: Account) -> None:
    script = (
        "from ask_panel.client import AskPanel\n"
        "with AskPanel() as client:\n"
        "    panel = client.create('Is a 510(k) enough for our patch?', agent_ids=['fda_expert', 'clinical_expert'])\n"
        "    events = list(client.stream(panel.panel_id, start=True))\n"
        "    print(events[-1].type.value, client.get(panel.panel_id).status)\n"
    )
    result = run(slim_venv, str(slim_venv / "bin" / "python"), "-c", script, env=account.env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["panel_complete", "completed"]


def test_the_service_commands_name_the_server_extra_when_it_is_missing(slim_venv: Path) -> None:
    result = run(slim_venv, str(slim_venv / "bin" / "ask-panel"), "serve")
    assert result.returncode == 2
    assert "pip install 'ask-panel[server]'" in result.stderr
