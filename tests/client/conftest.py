"""Fixtures for the client and CLI tests: a real `ask-panel serve` on 127.0.0.1 (SQLite, simulated model, JWT)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ask_panel.infrastructure.auth import mint_jwt
from tests.conftest import JWT_SECRET
from tests.integration.processes import ServiceProcess, api_process

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    process: ServiceProcess


@dataclass(frozen=True)
class Account:
    """A fresh tenant of the server with its token: every test sees only its own panels."""

    url: str
    tenant: str
    token: str

    def env(self) -> dict[str, str]:
        return {"ASK_PANEL_URL": self.url, "ASK_PANEL_TENANT": self.tenant, "ASK_PANEL_TOKEN": self.token}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("server")
    database = directory / "ask_panel.db"
    shutil.copy(migrated_template, database)
    with api_process(
        f"sqlite+aiosqlite:///{database}",
        directory,
        ASK_PANEL_AUTH_MODE="jwt",
        ASK_PANEL_JWT_SECRET=JWT_SECRET,
        ASK_PANEL_ENVIRONMENT="test",
        ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="2",
    ) as (url, process):
        yield Server(url, int(url.rsplit(":", 1)[1]), process)


@pytest.fixture
def account(server: Server) -> Account:
    tenant = str(uuid.uuid4())
    return Account(server.url, tenant, mint_jwt(JWT_SECRET, [tenant]))
