"""Applies the Alembic migrations that ship inside the package."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import ask_panel.migrations

SCRIPT_LOCATION = str(Path(ask_panel.migrations.__file__).parent)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@dataclass(frozen=True, slots=True)
class Applied:
    """One migration applied by `upgrade`: its revision id and its one-line description."""

    revision: str
    description: str

    def __str__(self) -> str:
        return f"{self.revision} ({self.description})"


def upgrade(database_url: str, revision: str = "head") -> list[Applied]:
    """Bring the database to `revision` (blocking; call from a thread inside an event loop).

    Returns the migrations applied, in order (none when the database was already there).
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = alembic_config(database_url)
    applied: list[Applied] = []
    config.attributes["on_version_apply"] = applied.append
    command.upgrade(config, revision)
    return applied


def head_revision() -> str:
    """The newest migration that ships with this release."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return head or "base"


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
