"""Budgets: a panel's own max_tokens / max_cost_usd, a tenant's daily and monthly budgets, the estimate on create,
and the usage ledger behind GET /api/v1/usage."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from ask_panel.api.app import create_app
from ask_panel.bootstrap import Container
from ask_panel.client import AsyncAskPanel, BudgetExhausted
from ask_panel.config import MEMORY_DATABASE_URL, ModelPrice, Settings
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import utcnow
from ask_panel.observability import metrics
from tests.conftest import TENANT_A, TENANT_B, TERMINAL, headers_for, make_settings, serving, wait_for_status

EXPERTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]
# The simulated model, priced as if it were a paid one: 10 USD per million tokens in, 30 out.
PAID = {"simulated": ModelPrice(input=10, output=30)}


def settings(**overrides: Any) -> Settings:
    return make_settings(MEMORY_DATABASE_URL, **overrides)


def refusals(period: str) -> float:
    return metrics.REGISTRY.get_sample_value("ask_panel_budget_refusals_total", {"period": period}) or 0.0


async def create(client: httpx2.AsyncClient, tenant: str = TENANT_A, **configuration: Any) -> httpx2.Response:
    body: dict[str, Any] = {"query": "Which market first?", "panel_type": "structured", "agent_ids": EXPERTS}
    if configuration:
        body["configuration"] = configuration
    return await client.post("/api/v1/panels", json=body, headers=headers_for(tenant))


async def run(client: httpx2.AsyncClient, tenant: str = TENANT_A, **configuration: Any) -> dict[str, Any]:
    created = await create(client, tenant, **configuration)
    assert created.status_code == 201, created.text
    panel_id = created.json()["panel_id"]
    executed = await client.post(f"/api/v1/panels/{panel_id}/execute", headers=headers_for(tenant))
    assert executed.status_code == 202, executed.text
    return await wait_for_status(client, panel_id, TERMINAL, tenant=tenant)


async def event_types(container: Container, panel_id: str) -> list[str]:
    async with container.uow(TenantId.from_string(TENANT_A)) as uow:
        return [e.type for e in await uow.events.read(PanelId.from_string(panel_id), after=0)]


async def test_a_new_panel_comes_with_its_estimated_tokens_and_cost() -> None:
    async with serving(settings()) as (_container, free), serving(settings(model_prices=PAID)) as (_c, paid):
        simulated = (await create(free)).json()
        priced = (await create(paid)).json()
        longer = (await create(paid, max_rounds=6)).json()
    assert simulated["estimated_tokens"] > 0
    assert simulated["estimated_cost_usd"] == 0.0  # the simulated model costs nothing
    assert priced["estimated_tokens"] == simulated["estimated_tokens"]
    assert priced["estimated_cost_usd"] > 0
    assert longer["estimated_tokens"] > priced["estimated_tokens"]
    assert longer["estimated_cost_usd"] > priced["estimated_cost_usd"]


async def test_a_panel_that_reaches_its_max_tokens_after_round_1_completes_degraded_at_a_round_boundary() -> None:
    before = refusals("panel")
    async with serving(settings()) as (container, client):
        unbounded = await run(client, seed=7)  # the same panel twice (one seed): the same discussion
        budget = unbounded["usage"]["input_tokens"] + unbounded["usage"]["output_tokens"]
        bounded = await run(client, seed=7, max_tokens=budget // 2)
        types = await event_types(container, bounded["panel_id"])
        stream = await client.get(f"/api/v1/panels/{bounded['panel_id']}/stream", headers=headers_for())
        record = (
            await client.get(
                f"/api/v1/panels/{bounded['panel_id']}/report", params={"format": "json"}, headers=headers_for()
            )
        ).json()
        markdown = (
            await client.get(
                f"/api/v1/panels/{bounded['panel_id']}/report", params={"format": "md"}, headers=headers_for()
            )
        ).text
        usage = (await client.get("/api/v1/usage", headers=headers_for())).json()
    assert unbounded["status"] == "completed" and len(unbounded["discussions"]) == 3
    assert bounded["status"] == "completed" and bounded["failure_reason"] is None and bounded["error"] is None
    outcome = bounded["final_recommendation"]
    assert outcome["degraded"] is True
    [fallback] = outcome["fallbacks"]
    assert fallback["step"] == "synthesis"
    assert fallback["reason"].startswith("the panel's token budget was reached (")
    assert f"of max_tokens {budget // 2:,} used" in fallback["reason"]
    assert "the discussion ended after round" in fallback["reason"]
    assert fallback["reason"].endswith("the experts' final positions were tallied instead")
    used = bounded["usage"]["input_tokens"] + bounded["usage"]["output_tokens"]
    assert 0 < used <= budget // 2  # stopped before going past it
    assert 1 <= len(bounded["discussions"]) < 3
    # It stopped between rounds: every round it began is whole, and it ended as a completed panel does.
    assert types.count("round_started") == types.count("round_complete") == len(bounded["discussions"])
    assert types.count("expert_speaking") == bounded["total_messages"] > 0
    assert types[-1] == "panel_complete" and "error" not in types
    # The stream's last frame is the degraded recommendation; the decision record lists the fallback.
    frames = [f for f in stream.text.split("\n\n") if f.startswith("id:") or "\nevent:" in f]
    assert "event: panel_complete" in frames[-1] and "budget was reached" in frames[-1]
    assert "event: error" not in stream.text
    assert record["degraded"] is True and record["fallbacks"] == outcome["fallbacks"]
    assert "budget was reached" in markdown
    # Every call it paid for is in the tenant's ledger, as in the panels' own usage.
    assert usage["totals"]["input_tokens"] == unbounded["usage"]["input_tokens"] + bounded["usage"]["input_tokens"]
    assert usage["totals"]["llm_calls"] == unbounded["usage"]["llm_calls"] + bounded["usage"]["llm_calls"]
    assert refusals("panel") == before + 1


async def test_a_panel_whose_max_tokens_do_not_pay_for_round_1_fails_as_budget_exceeded() -> None:
    async with serving(settings()) as (container, client):
        unbounded = await run(client, seed=7)
        budget = unbounded["usage"]["input_tokens"] + unbounded["usage"]["output_tokens"]
        bounded = await run(client, seed=7, max_tokens=budget // 10)
        types = await event_types(container, bounded["panel_id"])
    assert bounded["status"] == "failed" and bounded["failure_reason"] == "budget_exceeded"
    assert "token budget" in bounded["error"] and f"max_tokens {budget // 10:,}" in bounded["error"]
    assert bounded["final_recommendation"] is None
    assert types[-1] == "error" and types.count("error") == 1
    assert types.count("expert_speaking") == bounded["total_messages"]
    assert types.count("round_started") == types.count("round_complete")


async def test_a_panel_that_would_go_past_its_max_cost_usd_stops_within_it() -> None:
    async with serving(settings(model_prices=PAID)) as (_container, client):
        unbounded = await run(client, seed=7)
        cap = unbounded["usage"]["cost_usd"] / 2
        bounded = await run(client, seed=7, max_cost_usd=cap)
    assert unbounded["status"] == "completed"
    assert bounded["status"] == "completed" and bounded["final_recommendation"]["degraded"] is True
    [fallback] = bounded["final_recommendation"]["fallbacks"]
    assert fallback["reason"].startswith("the panel's cost budget was reached (")
    assert 0 < bounded["usage"]["cost_usd"] <= cap


async def test_a_panel_within_its_budget_completes() -> None:
    async with serving(settings(model_prices=PAID)) as (_container, client):
        done = await run(client, max_tokens=10_000_000, max_cost_usd=1000.0)
    assert done["status"] == "completed"
    assert done["configuration"]["max_tokens"] == 10_000_000 and done["configuration"]["max_cost_usd"] == 1000.0


@pytest.mark.parametrize("configuration", [{"max_tokens": 0}, {"max_tokens": "many"}, {"max_cost_usd": -1}])
async def test_a_budget_that_is_not_a_positive_amount_is_refused(configuration: dict[str, Any]) -> None:
    async with serving(settings()) as (_container, client):
        response = await create(client, **configuration)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_tenant_past_its_daily_budget_can_neither_create_nor_execute_until_tomorrow() -> None:
    before = refusals("day")
    async with serving(settings(model_prices=PAID, tenant_daily_budget_usd=0.001)) as (_container, client):
        draft = (await create(client)).json()
        spent = await run(client)  # one panel spends the budget (it was under it when it started), and stops
        created = await create(client)
        executed = await client.post(f"/api/v1/panels/{draft['panel_id']}/execute", headers=headers_for())
        streamed = await client.post(f"/api/v1/panels/{draft['panel_id']}/stream", headers=headers_for())
        other = await create(client, TENANT_B)
        read = await client.get(f"/api/v1/panels/{draft['panel_id']}", headers=headers_for())
    assert spent["status"] == "failed" and spent["failure_reason"] == "budget_exceeded"
    assert "its tenant reached its daily budget" in spent["error"]  # before round 1 could begin
    assert spent["usage"]["cost_usd"] >= 0.001 and spent["usage"]["llm_calls"] == 1  # the framing only
    for refused in (created, executed, streamed):
        assert refused.status_code == 402, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"].endswith("/budget-exhausted")
        assert "of its daily budget of 0.0010 USD" in problem["detail"]  # as configured, not rounded to 0.00
        assert 1 <= int(refused.headers["retry-after"]) <= 86_400  # until the next UTC day
    assert other.status_code == 201  # another tenant's budget is its own
    assert read.json()["status"] == "draft"  # reads go on
    assert refusals("day") == before + 4  # the run stopped, then the three refusals


async def test_a_tenant_override_sets_a_monthly_budget_for_that_tenant_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASK_PANEL_TENANT_LIMITS", json.dumps({TENANT_A: {"monthly_budget_usd": 0.001}}))
    async with serving(settings(model_prices=PAID)) as (_container, client):
        await run(client)
        refused = await create(client)
        other = await create(client, TENANT_B)
        usage = (await client.get("/api/v1/usage", headers=headers_for())).json()
    assert refused.status_code == 402
    assert "monthly budget" in refused.json()["detail"] and "next month" in refused.json()["detail"]
    assert other.status_code == 201
    assert usage["budget"]["monthly_usd"] == 0.001 and usage["budget"]["daily_usd"] is None
    assert usage["budget"]["spent_this_month_usd"] > 0.001


async def test_usage_is_read_by_day_for_the_tenant_only() -> None:
    async with serving(settings(model_prices=PAID)) as (_container, client):
        first = await run(client)
        second = await run(client)
        today = utcnow().date().isoformat()
        mine = await client.get("/api/v1/usage", params={"from": today, "to": today}, headers=headers_for())
        default_range = await client.get("/api/v1/usage", headers=headers_for())
        theirs = await client.get("/api/v1/usage", headers=headers_for(TENANT_B))
        before = await client.get(
            "/api/v1/usage", params={"from": "2020-01-01", "to": "2020-01-31"}, headers=headers_for()
        )
    assert mine.status_code == 200, mine.text
    report = mine.json()
    (day,) = report["days"]
    assert day["date"] == today and day["panels"] == 2
    for key in ("input_tokens", "output_tokens", "llm_calls"):
        assert day[key] == report["totals"][key] == first["usage"][key] + second["usage"][key]
    assert day["cost_usd"] == pytest.approx(first["usage"]["cost_usd"] + second["usage"]["cost_usd"])
    assert report["from"] == report["to"] == today and report["tenant_id"] == TENANT_A
    assert default_range.json()["to"] == today and default_range.json()["from"] == today[:8] + "01"
    assert default_range.json()["totals"] == report["totals"]
    assert theirs.json()["days"] == [] and theirs.json()["totals"]["llm_calls"] == 0
    assert before.json()["days"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2026-02-30"},
        {"to": "0"},  # pydantic alone reads a number as a Unix time's day (found by the fuzzer)
        {"from": "1700000000"},
        {"from": "2026-11-01T00:00:00"},
        {"from": "2026-11-30", "to": "2026-11-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
    ],
)
async def test_usage_dates_that_cannot_be_read_or_do_not_make_a_range_are_a_400(params: dict[str, str]) -> None:
    async with serving(settings()) as (_container, client):
        response = await client.get("/api/v1/usage", params=params, headers=headers_for())
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/bad-request")


async def test_usage_needs_a_token_for_the_tenant() -> None:
    async with serving(settings()) as (_container, client):
        anonymous = await client.get("/api/v1/usage", headers={"X-Tenant-ID": TENANT_A})
        wrong = await client.get("/api/v1/usage", headers={**headers_for(TENANT_B), "X-Tenant-ID": TENANT_A})
    assert anonymous.status_code == 401
    assert wrong.status_code == 403


async def test_the_python_client_raises_budget_exhausted_without_retrying() -> None:
    async with serving(settings(model_prices=PAID, tenant_daily_budget_usd=0.001)) as (container, client):
        await run(client)
        transport = httpx2.ASGITransport(app=create_app(container=container))
        token = headers_for()["Authorization"].removeprefix("Bearer ")
        async with AsyncAskPanel("http://testserver", tenant=TENANT_A, token=token, transport=transport) as api:
            with pytest.raises(BudgetExhausted) as refused:
                await api.create("Which market first?", panel_type="open", agent_ids=EXPERTS)
    assert refused.value.status == 402 and "daily budget" in refused.value.detail
