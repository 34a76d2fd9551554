"""Executing and cancelling panels through the API: 202, 204, the 409s, usage, failures."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx2

from ask_panel.bootstrap import Container
from tests.conftest import TERMINAL, create_panel, headers_for, make_settings, serving, wait_for_status


async def events_of(container: Container, panel_id: str) -> list[tuple[int, str]]:
    from ask_panel.domain.ids import PanelId, TenantId
    from tests.conftest import TENANT_A

    async with container.uow(TenantId.from_string(TENANT_A)) as uow:
        events = await uow.events.read(PanelId.from_string(panel_id), after=0)
    return [(e.seq, e.type) for e in events]


async def test_executing_a_draft_is_accepted_and_the_panel_completes(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client, configuration={"max_rounds": 2})
    response = await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
    assert response.status_code == 202
    # The seed's "executing" stays (its clients rely on it); the panel's own status is panel_status.
    assert response.json() == {
        "panel_id": panel["panel_id"],
        "status": "executing",
        "panel_status": "queued",
        "message": "Panel execution started",
    }
    done = await wait_for_status(client, panel["panel_id"], TERMINAL)
    assert done["status"] == "completed"
    assert done["final_recommendation"]["recommendation"]
    assert 0 <= done["consensus"]["level"] <= 1 and 0 <= done["consensus"]["confidence"] <= 1
    assert done["consensus"]["components"]["members"] == 3
    assert done["usage"]["llm_calls"] > 0 and done["usage"]["output_tokens"] > 0
    message = done["discussions"][0]["messages"][0]
    assert {"model", "input_tokens", "output_tokens", "latency_ms"} <= message["metadata"].keys()
    assert message["metadata"]["model"] == "simulated"
    assert done["duration_seconds"] is not None and done["error"] is None


async def test_executing_a_panel_that_is_not_a_draft_is_a_conflict(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client, configuration={"max_rounds": 1})
    url = f"/api/v1/panels/{panel['panel_id']}/execute"
    assert (await client.post(url, headers=headers_for())).status_code == 202
    second = await client.post(url, headers=headers_for())
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")
    await wait_for_status(client, panel["panel_id"], TERMINAL)
    assert (await client.post(url, headers=headers_for())).status_code == 409


async def test_cancelling_a_completed_panel_is_a_conflict(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client, configuration={"max_rounds": 1})
    await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
    await wait_for_status(client, panel["panel_id"], TERMINAL)
    response = await client.delete(f"/api/v1/panels/{panel['panel_id']}", headers=headers_for())
    assert response.status_code == 409


async def test_cancelling_a_draft_ends_it(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client)
    response = await client.delete(f"/api/v1/panels/{panel['panel_id']}", headers=headers_for())
    assert response.status_code == 204
    got = (await client.get(f"/api/v1/panels/{panel['panel_id']}", headers=headers_for())).json()
    assert got["status"] == "cancelled"
    again = await client.delete(f"/api/v1/panels/{panel['panel_id']}", headers=headers_for())
    assert again.status_code == 409


async def test_cancelling_a_running_panel_stops_it_and_nothing_is_appended_after_the_204(database_url: str) -> None:
    async with serving(make_settings(database_url, simulated_token_delay_ms=20)) as (container, client):
        panel = await create_panel(client, configuration={"max_rounds": 3})
        pid = panel["panel_id"]
        await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())
        for _ in range(1000):
            if any(t == "expert_speaking" for _, t in await events_of(container, pid)):
                break
            await asyncio.sleep(0.01)
        response = await client.delete(f"/api/v1/panels/{pid}", headers=headers_for())
        assert response.status_code == 204
        calls_at_cancel = container.providers.get(None).wrapped.calls  # type: ignore[attr-defined]
        at_cancel = await events_of(container, pid)
        assert at_cancel[-1][1] == "panel_cancelled"
        assert not container.pool.running, "the run's task was cancelled, not left to finish"
        await asyncio.sleep(0.3)
        assert await events_of(container, pid) == at_cancel
        assert container.providers.get(None).wrapped.calls == calls_at_cancel  # type: ignore[attr-defined]
        got = (await client.get(f"/api/v1/panels/{pid}", headers=headers_for())).json()
        assert got["status"] == "cancelled"
        assert got["total_messages"] == Counter(t for _, t in at_cancel)["expert_speaking"]


async def test_panels_complete_through_retries_with_twenty_percent_provider_faults(database_url: str) -> None:
    settings = make_settings(database_url, simulated_fault_rate=0.2, simulated_seed=3, llm_max_attempts=6)
    async with serving(settings) as (container, client):
        ids = []
        for kind in ("structured", "open", "socratic", "adversarial", "delphi"):
            panel = await create_panel(client, panel_type=kind, configuration={"max_rounds": 2})
            await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
            ids.append(panel["panel_id"])
        results = [await wait_for_status(client, pid, TERMINAL) for pid in ids]
        assert [r["status"] for r in results] == ["completed"] * 5
        assert container.providers.get(None).retries > 0  # type: ignore[attr-defined]


async def test_a_provider_that_keeps_failing_ends_the_panel_failed_with_a_clear_error(database_url: str) -> None:
    async with serving(make_settings(database_url, simulated_fault_rate=1.0, llm_max_attempts=2)) as (_, client):
        panel = await create_panel(client)
        await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
        done = await wait_for_status(client, panel["panel_id"], TERMINAL)
    assert done["status"] == "failed"
    assert "simulated" in done["error"] and "attempts" in done["error"]
