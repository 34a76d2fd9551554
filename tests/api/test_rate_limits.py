"""Rate limits per tenant and per token: requests, panel creation and stream opening answer 429 past their limit."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from limits.aio.storage import MemoryStorage

from ask_panel.config import MEMORY_DATABASE_URL, Settings
from ask_panel.domain.ids import TenantId
from ask_panel.infrastructure.auth import mint_jwt
from ask_panel.infrastructure.ratelimit import RateLimits, caller_of
from ask_panel.observability import metrics
from tests.conftest import JWT_SECRET, TENANT_A, TENANT_B, headers_for, make_settings, new_tenant, serving
from tests.redis_server import redis_or_skip

PANEL = {"query": "Which market first?", "panel_type": "open", "agent_ids": ["fda_expert", "clinical_expert"]}


def limited(**overrides: Any) -> Settings:
    return make_settings(MEMORY_DATABASE_URL, **overrides)


def rejections(limit: str, scope: str) -> float:
    value = metrics.REGISTRY.get_sample_value("ask_panel_rate_limited_total", {"limit": limit, "scope": scope})
    return value or 0.0


def assert_rate_limited(response: httpx2.Response, *, names: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    problem = response.json()
    assert problem["type"].endswith("/rate-limited")
    assert names in problem["detail"]


async def test_a_tenant_past_its_request_limit_gets_429_with_retry_after_and_other_tenants_do_not() -> None:
    before = rejections("request", "tenant")
    async with serving(limited(rate_limit="3/minute")) as (_container, client):
        answers = [await client.get("/api/v1/panels", headers=headers_for(TENANT_A)) for _ in range(4)]
        other = await client.get("/api/v1/panels", headers=headers_for(TENANT_B))
        public = await client.get("/api/v1/meta")
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert_rate_limited(answers[3], names="requests for this tenant")
    assert other.status_code == 200
    assert public.status_code == 200  # the public meta document is not a tenant's request
    assert rejections("request", "tenant") == before + 1


async def test_a_token_is_limited_across_the_tenants_it_grants() -> None:
    token = mint_jwt(JWT_SECRET, [TENANT_A, TENANT_B])
    other_token = mint_jwt(JWT_SECRET, [TENANT_A, TENANT_B], subject="someone-else")
    before = rejections("request", "token")
    async with serving(limited(rate_limit="2/minute")) as (_container, client):
        first = await client.get("/api/v1/panels", headers=headers_for(TENANT_A, token=token))
        second = await client.get("/api/v1/panels", headers=headers_for(TENANT_A, token=token))
        # The token has used its two requests: refused for tenant B too, which has used none.
        third = await client.get("/api/v1/panels", headers=headers_for(TENANT_B, token=token))
        # Another token for tenant B is counted on its own.
        fourth = await client.get("/api/v1/panels", headers=headers_for(TENANT_B, token=other_token))
    assert [first.status_code, second.status_code, fourth.status_code] == [200, 200, 200]
    assert_rate_limited(third, names="requests for this token")
    assert rejections("request", "token") == before + 1


async def test_panel_creation_has_its_own_limit() -> None:
    before = rejections("panel_create", "tenant")
    async with serving(limited(panel_create_limit="2/hour")) as (_container, client):
        created = [await client.post("/api/v1/panels", json=PANEL, headers=headers_for()) for _ in range(3)]
        listed = await client.get("/api/v1/panels", headers=headers_for())
    assert [c.status_code for c in created] == [201, 201, 429]
    assert_rate_limited(created[2], names="panels created for this tenant")
    assert listed.status_code == 200 and listed.json()["total"] == 2  # the refused one was not created
    assert rejections("panel_create", "tenant") == before + 1


async def test_stream_opening_has_its_own_limit_on_sse_and_websocket_alike() -> None:
    async with serving(limited(stream_open_limit="2/minute")) as (_container, client):
        panel = (await client.post("/api/v1/panels", json=PANEL, headers=headers_for())).json()
        url = f"/api/v1/panels/{panel['panel_id']}/stream"
        await client.delete(f"/api/v1/panels/{panel['panel_id']}", headers=headers_for())  # its streams end
        ticket = (await client.post(f"{url}-ticket", headers=headers_for())).json()["ticket"]
        async with client.stream("GET", url, headers=headers_for()) as first:
            assert first.status_code == 200
        async with client.stream("GET", url, params={"ticket": ticket}) as second:
            assert second.status_code == 200  # a ticket's stream counts for the tenant too
        third = await client.post(url, headers=headers_for())
        assert_rate_limited(third, names="streams opened for this tenant")


async def test_a_tenant_override_replaces_the_service_limits_for_that_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASK_PANEL_TENANT_LIMITS", json.dumps({TENANT_B: {"rate_limit": "none"}, TENANT_A: {}}))
    async with serving(limited(rate_limit="1/minute")) as (_container, client):
        a = [(await client.get("/api/v1/panels", headers=headers_for(TENANT_A))).status_code for _ in range(2)]
        b = [(await client.get("/api/v1/panels", headers=headers_for(TENANT_B))).status_code for _ in range(5)]
    assert a == [200, 429]  # an empty override keeps the service's limit
    assert b == [200] * 5  # `none` turns it off for that tenant


def test_a_limit_that_cannot_be_read_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="is not a rate limit"):
        limited(panel_create_limit="sixty a minute")
    with pytest.raises(ValueError, match="is not a tenant id"):
        limited(tenant_limits={"acme": {"rate_limit": "5/minute"}})


async def test_rejected_requests_are_counted_in_the_metrics() -> None:
    async with serving(limited(rate_limit="1/minute")) as (_container, client):
        for _ in range(3):
            await client.get("/api/v1/panels", headers=headers_for())
        scrape = (await client.get("/metrics")).text
    (line,) = [
        line
        for line in scrape.splitlines()
        if line.startswith('ask_panel_rate_limited_total{limit="request",scope="tenant"}')
    ]
    assert float(line.split()[1]) >= 2


@pytest.mark.redis
async def test_with_redis_two_processes_share_one_limit() -> None:
    """Two app instances (as two processes would be) on one Redis count against the same window."""
    settings = limited(redis_url=redis_or_skip(), fanout="none", panel_create_limit="3/minute")
    tenant = new_tenant()  # Redis outlives the test: a tenant of its own keeps runs apart
    async with serving(settings) as (_one, first), serving(settings) as (_two, second):
        answers = []
        for client in (first, second, first, second):
            response = await client.post("/api/v1/panels", json=PANEL, headers=headers_for(tenant))
            answers.append(response.status_code)
    assert answers == [201, 201, 201, 429]


async def test_while_the_limit_store_is_down_requests_are_served(caplog: pytest.LogCaptureFixture) -> None:
    """An unreachable Redis never takes the API down: the limits are skipped, and the outage is logged once."""
    settings = limited(redis_url="redis://127.0.0.1:9/0", fanout="none", rate_limit="1/minute")
    async with serving(settings) as (_container, client):
        answers = [(await client.get("/api/v1/panels", headers=headers_for())).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    warnings = [r for r in caplog.records if "rate-limit store" in r.getMessage()]
    assert len(warnings) == 1


class DownStorage(MemoryStorage):
    """A store whose every write fails, as a Redis that cannot be reached; it counts the attempts."""

    attempts = 0

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        DownStorage.attempts += 1
        raise ConnectionError("the store is down")


async def test_a_store_that_failed_is_not_asked_again_for_a_while() -> None:
    """During an outage one request per period pays for the store's timeout, not every request."""
    limits = RateLimits(DownStorage(), lambda _tenant, _kind: "1/minute")
    tenant = TenantId.from_string(TENANT_A)
    DownStorage.attempts = 0
    for _ in range(5):
        await limits.hit("request", tenant, caller_of("token"))  # served: no limit while the store is down
    assert DownStorage.attempts == 1
