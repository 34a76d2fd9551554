"""Reading the JSON object in a model's answer: fences, prose, reasoning blocks, several objects, breakage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ask_panel.application.json_answers import UnreadableAnswer, json_objects, read_json_answer
from ask_panel.domain.errors import InvalidInput

STANCE = {"position": "Option A", "confidence": 0.8, "ranking": ["Option A", "Option B"]}


def stance_only(data: Mapping[str, Any]) -> dict[str, Any]:
    if set(data) != set(STANCE) or not isinstance(data["confidence"], float):
        raise InvalidInput("'confidence' must be a number from 0 to 1")
    return dict(data)


def equal_to(expected: dict[str, Any]) -> Any:
    def parse(data: Mapping[str, Any]) -> dict[str, Any]:
        if dict(data) != expected:
            raise InvalidInput("not the expected object")
        return dict(data)

    return parse


def test_a_bare_object_is_read() -> None:
    assert read_json_answer(json.dumps(STANCE), stance_only) == STANCE


@pytest.mark.parametrize(
    "answer",
    [
        f"```json\n{json.dumps(STANCE)}\n```",
        f"```\n{json.dumps(STANCE, indent=2)}\n```",
        f"Here is my stance:\n\n```JSON\n{json.dumps(STANCE)}\n```\nI hope this helps.",
        f"Sure! My stance follows. {json.dumps(STANCE)}",
        f"{json.dumps(STANCE)}\n\nNote: I weighed the evidence carefully {{and}} fairly.",
        f'<think>The user wants {{json}}. Option B is {{"tempting": true}}.</think>\n{json.dumps(STANCE)}',
        f"<thinking>\nweighing\n</thinking>```json\n{json.dumps(STANCE)}\n```",
        f"<REASONING>hm</REASONING> {json.dumps(STANCE)}",
        f"weighing the options quietly</think>{json.dumps(STANCE)}",
    ],
    ids=[
        "fenced",
        "fenced-no-language",
        "fenced-with-prose",
        "after-prose",
        "trailing-text",
        "think",
        "thinking",
        "reasoning-upper-case",
        "closing-tag-only",
    ],
)
def test_the_object_is_found_however_it_is_wrapped(answer: str) -> None:
    assert read_json_answer(answer, stance_only) == STANCE


def test_of_several_objects_the_one_that_validates_is_taken() -> None:
    answer = f'An example: {{"position": "X"}}. Also {{"note": 1}}. My answer: {json.dumps(STANCE)}'

    assert read_json_answer(answer, stance_only) == STANCE


def test_an_object_nested_in_another_is_a_candidate_too() -> None:
    answer = json.dumps({"stance": STANCE, "comment": "as asked"})

    assert read_json_answer(answer, stance_only) == STANCE


@pytest.mark.parametrize(
    "broken",
    [
        '{"position": "Option A", "confidence": 0.8, "ranking": ["Option A", "Option B"],}',
        "{'position': 'Option A', 'confidence': 0.8, 'ranking': ['Option A', 'Option B']}",
        '{position: "Option A", confidence: 0.8, ranking: ["Option A", "Option B"]}',
        '```json\n{"position": "Option A", "confidence": 0.8, "ranking": ["Option A", "Option B"\n```',
        '{"position": "Option A", // my pick\n "confidence": 0.8, "ranking": ["Option A", "Option B"]}',
    ],
    ids=["trailing-comma", "single-quotes", "unquoted-keys", "cut-off", "comment"],
)
def test_common_breakage_is_repaired(broken: str) -> None:
    assert read_json_answer(broken, stance_only) == STANCE


def test_json_inside_the_reasoning_is_used_when_there_is_none_outside() -> None:
    answer = f"<think>I will answer {json.dumps(STANCE)}</think>I prefer option A."

    assert read_json_answer(answer, stance_only) == STANCE


@pytest.mark.parametrize(
    "answer", ["", "   ", "I would rather not say.", "<think>thinking about it</think>", "[1, 2, 3]"]
)
def test_an_answer_without_an_object_is_unreadable(answer: str) -> None:
    with pytest.raises(UnreadableAnswer, match="no JSON object"):
        read_json_answer(answer, stance_only)


def test_when_nothing_validates_the_error_of_the_largest_candidate_is_reported() -> None:
    wrong = {**STANCE, "confidence": "high"}
    answer = f'First {{"a": 1}}, then {json.dumps(wrong)}'

    with pytest.raises(UnreadableAnswer) as raised:
        read_json_answer(answer, stance_only)

    assert raised.value.detail == "'confidence' must be a number from 0 to 1"


def test_a_validator_that_trips_on_a_wrong_type_makes_the_answer_unreadable_not_a_crash() -> None:
    def strict(data: Mapping[str, Any]) -> float:
        return float(data["confidence"]) + 0  # KeyError / ValueError on the wrong shape

    with pytest.raises(UnreadableAnswer, match="KeyError"):
        read_json_answer('{"position": "A"}', strict)


def test_repeated_candidates_are_offered_once() -> None:
    answer = f"```json\n{json.dumps(STANCE)}\n```\nAgain: {json.dumps(STANCE)}"

    assert json_objects(answer) == [STANCE]


# ---- properties ------------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
objects = st.dictionaries(st.text(max_size=10), values, min_size=1, max_size=4)
prose = st.text(alphabet=st.characters(exclude_characters="`<>", exclude_categories=["Cs"]), max_size=60)


def _wrappings() -> st.SearchStrategy[Any]:
    def fenced(text: str, language: str, before: str, after: str) -> str:
        return f"{before}\n```{language}\n{text}\n```\n{after}"

    return st.sampled_from(
        [
            lambda text, before, after: text,
            lambda text, before, after: fenced(text, "json", before, after),
            lambda text, before, after: fenced(text, "", before, after),
            lambda text, before, after: f"{before} {text}",
            lambda text, before, after: f"{text}\n{after}",
            lambda text, before, after: f"<think>{before}</think>{text}",
            lambda text, before, after: f"<thinking>{before}\n{after}</thinking>\n\n{before} {text} {after}",
            lambda text, before, after: f"<reasoning>{before}</reasoning>```json\n{text}\n```{after}",
            lambda text, before, after: f'{before} {{"draft": {json.dumps(before)}}} {text} {after}',
        ]
    )


@settings(max_examples=300, deadline=None)
@given(value=objects, wrap=_wrappings(), before=prose, after=prose, indent=st.sampled_from([None, 2]))
def test_wrapping_a_valid_object_never_loses_it(
    value: dict[str, Any], wrap: Any, before: str, after: str, indent: int | None
) -> None:
    answer = wrap(json.dumps(value, indent=indent), before, after)

    assert read_json_answer(answer, equal_to(value)) == value


@settings(max_examples=200, deadline=None)
@given(first=objects, second=objects, before=prose)
def test_of_two_objects_either_can_be_chosen_by_its_validator(
    first: dict[str, Any], second: dict[str, Any], before: str
) -> None:
    answer = f"{before} {json.dumps(first)} and then {json.dumps(second)}"

    assert read_json_answer(answer, equal_to(first)) == first
    assert read_json_answer(answer, equal_to(second)) == second
