"""The panel aggregate's status machine, configuration and invariants."""

from __future__ import annotations

import random

import pytest

from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.duration import estimate_duration
from ask_panel.domain.errors import IllegalTransition, InvalidInput
from ask_panel.domain.events import EventType, PanelFailed
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel, utcnow
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Member, Message, Recommendation

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")


def new_panel(panel_type: PanelType = PanelType.STRUCTURED) -> Panel:
    return Panel.create(
        tenant_id=TENANT,
        query="Q?",
        panel_type=panel_type,
        configuration=PanelConfiguration.parse({"seed": 7}),
        members=[Member("fda_expert", "Dr. A", "FDA"), Member("clinical_expert", "Dr. B", "Clinical")],
    )


def recommendation() -> Recommendation:
    return Recommendation("Do it", "Because", ("a",), (), degraded=False, decided_by="moderator")


def test_a_new_panel_is_a_draft() -> None:
    assert new_panel().status is PanelStatus.DRAFT


def test_the_happy_path_goes_draft_queued_in_progress_completed() -> None:
    panel = new_panel()
    panel.queue()
    panel.start()
    panel.complete(recommendation())
    assert panel.status is PanelStatus.COMPLETED
    assert [e.type for e in panel.pending_events] == [EventType.PANEL_STARTED, EventType.PANEL_COMPLETE]
    assert panel.duration_seconds is not None and panel.duration_seconds >= 0


@pytest.mark.parametrize("terminal", [PanelStatus.COMPLETED, PanelStatus.FAILED, PanelStatus.CANCELLED])
def test_terminal_states_never_change(terminal: PanelStatus) -> None:
    assert terminal.is_terminal
    for target in PanelStatus:
        assert not terminal.can_become(target)
        with pytest.raises(IllegalTransition):
            terminal.check_transition(target)


def test_a_draft_cannot_start_or_complete_without_being_queued() -> None:
    panel = new_panel()
    with pytest.raises(IllegalTransition):
        panel.start()
    with pytest.raises(IllegalTransition):
        panel.complete(recommendation())
    assert panel.status is PanelStatus.DRAFT
    assert panel.pending_events == []


def test_cancelling_a_completed_panel_is_illegal() -> None:
    panel = new_panel()
    panel.queue()
    panel.start()
    panel.complete(recommendation())
    with pytest.raises(IllegalTransition):
        panel.cancel()


def test_every_non_terminal_state_can_be_cancelled() -> None:
    for status in (PanelStatus.DRAFT, PanelStatus.QUEUED, PanelStatus.IN_PROGRESS):
        assert status.can_become(PanelStatus.CANCELLED)


def test_failing_records_the_error_and_a_terminal_error_event() -> None:
    panel = new_panel()
    panel.queue()
    panel.start()
    panel.fail("provider down")
    assert panel.error == "provider down"
    event = panel.pending_events[-1]
    assert isinstance(event, PanelFailed) and event.type is EventType.ERROR and event.terminal is True


def test_configuration_defaults_and_a_drawn_seed() -> None:
    config = PanelConfiguration.parse(None, rng=random.Random(1))
    assert (config.max_rounds, config.consensus_threshold, config.shuffle_order) == (3, 0.8, True)
    assert isinstance(config.seed, int)


@pytest.mark.parametrize(
    "raw",
    [
        {"max_rounds": 0},
        {"max_rounds": 11},
        {"max_rounds": 2.5},
        {"max_rounds": True},
        {"consensus_threshold": -0.1},
        {"consensus_threshold": float("nan")},
        {"temperature": 3},
        {"model": ""},
        {"seed": -1},
        {"nope": 1},
        {"proposition": "  "},
    ],
)
def test_invalid_configuration_is_rejected(raw: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        PanelConfiguration.parse(raw)


def test_a_message_needs_a_running_panel_and_a_round_that_has_begun() -> None:
    panel = new_panel()
    message = Message("fda_expert", "Dr. A", "Hello", utcnow(), 1)
    with pytest.raises(IllegalTransition):
        panel.add_message(StepKey.speaking(1, "fda_expert"), message)
    panel.queue()
    panel.start()
    with pytest.raises(IllegalTransition):
        panel.add_message(StepKey.speaking(1, "fda_expert"), message)
    with pytest.raises(KeyError):
        panel.round(1)
    panel.begin_round(1)
    panel.add_message(StepKey.speaking(1, "fda_expert"), message)
    assert panel.round(1).messages == [message]
    assert panel.checkpoint.message(StepKey.speaking(1, "fda_expert")) is message


def test_estimated_duration_grows_with_rounds_and_members() -> None:
    small = estimate_duration(PanelType.STRUCTURED, PanelConfiguration(max_rounds=1), 2)
    large = estimate_duration(PanelType.STRUCTURED, PanelConfiguration(max_rounds=3), 5)
    assert 0 < small < large


def test_ids_parse_only_uuids() -> None:
    assert str(PanelId.from_string(" 11111111-1111-1111-1111-111111111111 ")).startswith("1111")
    with pytest.raises(InvalidInput):
        TenantId.from_string("acme")


def test_hosted_postgres_urls_get_the_async_driver_and_asyncpg_ssl() -> None:
    from ask_panel.config import Settings
    from ask_panel.infrastructure.db.engine import Database

    settings = Settings(database_url="postgres://u:p@db.example.test:5432/postgres?sslmode=require")
    assert settings.database_url == "postgresql+asyncpg://u:p@db.example.test:5432/postgres?sslmode=require"
    database = Database(settings.database_url)
    assert database.url.query == {"ssl": "require"}
    assert Settings(database_url="sqlite+aiosqlite:///x.db").database_url == "sqlite+aiosqlite:///x.db"
