"""Kinds of real models, each played by a third-party mock server process, running whole panels through the service.

Every scenario starts the service's container with `ASK_PANEL_LLM_PROVIDER=openai` pointed at a mock
on 127.0.0.1, runs a structured panel through the API and asserts its outcome: completed (degraded
where expected), the model's words in the discussion, and what each structured step needed.

A step the model never answers in readable JSON takes its fallback (framing options of the
moderator's own or neutral ones, a synthesis tallied from the discussion, ...): the panel completes
degraded and lists it at `final_recommendation.fallbacks`, one `{step, reason}` per step
(`fell_back_steps` below is the one place that reads it).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from ask_panel.bootstrap import Container
from ask_panel.domain.ids import PanelId, TenantId
from tests.conftest import TENANT_A, TERMINAL, create_panel, headers_for, make_settings, serving, wait_for_status
from tests.integration.mock_llms import LLMock, fakellm, llmock

pytestmark = pytest.mark.slow

QUERY = "Should we raise our subscription prices by 10% this quarter?"
EXPERTS = ["commercial_expert", "health_economics_expert", "reimbursement_expert"]
OPTIONS = ["Raise prices 10% this quarter", "Hold prices and add a premium tier"]
PROSE = "Raising prices now risks churn among small clinics, so I would pair it with a premium tier."
FRAME = {"options": OPTIONS}
STANCE = {"position": OPTIONS[0], "confidence": 0.8, "ranking": OPTIONS}
SYNTHESIS = {
    "recommendation": "Raise prices 10% this quarter, with a premium tier for heavy users.",
    "rationale": "Margins need it and churn risk is manageable.",
    "agreement_points": ["Churn must be watched"],
    "dissent": [],
}
# One answer that reads as prose and holds every structured step's keys: what llmock, whose replies
# cannot depend on the request, says to every call of a panel.
UNIVERSAL = f"{PROSE}\n```json\n{json.dumps({**FRAME, **STANCE, **SYNTHESIS})}\n```"
# The same in as few words as every step still reads: for a test that streams each piece slowly.
BRIEF_PROSE = "Pair the rise with a premium tier."
BRIEF_UNIVERSAL = (
    f"{BRIEF_PROSE}\n```json\n"
    + json.dumps(
        {
            "options": ["Raise", "Hold"],
            "position": "Raise",
            "confidence": 0.8,
            "ranking": ["Raise", "Hold"],
            "recommendation": "Raise prices.",
            "rationale": "Margins.",
            "agreement_points": [],
            "dissent": [],
        }
    )
    + "\n```"
)


# ---- fakellm rules ---------------------------------------------------------------------------------


def rule(name: str, content: str, **when: str) -> dict[str, Any]:
    return {"name": name, "when": when, "respond": {"content": content}}


def by_step(frame: str, stance: str, synthesis: str, prose: str, *first: dict[str, Any]) -> str:
    """Rules answering each kind of call (told apart by the schema title in the prompt), after `first`."""
    rules = [
        *first,
        rule("frame", frame, messages_contain='"title": "options"'),
        rule("stance", stance, messages_contain='"title": "stance"'),
        rule("synthesis", synthesis, messages_contain='"title": "synthesis"'),
        rule("prose", prose),
    ]
    dumped: str = yaml.safe_dump({"version": 1, "rules": rules}, sort_keys=False)
    return dumped


def fenced(value: dict[str, Any]) -> str:
    return f"Here is my answer:\n```json\n{json.dumps(value, indent=2)}\n```\nLet me know if you need more."


def thinking(text: str) -> str:
    return f"<think>The user wants a careful answer. Let me weigh churn against margin first.</think>\n\n{text}"


# ---- the service against a mock ----------------------------------------------------------------------


@pytest.fixture
def sqlite_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "ask_panel.db"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@asynccontextmanager
async def service(
    sqlite_url: str, mock_url: str, **overrides: Any
) -> AsyncIterator[tuple[Container, httpx2.AsyncClient]]:
    values: dict[str, Any] = {
        "llm_provider": "openai",
        "llm_base_url": f"{mock_url}/v1",
        "llm_api_key": "sk-test",
        "llm_model": "mock-model",
        "llm_max_attempts": 3,
        "llm_timeout_s": 10.0,
    }
    values.update(overrides)
    async with serving(make_settings(sqlite_url, **values)) as running:
        yield running


async def run_panel(client: httpx2.AsyncClient, agents: list[str] = EXPERTS, **configuration: Any) -> dict[str, Any]:
    created = await create_panel(
        client,
        query=QUERY,
        agent_ids=agents,
        configuration={"max_rounds": 1, "seed": 5, **configuration},
    )
    started = await client.post(f"/api/v1/panels/{created['panel_id']}/execute", headers=headers_for())
    assert started.status_code == 202, started.text
    return await wait_for_status(client, created["panel_id"], TERMINAL, attempts=6000)


async def step_outcomes(container: Container, panel: dict[str, Any]) -> dict[str, str]:
    stored = await container.panels.get(TenantId.from_string(TENANT_A), PanelId.from_string(panel["panel_id"]))
    return {str(key): note.outcome for key, note in stored.checkpoint.answers.items()}


def expert_messages(panel: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for r in panel["discussions"] for m in r["messages"] if m["role"] == "expert"]


def assert_completed(panel: dict[str, Any], *, degraded: bool) -> dict[str, Any]:
    assert panel["status"] == "completed", panel["error"]
    recommendation: dict[str, Any] = panel["final_recommendation"]
    assert recommendation["degraded"] is degraded
    return recommendation


def fell_back_steps(panel: dict[str, Any]) -> set[str]:
    """The steps the panel lists as having fallen back (the contract the fallbacks are expected to keep)."""
    return {entry["step"] for entry in panel["final_recommendation"]["fallbacks"]}


async def add_tenant_expert(client: httpx2.AsyncClient, agent_id: str, **fields: Any) -> None:
    body = {
        "agent_id": agent_id,
        "name": "Dr. Ada Park",
        "role": "Pricing strategist",
        "expertise": ["pricing", "churn"],
        "instructions": "Judge price changes by their effect on churn and margin.",
        **fields,
    }
    response = await client.post("/api/v1/agents", json=body, headers=headers_for())
    assert response.status_code == 201, response.text


# ---- models played by fakellm (answers chosen by rules on the request) ------------------------------


async def test_json_in_code_fences_is_read_the_first_time(sqlite_url: str, tmp_path: Path) -> None:
    rules = by_step(fenced(FRAME), fenced(STANCE), fenced(SYNTHESIS), PROSE)
    with fakellm(rules, tmp_path / "fakellm") as url:
        async with service(sqlite_url, url) as (container, client):
            panel = await run_panel(client)
            outcomes = await step_outcomes(container, panel)

    recommendation = assert_completed(panel, degraded=False)
    assert recommendation["recommendation"] == SYNTHESIS["recommendation"]
    messages = expert_messages(panel)
    assert len(messages) == 3 and all(m["content"] == PROSE for m in messages)
    assert all(m["stance"]["position"] == OPTIONS[0] for m in messages)
    assert set(outcomes.values()) == {"parsed"} and len(outcomes) == 5


async def test_a_reasoning_block_before_the_answer_is_never_shown(sqlite_url: str, tmp_path: Path) -> None:
    rules = by_step(
        thinking(json.dumps(FRAME)), thinking(json.dumps(STANCE)), thinking(fenced(SYNTHESIS)), thinking(PROSE)
    )
    with fakellm(rules, tmp_path / "fakellm") as url:
        async with service(sqlite_url, url) as (container, client):
            panel = await run_panel(client)
            outcomes = await step_outcomes(container, panel)

    assert_completed(panel, degraded=False)
    messages = expert_messages(panel)
    assert [m["content"] for m in messages] == [PROSE] * 3
    everything = json.dumps(panel["discussions"]) + json.dumps(panel["final_recommendation"])
    assert "<think>" not in everything and "weigh churn against margin" not in everything
    assert set(outcomes.values()) == {"parsed"}


async def test_wrong_types_are_repaired_by_one_call_that_shows_the_model_its_error(
    sqlite_url: str, tmp_path: Path
) -> None:
    wrong_frame = '{"options": "Raise prices, or hold them"}'
    wrong_stance = json.dumps({**STANCE, "confidence": "very high"})
    rules = by_step(
        wrong_frame,
        wrong_stance,
        json.dumps(SYNTHESIS),
        PROSE,
        rule("frame repaired", json.dumps(FRAME), previous_message_contains='"options": "raise prices'),
        rule("stance repaired", json.dumps(STANCE), previous_message_contains='"confidence": "very high"'),
    )
    with fakellm(rules, tmp_path / "fakellm") as url:
        async with service(sqlite_url, url) as (container, client):
            panel = await run_panel(client)
            outcomes = await step_outcomes(container, panel)

    assert_completed(panel, degraded=False)
    assert outcomes.pop("frame") == "repaired" and outcomes.pop("synthesis") == "parsed"
    assert list(outcomes.values()) == ["repaired"] * 3, "every stance repaired"
    messages = expert_messages(panel)
    assert all(m["stance"]["confidence"] == 0.8 and m["metadata"]["stance_attempts"] == 2 for m in messages)


async def test_an_expert_whose_model_answers_nothing_is_left_out_and_the_panel_completes_degraded(
    sqlite_url: str, tmp_path: Path
) -> None:
    rules = by_step(
        json.dumps(FRAME),
        json.dumps(STANCE),
        json.dumps(SYNTHESIS),
        PROSE,
        rule("quiet", "", model_matches="quiet-model"),
    )
    with fakellm(rules, tmp_path / "fakellm") as url:
        async with service(sqlite_url, url) as (_container, client):
            await add_tenant_expert(client, "acme_pricing", model="quiet-model", output_mode="prompt")
            panel = await run_panel(client, [*EXPERTS[:2], "acme_pricing"])

    assert_completed(panel, degraded=True)
    assert sorted(m["agent_id"] for m in expert_messages(panel)) == sorted(EXPERTS[:2])
    assert all(m["content"] == PROSE for m in expert_messages(panel))


async def test_a_model_that_only_writes_prose_completes_a_structured_panel_degraded(
    sqlite_url: str, tmp_path: Path
) -> None:
    rules = by_step(PROSE, PROSE, PROSE, PROSE)
    with fakellm(rules, tmp_path / "fakellm") as url:
        async with service(sqlite_url, url) as (_container, client):
            panel = await run_panel(client)

    assert_completed(panel, degraded=True)
    messages = expert_messages(panel)
    assert len(messages) == 3 and all(m["content"] == PROSE for m in messages), "the model's words are kept"
    assert all(m["stance"] is None for m in messages)
    assert {"frame", "synthesis"} <= fell_back_steps(panel)


async def test_a_moderator_that_frames_no_options_falls_back_to_options_of_its_own(
    sqlite_url: str, tmp_path: Path
) -> None:
    rules = by_step(json.dumps({"options": []}), json.dumps(STANCE), json.dumps(SYNTHESIS), PROSE)
    with fakellm(rules, tmp_path / "fakellm") as url:
        async with service(sqlite_url, url) as (_container, client):
            panel = await run_panel(client)

    assert_completed(panel, degraded=True)
    assert [m["content"] for m in expert_messages(panel)] == [PROSE] * 3
    assert "frame" in fell_back_steps(panel)


async def test_a_model_that_answers_nothing_at_all_fails_the_panel_for_quorum_not_for_format(
    sqlite_url: str, tmp_path: Path
) -> None:
    rules = by_step("", "", "", "")
    with fakellm(rules, tmp_path / "fakellm") as url:
        async with service(sqlite_url, url) as (_container, client):
            panel = await run_panel(client)

    assert panel["status"] == "failed"
    assert "experts could take part" in panel["error"]


# ---- models played by llmock (faults scripted per request) -----------------------------------------


@pytest.fixture(scope="module")
def llmock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMock]:
    with llmock(tmp_path_factory.mktemp("llmock")) as server:
        yield server


@pytest.fixture
def mock(llmock_server: LLMock) -> LLMock:
    llmock_server.reset()
    return llmock_server


def says_universal() -> dict[str, Any]:
    return {"type": "reply", "text": UNIVERSAL, "times": None}


def completed_calls(mock: LLMock) -> list[dict[str, Any]]:
    return [r for r in mock.requests() if r["status"] == 200 and r["completed"] and not r["fault"]]


async def test_429_with_retry_after_is_waited_out_and_retried(sqlite_url: str, mock: LLMock) -> None:
    mock.script({"type": "fail", "status": 429, "retry_after": 1, "times": 2}, says_universal())
    async with service(sqlite_url, mock.url) as (_container, client):
        panel = await run_panel(client)

    assert_completed(panel, degraded=False)
    assert all(PROSE in m["content"] for m in expert_messages(panel))
    records = mock.requests()
    assert [r["status"] for r in records[:3]] == [429, 429, 200]
    assert len({r["fingerprint"] for r in records[:3]}) == 1, "the same call, retried"
    codes = {f["code"] for f in mock.verdict()["findings"]}
    assert "retry_after_ignored" not in codes and "gave_up" not in codes


async def test_server_errors_are_retried(sqlite_url: str, mock: LLMock) -> None:
    mock.script(
        {"type": "fail", "status": 503, "times": 1},
        {"type": "fail", "status": 500, "times": 1},
        says_universal(),
    )
    async with service(sqlite_url, mock.url) as (_container, client):
        panel = await run_panel(client)

    assert_completed(panel, degraded=False)
    assert [r["status"] for r in mock.requests()[:3]] == [503, 500, 200]


async def test_a_server_that_keeps_failing_fails_the_panel_with_its_error(sqlite_url: str, mock: LLMock) -> None:
    mock.script({"type": "fail", "status": 500, "message": "the GPU is on fire", "times": None})
    async with service(sqlite_url, mock.url, llm_max_attempts=2) as (_container, client):
        panel = await run_panel(client)

    assert panel["status"] == "failed"
    assert "HTTP 500" in panel["error"] and "the GPU is on fire" in panel["error"]
    assert "after 2 attempts" in panel["error"]


async def test_a_stream_cut_in_the_middle_is_retried_from_the_start(sqlite_url: str, mock: LLMock) -> None:
    mock.script(
        # the framing call streams whole (a fault past its end), the next ones are expert turns: cut twice
        {"type": "stream_fault", "kind": "disconnect", "after_chunks": 100_000, "times": 1},
        {"type": "stream_fault", "kind": "disconnect", "after_chunks": 3, "times": 1},
        {"type": "stream_fault", "kind": "truncate", "after_chunks": 3, "times": 1},
        says_universal(),
    )
    async with service(sqlite_url, mock.url) as (container, client):
        panel = await run_panel(client)
        outcomes = await step_outcomes(container, panel)

    assert_completed(panel, degraded=False)
    assert set(outcomes.values()) == {"parsed"}
    contents = [m["content"] for m in expert_messages(panel)]
    assert contents == [UNIVERSAL] * 3, "the broken attempts' text is forgotten, not glued to the retry's"
    faults = [r["fault"] for r in mock.requests() if r["fault"]]
    assert faults == ["stream:disconnect@3", "stream:truncate@3"]
    assert "truncated_stream_accepted" not in {f["code"] for f in mock.verdict()["findings"]}


async def test_each_experts_output_mode_reaches_the_server(sqlite_url: str, mock: LLMock) -> None:
    mock.script(says_universal())
    async with service(sqlite_url, mock.url, llm_output_mode="json_object") as (_container, client):
        await add_tenant_expert(client, "acme_pricing", output_mode="prompt")
        panel = await run_panel(client, [*EXPERTS[:2], "acme_pricing"])

    assert_completed(panel, degraded=False)
    structured = [r["body"] for r in completed_calls(mock) if "JSON schema" in json.dumps(r["body"]["messages"])]
    by_park = [b for b in structured if "You are Dr. Ada Park" in b["messages"][0]["content"]]
    others = [b for b in structured if b not in by_park]
    assert by_park and all("response_format" not in b for b in by_park)
    assert others and all(b["response_format"] == {"type": "json_object"} for b in others)
    assert all(b["max_tokens"] == 2048 for b in structured)


async def test_duplicate_options_from_a_schema_filling_server_fall_back(sqlite_url: str, mock: LLMock) -> None:
    # no reply scripted: llmock fills each schema with an example of its own, repeating array items
    async with service(sqlite_url, mock.url) as (_container, client):
        panel = await run_panel(client)

    assert_completed(panel, degraded=True)
    assert len(expert_messages(panel)) == 3
    assert "frame" in fell_back_steps(panel)


async def test_slow_tokens_are_waited_for_as_long_as_they_keep_coming(sqlite_url: str, tmp_path: Path) -> None:
    # every streamed piece waits 25 ms: an answer of 20+ pieces takes longer than the 0.3 s timeout,
    # which bounds the silence between two pieces, not the whole answer (a brief answer and two experts
    # keep the panel's ten or so calls to a few seconds)
    brief = {"type": "reply", "text": BRIEF_UNIVERSAL, "times": None}
    with llmock(tmp_path / "slow", "--stream-chunk-delay-ms", "25") as slow:
        slow.script(brief)
        async with service(sqlite_url, slow.url, llm_timeout_s=0.3, llm_max_attempts=1) as (_container, client):
            panel = await run_panel(client, EXPERTS[:2])
        pieces = [r["chunks_sent"] for r in completed_calls(slow)]

    assert_completed(panel, degraded=False)
    assert min(pieces) > 0.3 / 0.025, "each answer streamed for longer than the timeout"
    assert all(BRIEF_PROSE in m["content"] for m in expert_messages(panel))
