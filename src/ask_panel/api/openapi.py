"""The OpenAPI document: FastAPI's, completed where a generated client needs what FastAPI does not say.

- Every error response is `application/problem+json` with the `Problem` schema (FastAPI declares
  `application/json`, or the route's own media type, `text/event-stream` for the streams), and every
  operation has a `default` problem (500, 503). A 422 is declared only where there is a body: the
  envelope (path, query, headers) is a 400 (`docs/architecture.md`, "Invalid input: one rule").
- Security schemes: `bearerAuth` (a JWT in `Authorization`) on every `/api/v1` operation but
  `getMeta`; `streamTicket` (`?ticket=`) as the alternative where a ticket opens a stream.
- Definitions a route declares inline (`$defs`) are moved to the components their references name.
- The stream's events: one schema per event, from `api/event_schemas.py`; `StreamEvent` is their
  discriminated union (by `event`), named by the stream responses' `x-itemSchema` (OpenAPI 3.2's
  `itemSchema`, as an extension: the document is 3.1).
- The WebSocket, which OpenAPI cannot describe as an operation, in the `x-websockets` extension and
  the `streaming` tag's description, with `WebSocketMessage` and `WebSocketCommand`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ask_panel.api.errors import PROBLEM_JSON
from ask_panel.api.event_schemas import openapi_schemas
from ask_panel.api.params import AUTH_PARAMETERS, RESUME_PARAMETERS, TICKET_PARAMETER

SCHEMAS = "#/components/schemas/"
PROBLEM = {"$ref": SCHEMAS + "Problem"}
PUBLIC_OPERATIONS = frozenset({"getMeta", "healthz", "readyz"})
PROBES = ("/healthz", "/readyz")
WEBSOCKET_PATH = "/api/v1/panels/{panel_id}/ws"

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT whose `tenant_id` or `tenant_ids` claim grants the tenant named by `X-Tenant-ID` "
        "(HS256 with ASK_PANEL_JWT_SECRET, or RS256/ES256 from ASK_PANEL_JWKS_URL). A service run with "
        "ASK_PANEL_AUTH_MODE=none (local development) asks for none.",
    },
    "streamTicket": {
        "type": "apiKey",
        "in": "query",
        "name": "ticket",
        "description": "For browsers, whose EventSource and WebSocket cannot send headers: a ticket from "
        "`POST /api/v1/panels/{panel_id}/stream-ticket`, in place of the bearer token and X-Tenant-ID.",
    },
}

WEBSOCKET_DOC = f"""### WebSocket `{WEBSOCKET_PATH}`

The same events as the SSE streams, one JSON message each: `{{"id": <seq or null>, "event": <name>,
"data": {{...}}}}` (schema `WebSocketMessage`: a `StreamEvent`, or a `control` answer to a command).
Send `{{"type": "cancel"}}` to cancel the panel, or `{{"type": "ping"}}` (schema `WebSocketCommand`).

Parameters as on `GET …/stream`: `ticket` (or `Authorization` and `X-Tenant-ID`), `last_event_id`,
`tokens`. A browser's `Origin` must be the service's own or one of ASK_PANEL_CORS_ORIGINS. A refused
handshake is answered with the problem+json it would get over HTTP (400, 401, 403, 404, 429) where
the server supports denial responses. The socket closes with 1000 after the panel's last event."""


def document(app: FastAPI, *, max_query_chars: int | None = None) -> dict[str, Any]:
    """The app's OpenAPI document (built once per app; FastAPI caches it in `app.openapi_schema`).

    `max_query_chars` (ASK_PANEL_MAX_QUERY_CHARS) becomes the `maxLength` of every panel's `query`.
    """
    spec = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, schema in openapi_schemas(SCHEMAS + "{model}").items():
        schemas.setdefault(name, schema)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    for operation in _operations(spec):
        _hoist_definitions(operation, schemas)
        _problems(operation)
        if operation.get("operationId") not in PUBLIC_OPERATIONS:
            _rate_limited(operation)
            if "security" not in operation:
                operation["security"] = [{"bearerAuth": []}]
    if max_query_chars is not None:
        for schema in schemas.values():
            query = schema.get("properties", {}).get("query")
            if query is not None and "maxLength" in query:
                query["maxLength"] = max_query_chars
    spec["x-websockets"] = {WEBSOCKET_PATH: _websocket()}
    for tag in spec.get("tags", []):
        if tag["name"] == "streaming":
            tag["description"] = f"{tag['description']}\n\n{WEBSOCKET_DOC}"
    return spec


def install(app: FastAPI, *, max_query_chars: int | None = None) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, max_query_chars=max_query_chars)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for path, item in spec.get("paths", {}).items()
        if path.startswith("/api/") or path in PROBES
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _hoist_definitions(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Definitions a route's own schema carries (`$defs`, referenced as components) become components."""
    bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
    for body in bodies:
        for media in body.get("content", {}).values():
            definitions = media.get("schema", {}).pop("$defs", {})
            for name, schema in definitions.items():
                schemas.setdefault(name, schema)


def _problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    if "requestBody" not in operation:
        responses.pop("422", None)  # only a body can be a 422; the envelope is a 400
    responses.setdefault(
        "default", {"description": "Any other error: 500 `internal-error`, 503 when the database is unavailable"}
    )
    for code, response in responses.items():
        if code == "default" or int(code) >= 400:
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM}}
    if "422" in responses and responses["422"]["description"] == "Validation Error":
        responses["422"]["description"] = "The body is not valid (`validation-error`, with `errors`)"


RATE_LIMITED = "A rate limit of the tenant or of the token was reached (`rate-limited`; retry after `Retry-After` s)"
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}


def _rate_limited(operation: dict[str, Any]) -> None:
    """Every tenant's operation counts against its request rate limit (`infrastructure/ratelimit.py`): a 429."""
    responses: dict[str, Any] = operation["responses"]
    response = responses.setdefault("429", {"description": RATE_LIMITED})
    if response["description"] != RATE_LIMITED:
        response["description"] = f"{response['description']}; or: {RATE_LIMITED}"
    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM}}
    response["headers"] = {"Retry-After": RETRY_AFTER_HEADER}


def _websocket() -> dict[str, Any]:
    return {
        "summary": "The panel's events over a WebSocket, and a cancel command",
        "description": WEBSOCKET_DOC,
        "parameters": [
            {"name": "panel_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
            TICKET_PARAMETER,
            *RESUME_PARAMETERS,
            *AUTH_PARAMETERS,
        ],
        "security": [{"bearerAuth": []}, {"streamTicket": []}],
        "receive": {"$ref": SCHEMAS + "WebSocketMessage"},
        "send": {"$ref": SCHEMAS + "WebSocketCommand"},
        "refusals": {str(code): {"content": {PROBLEM_JSON: {"schema": PROBLEM}}} for code in (400, 401, 403, 404, 429)},
    }
