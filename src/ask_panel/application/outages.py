"""Outage: a fault that lasts (a database or bus that is down), logged once when it begins and once when it ends.

Every request, publish or sweep that meets the fault reports it; only the first report of an
episode is a warning, the rest are counted, and the first success after it logs the recovery with
that count. Logs stay readable through an outage of any length.
"""

from __future__ import annotations

import logging
import time


class Outage:
    def __init__(self, what: str, logger: logging.Logger) -> None:
        self.what = what
        self._log = logger
        self._since: float | None = None
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException | str, *, consequence: str = "") -> None:
        """One failure; the first of an episode is logged (with what it means for clients)."""
        self._failures += 1
        if self._since is not None:
            return
        self._since = time.monotonic()
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}".rstrip(": ")
        self._log.warning("%s is unavailable (%s)%s", self.what, reason, f"; {consequence}" if consequence else "")

    def succeeded(self) -> None:
        """A success; the first one after failures ends the episode (and says so)."""
        if self._since is None:
            return
        lasted = time.monotonic() - self._since
        self._log.info(
            "%s is available again after %.1f s (%d failure%s meanwhile)",
            self.what,
            lasted,
            self._failures,
            "" if self._failures == 1 else "s",
        )
        self._since = None
        self._failures = 0
