"""The API's requests and responses without I/O: shared by the sync and async clients."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx2
from pydantic import TypeAdapter

from ask_panel.client.errors import ApiError, error_class

API = "/api/v1"
ReportFormat = Literal["md", "html", "json"]
Model = TypeVar("Model")


@dataclass(frozen=True, slots=True)
class Call:
    """One API request; `safe` says whether resending it after a dropped connection cannot do harm twice."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    safe: bool = False


def create_panel(
    query: str,
    panel_type: str,
    agent_ids: list[str] | None,
    configuration: Mapping[str, Any] | None,
    idempotency_key: str | None,
) -> Call:
    """A create is made safe to resend by its `Idempotency-Key` (a fresh one unless given)."""
    body: dict[str, Any] = {"query": query, "panel_type": panel_type}
    if agent_ids is not None:
        body["agent_ids"] = list(agent_ids)
    if configuration is not None:
        body["configuration"] = dict(configuration)
    return Call(
        "POST",
        f"{API}/panels",
        json=body,
        headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        safe=True,
    )


def get_panel(panel_id: str) -> Call:
    return Call("GET", f"{API}/panels/{panel_id}", safe=True)


def list_panels(limit: int, offset: int, status: str | None, panel_type: str | None) -> Call:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status is not None:
        params["status"] = status
    if panel_type is not None:
        params["panel_type"] = panel_type
    return Call("GET", f"{API}/panels", params=params, safe=True)


def execute_panel(panel_id: str) -> Call:
    return Call("POST", f"{API}/panels/{panel_id}/execute")


def cancel_panel(panel_id: str) -> Call:
    return Call("DELETE", f"{API}/panels/{panel_id}")


def panel_report(panel_id: str, report_format: ReportFormat) -> Call:
    return Call("GET", f"{API}/panels/{panel_id}/report", params={"format": report_format}, safe=True)


def list_agents() -> Call:
    return Call("GET", f"{API}/agents", safe=True)


def get_agent(agent_id: str) -> Call:
    return Call("GET", f"{API}/agents/{agent_id}", safe=True)


def create_agent(fields: Mapping[str, Any]) -> Call:
    return Call("POST", f"{API}/agents", json=dict(fields))


def replace_agent(agent_id: str, fields: Mapping[str, Any]) -> Call:
    return Call("PUT", f"{API}/agents/{agent_id}", json=dict(fields), safe=True)


def update_agent(agent_id: str, fields: Mapping[str, Any]) -> Call:
    return Call("PATCH", f"{API}/agents/{agent_id}", json=dict(fields), safe=True)


def delete_agent(agent_id: str) -> Call:
    return Call("DELETE", f"{API}/agents/{agent_id}")


def stream_panel(panel_id: str, *, start: bool, tokens: bool, resume: Mapping[str, str]) -> Call:
    """POST starts a draft panel and streams it (a started one is only streamed), so it is safe to resend too."""
    return Call(
        "POST" if start else "GET",
        f"{API}/panels/{panel_id}/stream",
        params={"tokens": "true"} if tokens else None,
        headers=dict(resume),
        safe=True,
    )


def problem(response: httpx2.Response) -> ApiError:
    """The typed exception for a non-2xx response (problem+json, or whatever the body holds)."""
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    status = response.status_code
    title = str(body.get("title") or response.reason_phrase or "HTTP error")
    detail = str(body.get("detail") or (response.text[:500] if not body else ""))
    return error_class(status)(
        status,
        title,
        detail,
        type=str(body.get("type") or "about:blank"),
        request_id=body.get("request_id") or response.headers.get("X-Request-ID"),
        body=body,
    )


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(model: object) -> TypeAdapter[Any]:
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(model)  # type: ignore[arg-type]  # any model or value type
    return _ADAPTERS[model]


def to_json(value: object, *, indent: int | None = None) -> str:
    """A model or domain value object as JSON text."""
    return _adapter(type(value)).dump_json(value, indent=indent).decode()


def parse(response: httpx2.Response, model: type[Model]) -> Model:
    """The response body as `model` (a schema of the API or a domain value object)."""
    parsed: Model = _adapter(model).validate_json(response.content)
    return parsed
