"""`ask-panel migrate` says what it applied, and prints none of Alembic's start-up lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from ask_panel.infrastructure.db.migrate import alembic_config

pytestmark = pytest.mark.slow


def migrate(database: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
    env["ASK_PANEL_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ask-panel"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def shipped() -> int:
    return len(list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_migrate_on_an_empty_database_names_each_migration_it_applied(tmp_path: Path) -> None:
    output = migrate(tmp_path / "empty.db")
    assert f"applied {shipped()} migrations: 0001 (Initial schema" in output
    assert "0002 (Row-level security" in output and f"the database is at {head_revision()}" in output


def test_migrate_on_an_up_to_date_database_says_there_was_nothing_to_apply(tmp_path: Path) -> None:
    migrate(tmp_path / "db.db")
    again = migrate(tmp_path / "db.db")
    assert f"no migration to apply: the database is already at {head_revision()}, the latest" in again
    assert "applied" not in again


def test_migrate_prints_no_alembic_plugin_lines(tmp_path: Path) -> None:
    output = migrate(tmp_path / "empty.db")
    assert "alembic.runtime.plugins" not in output and "setup plugin" not in output
    assert len(output.strip().splitlines()) == 1
