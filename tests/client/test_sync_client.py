"""`AskPanel` against a real `ask-panel serve`: panels, pages, problems, idempotency and a stream that resumes."""

from __future__ import annotations

import pytest

from ask_panel.client import (
    AskPanel,
    Conflict,
    ConnectionFailed,
    EventType,
    Forbidden,
    InvalidInput,
    NotFound,
    ReconnectPolicy,
    RetryPolicy,
    Unauthorized,
)
from ask_panel.client.models import ExpertSpeaking, PanelComplete, PanelResponse, PanelStarted
from tests.client.conftest import Account, Server
from tests.client.proxy import cutting_proxy
from tests.integration.processes import free_port

QUERY = "Should we file a 510(k) or a De Novo for our wearable ECG patch?"
EXPERTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]


def client_for(account: Account, url: str | None = None) -> AskPanel:
    return AskPanel(url or account.url, tenant=account.tenant, token=account.token)


def test_a_started_stream_delivers_every_event_once_in_order_and_ends_at_the_terminal_one(account: Account) -> None:
    with client_for(account) as client:
        panel = client.create(QUERY, agent_ids=EXPERTS, configuration={"max_rounds": 2})
        assert isinstance(panel, PanelResponse)
        assert panel.status == "draft"
        events = list(client.stream(panel.panel_id, start=True))

        assert [e.id for e in events] == list(range(1, len(events) + 1))
        assert events[0].type is EventType.PANEL_STARTED
        assert events[-1].type is EventType.PANEL_COMPLETE and events[-1].terminal
        assert {e.data["agent_id"] for e in events if e.type is EventType.EXPERT_SPEAKING} >= set(EXPERTS)
        started, complete = events[0].payload, events[-1].payload
        assert isinstance(started, PanelStarted) and str(started.panel_id) == panel.panel_id
        assert [m.agent_id for m in started.members] == [m.agent_id for m in panel.members]
        assert isinstance(complete, PanelComplete) and complete.recommendation.recommendation
        spoken = [e.payload for e in events if e.type is EventType.EXPERT_SPEAKING]
        assert all(isinstance(p, ExpertSpeaking) and p.message.content for p in spoken)
        finished = client.get(panel.panel_id)
        assert finished.status == "completed"
        assert finished.last_event_id == events[-1].id


def test_a_stream_cut_in_the_middle_of_an_event_resumes_without_duplicate_or_gap(
    account: Account, server: Server
) -> None:
    with cutting_proxy(server.port, cut_after=b"event: expert_speaking", cuts=2) as proxy:
        with client_for(account, proxy.url) as client:
            panel = client.create(QUERY, agent_ids=EXPERTS, configuration={"max_rounds": 2})
            events = list(client.stream(panel.panel_id, start=True))
        with client_for(account) as direct:
            stored = list(direct.stream(panel.panel_id))

    assert proxy.cuts_done == 2
    assert len(proxy.resumed_from()) == 2  # each reconnect said where it stopped
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert [(e.id, e.type, e.data) for e in events] == [(e.id, e.type, e.data) for e in stored]
    assert events[-1].type is EventType.PANEL_COMPLETE


def test_watching_from_an_event_id_gives_exactly_the_later_events(account: Account) -> None:
    with client_for(account) as client:
        panel = client.create(QUERY, agent_ids=EXPERTS[:2])
        everything = list(client.stream(panel.panel_id, start=True))
        later = list(client.stream(panel.panel_id, last_event_id=3))
    assert [e.id for e in later] == [e.id for e in everything[3:]]


def test_watching_an_ended_panel_from_its_last_event_is_an_empty_stream_not_an_error(account: Account) -> None:
    with client_for(account) as client:
        panel = client.create(QUERY, agent_ids=EXPERTS[:2], configuration={"max_rounds": 1})
        last = list(client.stream(panel.panel_id, start=True))[-1]
        assert last.terminal and last.id is not None
        client.reconnect = ReconnectPolicy(attempts=1)  # one refused or early end would raise
        assert list(client.stream(panel.panel_id, last_event_id=last.id)) == []


def test_the_expert_token_deltas_come_only_when_asked_for_and_carry_no_id(account: Account) -> None:
    with client_for(account) as client:
        panel = client.create(QUERY, agent_ids=EXPERTS[:2], configuration={"max_rounds": 1})
        events = list(client.stream(panel.panel_id, start=True, tokens=True))
    deltas = [e for e in events if e.type is EventType.EXPERT_TOKEN]
    assert deltas and all(e.id is None for e in deltas)
    assert [e.id for e in events if e.id is not None] == list(range(1, events[-1].id + 1))  # type: ignore[operator]


def test_creating_twice_with_one_idempotency_key_makes_one_panel(account: Account) -> None:
    with client_for(account) as client:
        first = client.create(QUERY, idempotency_key="order-42")
        again = client.create(QUERY, idempotency_key="order-42")
        other = client.create(QUERY)
        assert again.panel_id == first.panel_id
        assert other.panel_id != first.panel_id
        assert sum(1 for _ in client.list()) == 2


def test_list_walks_every_page_newest_first(account: Account) -> None:
    with client_for(account) as client:
        created = [client.create(f"{QUERY} (variant {i})").panel_id for i in range(5)]
        pages = list(client.pages(page_size=2))
        listed = [p.panel_id for p in client.list(page_size=2)]
    assert [len(p.panels) for p in pages] == [2, 2, 1]
    assert all(p.total == 5 for p in pages)
    assert listed == list(reversed(created))


def test_a_missing_panel_is_a_not_found_error_with_the_problem_s_title_and_detail(account: Account) -> None:
    with client_for(account) as client, pytest.raises(NotFound) as raised:
        client.get("00000000-0000-4000-8000-000000000000")
    assert raised.value.status == 404
    assert raised.value.title
    assert "00000000-0000-4000-8000-000000000000" in raised.value.detail or raised.value.detail


def test_cancelling_a_completed_panel_is_a_conflict(account: Account) -> None:
    with client_for(account) as client:
        panel = client.create(QUERY, agent_ids=EXPERTS[:2], configuration={"max_rounds": 1})
        list(client.stream(panel.panel_id, start=True))
        with pytest.raises(Conflict) as raised:
            client.cancel(panel.panel_id)
    assert raised.value.status == 409


def test_an_unknown_panel_type_is_invalid_input(account: Account) -> None:
    with client_for(account) as client, pytest.raises(InvalidInput) as raised:
        client.create(QUERY, panel_type="shouting")
    assert raised.value.status == 422


def test_a_token_for_another_tenant_is_forbidden(account: Account, server: Server) -> None:
    other_tenant = "22222222-2222-2222-2222-222222222222"
    with (
        AskPanel(server.url, tenant=other_tenant, token=account.token) as client,
        pytest.raises(Forbidden) as raised,
    ):
        client.get("00000000-0000-4000-8000-000000000000")
    assert raised.value.status == 403


def test_a_request_without_a_token_is_unauthorized(account: Account, server: Server) -> None:
    with AskPanel(server.url, tenant=account.tenant) as client, pytest.raises(Unauthorized) as raised:
        client.get("00000000-0000-4000-8000-000000000000")
    assert raised.value.status == 401


def test_executing_then_cancelling_a_panel_ends_its_stream_with_panel_cancelled(account: Account) -> None:
    with client_for(account) as client:
        panel = client.create(QUERY, agent_ids=EXPERTS, configuration={"max_rounds": 5})
        assert client.execute(panel.panel_id).status == "executing"
        client.cancel(panel.panel_id)
        events = list(client.stream(panel.panel_id))
        assert events[-1].type is EventType.PANEL_CANCELLED
        assert client.get(panel.panel_id).status == "cancelled"


def test_the_expert_registry_lists_the_built_ins(account: Account) -> None:
    with client_for(account) as client:
        agents = client.agents.list()
        fda = client.agents.get("fda_expert")
    assert "fda_expert" in {a.agent_id for a in agents}
    assert fda.builtin


def test_a_service_that_is_not_there_is_a_connection_error(account: Account) -> None:
    port = free_port()
    with (
        AskPanel(f"http://127.0.0.1:{port}", tenant=account.tenant, retry=RetryPolicy(attempts=2, backoff_s=0.01)) as c,
        pytest.raises(ConnectionFailed),
    ):
        c.get("00000000-0000-4000-8000-000000000000")


def test_a_stream_that_cannot_be_resumed_says_where_it_stopped(account: Account, server: Server) -> None:
    with client_for(account) as direct:
        panel = direct.create(QUERY, agent_ids=EXPERTS[:2])
    with cutting_proxy(server.port, cut_after=b"event: expert_speaking", cuts=100) as proxy:
        client = AskPanel(
            proxy.url,
            tenant=account.tenant,
            token=account.token,
            reconnect=ReconnectPolicy(attempts=3, backoff_s=0.01),
        )
        seen = []
        with client, pytest.raises(ConnectionFailed) as raised:
            for event in client.stream(panel.panel_id, start=True):
                seen.append(event)
    assert raised.value.last_event_id == seen[-1].id  # type: ignore[attr-defined]
