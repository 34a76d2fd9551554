"""Checks an answer against the OpenAPI document: its status is declared for its operation, its media type
is the declared one, and its body validates against the declared schema (SSE: every frame against the
stream's `x-itemSchema`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx2
import orjson
from jsonschema import Draft202012Validator

SSE = "text/event-stream"


@dataclass
class Conformance:
    """An OpenAPI document, and the (operation, status) pairs checked against it so far."""

    document: dict[str, Any]
    seen: set[tuple[str, str]] = field(default_factory=set)

    def operation(self, method: str, path: str) -> dict[str, Any]:
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method.lower() in item:
                operation: dict[str, Any] = item[method.lower()]
                return operation
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def check(self, response: httpx2.Response) -> httpx2.Response:
        """Fails unless the document declares this answer as it was sent; returns the response."""
        request = response.request
        operation = self.operation(request.method, request.url.path)
        status = str(response.status_code)
        declared = operation["responses"].get(status) or operation["responses"].get("default")
        assert declared is not None, f"{operation['operationId']} answered {status}, which it does not declare"
        assert status in operation["responses"] or response.status_code >= 500, (operation["operationId"], status)
        self.seen.add((operation["operationId"], status))
        content = declared.get("content")
        if not content:
            assert response.content == b"", f"{operation['operationId']} {status} declares no body but sent one"
            return response
        media = response.headers["content-type"].split(";")[0].strip()
        assert media in content, f"{operation['operationId']} {status} sent {media}, declared {list(content)}"
        declared_media = content[media]
        what = f"{operation['operationId']} {status}"
        if media == SSE:
            for frame in sse_events(response.text):
                self.validate(frame, declared_media["x-itemSchema"], f"{what} frame")
        elif media.endswith("json"):
            self.validate(response.json(), declared_media["schema"], what)
        else:
            self.validate(response.text, declared_media["schema"], what)
        return response

    def validate(self, value: Any, schema: dict[str, Any], what: str) -> None:
        root = {**schema, "components": self.document["components"]}
        errors = sorted(
            Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(value),
            key=str,
        )
        assert not errors, f"{what} does not match its documented schema: {errors[0].message} at {list(errors[0].path)}"


def sse_events(body: str) -> list[dict[str, Any]]:
    """The events of an SSE body as `{id, event, data}` (retry hints and comments left out)."""
    events = []
    for block in body.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ": " not in line:
                continue
            name, value = line.split(": ", 1)
            fields[name] = value
        if "event" in fields:
            seq = int(fields["id"]) if "id" in fields else None
            events.append({"id": seq, "event": fields["event"], "data": orjson.loads(fields["data"])})
    return events
