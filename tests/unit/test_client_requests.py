"""The client's retries, problems and settings, on a scripted transport (no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx2
import pytest

from ask_panel.client import (
    AskPanel,
    AsyncAskPanel,
    BadRequest,
    ConfigurationError,
    Connection,
    ConnectionFailed,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
)
from ask_panel.client.retry import parse_retry_after

TENANT = "11111111-1111-1111-1111-111111111111"
PANEL_ID = "00000000-0000-4000-8000-000000000001"


def problem(status: int, retry_after: str | None = None) -> httpx2.Response:
    headers = {"content-type": "application/problem+json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = {"type": "https://ask-panel.dev/problems/service-busy", "title": "Busy", "status": status, "detail": "later"}
    return httpx2.Response(status, headers=headers, content=json.dumps(body).encode())


def scripted(*answers: httpx2.Response) -> tuple[httpx2.MockTransport, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []
    queue = list(answers)

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return queue.pop(0)

    return httpx2.MockTransport(handle), seen


def ok_execute() -> httpx2.Response:
    body = {"panel_id": PANEL_ID, "status": "executing", "panel_status": "queued", "message": "started"}
    return httpx2.Response(202, json=body)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr("ask_panel.client.sync_client.time.sleep", delays.append)
    return delays


def test_503_and_429_are_retried_after_the_time_retry_after_asks(slept: list[float]) -> None:
    transport, seen = scripted(problem(503, "2"), problem(429, "1"), ok_execute())
    with AskPanel("http://api.test", tenant=TENANT, transport=transport) as client:
        assert client.execute(PANEL_ID).status == "executing"
    assert len(seen) == 3
    assert slept == [2.0, 1.0]


def test_retries_stop_after_the_policy_s_attempts_with_the_typed_problem(slept: list[float]) -> None:
    transport, seen = scripted(problem(503, "0"), problem(503, "0"), problem(503, "0"))
    client = AskPanel("http://api.test", tenant=TENANT, transport=transport, retry=RetryPolicy(attempts=3))
    with client, pytest.raises(ServiceUnavailable) as raised:
        client.execute(PANEL_ID)
    assert len(seen) == 3
    assert (raised.value.status, raised.value.title, raised.value.detail) == (503, "Busy", "later")


def test_a_retry_after_beyond_the_cap_waits_only_the_cap(slept: list[float]) -> None:
    transport, _ = scripted(problem(429, "3600"), ok_execute())
    with AskPanel("http://api.test", tenant=TENANT, transport=transport, retry=RetryPolicy(max_delay_s=7)) as client:
        client.execute(PANEL_ID)
    assert slept == [7.0]


def test_a_dropped_connection_resends_a_create_with_the_same_idempotency_key(slept: list[float]) -> None:
    seen: list[httpx2.Request] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx2.ReadError("connection reset", request=request)
        return httpx2.Response(400, json={"title": "Bad request", "status": 400, "detail": "stop here"})

    client = AskPanel("http://api.test", tenant=TENANT, transport=httpx2.MockTransport(handle))
    with client, pytest.raises(BadRequest, match="stop here"):
        client.create("Q?")
    keys = [r.headers["Idempotency-Key"] for r in seen]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_a_dropped_connection_is_not_resent_for_execute() -> None:
    calls: list[httpx2.Request] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        raise httpx2.ReadError("connection reset", request=request)

    client = AskPanel("http://api.test", tenant=TENANT, transport=httpx2.MockTransport(handle))
    with client, pytest.raises(ConnectionFailed, match="connection reset"):
        client.execute(PANEL_ID)
    assert len(calls) == 1


async def test_the_async_client_retries_429_too(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr("ask_panel.client.async_client.asyncio.sleep", record)
    transport, seen = scripted(problem(429, "4"), ok_execute())
    async with AsyncAskPanel("http://api.test", tenant=TENANT, transport=transport) as client:
        await client.execute(PANEL_ID)
    assert (len(seen), delays) == (2, [4.0])


def test_requests_carry_the_tenant_and_the_bearer_token() -> None:
    transport, seen = scripted(ok_execute())
    with AskPanel("http://api.test", tenant=TENANT, token="t0k3n", transport=transport) as client:
        client.execute(PANEL_ID)
    assert seen[0].headers["X-Tenant-ID"] == TENANT
    assert seen[0].headers["Authorization"] == "Bearer t0k3n"


def test_the_connection_comes_from_the_environment_and_arguments_win() -> None:
    env = {"ASK_PANEL_URL": "http://env.test:9/", "ASK_PANEL_TOKEN": "from-env", "ASK_PANEL_TENANT": TENANT}
    assert Connection.resolve(environ=env) == Connection("http://env.test:9", TENANT, "from-env")
    assert Connection.resolve("http://arg.test", token="arg", environ=env).token == "arg"
    assert "from-env" not in repr(Connection.resolve(environ=env))


def test_a_client_without_a_tenant_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="ASK_PANEL_TENANT"):
        Connection.resolve("http://api.test", environ={})


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), (" 12 ", 12.0), ("Wed, 21 Oct 2026 07:28:10 GMT", 10.0), ("soon", None), (None, None), ("", None)],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds


def test_rate_limited_is_the_429_problem() -> None:
    transport, _ = scripted(problem(429, "0"))
    client = AskPanel("http://api.test", tenant=TENANT, transport=transport, retry=RetryPolicy(attempts=1))
    with client, pytest.raises(RateLimited):
        client.execute(PANEL_ID)
