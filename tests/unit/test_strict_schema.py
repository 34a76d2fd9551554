"""Fitting a JSON schema into OpenAI's strict structured-output subset, or telling that it cannot be."""

from __future__ import annotations

from ask_panel.domain.strategies.schemas import options_schema, stance_request, synthesis_schema
from ask_panel.infrastructure.llm.strict_schema import SUPPORTED_KEYWORDS, strict_schema


def keywords(node: object) -> set[str]:
    if isinstance(node, list):
        return set().union(*(keywords(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for key, value in node.items():
        if key in ("properties", "$defs"):
            found |= set().union(*(keywords(v) for v in value.values())) if value else set()
        else:
            found |= keywords(value)
    return found - {
        "options",
        "position",
        "confidence",
        "ranking",
        "endorses",
        "estimate",
        "recommendation",
        "rationale",
        "agreement_points",
        "dissent",
    }


def test_the_panels_own_schemas_all_fit_strict_mode_with_only_supported_keywords() -> None:
    schemas = [
        options_schema(),
        synthesis_schema(),
        stance_request(["A", "B"], peers=["x", "y"], with_estimate=True).schema,
    ]
    for schema in schemas:
        fitted = strict_schema(schema)
        assert fitted is not None, schema["title"]
        assert keywords(fitted) <= SUPPORTED_KEYWORDS
        assert fitted["additionalProperties"] is False
        assert set(fitted["required"]) == set(fitted["properties"])


def test_the_original_schema_is_left_untouched() -> None:
    schema = options_schema()
    before = repr(schema)

    strict_schema(schema)

    assert repr(schema) == before


def test_an_optional_property_or_an_open_object_cannot_be_strict() -> None:
    optional = {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}
    open_object = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": True,
    }
    nested_optional = {
        "type": "object",
        "properties": {"inner": {"type": "object", "properties": {"b": {"type": "number"}}}},
        "required": ["inner"],
        "additionalProperties": False,
    }

    assert strict_schema(optional) is None
    assert strict_schema(open_object) is None
    assert strict_schema(nested_optional) is None
