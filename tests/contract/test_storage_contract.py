"""The storage ports' contract, run against every backend: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from ask_panel.application.ports import Ticket
from ask_panel.domain.checkpoint import AnswerNote, StepKey
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.errors import AgentAlreadyExists, IdempotencyConflict, PanelNotFound, StaleAttempt
from ask_panel.domain.experts import Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel, utcnow
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.usage import UsageDay
from ask_panel.domain.values import Consensus, Member, Message, Recommendation, Stance, Usage
from tests.conftest import sql_only
from tests.contract.conftest import Storage

A = TenantId.from_string("11111111-1111-1111-1111-111111111111")
B = TenantId.from_string("22222222-2222-2222-2222-222222222222")


def draft(tenant: TenantId = A, panel_type: PanelType = PanelType.STRUCTURED) -> Panel:
    return Panel.create(
        tenant_id=tenant,
        query="Q?",
        panel_type=panel_type,
        configuration=PanelConfiguration(seed=1),
        members=[Member("fda_expert", "Dr. A", "FDA"), Member("clinical_expert", "Dr. B", "Clinical")],
    )


async def add(storage: Storage, panel: Panel, key: str | None = None) -> None:
    async with storage.uow(panel.tenant_id, write=True) as uow:
        await uow.panels.add(panel, idempotency_key=key, fingerprint="f" if key else None)
        await uow.commit()


async def started(storage: Storage, tenant: TenantId = A) -> Panel:
    """A stored panel that a runner has claimed (attempt 1, in progress)."""
    panel = draft(tenant)
    await add(storage, panel)
    panel.queue()
    panel.start()
    async with storage.uow(tenant, write=True) as uow:
        await uow.panels.save(panel, bump_attempt=True)
        await uow.commit()
    return panel


def discussed(panel: Panel) -> None:
    """Give a started panel one round with a message, a decision, markers, a failure and an outcome."""
    panel.checkpoint.record_decision(StepKey.decision("frame"), {"options": ["A", "B"]})
    panel.begin_round(1)
    panel.checkpoint.mark(StepKey.round_start(1))
    stance = Stance("A", 0.8, ("A", "B"), "clinical_expert", None)
    panel.add_message(
        StepKey.speaking(1, "fda_expert"), Message("fda_expert", "Dr. A", "Go A.", utcnow(), 1, stance=stance)
    )
    panel.checkpoint.record_failure("clinical_expert", StepKey.speaking(1, "clinical_expert"))
    panel.checkpoint.record_answer(StepKey.speaking(1, "fda_expert"), AnswerNote("repaired", 2, "bad ranking"))
    panel.complete_round(1, Consensus(0.5, 0.4, "m", {"coverage": 0.5}), {"note": "x"})
    panel.checkpoint.mark(StepKey.round_end(1))
    panel.record_usage(10, 5, 0.001)


async def test_a_panel_reads_back_as_written_and_only_for_its_tenant(storage: Storage) -> None:
    panel = draft()
    await add(storage, panel)
    async with storage.uow(A) as uow:
        got = await uow.panels.get(panel.panel_id)
    assert got == panel and got.status is PanelStatus.DRAFT
    async with storage.uow(B) as uow:
        with pytest.raises(PanelNotFound):
            await uow.panels.get(panel.panel_id)
        with pytest.raises(PanelNotFound):
            await uow.panels.get(PanelId.generate())


async def test_a_discussed_panel_reads_back_whole_with_its_checkpoint(storage: Storage) -> None:
    panel = await started(storage)
    discussed(panel)
    panel.complete(Recommendation("Do A", "Because", ("a",), ("b",), degraded=True, decided_by="moderator"))
    async with storage.uow(A, write=True) as uow:
        await uow.panels.save(panel)
        await uow.commit()
    async with storage.uow(A) as uow:
        got = await uow.panels.get(panel.panel_id)
    assert got == panel
    assert got.checkpoint.message(StepKey.speaking(1, "fda_expert")) == panel.rounds[0].messages[0]
    assert got.checkpoint.decision(StepKey.decision("frame")) == {"options": ["A", "B"]}
    assert got.checkpoint.failed("clinical_expert", StepKey.speaking(1, "clinical_expert"))
    assert got.checkpoint.passed(StepKey.round_end(1))


async def test_events_get_gapless_sequence_numbers_across_saves(storage: Storage) -> None:
    panel = await started(storage)  # panel_started is event 1
    stored = []
    for _ in range(3):
        panel.record_expert_failure("fda_expert", "x", 1)
        panel.record_expert_failure("fda_expert", "y", 1)
        async with storage.uow(A, write=True) as uow:
            stored += await uow.panels.save(panel)
            await uow.commit()
    assert [e.seq for e in stored] == [2, 3, 4, 5, 6, 7] and panel.last_seq == 7
    assert all(e.tenant_id == A and e.type == "expert_error" for e in stored)
    assert stored[0].data == {"message": "x", "agent_id": "fda_expert", "round": 1, "terminal": False}
    async with storage.uow(A) as uow:
        assert [e.seq for e in await uow.events.read(panel.panel_id, after=2, limit=3)] == [3, 4, 5]
        assert await uow.events.read(panel.panel_id, after=7) == []
        assert (await uow.events.read(panel.panel_id, after=0))[0].type == "panel_started"


@sql_only
async def test_an_expert_failure_that_earlier_releases_stored_as_error_is_read_as_expert_error(
    storage: Storage,
) -> None:
    panel = await started(storage)
    panel.record_expert_failure("fda_expert", "no answer", 1)
    panel.fail("quorum lost")
    async with storage.uow(A, write=True) as uow:
        await uow.panels.save(panel)
        await uow.commit()
    assert storage.database is not None
    async with storage.database.engine.begin() as conn:  # the rows as a release before `expert_error` wrote them
        if storage.database.is_postgres:
            await conn.execute(text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": str(A)})
        await conn.execute(text("UPDATE panel_events SET type = 'error' WHERE type = 'expert_error'"))
    async with storage.uow(A) as uow:
        events = await uow.events.read(panel.panel_id, after=0)
    assert [(e.type, e.data["terminal"]) for e in events[1:]] == [("expert_error", False), ("error", True)]
    async with storage.uow(B) as uow:
        assert await uow.events.read(panel.panel_id, after=0) == []


async def test_a_stale_attempt_writes_nothing(storage: Storage) -> None:
    panel = draft()
    await add(storage, panel)
    async with storage.uow(A, write=True) as uow:
        await uow.panels.save(panel, bump_attempt=True)
        await uow.commit()
    assert panel.attempt == 1
    stale = draft()
    stale.panel_id, stale.attempt = panel.panel_id, 0
    stale.record_expert_failure("fda_expert", "late", 1)
    async with storage.uow(A, write=True) as uow:
        with pytest.raises(StaleAttempt):
            await uow.panels.save(stale)
    async with storage.uow(A) as uow:
        assert await uow.events.read(panel.panel_id, after=0) == []
        assert (await uow.panels.get(panel.panel_id)).attempt == 1


async def test_an_ended_panel_takes_no_more_writes(storage: Storage) -> None:
    panel = await started(storage)
    panel.cancel()
    async with storage.uow(A, write=True) as uow:
        await uow.panels.save(panel)
        await uow.commit()
    panel.record_expert_failure("fda_expert", "too late", 1)
    async with storage.uow(A, write=True) as uow:
        with pytest.raises(StaleAttempt):
            await uow.panels.save(panel)


async def test_another_tenant_cannot_write_a_panel(storage: Storage) -> None:
    panel = await started(storage)
    intruder = draft(B)
    intruder.panel_id, intruder.attempt = panel.panel_id, panel.attempt
    intruder.record_expert_failure("fda_expert", "not mine", 1)
    async with storage.uow(B, write=True) as uow:
        with pytest.raises(StaleAttempt):
            await uow.panels.save(intruder)


async def test_an_uncommitted_unit_of_work_leaves_no_trace(storage: Storage) -> None:
    panel = draft()
    async with storage.uow(A, write=True) as uow:
        await uow.panels.add(panel, idempotency_key=None, fingerprint=None)
        await uow.agents.add(Expert("acme_expert", "Ada", "Role", (), "Do."))
    async with storage.uow(A) as uow:
        with pytest.raises(PanelNotFound):
            await uow.panels.get(panel.panel_id)
        assert await uow.agents.all() == []


async def test_a_unit_of_work_reads_its_own_writes_before_the_commit(storage: Storage) -> None:
    panel = draft()
    async with storage.uow(A, write=True) as uow:
        await uow.panels.add(panel, idempotency_key=None, fingerprint=None)
        assert (await uow.panels.get(panel.panel_id)).panel_id == panel.panel_id
        await uow.commit()


async def test_pages_are_newest_first_filtered_and_counted(storage: Storage) -> None:
    panels = [draft(), draft(panel_type=PanelType.DELPHI), draft(), draft(B)]
    for i, panel in enumerate(panels):
        panel.created_at = utcnow() + timedelta(seconds=i)
        await add(storage, panel)
    async with storage.uow(A) as uow:
        page = await uow.panels.page(limit=2, offset=0, status=None, panel_type=None)
        delphi = await uow.panels.page(limit=10, offset=0, status=None, panel_type=PanelType.DELPHI)
        drafts = await uow.panels.page(limit=10, offset=0, status=PanelStatus.DRAFT, panel_type=None)
        done = await uow.panels.page(limit=10, offset=0, status=PanelStatus.COMPLETED, panel_type=None)
        empty = await uow.panels.page(limit=10, offset=5, status=None, panel_type=None)
    assert [p.panel_id for p in page.panels] == [panels[2].panel_id, panels[1].panel_id]
    assert page.total == 3
    assert [p.panel_id for p in delphi.panels] == [panels[1].panel_id] and delphi.total == 1
    assert drafts.total == 3 and done.total == 0 and done.panels == []
    assert empty.panels == [] and empty.total == 3


async def test_a_page_holds_summaries_projected_without_reading_any_discussion(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = await started(storage)
    discussed(panel)
    panel.begin_round(2)
    panel.add_message(StepKey.speaking(2, "fda_expert"), Message("fda_expert", "Dr. A", "Still A.", utcnow(), 2))
    panel.complete(Recommendation("Do A", "Because", ("a",), ("b",), degraded=True, decided_by="moderator"))
    async with storage.uow(A, write=True) as uow:
        await uow.panels.save(panel)
        await uow.commit()
    waiting = draft()
    waiting.created_at = utcnow() + timedelta(seconds=1)
    await add(storage, waiting)

    def no_full_panel(row: object) -> Panel:
        raise AssertionError("a page decoded a whole panel")

    for module in ("db", "memory"):  # a page is a projection: no panel is decoded whole, on any backend
        monkeypatch.setattr(f"ask_panel.infrastructure.{module}.repositories.panel_of", no_full_panel)
    async with storage.uow(A) as uow:
        page = await uow.panels.page(limit=10, offset=0, status=None, panel_type=None)

    newest, done = page.panels
    assert (newest.panel_id, newest.status, newest.total_messages) == (waiting.panel_id, PanelStatus.DRAFT, 0)
    assert newest.consensus is None and newest.recommendation is None and newest.started_at is None
    assert (done.panel_id, done.query, done.panel_type, done.status) == (
        panel.panel_id,
        "Q?",
        PanelType.STRUCTURED,
        PanelStatus.COMPLETED,
    )
    assert done.members == panel.members
    assert done.consensus == panel.consensus
    assert done.recommendation == panel.final_recommendation
    assert done.total_messages == panel.total_messages == 2
    assert (done.started_at, done.completed_at) == (panel.started_at, panel.completed_at)
    assert done.created_at == panel.created_at


async def test_idempotency_keys_are_per_tenant_and_unique(storage: Storage) -> None:
    panel = draft()
    await add(storage, panel, key="k1")
    async with storage.uow(A) as uow:
        found = await uow.panels.find_by_idempotency_key("k1")
    assert found is not None and found[0].panel_id == panel.panel_id and found[1] == "f"
    async with storage.uow(B) as uow:
        assert await uow.panels.find_by_idempotency_key("k1") is None
    await add(storage, draft(B), key="k1")
    async with storage.uow(A, write=True) as uow:
        with pytest.raises(IdempotencyConflict):
            await uow.panels.add(draft(), idempotency_key="k1", fingerprint="g")


async def test_a_ticket_serves_the_one_stream_it_first_opened_until_it_expires(storage: Storage) -> None:
    panel_id, other_panel = PanelId.generate(), PanelId.generate()
    now = utcnow()
    async with storage.uow(A, write=True) as uow:
        await uow.tickets.add("d1", Ticket(A, panel_id), now + timedelta(seconds=30))
        await uow.tickets.add("d2", Ticket(A, panel_id), now - timedelta(seconds=1))
        await uow.commit()
    async with storage.uow(A, write=True) as uow:
        assert await uow.tickets.use("d1", other_panel, "sse", now) is None  # another panel: refused, not bound
        assert await uow.tickets.use("d1", panel_id, "sse", now) == Ticket(A, panel_id)
        assert await uow.tickets.use("d1", panel_id, "sse", now + timedelta(seconds=29)) == Ticket(A, panel_id)
        assert await uow.tickets.use("d1", panel_id, "websocket", now) is None  # bound to the SSE stream
        assert await uow.tickets.use("d1", panel_id, "sse", now + timedelta(seconds=30)) is None  # expired
        assert await uow.tickets.use("d2", panel_id, "sse", now) is None
        assert await uow.tickets.use("nope", panel_id, "sse", now) is None
        await uow.commit()
    async with storage.uow(A, write=True) as uow:  # the binding was committed
        assert await uow.tickets.use("d1", panel_id, "websocket", now) is None
        assert await uow.tickets.use("d1", panel_id, "sse", now) == Ticket(A, panel_id)


async def test_tenant_experts_are_private_and_unique(storage: Storage) -> None:
    expert = Expert("acme_expert", "Ada", "Role", ("a", "b"), "Do things.", "gpt-4o", "openai", output_mode="prompt")
    async with storage.uow(A, write=True) as uow:
        await uow.agents.add(expert)
        await uow.commit()
    async with storage.uow(A, write=True) as uow:
        assert await uow.agents.get("acme_expert") == expert
        assert await uow.agents.all() == [expert]
        with pytest.raises(AgentAlreadyExists):
            await uow.agents.add(expert)
    async with storage.uow(B) as uow:
        assert await uow.agents.get("acme_expert") is None
        assert await uow.agents.all() == []


async def test_a_tenant_expert_is_replaced_and_deleted_for_its_own_tenant_only(storage: Storage) -> None:
    first = Expert("acme_expert", "Ada", "Role", ("a",), "Do things.")
    changed = Expert("acme_expert", "Ada Park", "Chief role", ("a", "c"), "Do other things.", "gpt-4o", "openai")
    async with storage.uow(A, write=True) as uow:
        await uow.agents.add(first)
        await uow.commit()
    async with storage.uow(B, write=True) as uow:
        assert await uow.agents.replace(changed) is False
        assert await uow.agents.delete("acme_expert") is False
        await uow.commit()
    async with storage.uow(A, write=True) as uow:
        assert await uow.agents.replace(changed) is True
        await uow.commit()
    async with storage.uow(A, write=True) as uow:
        assert await uow.agents.get("acme_expert") == changed
        assert await uow.agents.delete("acme_expert") is True
        assert await uow.agents.get("acme_expert") is None  # seen at once by its own unit of work
    async with storage.uow(A) as uow:
        assert await uow.agents.get("acme_expert") == changed  # not committed: nothing changed
    async with storage.uow(A, write=True) as uow:
        assert await uow.agents.delete("acme_expert") is True
        await uow.commit()
    async with storage.uow(A, write=True) as uow:
        assert await uow.agents.get("acme_expert") is None
        assert await uow.agents.all() == []
        assert await uow.agents.replace(changed) is False
        await uow.agents.add(first)  # the id is free again
        await uow.commit()


async def test_every_checkpoint_writer_commits_the_step_with_its_events_and_is_fenced(storage: Storage) -> None:
    for writer in storage.checkpoint_writers:
        panel = await started(storage)
        discussed(panel)
        stored = await writer.write(panel)
        assert [e.type for e in stored] == ["round_started", "expert_speaking", "round_complete", "consensus_update"]
        assert [e.seq for e in stored] == [2, 3, 4, 5] and panel.pending_events == []
        async with storage.uow(A) as uow:
            assert await uow.panels.get(panel.panel_id) == panel
        panel.attempt = 0  # another runner took over
        panel.record_expert_failure("fda_expert", "late", 1)
        with pytest.raises(StaleAttempt):
            await writer.write(panel)


async def test_the_recovery_scan_finds_unfinished_panels_of_every_tenant_oldest_first(storage: Storage) -> None:
    queued, running, ended, fresh = draft(A), draft(B), draft(A), draft(A)
    for i, panel in enumerate((queued, running, ended, fresh)):
        panel.created_at = utcnow() + timedelta(seconds=i)
        await add(storage, panel)
    queued.queue()
    running.queue()
    running.start()
    ended.cancel()
    for panel in (queued, running, ended):
        async with storage.uow(panel.tenant_id, write=True) as uow:
            await uow.panels.save(panel)
            await uow.commit()
    assert await storage.recovery.unfinished() == [(A, queued.panel_id), (B, running.panel_id)]


async def test_a_panel_is_orphaned_when_neither_its_runner_beats_nor_it_changes(storage: Storage) -> None:
    queued, running, ended = draft(A), draft(B), draft(A)
    for panel in (queued, running, ended):
        await add(storage, panel)
    queued.queue()
    running.queue()
    running.start()
    ended.cancel()
    for panel in (queued, running, ended):
        async with storage.uow(panel.tenant_id, write=True) as uow:
            await uow.panels.save(panel)
            await uow.commit()
    assert await storage.recovery.orphaned(silent_for_s=3600) == [], "a panel that just changed is not orphaned"
    await asyncio.sleep(0.3)
    assert await storage.recovery.orphaned(silent_for_s=0.2) == [(A, queued.panel_id), (B, running.panel_id)]
    await storage.recovery.beat([running.panel_id, ended.panel_id])
    assert await storage.recovery.orphaned(silent_for_s=0.2) == [(A, queued.panel_id)], "its runner beats"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # row-level security is PostgreSQL's
async def test_a_heartbeat_leaves_no_tenant_crossing_flag_on_a_pooled_connection(storage: Storage) -> None:
    from sqlalchemy import text

    panel = await started(storage)
    for _ in range(3):  # whichever pooled connection the next unit of work gets
        await storage.recovery.beat([panel.panel_id])
        await storage.recovery.orphaned(silent_for_s=60)
    for _ in range(12):
        async with storage.uow(B) as uow:
            flag = (await uow.connection.execute(text("SELECT current_setting('app.system', true)"))).scalar()  # type: ignore[attr-defined]
        assert flag in (None, "", "off")


async def test_every_checkpoint_writer_adds_the_usage_of_the_step_to_the_tenants_ledger(storage: Storage) -> None:
    today = utcnow().date()
    for writer in storage.checkpoint_writers:
        panel = await started(storage)
        discussed(panel)  # one call: 10 tokens in, 5 out, 0.001 USD
        panel.record_usage(20, 10, 0.002)
        await writer.write(panel)
        await writer.write(panel)  # nothing new used: nothing added
        assert panel.unrecorded_usage == Usage()
    writers = len(storage.checkpoint_writers)
    async with storage.uow(A) as uow:
        (day,) = await uow.usage.days(today, today)
        spent = await uow.usage.cost_since(today)
    assert day == UsageDay(today, 30 * writers, 15 * writers, 2 * writers, round(0.003 * writers, 8), writers)
    assert spent == pytest.approx(0.003 * writers)
    async with storage.uow(B) as uow:
        assert await uow.usage.days(today, today) == []
        assert await uow.usage.cost_since(today) == 0.0


async def test_the_ledger_sums_usage_by_utc_day_within_the_range_asked(storage: Storage) -> None:
    first, second = PanelId.generate(), PanelId.generate()
    monday = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    tuesday_early = datetime(2026, 11, 3, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 2 Nov 22:30 UTC
    async with storage.uow(A, write=True) as uow:
        await uow.usage.add(first, Usage(100, 50, 2, 0.25), monday)
        await uow.usage.add(second, Usage(10, 5, 1, 0.5), tuesday_early)
        await uow.usage.add(second, Usage(1, 1, 1, 1.0), monday + timedelta(days=1))
        await uow.usage.add(second, Usage(7, 7, 1, 4.0), monday + timedelta(days=40))
        await uow.commit()
    async with storage.uow(B, write=True) as uow:
        await uow.usage.add(first, Usage(999, 999, 9, 9.0), monday)
        await uow.commit()
    async with storage.uow(A) as uow:
        days = await uow.usage.days(date(2026, 11, 1), date(2026, 11, 30))
        since_tuesday = await uow.usage.cost_since(date(2026, 11, 3))
        nothing = await uow.usage.days(date(2026, 10, 1), date(2026, 10, 31))
    assert days == [
        UsageDay(date(2026, 11, 2), 110, 55, 3, 0.75, 2),
        UsageDay(date(2026, 11, 3), 1, 1, 1, 1.0, 1),
    ]
    assert since_tuesday == pytest.approx(5.0)
    assert nothing == []


async def test_an_uncommitted_usage_entry_leaves_no_trace(storage: Storage) -> None:
    async with storage.uow(A, write=True) as uow:
        await uow.usage.add(PanelId.generate(), Usage(1, 1, 1, 1.0), utcnow())
    async with storage.uow(A) as uow:
        assert await uow.usage.cost_since(date(2000, 1, 1)) == 0.0
