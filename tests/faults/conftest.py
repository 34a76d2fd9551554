"""Fault-suite fixtures: a fresh PostgreSQL database, TCP proxies in front of PostgreSQL and Redis, SSE watchers.

The suite breaks the service's dependencies with a `FaultProxy` (stall, refuse, drop) while real
`ask-panel serve --no-worker` and `ask-panel worker` processes run on 127.0.0.1. Waits are bounded
and nothing asserts how long anything took: tests assert counts and eventual outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from ask_panel.api.app import create_app
from ask_panel.api.server import server_config
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import MEMORY_DATABASE_URL
from tests.conftest import make_settings
from tests.faults.proxy import FaultProxy, fault_proxy
from tests.integration.processes import parse_sse
from tests.postgres import PostgresTemplate
from tests.redis_server import redis_or_skip

TENANT = {"X-Tenant-ID": "11111111-1111-1111-1111-111111111111"}
TERMINAL = {"panel_complete", "panel_cancelled"}
# Short intervals, so that recovering takes seconds (the defaults are in docs/deployment.md).
FAST_RECOVERY = {
    "ASK_PANEL_STREAM_RECONCILE_S": "0.5",
    "ASK_PANEL_BUS_PROBE_S": "0.5",
}


def panel_body(**configuration: Any) -> dict[str, Any]:
    return {
        "query": "What is our FDA 510(k) strategy for this device?",
        "panel_type": "structured",
        "agent_ids": ["fda_expert", "clinical_expert", "reimbursement_expert"],
        "configuration": {"max_rounds": 1, "seed": 11, **configuration},
    }


@pytest.fixture
def pg_url(postgres_template: PostgresTemplate) -> Iterator[str]:
    with postgres_template.fresh_database() as url:
        yield url


@pytest.fixture
def redis_proxy() -> Iterator[FaultProxy]:
    url = make_url(redis_or_skip())
    with fault_proxy(url.host or "127.0.0.1", url.port or 6379) as proxy:
        yield proxy


def redis_url_through(proxy: FaultProxy) -> str:
    return f"redis://127.0.0.1:{proxy.port}/0"


@pytest.fixture
def pg_proxy(pg_url: str) -> Iterator[FaultProxy]:
    url = make_url(pg_url)
    with fault_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


def database_url_through(database_url: str, proxy: FaultProxy) -> str:
    return make_url(database_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@dataclass
class Watcher:
    """One SSE client watching a panel in a thread until the stream ends with a terminal event."""

    base_url: str
    panel_id: str
    lines: list[str] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with (
                httpx2.Client(base_url=self.base_url) as client,
                client.stream(
                    "GET",
                    f"/api/v1/panels/{self.panel_id}/stream",
                    headers=TENANT,
                    timeout=httpx2.Timeout(300.0, connect=10.0),
                ) as response,
            ):
                assert response.status_code == 200, response.read()
                self.connected.set()
                for line in response.iter_lines():
                    self.lines.append(line)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.connected.set()

    @property
    def events(self) -> list[dict[str, Any]]:
        return parse_sse(list(self.lines))

    @property
    def ended(self) -> bool:
        events = self.events
        return bool(events) and events[-1]["event"] in TERMINAL

    def join(self, timeout_s: float) -> bool:
        assert self._thread is not None
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


def wait_for(predicate: Any, *, what: str, timeout_s: float = 60.0, interval_s: float = 0.1) -> None:
    """Poll until `predicate()` is true (bounded; nothing asserted about how long it took)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise AssertionError(f"never happened within {timeout_s} s: {what}")


def status_of(client: httpx2.Client, panel_id: str) -> str:
    status: str = client.get(f"/api/v1/panels/{panel_id}", headers=TENANT).json()["status"]
    return status


@asynccontextmanager
async def http_server(
    database_url: str = MEMORY_DATABASE_URL, **overrides: Any
) -> AsyncIterator[tuple[str, Container]]:
    """The service on a real socket of 127.0.0.1, configured as `ask-panel serve` configures uvicorn."""
    settings = make_settings(database_url, **overrides)
    container = bootstrap(settings)
    app = create_app(container=container)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]), name="faults-uvicorn")
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):  # generous for a loaded machine; nothing asserted on time
                while True:
                    if server.started or task.done():
                        break
                    await asyncio.sleep(0.01)  # uvicorn's start has no event to await
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}", container
    finally:
        container.hub.close_all()
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()
