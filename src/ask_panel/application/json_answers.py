"""Reading the JSON object in a model's answer, however the model wrapped or broke it.

The pipeline, for one answer:

1. reasoning blocks (`<think>…</think>` and the like) are removed (`reasoning.strip_reasoning`);
2. candidates are collected, most likely first: the objects inside code fences, then every
   object that decodes at a `{` of the answer (so leading prose, trailing text and several
   objects are all fine), top-level objects before the ones nested in them;
3. when nothing decodes, the text from the first `{` (of a fence, else of the answer) is repaired
   by `json-repair` (trailing commas, single quotes, unquoted keys, Python literals, comments, an
   answer cut off before its closing braces);
4. when still nothing is found outside the reasoning blocks, the same is tried on the whole answer
   (a model that put its JSON inside its reasoning);
5. the first candidate that the step's validator accepts is the answer. When none is accepted, the
   error of the largest candidate is reported: it is the one the model most likely meant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import json_repair

from ask_panel.application.reasoning import strip_reasoning
from ask_panel.domain.errors import DomainError, InvalidInput

T = TypeVar("T")

# What a validator may raise on a well-formed object of the wrong shape (wrong types included): the
# answer is unreadable, to be asked again, never a crash of the panel.
UNREADABLE = (DomainError, TypeError, ValueError, KeyError, AttributeError)

MAX_CANDIDATES = 64
_FENCED = re.compile(r"```[^\n`]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


class UnreadableAnswer(InvalidInput):
    """The answer holds no JSON object that the step accepts; `detail` says why."""


def _fenced(text: str) -> list[str]:
    return [m.group(1) for m in _FENCED.finditer(text)]


def _decoded(text: str) -> list[dict[str, Any]]:
    """Every JSON object that decodes at a `{` of `text`: top-level ones first, in order."""
    found: list[tuple[int, int, dict[str, Any]]] = []
    start = text.find("{")
    while start >= 0 and len(found) < MAX_CANDIDATES:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(value, dict):
                found.append((start, end, value))
        start = text.find("{", start + 1)
    top: list[dict[str, Any]] = []
    nested: list[dict[str, Any]] = []
    covered_to = -1
    for begin, end, value in found:
        if begin >= covered_to:
            top.append(value)
            covered_to = end
        else:
            nested.append(value)
    return top + nested


def _repaired(text: str) -> list[dict[str, Any]]:
    """The objects `json-repair` recovers from `text`, starting at its first `{`."""
    start = text.find("{")
    if start < 0:
        return []
    try:
        value = json_repair.repair_json(text[start:], return_objects=True)
    except (ValueError, RecursionError):
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, dict) and v]


def _candidates_in(text: str) -> Iterator[dict[str, Any]]:
    fences = _fenced(text)
    sources = [*fences, text]
    decoded = False
    for source in sources:
        for value in _decoded(source):
            decoded = True
            yield value
    if not decoded:
        for source in sources:
            yield from _repaired(source)


def json_objects(answer: str) -> list[dict[str, Any]]:
    """The JSON objects a model's answer may mean, most likely first, without repeats."""
    visible = strip_reasoning(answer)
    found = list(_candidates_in(visible))
    if not found and visible != answer.strip():
        found = list(_candidates_in(answer))
    unique: dict[str, dict[str, Any]] = {}
    for value in found:
        unique.setdefault(json.dumps(value, sort_keys=True, default=str), value)
    return list(unique.values())[:MAX_CANDIDATES]


def read_json_answer(answer: str, parse: Callable[[Mapping[str, Any]], T]) -> T:
    """The first candidate object of `answer` that `parse` accepts, parsed; else UnreadableAnswer."""
    candidates = json_objects(answer)
    if not candidates:
        raise UnreadableAnswer("no JSON object in the answer")
    errors: list[tuple[int, str]] = []
    for candidate in candidates:
        try:
            return parse(candidate)
        except UNREADABLE as exc:
            detail = exc.detail if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
            errors.append((len(json.dumps(candidate, default=str)), detail))
    _, detail = max(errors, key=lambda e: e[0])
    raise UnreadableAnswer(detail)
