"""One structured step: the first answer read leniently, one repair call showing the error, the outcome recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ask_panel.application.structured_answers import ask_for_json, json_request
from ask_panel.domain.errors import InvalidInput, ProviderError
from ask_panel.domain.llm import ChatMessage

SCHEMA = {"title": "options", "type": "object", "properties": {"options": {"type": "array"}}}
PROMPT = [ChatMessage("system", "You moderate."), ChatMessage("user", json_request(SCHEMA, "Frame the question."))]


def options(data: Mapping[str, Any]) -> list[str]:
    value = data.get("options")
    if not isinstance(value, list) or len(set(value)) != len(value) or not 2 <= len(value) <= 4:
        raise InvalidInput("'options' must hold 2 to 4 distinct strings")
    return list(value)


class Model:
    """Answers from a script, and keeps what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[list[ChatMessage]] = []

    async def __call__(self, messages: Sequence[ChatMessage]) -> str:
        self.asked.append(list(messages))
        return self.answers.pop(0)


async def test_a_readable_first_answer_is_parsed_with_one_call() -> None:
    model = Model('```json\n{"options": ["Raise prices", "Hold prices"]}\n```')

    answer = await ask_for_json(model, PROMPT, schema=SCHEMA, parse=options)

    assert answer.value == ["Raise prices", "Hold prices"]
    assert answer.record() == {"outcome": "parsed", "calls": 1}


async def test_an_invalid_answer_is_repaired_by_showing_the_model_its_answer_and_the_error() -> None:
    first = '{"options": ["Raise prices", "Raise prices"]}'
    model = Model(first, '{"options": ["Raise prices", "Hold prices"]}')

    answer = await ask_for_json(model, PROMPT, schema=SCHEMA, parse=options)

    assert answer.value == ["Raise prices", "Hold prices"]
    assert answer.record() == {
        "outcome": "repaired",
        "calls": 2,
        "error": "'options' must hold 2 to 4 distinct strings",
    }
    repair = model.asked[1]
    assert repair[: len(PROMPT)] == PROMPT
    assert repair[-2] == ChatMessage("assistant", first)
    assert repair[-1].role == "user"
    assert "Your answer failed: 'options' must hold 2 to 4 distinct strings" in repair[-1].content
    assert "only the JSON object" in repair[-1].content and '"title": "options"' in repair[-1].content


async def test_a_model_that_never_answers_in_json_fails_the_step_after_one_repair_keeping_its_words() -> None:
    model = Model("<think>hmm</think>I would frame it as price versus volume.", "Price versus volume, really.")

    answer = await ask_for_json(model, PROMPT, schema=SCHEMA, parse=options)

    assert answer.value is None
    assert answer.record() == {"outcome": "failed", "calls": 2, "error": "no JSON object in the answer"}
    assert answer.answer == "I would frame it as price versus volume."
    assert model.asked[1][-2] == ChatMessage("assistant", "I would frame it as price versus volume.")


async def test_an_empty_answer_is_echoed_as_such_in_the_repair_call() -> None:
    model = Model("", '{"options": ["A", "B"]}')

    answer = await ask_for_json(model, PROMPT, schema=SCHEMA, parse=options)

    assert answer.outcome == "repaired"
    assert model.asked[1][-2] == ChatMessage("assistant", "(an empty answer)")


async def test_no_repair_call_is_made_when_repairs_are_off() -> None:
    model = Model("no json")

    answer = await ask_for_json(model, PROMPT, schema=SCHEMA, parse=options, repairs=0)

    assert answer.outcome == "failed" and answer.calls == 1 and len(model.asked) == 1


async def test_a_provider_failure_is_not_a_format_failure_it_propagates() -> None:
    async def down(messages: Sequence[ChatMessage]) -> str:
        raise ProviderError("openai: HTTP 503 (after 4 attempts)", retryable=False)

    with pytest.raises(ProviderError):
        await ask_for_json(down, PROMPT, schema=SCHEMA, parse=options)


def some_options(data: Mapping[str, Any]) -> list[str]:
    """A lenient reading: any list of options, repeats dropped."""
    value = data.get("options")
    if not isinstance(value, list) or not value:
        raise InvalidInput("'options' must be a list")
    return list(dict.fromkeys(value))


async def test_a_lenient_reading_stands_in_only_after_the_repair_call_fails() -> None:
    model = Model('{"options": ["A", "A", "A", "A", "B"]}', '{"options": ["A", "A"]}')

    answer = await ask_for_json(model, PROMPT, schema=SCHEMA, parse=options, partial=some_options)

    assert len(model.asked) == 2, "the repair call is made first"
    assert answer.value == ["A"], "the last answer is read leniently first"
    assert answer.record() == {"outcome": "partial", "calls": 2, "error": "'options' must hold 2 to 4 distinct strings"}


async def test_a_lenient_reading_that_accepts_nothing_leaves_the_step_failed() -> None:
    model = Model("Price versus volume.", "Still prose.")

    answer = await ask_for_json(model, PROMPT, schema=SCHEMA, parse=options, partial=some_options)

    assert answer.value is None and answer.outcome == "failed"
