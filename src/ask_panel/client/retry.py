"""When to try a request again: 429 and 503 honouring `Retry-After`, and dropped connections of safe requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx2

RETRIED_STATUSES = frozenset({429, 503})
DEFAULT_TIMEOUT = httpx2.Timeout(30.0, read=60.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`attempts` in all (the first included); waits grow from `backoff_s`, and never exceed `max_delay_s`."""

    attempts: int = 4
    backoff_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempts count from 1): `Retry-After` when given."""
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.max_delay_s)
        return min(self.backoff_s * 2.0 ** (attempt - 1), self.max_delay_s)


NO_RETRY = RetryPolicy(attempts=1)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How a stream resumes: up to `attempts` reconnects in a row without a new event, waits up to `max_delay_s`."""

    attempts: int = 8
    backoff_s: float = 0.25
    max_delay_s: float = 5.0

    def delay(self, failures: int, server_hint_ms: int | None = None) -> float:
        base = server_hint_ms / 1000 if server_hint_ms is not None and failures == 1 else self.backoff_s
        return min(base * 2.0 ** (failures - 1), self.max_delay_s)
