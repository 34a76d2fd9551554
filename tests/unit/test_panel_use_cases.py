"""The panel use cases (create, read, list, execute, cancel, resume) on in-memory storage."""

from __future__ import annotations

import asyncio

import pytest

from ask_panel.application.panels import CreatePanel
from ask_panel.application.streams import StreamService
from ask_panel.bootstrap import bootstrap
from ask_panel.domain.errors import IdempotencyConflict, InvalidInput, PanelConflict, PanelNotFound, UnknownAgents
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.infrastructure.memory.repositories import MemoryRecoveryScanner
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from tests.harness import QUESTION, TENANT, create, eventually, harness, load, memory_settings, scripted, types
from tests.scripted import ScriptedProvider

OTHER = TenantId.from_string("22222222-2222-2222-2222-222222222222")
TWO = ["fda_expert", "clinical_expert"]


def command(**overrides: object) -> CreatePanel:
    values: dict[str, object] = {"query": QUESTION, "panel_type": PanelType.STRUCTURED, "agent_ids": TWO}
    values.update(overrides)
    return CreatePanel(**values)  # type: ignore[arg-type]


async def test_a_created_panel_is_a_draft_with_its_members_and_estimate() -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        created = await container.panels.create(TENANT, command(configuration={"max_rounds": 2}))
        panel = await container.panels.get(TENANT, created.panel.panel_id)
    assert not created.replayed and panel.status is PanelStatus.DRAFT
    assert [m.agent_id for m in panel.members] == TWO and panel.selection == "requested"
    assert panel.configuration.max_rounds == 2 and panel.estimated_duration > 0


async def test_without_agent_ids_the_service_picks_experts_for_the_question() -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        created = await container.panels.create(TENANT, command(agent_ids=None))
    assert 3 <= len(created.panel.members) <= 5 and created.panel.selection == "auto"
    assert "fda_expert" in {m.agent_id for m in created.panel.members}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"query": "  "}, InvalidInput),
        ({"agent_ids": ["fda_expert", "fda_expert"]}, InvalidInput),
        ({"agent_ids": ["fda_expert", "nobody"]}, UnknownAgents),
        ({"panel_type": PanelType.ADVERSARIAL, "agent_ids": ["fda_expert"]}, InvalidInput),
        ({"configuration": {"max_rounds": 0}}, InvalidInput),
    ],
)
async def test_bad_input_creates_nothing(overrides: dict[str, object], error: type[Exception]) -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        with pytest.raises(error):
            await container.panels.create(TENANT, command(**overrides))
        assert (await container.panels.list(TENANT)).total == 0


async def test_a_retried_create_with_the_same_key_returns_the_same_panel_and_another_body_is_a_conflict() -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        first = await container.panels.create(TENANT, command(idempotency_key="k"))
        again = await container.panels.create(TENANT, command(idempotency_key="k"))
        with pytest.raises(IdempotencyConflict):
            await container.panels.create(TENANT, command(idempotency_key="k", query="Another?"))
        elsewhere = await container.panels.create(OTHER, command(idempotency_key="k"))
    assert again.replayed and again.panel.panel_id == first.panel.panel_id
    assert elsewhere.panel.panel_id != first.panel.panel_id


async def test_another_tenant_s_panel_does_not_exist_for_every_use_case() -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        panel_id = await create(container, "structured", TWO)
        for use in (container.panels.get, container.panels.execute, container.panels.cancel):
            with pytest.raises(PanelNotFound):
                await use(OTHER, panel_id)
        with pytest.raises(PanelNotFound):
            await container.streams.open(OTHER, panel_id)
        with pytest.raises(PanelNotFound):
            await container.tickets.issue(OTHER, panel_id)
        assert (await container.panels.list(OTHER)).total == 0


async def test_only_a_draft_can_be_executed_and_only_an_unfinished_panel_cancelled() -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        panel_id = await create(container, "structured", TWO, max_rounds=1)
        await container.panels.execute(TENANT, panel_id)
        with pytest.raises(PanelConflict):
            await container.panels.execute(TENANT, panel_id)
        await container.pool.running[panel_id]
        with pytest.raises(PanelConflict):
            await container.panels.cancel(TENANT, panel_id)
        panel, events = await load(container, panel_id)
    assert panel.status is PanelStatus.COMPLETED and types(events)[-1] == "panel_complete"


async def test_cancelling_a_running_panel_stops_it_and_nothing_is_appended_after() -> None:
    # One expert's turn is held: these agreeable experts end after round 1, and unheld the run could end before
    # the cancel on a loaded machine. The cancel must meet a running panel.
    provider = ScriptedProvider(delay_s=0.01, hold_for=lambda call: call.speaker == "Dr. Samuel Okafor")
    async with harness(memory_settings(), provider) as container:
        panel_id = await create(container, "structured", TWO, max_rounds=3, consensus_threshold=1.0)
        await container.panels.execute(TENANT, panel_id)

        async def speaking() -> bool:
            return bool(provider.calls)

        await eventually(speaking, "the panel is running")
        cancelled = await container.panels.cancel(TENANT, panel_id)
        assert not container.pool.is_running(panel_id)
        calls = len(provider.calls)
        await asyncio.sleep(0.05)
        panel, events = await load(container, panel_id)
    assert cancelled.status is PanelStatus.CANCELLED and panel.status is PanelStatus.CANCELLED
    assert types(events)[-1] == "panel_cancelled" and len(provider.calls) == calls
    assert panel.attempt == 2, "the cancel fenced the run out"


async def test_lists_are_newest_first_and_filtered() -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        first = await create(container, "structured", TWO)
        second = await create(container, "delphi", TWO)
        page = await container.panels.list(TENANT, limit=1)
        delphi = await container.panels.list(TENANT, panel_type=PanelType.DELPHI)
        drafts = await container.panels.list(TENANT, status=PanelStatus.DRAFT)
        with pytest.raises(InvalidInput):
            await container.panels.list(TENANT, limit=0)
    assert [p.panel_id for p in page.panels] == [second] and page.total == 2
    assert [p.panel_id for p in delphi.panels] == [second] and drafts.total == 2
    assert first != second


async def test_an_interrupted_panel_resumes_on_the_next_start_without_repeating_a_turn() -> None:
    uow = MemoryUnitOfWorkFactory()
    settings = memory_settings()
    # The third expert's turn is held, so the run is still under way when the process stops (these agreeable
    # experts end after round 1: unheld, its last turn and the synthesis could finish before the stop).
    slow = ScriptedProvider(delay_s=0.005, hold_for=lambda call: call.speaker == "Laura Martinez")
    first = bootstrap(settings, uow=uow, recovery=MemoryRecoveryScanner(uow.store), providers=scripted(slow))
    await first.start()
    panel_id = await create(first, "structured", ["fda_expert", "clinical_expert", "reimbursement_expert"])
    await first.panels.execute(TENANT, panel_id)

    async def two_turns_committed() -> bool:
        return len((await load(first, panel_id))[0].checkpoint.spoken) >= 2

    await eventually(two_turns_committed, "two turns were committed")
    await first.stop()  # the process goes away mid-panel: the run is interrupted, not cancelled
    interrupted, before = await load(first, panel_id)
    assert interrupted.status is PanelStatus.IN_PROGRESS

    again = ScriptedProvider()
    second = bootstrap(settings, uow=uow, recovery=MemoryRecoveryScanner(uow.store), providers=scripted(again))
    await second.start()  # resumes unfinished panels
    await second.pool.running[panel_id]
    panel, events = await load(second, panel_id)
    await second.stop()
    assert panel.status is PanelStatus.COMPLETED and panel.attempt == 2
    for key, message in interrupted.checkpoint.spoken.items():
        assert panel.checkpoint.message(key) == message, "a committed turn is kept as it was"
    done_first = {m.agent_name for m in interrupted.messages() if m.round == 1 and m.role == "expert"}
    asked_again = {c.speaker for c in again.calls if c.title is None and "independent analysis" in c.prompt}
    assert done_first and not done_first & asked_again, "no committed turn was asked of the model again"
    assert len(panel.checkpoint.spoken) == panel.total_messages, "no turn was repeated"
    assert events[: len(before)] == before and [e.seq for e in events] == list(range(1, len(events) + 1))
    assert types(events).count("panel_started") == 1


async def test_a_stream_replays_after_the_last_event_id_then_ends_at_the_terminal_event() -> None:
    async with harness(memory_settings(), ScriptedProvider()) as container:
        panel_id = await create(container, "structured", TWO, max_rounds=1)
        await container.panels.execute(TENANT, panel_id)
        await container.pool.running[panel_id]
        _, events = await load(container, panel_id)
        streams: StreamService = container.streams
        stream = await streams.open(TENANT, panel_id, last_event_id=3)
        sent = [e.seq async for batch in stream.batches() for e in batch]
        beyond = await streams.open(TENANT, panel_id, last_event_id=10_000)
        nothing = [e async for batch in beyond.batches() for e in batch]
    assert sent == [e.seq for e in events[3:]] and nothing == []
    assert container.hub.open_streams == 0


async def test_a_ticket_serves_its_panels_stream_and_its_reconnects_but_nothing_else() -> None:
    from ask_panel.application.tickets import StreamKind
    from ask_panel.domain.errors import InvalidTicket

    async with harness(memory_settings(), ScriptedProvider()) as container:
        panel_id = await create(container, "structured", TWO)
        ticket, _ = await container.tickets.issue(TENANT, panel_id)
        other, _ = await container.tickets.issue(TENANT, panel_id)
        assert await container.tickets.redeem(ticket, panel_id, StreamKind.SSE) == TENANT
        assert await container.tickets.redeem(ticket, panel_id, StreamKind.SSE, tenant=TENANT) == TENANT  # reconnect
        with pytest.raises(InvalidTicket):
            await container.tickets.redeem(ticket, panel_id, StreamKind.WEBSOCKET)  # another path
        with pytest.raises(InvalidTicket):
            await container.tickets.redeem(ticket, panel_id, StreamKind.SSE, tenant=OTHER)  # another tenant
        with pytest.raises(InvalidTicket):
            await container.tickets.redeem(other, PanelId.generate(), StreamKind.SSE)  # another panel
        with pytest.raises(InvalidTicket):
            await container.tickets.redeem(other, None, StreamKind.SSE)  # no valid panel in the path
        # Refusals do not use a ticket up: `other` still opens its own panel's WebSocket.
        assert await container.tickets.redeem(other, panel_id, StreamKind.WEBSOCKET) == TENANT
