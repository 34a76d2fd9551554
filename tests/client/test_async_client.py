"""`AsyncAskPanel` against a real `ask-panel serve`: the same calls, awaited, and the same resuming stream."""

from __future__ import annotations

import pytest

from ask_panel.client import AsyncAskPanel, EventType, NotFound, ReconnectPolicy
from tests.client.conftest import Account, Server
from tests.client.proxy import cutting_proxy

QUERY = "Which pricing model should our diagnostics subscription launch with?"
EXPERTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]


async def test_an_async_stream_cut_twice_resumes_without_duplicate_or_gap(account: Account, server: Server) -> None:
    with cutting_proxy(server.port, cut_after=b"event: expert_speaking", cuts=2) as proxy:
        async with AsyncAskPanel(proxy.url, tenant=account.tenant, token=account.token) as client:
            panel = await client.create(QUERY, agent_ids=EXPERTS, configuration={"max_rounds": 2})
            events = [event async for event in client.stream(panel.panel_id, start=True)]
            stored = [event async for event in client.stream(panel.panel_id)]
    assert proxy.cuts_done == 2
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert [(e.id, e.data) for e in events] == [(e.id, e.data) for e in stored]
    assert events[-1].type is EventType.PANEL_COMPLETE


async def test_async_list_pages_and_problems(account: Account) -> None:
    async with AsyncAskPanel(account.url, tenant=account.tenant, token=account.token) as client:
        created = [(await client.create(f"{QUERY} #{i}")).panel_id for i in range(3)]
        listed = [panel.panel_id async for panel in client.list(page_size=2)]
        with pytest.raises(NotFound):
            await client.agents.get("nobody_here")
    assert listed == list(reversed(created))


async def test_an_async_watch_of_an_ended_panel_from_its_last_event_ends_at_once(account: Account) -> None:
    async with AsyncAskPanel(account.url, tenant=account.tenant, token=account.token) as client:
        panel = await client.create(QUERY, agent_ids=EXPERTS[:2], configuration={"max_rounds": 1})
        events = [event async for event in client.stream(panel.panel_id, start=True)]
        client.reconnect = ReconnectPolicy(attempts=1)  # one refused or early end would raise
        assert [event async for event in client.stream(panel.panel_id, last_event_id=events[-1].id or 0)] == []
