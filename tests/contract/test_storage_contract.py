"""The storage port's contract, run against every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from ask_panel.application.ports import Ticket
from ask_panel.bootstrap import Container
from ask_panel.config import Settings
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.errors import AgentAlreadyExists, PanelNotFound, StaleAttempt
from ask_panel.domain.experts import Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Member, Panel, utcnow
from ask_panel.domain.status import PanelStatus, PanelType

A = TenantId.from_string("11111111-1111-1111-1111-111111111111")
B = TenantId.from_string("22222222-2222-2222-2222-222222222222")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Container]:
    container = Container(settings.model_copy(update={"run_worker": False}))
    yield container
    await container.stop()


def draft(tenant: TenantId = A, panel_type: PanelType = PanelType.STRUCTURED) -> Panel:
    return Panel.create(
        tenant_id=tenant,
        query="Q?",
        panel_type=panel_type,
        configuration=PanelConfiguration(seed=1),
        members=[Member("fda_expert", "Dr. A", "FDA")],
    )


async def add(store: Container, panel: Panel, key: str | None = None) -> None:
    async with store.uow(panel.tenant_id, write=True) as uow:
        await uow.panels.add(panel, idempotency_key=key, fingerprint="f" if key else None)
        await uow.commit()


async def test_a_panel_reads_back_as_written_and_only_for_its_tenant(store: Container) -> None:
    panel = draft()
    await add(store, panel)
    async with store.uow(A) as uow:
        got = await uow.panels.get(panel.panel_id)
    assert got.body() == panel.body() and got.status is PanelStatus.DRAFT
    async with store.uow(B) as uow:
        with pytest.raises(PanelNotFound):
            await uow.panels.get(panel.panel_id)
        with pytest.raises(PanelNotFound):
            await uow.panels.get(PanelId.generate())


async def test_events_get_gapless_sequence_numbers_across_saves(store: Container) -> None:
    panel = draft()
    await add(store, panel)
    stored = []
    for _ in range(3):
        panel.pending_events.clear()
        panel.record_expert_failure("fda_expert", "x", 1)
        panel.record_expert_failure("fda_expert", "y", 1)
        async with store.uow(A, write=True) as uow:
            stored += await uow.panels.save(panel)
            await uow.commit()
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5, 6]
    assert all(e.tenant_id == A for e in stored)
    async with store.uow(A) as uow:
        assert [e.seq for e in await uow.events.read(panel.panel_id, after=2, limit=3)] == [3, 4, 5]
        assert await uow.events.read(panel.panel_id, after=6) == []
    async with store.uow(B) as uow:
        assert await uow.events.read(panel.panel_id, after=0) == []


async def test_a_stale_attempt_writes_nothing(store: Container) -> None:
    panel = draft()
    await add(store, panel)
    async with store.uow(A, write=True) as uow:
        await uow.panels.save(panel, bump_attempt=True)
        await uow.commit()
    assert panel.attempt == 1
    stale = draft()
    stale.panel_id, stale.attempt = panel.panel_id, 0
    stale.record_expert_failure("fda_expert", "late", 1)
    async with store.uow(A, write=True) as uow:
        with pytest.raises(StaleAttempt):
            await uow.panels.save(stale)
    async with store.uow(A) as uow:
        assert await uow.events.read(panel.panel_id, after=0) == []
        assert (await uow.panels.get(panel.panel_id)).attempt == 1


async def test_an_uncommitted_unit_of_work_leaves_no_trace(store: Container) -> None:
    panel = draft()
    async with store.uow(A, write=True) as uow:
        await uow.panels.add(panel, idempotency_key=None, fingerprint=None)
    async with store.uow(A) as uow:
        with pytest.raises(PanelNotFound):
            await uow.panels.get(panel.panel_id)


async def test_pages_are_newest_first_filtered_and_counted(store: Container) -> None:
    panels = [draft(), draft(panel_type=PanelType.DELPHI), draft(), draft(B)]
    for i, panel in enumerate(panels):
        panel.created_at = utcnow() + timedelta(seconds=i)
        await add(store, panel)
    async with store.uow(A) as uow:
        page = await uow.panels.page(limit=2, offset=0, status=None, panel_type=None)
        delphi = await uow.panels.page(limit=10, offset=0, status=None, panel_type=PanelType.DELPHI)
        empty = await uow.panels.page(limit=10, offset=5, status=None, panel_type=None)
    assert [p.panel_id for p in page.panels] == [panels[2].panel_id, panels[1].panel_id]
    assert page.total == 3
    assert [p.panel_id for p in delphi.panels] == [panels[1].panel_id] and delphi.total == 1
    assert empty.panels == [] and empty.total == 3


async def test_idempotency_keys_are_per_tenant(store: Container) -> None:
    panel = draft()
    await add(store, panel, key="k1")
    async with store.uow(A) as uow:
        found = await uow.panels.find_by_idempotency_key("k1")
    assert found is not None and found[0].panel_id == panel.panel_id and found[1] == "f"
    async with store.uow(B) as uow:
        assert await uow.panels.find_by_idempotency_key("k1") is None


async def test_tickets_are_used_once_and_expire(store: Container) -> None:
    panel_id = PanelId.generate()
    now = utcnow()
    async with store.uow(A, write=True) as uow:
        await uow.tickets.add("d1", Ticket(A, panel_id), now + timedelta(seconds=30))
        await uow.tickets.add("d2", Ticket(A, panel_id), now - timedelta(seconds=1))
        await uow.commit()
    async with store.uow(A, write=True) as uow:
        assert await uow.tickets.consume("d1", now) == Ticket(A, panel_id)
        assert await uow.tickets.consume("d1", now) is None
        assert await uow.tickets.consume("d2", now) is None
        assert await uow.tickets.consume("nope", now) is None
        await uow.commit()


async def test_tenant_experts_are_private_and_unique(store: Container) -> None:
    expert = Expert("acme_expert", "Ada", "Role", ("a", "b"), "Do things.", "gpt-4o", "openai")
    async with store.uow(A, write=True) as uow:
        await uow.agents.add(expert)
        await uow.commit()
    async with store.uow(A, write=True) as uow:
        assert await uow.agents.get("acme_expert") == expert
        assert await uow.agents.all() == [expert]
        with pytest.raises(AgentAlreadyExists):
            await uow.agents.add(expert)
    async with store.uow(B) as uow:
        assert await uow.agents.get("acme_expert") is None
        assert await uow.agents.all() == []
