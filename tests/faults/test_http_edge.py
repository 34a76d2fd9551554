"""Items 7, 8 and 9: the HTTP edge under hostile or broken clients, over real sockets.

A chunked body over the limit is a 413 (7); a connection that carried a 5xx says `Connection: close`
and is closed (8); request headers that never finish, and connections that stay idle, are let go (9).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from ask_panel.config import MEMORY_DATABASE_URL
from tests.conftest import headers_for
from tests.faults.conftest import http_server, panel_body, wait_for
from tests.integration.processes import api_process

LIMIT = 1024 * 1024


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


async def test_a_chunked_body_over_the_limit_is_a_413_problem() -> None:
    async with http_server(max_body_bytes=LIMIT) as (base, _), httpx2.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/api/v1/panels",
            content=chunks(2 * LIMIT),
            headers={**headers_for(), "Content-Type": "application/json"},
        )
        assert "content-length" not in response.request.headers  # it went chunked
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 413
        assert response.headers["connection"] == "close"
        small = await client.post("/api/v1/panels", json=panel_body(), headers=headers_for())
        assert small.status_code == 201, "the next request works (on a new connection)"


async def test_a_chunked_body_under_the_limit_is_read_whole() -> None:
    body = b'{"query": "What is our FDA 510(k) strategy?", "panel_type": "open"}'

    async def two_chunks() -> AsyncIterator[bytes]:
        yield body[:20]
        yield body[20:]

    async with http_server() as (base, _), httpx2.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/api/v1/panels", content=two_chunks(), headers={**headers_for(), "Content-Type": "application/json"}
        )
    assert response.status_code == 201, response.text


def raw_exchange(port: int, request: bytes) -> tuple[bytes, bool]:
    """Send `request` on a fresh connection; the bytes answered, and whether the server closed it afterwards."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        closed = False
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            received += chunk
            if b"\r\n\r\n" in received and received.endswith(b"}"):
                sock.settimeout(2)  # the whole problem body is in: does the server close the connection?
        return received, closed


async def test_after_an_unhandled_500_the_connection_says_close_and_is_closed_and_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("a bug")

    async with http_server() as (base, container):
        monkeypatch.setattr(container.panels, "list", broken)
        port = int(base.rsplit(":", 1)[1])
        headers = "".join(f"{k}: {v}\r\n" for k, v in headers_for().items())
        request = f"GET /api/v1/panels HTTP/1.1\r\nHost: t\r\n{headers}\r\n".encode()
        with caplog.at_level(logging.ERROR):
            answer, closed = await asyncio.to_thread(raw_exchange, port, request)
        async with httpx2.AsyncClient(base_url=base) as client:
            first = await client.get("/api/v1/panels", headers=headers_for())
            second = await client.get("/healthz")
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 500")
    assert b"connection: close" in head
    assert closed, "the server closed the connection after the 500"
    assert first.status_code == 500 and second.status_code == 200, "a keep-alive client goes on without an error"
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 2, [r.getMessage() for r in tracebacks]  # one per failed request
    assert "Exception in ASGI application" not in capsys.readouterr().err, "and not a second one by the server"


async def test_headers_that_never_finish_get_a_408_and_the_connection_is_closed() -> None:
    async with http_server(http_header_timeout_s=0.5) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        answer, closed = await asyncio.to_thread(raw_exchange, port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        silent, silent_closed = await asyncio.to_thread(raw_exchange, port, b"")
    assert answer.startswith(b"HTTP/1.1 408") and closed
    assert silent.startswith(b"HTTP/1.1 408") and silent_closed, "a connection that sends nothing is let go too"
    head, body = answer.split(b"\r\n\r\n", 1)
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["status"] == 408 and problem["type"].endswith("/request-timeout") and problem["request_id"]


async def test_a_body_that_stops_coming_is_a_408() -> None:
    async with http_server(http_body_timeout_s=0.5) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        headers = "".join(f"{k}: {v}\r\n" for k, v in headers_for().items())
        request = (
            f"POST /api/v1/panels HTTP/1.1\r\nHost: t\r\n{headers}Content-Type: application/json\r\n"
            'Content-Length: 100\r\n\r\n{"query": '
        ).encode()
        answer, closed = await asyncio.to_thread(raw_exchange, port, request)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"application/problem+json" in answer and closed


@pytest.mark.slow
def test_slowloris_connections_are_let_go_and_the_server_keeps_answering(tmp_path: Path) -> None:
    connections = 200
    with api_process(MEMORY_DATABASE_URL, tmp_path, ASK_PANEL_HTTP_HEADER_TIMEOUT_S="1") as (base, _api):
        port = int(base.rsplit(":", 1)[1])
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(connections)]
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: a")
            sock.setblocking(False)
        closed: set[int] = set()

        def all_closed() -> bool:
            for index, sock in enumerate(sockets):
                if index in closed:
                    continue
                try:
                    while data := sock.recv(65536):
                        assert data.startswith(b"HTTP/1.1 408") or data
                    closed.add(index)
                except BlockingIOError:
                    continue
                except OSError:
                    closed.add(index)
            return len(closed) == connections

        try:
            wait_for(all_closed, what="every slowloris connection closed by the server", timeout_s=30)
            with httpx2.Client(base_url=base) as client:
                assert client.get("/healthz").status_code == 200
        finally:
            for sock in sockets:
                sock.close()
    assert len(closed) == connections
