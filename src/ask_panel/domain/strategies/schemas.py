"""The JSON schemas the strategies ask models to follow, and the validators that read the answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ask_panel.domain.checkpoint import Decision
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.llm import JsonSchema
from ask_panel.domain.strategies.port import StanceRequest
from ask_panel.domain.strategies.prompts import clip
from ask_panel.domain.values import Stance


def require_number(data: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"'{key}' must be a number from {low:g} to {high:g}")
    return float(value)


def require_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{key}' must be a non-empty string")
    return value.strip()


def text_list(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of non-empty strings, without repeats, in the order given."""
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"'{key}' must be a list of strings")
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def stance_request(
    options: Sequence[str],
    *,
    peers: Sequence[str] = (),
    with_ranking: bool = True,
    with_estimate: bool = False,
    estimate_range: tuple[float, float] = (0.0, 100.0),
) -> StanceRequest:
    """A stance over `options`; `peers` are the other experts one may endorse (never oneself)."""
    properties: dict[str, Any] = {
        "position": {"type": "string", "enum": list(options)},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    }
    required = ["position", "confidence"]
    if with_ranking:
        properties["ranking"] = {
            "type": "array",
            "items": {"type": "string", "enum": list(options)},
            "minItems": len(options),
            "maxItems": len(options),
            "uniqueItems": True,
        }
        required.append("ranking")
    if peers:
        properties["endorses"] = {"type": "string", "enum": list(peers)}
        required.append("endorses")
    if with_estimate:
        properties["estimate"] = {"type": "number", "minimum": estimate_range[0], "maximum": estimate_range[1]}
        required.append("estimate")
    schema = {
        "title": "stance",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    allowed_peers = set(peers)

    def parse(data: Mapping[str, Any], *, estimated: bool = with_estimate) -> Stance:
        position = data.get("position")
        if position not in options:
            raise InvalidInput(f"'position' must be one of {list(options)}")
        confidence = require_number(data, "confidence", 0, 1)
        ranking: tuple[str, ...] = ()
        if with_ranking:
            raw = data.get("ranking")
            if not isinstance(raw, list) or sorted(raw) != sorted(options):
                raise InvalidInput("'ranking' must order every option exactly once")
            ranking = tuple(raw)
        endorses = None
        if allowed_peers:
            endorses = data.get("endorses")
            if endorses not in allowed_peers:
                raise InvalidInput("'endorses' must name another expert")
        estimate = require_number(data, "estimate", *estimate_range) if estimated else None
        return Stance(str(position), confidence, ranking, endorses, estimate)

    if with_estimate:
        return StanceRequest(
            schema,
            parse,
            "the turn is kept without a stance: its estimate is not counted",
            partial=lambda data: parse(data, estimated=False),
            partly="the position is kept without its estimate, which is not counted",
        )
    return StanceRequest(schema, parse)


def options_schema() -> JsonSchema:
    return {
        "title": "options",
        "type": "object",
        "properties": {
            "options": {
                "type": "array",
                "items": {"type": "string", "maxLength": 120},
                "minItems": 2,
                "maxItems": 4,
                "uniqueItems": True,
            },
        },
        "required": ["options"],
        "additionalProperties": False,
    }


def parse_options(data: Mapping[str, Any]) -> Decision:
    options = text_list(data, "options")
    if not 2 <= len(options) <= 4 or len(set(options)) != len(options):
        raise InvalidInput("'options' must hold 2 to 4 distinct strings")
    return {"options": [clip(o, 120) for o in options]}


def synthesis_schema() -> JsonSchema:
    return {
        "title": "synthesis",
        "type": "object",
        "properties": {
            "recommendation": {"type": "string"},
            "rationale": {"type": "string"},
            "agreement_points": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
        },
        "required": ["recommendation", "rationale", "agreement_points"],
        "additionalProperties": False,
    }


def parse_synthesis(data: Mapping[str, Any]) -> Decision:
    return {
        "recommendation": require_text(data, "recommendation"),
        "rationale": require_text(data, "rationale"),
        "agreement_points": text_list(data, "agreement_points"),
    }
