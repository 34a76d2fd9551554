"""Outage: a fault that lasts (a database or bus that is down), logged once when it begins and once when it ends.

Every request, publish or sweep that meets the fault reports it; only the first report of an
episode is a warning, the rest are counted. An episode ends at the first success that comes a quiet
period (5 s by default) after its last failure, and that success logs the recovery with the count:
a fault that comes and goes under load (a pool that is exhausted, then has a connection, then is
exhausted again) is one episode, not one per request. Logs stay readable through an outage of any
length. `ongoing` says whether the latest report was a failure (readiness and probing use it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

QUIET_S = 5.0


class Outage:
    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        *,
        quiet_s: float = QUIET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self._log = logger
        self._quiet = quiet_s
        self._clock = clock
        self._since: float | None = None
        self._last_failure = 0.0
        self._failing = False
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        return self._failing

    def failed(self, error: BaseException | str, *, consequence: str = "") -> None:
        """One failure; the first of an episode is logged (with what it means for clients)."""
        self._failures += 1
        self._failing = True
        self._last_failure = self._clock()
        if self._since is not None:
            return
        self._since = self._last_failure
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}".rstrip(": ")
        self._log.warning("%s is unavailable (%s)%s", self.what, reason, f"; {consequence}" if consequence else "")

    def succeeded(self) -> None:
        """A success; the first one a quiet period after the episode's last failure ends it (and says so)."""
        self._failing = False
        if self._since is None:
            return
        now = self._clock()
        if now - self._last_failure < self._quiet:
            return
        self._log.info(
            "%s is available again after %.1f s (%d failure%s meanwhile)",
            self.what,
            self._last_failure - self._since,
            self._failures,
            "" if self._failures == 1 else "s",
        )
        self._since = None
        self._failures = 0
