"""GET /metrics: Prometheus text, by route template and status, no tenant data, optionally behind a token."""

from __future__ import annotations

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from ask_panel.config import MEMORY_DATABASE_URL
from tests.conftest import (
    TENANT_A,
    TERMINAL,
    create_panel,
    headers_for,
    make_settings,
    serving,
    wait_for_status,
)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels (the parser refuses a malformed exposition)."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx2.AsyncClient, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_requests_are_counted_by_route_template_and_status_without_tenant_data() -> None:
    async with serving(make_settings(MEMORY_DATABASE_URL)) as (_container, client):
        before = await scrape(client)
        panel = await create_panel(client, configuration={"max_rounds": 1})
        await client.get(f"/api/v1/panels/{panel['panel_id']}", headers=headers_for())
        await client.get("/api/v1/panels/not-a-uuid", headers=headers_for())
        await client.get("/no/such/path")
        await client.request("BREW", "/healthz")
        response = await client.get("/metrics")
        after = samples(response.text)

    route = "/api/v1/panels/{panel_id}"
    counted = "ask_panel_http_requests_total"
    assert (
        value(after, counted, method="POST", route="/api/v1/panels", status="201")
        - value(before, counted, method="POST", route="/api/v1/panels", status="201")
        == 1
    )
    assert (
        value(after, counted, method="GET", route=route, status="200")
        - value(before, counted, method="GET", route=route, status="200")
        == 1
    )
    assert (
        value(after, counted, method="GET", route=route, status="404")
        - value(before, counted, method="GET", route=route, status="404")
        == 1
    )
    assert value(after, counted, method="GET", route="unmatched", status="404") >= 1
    assert value(after, "ask_panel_http_request_duration_seconds_count", method="GET", route=route) >= 2
    assert panel["panel_id"] not in response.text and TENANT_A not in response.text
    assert "not-a-uuid" not in response.text and "/no/such/path" not in response.text
    assert "BREW" not in response.text and value(after, counted, method="other", route="/healthz", status="405") >= 1


async def test_a_completed_panel_shows_in_the_stream_and_hub_metrics() -> None:
    async with serving(make_settings(MEMORY_DATABASE_URL)) as (_container, client):
        panel = await create_panel(client, configuration={"max_rounds": 1})
        before = await scrape(client)
        async with client.stream(
            "POST", f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers_for()
        ) as response:
            assert response.status_code == 200
            body = b"".join([chunk async for chunk in response.aiter_bytes()])
        assert b"panel_complete" in body
        await wait_for_status(client, panel["panel_id"], TERMINAL)
        after = await scrape(client)

    # (open streams are counted while they live: tests/e2e/test_observability.py scrapes a real server for that)
    assert value(after, "ask_panel_streams_open", transport="sse_post") == 0
    delivered = value(after, "ask_panel_hub_deliveries_total") - value(before, "ask_panel_hub_deliveries_total")
    assert delivered >= body.count(b"\nid: ") + body.startswith(b"id: ")
    lag = value(after, "ask_panel_stream_fanout_lag_seconds_count") - value(
        before, "ask_panel_stream_fanout_lag_seconds_count"
    )
    assert lag >= 1


async def test_the_metrics_token_is_required_when_it_is_configured() -> None:
    settings = make_settings(MEMORY_DATABASE_URL, metrics_token="scrape-me-0123456789")
    async with serving(settings) as (_container, client):
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert "scrape-me" not in wrong.text
    assert right.status_code == 200 and "ask_panel_http_requests_total" in right.text


async def test_model_call_failures_and_retries_are_counted_by_provider_and_model() -> None:
    settings = make_settings(MEMORY_DATABASE_URL, simulated_fault_rate=0.5, llm_max_attempts=2, simulated_seed=7)
    async with serving(settings) as (_container, client):
        before = await scrape(client)
        panel = await create_panel(client, configuration={"max_rounds": 1})
        await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
        await wait_for_status(client, panel["panel_id"], TERMINAL)
        after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    labels = {"provider": "simulated", "model": "default"}
    assert grew("ask_panel_llm_retries_total", **labels) > 0
    assert grew("ask_panel_llm_calls_total", **labels, outcome="ok") > 0
    assert grew("ask_panel_llm_calls_total", **labels, outcome="error") > 0
    assert grew("ask_panel_turns_total", outcome="failed") + grew("ask_panel_turns_total", outcome="spoken") > 0
