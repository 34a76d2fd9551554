"""DeltaBatcher: groups a model's streamed text deltas so subscribers get a few events, not one per token."""

from __future__ import annotations

import time
from collections.abc import Callable

FLUSH_CHARS = 16
FLUSH_SECONDS = 0.03


class DeltaBatcher:
    """Buffers deltas; flushes when 16 characters or 30 ms have gathered (and at the end)."""

    def __init__(
        self, emit: Callable[[str], None], *, chars: int = FLUSH_CHARS, seconds: float = FLUSH_SECONDS
    ) -> None:
        self._emit = emit
        self._chars = chars
        self._seconds = seconds
        self._parts: list[str] = []
        self._size = 0
        self._since = time.monotonic()

    def add(self, text: str) -> None:
        if not self._parts:
            self._since = time.monotonic()
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._chars or time.monotonic() - self._since >= self._seconds:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._emit("".join(self._parts))
            self._parts.clear()
            self._size = 0
