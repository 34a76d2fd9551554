"""OpenAPI response declarations shared by the routes."""

from __future__ import annotations

from typing import Any

from ask_panel.api.schemas import Problem

Responses = dict[int | str, dict[str, Any]]


def problems(*codes: int) -> Responses:
    """Problem+json responses for the given status codes."""
    return {code: {"model": Problem, "content": {"application/problem+json": {}}} for code in codes}
