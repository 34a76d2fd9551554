"""OpenAPI response declarations shared by the routes (every error is a problem+json: `api/openapi.py`)."""

from __future__ import annotations

from typing import Any

from ask_panel.api.schemas import Problem

Responses = dict[int | str, dict[str, Any]]

WHEN = {
    400: "The request's path, query string or headers cannot be read (`bad-request`)",
    401: "No valid bearer token, or no valid stream ticket (`unauthorized`, `invalid-ticket`)",
    402: "The tenant has spent its daily or monthly budget (`budget-exhausted`; `Retry-After` says when the period "
    "turns)",
    403: "The bearer token does not grant this tenant (`forbidden`)",
    404: "No such panel or expert for this tenant (another tenant's is the same 404)",
    409: "The panel's status does not allow it (`panel-conflict`), or the id is taken",
    413: "The request body is too large (`payload-too-large`)",
    422: "The body is not valid: it does not match its schema (`validation-error`, with `errors`), or breaks a "
    "rule such as an unknown expert id (`unknown-agents`, with `agent_ids`) or a value out of range "
    "(`invalid-input`)",
    429: "Too many open streams for this server or tenant (`too-many-streams`; see `Retry-After`)",
}


def problems(*codes: int) -> Responses:
    """Problem+json responses for the given status codes."""
    return {code: {"model": Problem, "description": WHEN[code]} for code in codes}
