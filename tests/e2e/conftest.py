"""End-to-end fixtures: a real uvicorn server on 127.0.0.1, in-process or as a subprocess, and SSE helpers.

`live_server` / `start_live_server`: uvicorn runs as a task of the test's event loop, around a Container
the test can inspect (hub counters, `asyncio.all_tasks()`). `spawn_server`: `ask-panel serve` in a child
process configured by ASK_PANEL_* environment variables (used for shutdown and send-timeout behaviour).
Every wait is bounded; nothing asserts on wall-clock time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
import uvicorn

from ask_panel.api.app import create_app
from ask_panel.bootstrap import Container, bootstrap
from tests.conftest import JWT_SECRET, TENANT_A, headers_for, make_settings

STARTUP_TIMEOUT_S = 30.0
STREAM_TIMEOUT_S = 60.0
TOKEN_DELAY_MS = 0.5
PANEL_CONFIGURATION: dict[str, Any] = {"max_rounds": 2}
EXPERTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]
TERMINAL_EVENTS = {"panel_complete", "panel_cancelled"}


# ---- SSE parsing ---------------------------------------------------------------------------------


@dataclass
class Frame:
    """One SSE frame as it came over the wire (fields, plus the comment lines before it)."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def seq(self) -> int:
        assert self.id is not None, f"frame without id: {self}"
        return int(self.id)

    def json(self) -> dict[str, Any]:
        assert self.data is not None
        value: dict[str, Any] = orjson.loads(self.data)
        return value

    @property
    def is_event(self) -> bool:
        return self.event is not None

    @property
    def terminal(self) -> bool:
        if self.event in TERMINAL_EVENTS:
            return True
        return self.event == "error" and bool(self.json().get("terminal"))


async def sse_frames(response: httpx2.Response) -> AsyncIterator[Frame]:
    """Every frame of the response body, in order; comment-only blocks are frames too."""
    frame = Frame()
    async for line in response.aiter_lines():
        if line == "":
            if frame.lines:
                yield frame
            frame = Frame()
            continue
        frame.lines.append(line)
        if line.startswith(":"):
            frame.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            frame.id = value
        elif name == "event":
            frame.event = value
        elif name == "data":
            frame.data = value if frame.data is None else frame.data + "\n" + value
        elif name == "retry":
            frame.retry = int(value)
    if frame.lines:
        yield frame


async def read_all(response: httpx2.Response) -> list[Frame]:
    """Frames until the server ends the response (bounded)."""
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        return [f async for f in sse_frames(response)]


def events_of(frames: list[Frame], *, tokens: bool = False) -> list[Frame]:
    """The event frames (no retry hint, no heartbeats); without `tokens`, only the persisted ones."""
    return [f for f in frames if f.is_event and (tokens or f.id is not None)]


def signature(frames: list[Frame]) -> list[tuple[int, str, dict[str, Any]]]:
    """(id, type, data) of the persisted events. Data is compared parsed: an event replayed from PostgreSQL
    JSONB has its keys in another order than the same event delivered live."""
    return [(f.seq, f.event or "", f.json()) for f in events_of(frames)]


# ---- panels --------------------------------------------------------------------------------------


def panel_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": "What is our FDA 510(k) strategy for this device?",
        "panel_type": "structured",
        "agent_ids": list(EXPERTS),
        "configuration": dict(PANEL_CONFIGURATION),
    }
    body.update(overrides)
    return body


async def new_panel(client: httpx2.AsyncClient, tenant: str = TENANT_A, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/panels", json=panel_body(**overrides), headers=headers_for(tenant))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def get_panel(client: httpx2.AsyncClient, panel_id: str, tenant: str = TENANT_A) -> dict[str, Any]:
    response = await client.get(f"/api/v1/panels/{panel_id}", headers=headers_for(tenant))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def wait_until(predicate: Callable[[], Awaitable[bool]], *, what: str, timeout_s: float = 30.0) -> None:
    """Poll `predicate` until true (bounded wait, nothing asserted about how long it took)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if await predicate():
                    return
                await asyncio.sleep(0.02)  # polls state of another task or process: nothing to await
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def wait_for_status(
    client: httpx2.AsyncClient, panel_id: str, statuses: set[str], tenant: str = TENANT_A
) -> dict[str, Any]:
    last: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal last
        last = await get_panel(client, panel_id, tenant)
        return last["status"] in statuses

    await wait_until(reached, what=f"panel {panel_id} in {statuses} (last: {last.get('status')})")
    return last


async def run_to_end(client: httpx2.AsyncClient, tenant: str = TENANT_A, **overrides: Any) -> tuple[str, list[Frame]]:
    """Create a panel, start it with POST /stream, and read the whole stream."""
    panel = await new_panel(client, tenant, **overrides)
    async with client.stream("POST", f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers_for(tenant)) as r:
        assert r.status_code == 200, await r.aread()
        frames = await read_all(r)
    return panel["panel_id"], frames


def http_client(base_url: str, **kwargs: Any) -> httpx2.AsyncClient:
    timeout = httpx2.Timeout(STREAM_TIMEOUT_S, connect=10.0)
    return httpx2.AsyncClient(base_url=base_url, timeout=timeout, **kwargs)


# ---- in-process server ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    base_url: str
    ws_url: str
    port: int
    container: Container
    server: uvicorn.Server


@contextlib.asynccontextmanager
async def _serve_in_process(
    database_url: str, *, send_buffer_bytes: int | None = None, **overrides: Any
) -> AsyncIterator[LiveServer]:
    """Settings overrides as keyword arguments. `send_buffer_bytes` pins SO_SNDBUF of the listening socket
    (inherited by accepted connections on Linux), so a client that stops reading blocks the server's sends
    after kilobytes instead of the megabytes that loopback autotuning would absorb."""
    values: dict[str, Any] = {"simulated_token_delay_ms": TOKEN_DELAY_MS}
    values.update(overrides)
    settings = make_settings(database_url, **values)
    container = bootstrap(settings)
    app = create_app(container=container)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer_bytes is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=5, ws_ping_interval=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="e2e-uvicorn")
    base_url = f"http://127.0.0.1:{port}"
    live = LiveServer(base_url, f"ws://127.0.0.1:{port}", port, container, server)
    try:
        async with http_client(base_url) as client:

            async def healthy() -> bool:
                if task.done():
                    task.result()  # the server failed to start: raise its error
                    raise AssertionError("the server stopped during start-up")
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx2.TransportError:
                    return False

            await wait_until(healthy, what="the in-process server answers /healthz", timeout_s=STARTUP_TIMEOUT_S)
        yield live
    finally:
        container.hub.close_all()
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 15)
        finally:
            await container.stop()
            sock.close()


@pytest.fixture
async def live_server(database_url: str) -> AsyncIterator[LiveServer]:
    async with _serve_in_process(database_url) as live:
        yield live


StartLive = Callable[..., contextlib.AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def start_live_server(database_url: str) -> StartLive:
    """`async with start_live_server(max_streams_per_tenant=2) as live:` with Settings overrides."""

    def start(**overrides: Any) -> contextlib.AbstractAsyncContextManager[LiveServer]:
        return _serve_in_process(database_url, **overrides)

    return start


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx2.AsyncClient]:
    async with http_client(live_server.base_url) as client:
        yield client


# ---- subprocess server ---------------------------------------------------------------------------


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    port: int
    log_path: Path
    database: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


SpawnServer = Callable[..., Awaitable[ServerProcess]]


@pytest.fixture
def spawn_server(migrated_template: Path, tmp_path: Path) -> Iterator[SpawnServer]:
    """`await spawn_server(ASK_PANEL_X="...")`: `ask-panel serve` in a child process, healthy on return.

    Each spawn gets its own log file and port; all still running at the end are stopped (SIGTERM, then kill)."""
    started: list[ServerProcess] = []
    log_files: list[Any] = []

    async def spawn(
        database: Path | None = None,
        *,
        log_level: str = "WARNING",
        serve_args: tuple[str, ...] = (),
        **env_overrides: str,
    ) -> ServerProcess:
        """A fresh migrated database, or `database` (for a restart on the same one); `serve_args` are added."""
        index = len(started)
        if database is None:
            database = tmp_path / f"server-{index}.db"
            shutil.copy(migrated_template, database)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
        env.update(
            {
                "ASK_PANEL_ENVIRONMENT": "test",
                "ASK_PANEL_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
                "ASK_PANEL_AUTH_MODE": "jwt",
                "ASK_PANEL_JWT_SECRET": JWT_SECRET,
                "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": str(TOKEN_DELAY_MS),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(env_overrides)
        port = free_port()
        executable = Path(sys.executable).parent / "ask-panel"
        log_path = tmp_path / f"server-{index}.log"
        log_file = log_path.open("wb")
        log_files.append(log_file)
        process = await asyncio.to_thread(
            subprocess.Popen,
            [str(executable), "--log-level", log_level, "serve", "--port", str(port), "--no-migrate", *serve_args],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        server = ServerProcess(process, f"http://127.0.0.1:{port}", port, log_path, database)
        started.append(server)
        async with http_client(server.base_url) as client:

            async def healthy() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"the server exited with {process.returncode}:\n{server.log()}")
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx2.TransportError:
                    return False

            await wait_until(healthy, what="the server process answers /healthz", timeout_s=STARTUP_TIMEOUT_S)
        return server

    yield spawn
    for server in started:
        server.stop()
    for log_file in log_files:
        log_file.close()
