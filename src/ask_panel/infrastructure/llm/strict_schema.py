"""OpenAI's strict structured outputs accept a subset of JSON Schema: this fits a schema into it, or says it cannot.

In strict mode every object must list all its properties in `required` and forbid others
(`additionalProperties: false`), and only some keywords are allowed. Keywords outside the subset
(`uniqueItems`, `minLength`, `maxLength`, `default`, nested `title`, …) are dropped: the server then
constrains less, and the service's own validation of the answer still checks them. A schema with
an optional property, or an object that allows others, cannot be strict: it is sent without
`strict` (None here).
"""

from __future__ import annotations

from typing import Any

from ask_panel.domain.llm import JsonSchema

SUPPORTED_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$ref",
        "$defs",
        "description",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)


class _NotStrict(Exception):
    pass


def _fit(node: Any) -> Any:
    if isinstance(node, list):
        return [_fit(item) for item in node]
    if not isinstance(node, dict):
        return node
    fitted: dict[str, Any] = {}
    for key, value in node.items():
        if key not in SUPPORTED_KEYWORDS:
            continue
        if key in ("properties", "$defs"):
            fitted[key] = {name: _fit(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            fitted[key] = _fit(value)
        else:
            fitted[key] = value
    if fitted.get("type") == "object" or "properties" in fitted:
        properties = fitted.get("properties", {})
        if fitted.get("additionalProperties", False) is not False:
            raise _NotStrict
        if set(fitted.get("required", [])) != set(properties):
            raise _NotStrict
        fitted["additionalProperties"] = False
    return fitted


def strict_schema(schema: JsonSchema) -> JsonSchema | None:
    """`schema` reduced to what strict mode accepts, or None when it cannot be strict."""
    try:
        fitted: JsonSchema = _fit(schema)
    except _NotStrict:
        return None
    return fitted
