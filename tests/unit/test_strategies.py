"""Each panel type's algorithm, run through the real services on in-memory storage with a scripted provider."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from ask_panel.config import Settings
from ask_panel.domain.strategies.prompts import order_for_round
from tests.harness import expert_messages, harness, load, memory_settings, run_panel, types
from tests.scripted import Call, ScriptedProvider, default_answer

load_events = load
THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]
NAMES = {
    "fda_expert": "Dr. Maya Chen",
    "clinical_expert": "Dr. Samuel Okafor",
    "reimbursement_expert": "Laura Martinez",
    "quality_expert": "Henrik Larsen",
}


def disagreeing(call: Call) -> str | dict[str, Any]:
    """Each expert sticks to a different option: consensus never reaches the threshold."""
    answer = default_answer(call)
    if call.title == "stance" and isinstance(answer, dict):
        options = call.schema["properties"]["position"]["enum"] if call.schema else []
        index = sorted(NAMES.values()).index(call.speaker) % len(options)
        answer["position"] = options[index]
        answer["ranking"] = options[index:] + options[:index] if "ranking" in answer else None
        if answer["ranking"] is None:
            del answer["ranking"]
        answer["confidence"] = 0.6
    return answer


@pytest.fixture
def settings() -> Settings:
    return memory_settings()


async def test_structured_stops_early_when_consensus_reaches_the_threshold(settings: Settings) -> None:
    provider = ScriptedProvider()
    async with harness(settings, provider) as container:
        panel, events = await run_panel(container, "structured", THREE, max_rounds=3)
    assert panel.status.value == "completed"
    assert len(panel.rounds) == 1
    assert {m.agent_id for m in expert_messages(panel)} == set(THREE)
    assert panel.consensus is not None and panel.consensus.level == pytest.approx(1.0)
    assert types(events)[0] == "panel_started" and types(events)[-1] == "panel_complete"
    assert panel.final_recommendation is not None and panel.final_recommendation.recommendation == "Go with Option A."


async def test_structured_runs_every_round_without_consensus_and_refines_with_the_others(settings: Settings) -> None:
    provider = ScriptedProvider(disagreeing)
    async with harness(settings, provider) as container:
        panel, events = await run_panel(container, "structured", THREE, max_rounds=3)
    assert len(panel.rounds) == 3
    assert Counter(types(events))["consensus_update"] == 3
    assert Counter(types(events))["expert_speaking"] == 9
    round_two = [c for c in provider.calls if c.title is None and "Round 2: read the other experts" in c.prompt]
    assert len(round_two) == 3
    for call in round_two:
        assert "Discussion so far" in call.prompt
    # experts never endorse themselves: their own id is not among the choices offered
    for call in provider.calls:
        if call.title == "stance" and call.schema and "endorses" in call.schema["properties"]:
            own = next(a for a, n in NAMES.items() if n == call.speaker)
            assert own not in call.schema["properties"]["endorses"]["enum"]
    assert panel.final_recommendation is not None
    assert panel.final_recommendation.dissent, "minority views are reported"


async def test_open_lets_the_moderator_pick_speakers_never_twice_in_a_row(settings: Settings) -> None:
    provider = ScriptedProvider(disagreeing)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "open", THREE, max_rounds=2, max_turns=5)
    speakers = [m.agent_id for m in expert_messages(panel)]
    assert len(speakers) == 5
    assert all(a != b for a, b in itertools.pairwise(speakers))
    assert set(speakers) == set(THREE)
    assert any(c.title == "next_speaker" for c in provider.calls)


async def test_open_gives_everyone_the_floor_even_with_a_short_turn_limit(settings: Settings) -> None:
    provider = ScriptedProvider(disagreeing)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "open", THREE, max_rounds=1, max_turns=1)
    assert sorted(m.agent_id for m in expert_messages(panel)) == sorted(THREE)


async def test_socratic_questions_every_expert_then_probes_chosen_ones(settings: Settings) -> None:
    provider = ScriptedProvider(disagreeing)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "socratic", THREE, max_rounds=2)
    first, second = panel.rounds[0].messages, panel.rounds[1].messages
    assert [m.role for m in first] == ["moderator", "expert"] * 3
    assert {m.agent_id for m in first if m.role == "expert"} == set(THREE)
    assert [m.role for m in second] == ["moderator", "expert"]
    assert any(c.title == "targets" for c in provider.calls)
    assert panel.final_recommendation is not None and panel.final_recommendation.decided_by == "moderator"


async def test_adversarial_splits_sides_alternates_and_lets_a_judge_decide(settings: Settings) -> None:
    provider = ScriptedProvider(disagreeing)
    four = [*THREE, "quality_expert"]
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "adversarial", four, max_rounds=2)
    rec = panel.final_recommendation
    assert rec is not None and rec.decided_by == "judge" and rec.verdict is not None
    pros, cons = rec.verdict["proponents"], rec.verdict["opponents"]
    assert len(pros) == len(cons) == 2 and set(pros) | set(cons) == set(four)
    assert [m.agent_id for m in panel.rounds[0].messages] == [pros[0], cons[0], pros[1], cons[1]]
    assert [m.agent_id for m in panel.rounds[1].messages] == [cons[0], pros[0], cons[1], pros[1]]
    assert rec.recommendation == "Accept the proposition: We should file a 510(k)."
    assert len(panel.rounds) == 2


async def test_delphi_feeds_back_an_anonymous_distribution_and_stops_when_stable(settings: Settings) -> None:
    provider = ScriptedProvider(disagreeing)
    async with harness(settings, provider) as container:
        panel, events = await run_panel(container, "delphi", THREE, max_rounds=5, consensus_threshold=1.0)
    assert len(panel.rounds) == 2, "identical estimates in rounds 1 and 2: stable, stop"
    feedback = [m for m in panel.rounds[0].messages if m.role == "facilitator"]
    assert len(feedback) == 1 and "all three panelists estimate 60 percent; no spread" in feedback[0].content
    assert panel.rounds[0].feedback is not None
    assert panel.rounds[0].feedback["distribution"]["iqr"] == 0
    second_round = [c for c in provider.calls if c.title is None and "Delphi round 2" in c.prompt]
    assert second_round
    for call in second_round:
        for name in NAMES.values():
            if name != call.speaker:
                assert name not in call.prompt, "panelists stay anonymous"
    assert types(events).count("round_complete") == 2


async def test_delphi_continues_while_estimates_move(settings: Settings) -> None:
    def drifting(call: Call) -> str | dict[str, Any]:
        answer = default_answer(call)
        if call.title == "stance" and isinstance(answer, dict):
            rnd = int(call.prompt.split("Delphi round ")[1].split(".")[0])
            answer["estimate"] = 20 * rnd + sorted(NAMES.values()).index(call.speaker) * 10
        return answer

    async with harness(settings, ScriptedProvider(drifting)) as container:
        panel, _ = await run_panel(container, "delphi", THREE, max_rounds=3, consensus_threshold=1.0)
    assert len(panel.rounds) == 3


def test_the_speaking_order_is_shuffled_reproducibly_by_the_seed() -> None:
    from tests.unit.test_panel_state_machine import new_panel

    panel = new_panel()
    panel.members = [type(panel.members[0])(f"e{i}", f"E{i}", "r") for i in range(6)]
    first = [m.agent_id for m in order_for_round(panel, 1)]
    assert first == [m.agent_id for m in order_for_round(panel, 1)]
    orders = {tuple(m.agent_id for m in order_for_round(panel, r)) for r in range(1, 6)}
    assert len(orders) > 1


async def test_a_stance_that_cannot_be_parsed_is_retried_once_then_kept_without_stance(settings: Settings) -> None:
    stance_calls: Counter[str] = Counter()

    def flaky(call: Call) -> str | dict[str, Any]:
        if call.title == "stance":
            stance_calls[call.speaker] += 1
            if call.speaker == NAMES["fda_expert"]:
                return "I would rather not say."
            if call.speaker == NAMES["clinical_expert"] and stance_calls[call.speaker] == 1:
                return "{broken json"
        return default_answer(call)

    async with harness(settings, ScriptedProvider(flaky)) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)
    by_agent = {m.agent_id: m for m in expert_messages(panel)}
    assert by_agent["fda_expert"].stance is None and by_agent["fda_expert"].metadata["stance_attempts"] == 2
    assert by_agent["clinical_expert"].stance is not None
    assert by_agent["clinical_expert"].metadata["stance_attempts"] == 2
    assert by_agent["reimbursement_expert"].metadata["stance_attempts"] == 1
    assert panel.consensus is not None and panel.consensus.components["coverage"] == pytest.approx(2 / 3, abs=1e-3)


async def test_an_expert_that_keeps_failing_degrades_the_panel_but_it_completes(settings: Settings) -> None:
    provider = ScriptedProvider(fail_for=lambda call: call.speaker == NAMES["fda_expert"])
    async with harness(settings, provider) as container:
        panel, events = await run_panel(container, "structured", THREE, max_rounds=1)
    assert panel.status.value == "completed"
    assert panel.final_recommendation is not None and panel.final_recommendation.degraded is True
    # An expert's failure is its own event, `expert_error`: `error` is only ever the panel's failure.
    failures = [e for e in events if e.type == "expert_error"]
    assert failures and failures[0].data["terminal"] is False and failures[0].data["agent_id"] == "fda_expert"
    assert [e for e in events if e.type == "error"] == []


async def test_a_panel_below_quorum_fails_with_a_clear_error(settings: Settings) -> None:
    provider = ScriptedProvider(fail_for=lambda call: call.speaker in (NAMES["fda_expert"], NAMES["clinical_expert"]))
    async with harness(settings, provider) as container:
        panel, events = await run_panel(container, "structured", THREE, max_rounds=1)
    assert panel.status.value == "failed"
    assert panel.error is not None and "at least 2 are needed" in panel.error
    assert events[-1].type == "error" and events[-1].data["terminal"] is True
    assert [e.type for e in events].count("error") == 1, "error is sent once per panel, as its last event"
    assert {e.type for e in events[:-1] if e.data.get("agent_id")} >= {"expert_error"}


async def test_usage_and_message_metadata_are_recorded(settings: Settings) -> None:
    provider = ScriptedProvider()
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)
    assert panel.usage.llm_calls == len(provider.calls)
    assert panel.usage.input_tokens == 10 * len(provider.calls)
    message = expert_messages(panel)[0]
    assert message.metadata["model"] == "scripted-1"
    assert message.metadata["input_tokens"] == 20 and message.metadata["output_tokens"] == 10
    assert message.metadata["latency_ms"] >= 0


async def test_a_crashing_turn_fails_the_panel_and_nothing_is_logged_after_the_terminal_error(
    settings: Settings,
) -> None:
    import asyncio

    def crash(call: Call) -> str | dict[str, Any]:
        if call.speaker == NAMES["fda_expert"] and call.title is None:
            raise RuntimeError("a bug in a provider")
        return default_answer(call)

    provider = ScriptedProvider(crash, delay_s=0.01)
    async with harness(settings, provider) as container:
        panel, events = await run_panel(container, "structured", THREE, max_rounds=1)
        await asyncio.sleep(0.1)  # siblings, had they survived, would commit now
        _, later = await load_events(container, panel.panel_id)
    assert panel.status.value == "failed" and panel.error == "The panel stopped on an internal error."
    assert events[-1].type == "error" and events[-1].data["terminal"] is True
    assert later == events


async def test_malformed_stance_json_of_the_wrong_types_is_retried_not_a_crash(settings: Settings) -> None:
    def odd(call: Call) -> str | dict[str, Any]:
        answer = default_answer(call)
        if call.title == "stance" and isinstance(answer, dict):
            answer["ranking"] = [1, "x", None]
        return answer

    async with harness(settings, ScriptedProvider(odd)) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)
    assert panel.status.value == "completed"
    assert all(m.stance is None for m in expert_messages(panel))


async def test_an_expert_that_names_its_own_provider_and_model_is_run_by_it(settings: Settings) -> None:
    from ask_panel.domain.experts import Expert
    from tests.harness import TENANT

    default, own = ScriptedProvider(), ScriptedProvider()
    async with harness(settings, default, own=own) as container:
        await container.agents.create(
            TENANT,
            Expert(
                agent_id="acme_expert",
                name="Ada Park",
                role="Sterilization scientist",
                expertise=("sterilization",),
                instructions="Judge sterilization choices.",
                model="own-model-1",
                provider="own",
            ),
        )
        panel, _ = await run_panel(container, "structured", ["fda_expert", "acme_expert"], max_rounds=1)
    assert panel.status.value == "completed"
    assert own.calls and all(c.speaker == "Ada Park" for c in own.calls)
    assert not any(c.speaker == "Ada Park" for c in default.calls)
    by_agent = {m.agent_id: m for m in expert_messages(panel)}
    assert by_agent["acme_expert"].metadata["model"] == "own-model-1"
    assert by_agent["fda_expert"].metadata["model"] == "scripted-1"
