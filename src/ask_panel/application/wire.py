"""The wire format of panel events: one SSE frame and one WebSocket text per event, built once."""

from __future__ import annotations

from typing import Any

import orjson

from ask_panel.domain.events import EventType, StoredEvent, is_terminal_event


class WireEvent:
    """An event as sent to clients. Encodings are computed on first use and shared by all subscribers."""

    __slots__ = ("_sse", "_ws", "data", "seq", "terminal", "type")

    def __init__(self, seq: int | None, type: str, data: dict[str, Any]) -> None:
        self.seq = seq
        self.type = type
        self.data = data
        self.terminal = seq is not None and is_terminal_event(type, data)
        self._sse: bytes | None = None
        self._ws: str | None = None

    @classmethod
    def of(cls, event: StoredEvent) -> WireEvent:
        return cls(event.seq, event.type, event.data)

    @classmethod
    def token(cls, data: dict[str, Any]) -> WireEvent:
        return cls(None, EventType.EXPERT_TOKEN.value, data)

    @property
    def sse(self) -> bytes:
        if self._sse is None:
            head = b"" if self.seq is None else b"id: %d\n" % self.seq
            self._sse = head + b"event: " + self.type.encode() + b"\ndata: " + orjson.dumps(self.data) + b"\n\n"
        return self._sse

    @property
    def ws(self) -> str:
        if self._ws is None:
            self._ws = orjson.dumps({"id": self.seq, "event": self.type, "data": self.data}).decode()
        return self._ws


def sse_retry(milliseconds: int) -> bytes:
    return b"retry: %d\n\n" % milliseconds


def sse_comment(text: str) -> bytes:
    return b": " + text.encode() + b"\n\n"
