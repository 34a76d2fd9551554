"""Subscriptions of a bus: the handlers of each channel and the callbacks told about a reconnect."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Handler = Callable[[str], None]


class Subscriptions:
    """What the buses share: handlers by channel, and the callbacks to run after every (re)connect."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self._on_reconnect: list[Callable[[], None]] = []

    def add(self, channel: str, handler: Handler, on_reconnect: Callable[[], None] | None) -> None:
        self._handlers.setdefault(channel, []).append(handler)
        if on_reconnect is not None:
            self._on_reconnect.append(on_reconnect)

    @property
    def channels(self) -> list[str]:
        return list(self._handlers)

    def dispatch(self, channel: str, payload: str) -> None:
        for handler in self._handlers.get(channel, ()):
            try:
                handler(payload)
            except Exception:
                log.exception("a handler of channel %s failed", channel)

    def reconnected(self) -> None:
        """Messages sent while disconnected are lost: each subscriber catches up its own way."""
        for callback in self._on_reconnect:
            try:
                callback()
            except Exception:
                log.exception("a reconnect callback failed")
