"""GET /stream has one owner: the fast path and the documented route parse the same parameters the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from ask_panel.api.app import create_app
from ask_panel.bootstrap import Container
from tests.conftest import create_panel, headers_for, wait_for_status

CASES: list[tuple[str, dict[str, str]]] = [
    ("", {}),
    ("?last_event_id=2", {}),
    ("?last_event_id=0&tokens=true", {}),
    ("?tokens=FALSE", {"Last-Event-ID": " 3 "}),
    ("?tokens=yes", {"Last-Event-ID": ""}),
    ("?last_event_id=1", {"Last-Event-ID": "abc"}),  # the header wins (EventSource's own reconnect sends it)
    ("?last_event_id=1", {"Last-Event-ID": "3"}),
    ("?last_event_id=abc", {"Last-Event-ID": "3"}),
    ("?tokens=maybe", {}),
    ("?tokens=", {}),
    ("?last_event_id=-1", {}),
    ("?last_event_id=1.5", {}),
    ("?last_event_id=+4", {}),
    ("?last_event_id=99999999999", {}),
    ("", {"Last-Event-ID": "-1"}),
    ("", {"Last-Event-ID": "2147483648"}),
    ("?ticket=made-up", {}),
    ("?ticket=", {}),
]


@pytest.fixture
async def route_only(container: Container) -> AsyncIterator[httpx2.AsyncClient]:
    """The same app without the fast path: GET /stream is served by the documented route."""
    transport = httpx2.ASGITransport(app=create_app(container=container, watch_fast_path=False))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_fast_path_and_the_route_accept_and_refuse_the_same_parameters(
    client: httpx2.AsyncClient, route_only: httpx2.AsyncClient
) -> None:
    panel = await create_panel(client, configuration={"max_rounds": 1})
    pid = panel["panel_id"]
    await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())
    await wait_for_status(client, pid, {"completed"})  # a finished panel: every accepted stream ends
    outcomes = []
    for query, extra in CASES:
        answers = []
        for served in (client, route_only):
            response = await served.get(f"/api/v1/panels/{pid}/stream{query}", headers={**headers_for(), **extra})
            ids = [line for line in response.text.splitlines() if line.startswith("id:")]
            answers.append((response.status_code, response.headers["content-type"].split(";")[0], ids))
        assert answers[0] == answers[1], (query, extra)
        outcomes.append(answers[0][0])
    assert 200 in outcomes and 400 in outcomes and 401 in outcomes


async def test_the_documented_parameters_are_the_ones_the_parser_reads(client: httpx2.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    watch = spec["paths"]["/api/v1/panels/{panel_id}/stream"]["get"]
    documented = {(p["in"], p["name"]) for p in watch["parameters"]}
    assert documented == {
        ("path", "panel_id"),
        ("query", "ticket"),
        ("query", "last_event_id"),
        ("query", "tokens"),
        ("header", "Last-Event-ID"),
        ("header", "X-Tenant-ID"),
    }
    assert watch["security"] == [{"bearerAuth": []}, {"streamTicket": []}]
    start = spec["paths"]["/api/v1/panels/{panel_id}/stream"]["post"]
    assert {(p["in"], p["name"]) for p in start["parameters"]} >= {("query", "tokens"), ("query", "last_event_id")}
