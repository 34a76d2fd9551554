"""StepKey, the one place step keys are built and parsed, and the Checkpoint that holds the steps done."""

from __future__ import annotations

import pytest

from ask_panel.domain.checkpoint import Checkpoint, StepKey, StepKind
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.experts import validate_agent_id
from ask_panel.domain.panel import utcnow
from ask_panel.domain.values import Message

# Every form the current release stores, and the key it names.
STORED_FORMS = {
    "frame": StepKey.decision("frame"),
    "proposition": StepKey.decision("proposition"),
    "verdict": StepKey.decision("verdict"),
    "synthesis": StepKey.decision("synthesis"),
    "r2:fda_expert": StepKey.speaking(2, "fda_expert"),
    "r1:q:clinical_expert": StepKey.question(1, "clinical_expert"),
    "r1:a:clinical_expert": StepKey.answer(1, "clinical_expert"),
    "r3:targets": StepKey.decision("targets", round_number=3),
    "r2:feedback": StepKey.feedback(2),
    "t5:next": StepKey.decision("next", turn=5),
    "t0:fda_expert": StepKey.open_turn(0, "fda_expert"),
    "round:2:start": StepKey.round_start(2),
    "round:10:end": StepKey.round_end(10),
}


@pytest.mark.parametrize(("text", "key"), STORED_FORMS.items())
def test_every_stored_step_key_parses_to_its_step_and_prints_back_the_same(text: str, key: StepKey) -> None:
    assert StepKey.parse(text) == key
    assert str(key) == text


def test_keys_say_what_step_they_name() -> None:
    assert StepKey.parse("t4:clinical_expert").kind is StepKind.TURN
    assert StepKey.parse("t4:clinical_expert").turn == 4
    assert StepKey.parse("r2:q:fda_expert").agent_id == "fda_expert"
    assert StepKey.parse("r2:targets").kind is StepKind.DECISION


@pytest.mark.parametrize("text", ["", "r:x", "rx:fda_expert", "r1:z:fda_expert", "round:1:middle", "Frame!", "t1:q:x"])
def test_anything_else_is_not_a_step_key(text: str) -> None:
    with pytest.raises(InvalidInput):
        StepKey.parse(text)


@pytest.mark.parametrize("agent_id", ["feedback", "targets", "next"])
def test_agent_ids_may_not_take_a_step_s_name(agent_id: str) -> None:
    with pytest.raises(InvalidInput):
        validate_agent_id(agent_id)


def test_the_checkpoint_answers_what_was_done() -> None:
    checkpoint = Checkpoint()
    turn = StepKey.open_turn(3, "fda_expert")
    message = Message("fda_expert", "Dr. A", "Hi", utcnow(), 1)
    checkpoint.spoken[turn] = message
    checkpoint.record_decision(StepKey.decision("frame"), {"options": ["a", "b"]})
    checkpoint.mark(StepKey.round_start(1))
    checkpoint.mark(StepKey.round_start(1))
    assert checkpoint.message(turn) is message and checkpoint.speaker_of_turn(3) == "fda_expert"
    assert checkpoint.speaker_of_turn(4) is None
    assert checkpoint.decision(StepKey.decision("frame")) == {"options": ["a", "b"]}
    assert checkpoint.markers == [StepKey.round_start(1)] and checkpoint.passed(StepKey.round_start(1))
    assert not checkpoint.has_failures
    checkpoint.record_failure("clinical_expert", StepKey.speaking(1, "clinical_expert"))
    assert checkpoint.has_failures and checkpoint.failed("clinical_expert", StepKey.speaking(1, "clinical_expert"))
