"""The wire format of panel events: an SSE frame and a WebSocket text per event, each built once.

An event's encodings are cached on the shared LiveEvent (`LiveEvent.encoded`), so a thousand
subscribers of a panel cost one encoding, not a thousand.
"""

from __future__ import annotations

import orjson

from ask_panel.application.hub import LiveEvent


def _sse_frame(event: LiveEvent) -> bytes:
    head = b"" if event.seq is None else b"id: %d\n" % event.seq
    return head + b"event: " + event.type.encode() + b"\ndata: " + orjson.dumps(event.data) + b"\n\n"


def _ws_text(event: LiveEvent) -> str:
    return orjson.dumps({"id": event.seq, "event": event.type, "data": event.data}).decode()


def sse_frame(event: LiveEvent) -> bytes:
    """`id: <seq>` (stored events only), `event: <type>`, `data: <json>`."""
    return event.encoded(_sse_frame)


def ws_text(event: LiveEvent) -> str:
    """`{"id": <seq or null>, "event": <type>, "data": {...}}`."""
    return event.encoded(_ws_text)


def sse_retry(milliseconds: int) -> bytes:
    return b"retry: %d\n\n" % milliseconds


def sse_comment(text: str) -> bytes:
    return b": " + text.encode() + b"\n\n"


def ws_control(data: dict[str, object]) -> str:
    """A message of the WebSocket's own (not a panel event): `{"id": null, "event": "control", "data": ...}`."""
    return orjson.dumps({"id": None, "event": "control", "data": data}).decode()
