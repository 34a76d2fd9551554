"""RateLimits: the per-tenant and per-token rate limits on requests, panel creation and stream opening.

Built on the `limits` library (moving windows): in this process's memory, or on Redis when
`ASK_PANEL_REDIS_URL` is set, so that every process of a deployment counts against the same windows.
Each hit counts against two keys, the tenant's and the bearer token's (by its SHA-256, never the
token itself; both are counted whichever refuses), with the tenant's limit (`limit_for`:
`Settings.limit_for` in bootstrap); either one over its limit refuses the request with `RateLimited`
(a 429 with `Retry-After`). While Redis cannot be reached the limits are not enforced (logged once
per outage; after a failure the store is asked again after 5 s, so a stalled Redis slows one
request per 5 s, not every one): a limiter outage never takes the API down with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Literal

import redis.asyncio
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from ask_panel.application.outages import Outage
from ask_panel.domain.errors import RateLimited
from ask_panel.domain.ids import TenantId
from ask_panel.observability import metrics

log = logging.getLogger(__name__)

LimitKind = Literal["request", "panel_create", "stream_open"]
WHAT: dict[LimitKind, str] = {
    "request": "requests",
    "panel_create": "panels created",
    "stream_open": "streams opened",
}
REDIS_TIMEOUT_S = 1.0  # a stalled Redis delays a request by at most this, then the limit is skipped
RETRY_STORE_AFTER_S = 5.0  # after a failure the store is left alone this long: one slow request per period, not all
KEY_PREFIX = "ask_panel_limits"


def caller_of(token: str | None) -> str | None:
    """The key a bearer token is counted under: a digest, so no token is ever stored."""
    return hashlib.sha256(token.encode()).hexdigest()[:32] if token else None


class RateLimits:
    @classmethod
    def build(cls, redis_url: str | None, limit_for: Callable[[str, LimitKind], str | None]) -> RateLimits:
        """On Redis when configured (limits shared by every process), else in this process's memory."""
        if not redis_url:
            return cls(MemoryStorage(), limit_for)
        pool = redis.asyncio.ConnectionPool.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        options: dict[str, Any] = {"connection_pool": pool}  # passed on to redis.asyncio.Redis
        storage = RedisStorage("async+" + redis_url, implementation="redispy", key_prefix=KEY_PREFIX, **options)
        return cls(storage, limit_for, pool=pool)

    def __init__(
        self,
        storage: Storage,
        limit_for: Callable[[str, LimitKind], str | None],
        *,
        pool: redis.asyncio.ConnectionPool | None = None,
    ) -> None:
        """`limit_for(tenant, kind)`: the tenant's limit in the `limits` notation, or None for none."""
        self._pool = pool
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._limit_for = limit_for
        self._items: dict[tuple[str, LimitKind], list[RateLimitItem]] = {}
        self._outage = Outage("the rate-limit store (Redis)", log)
        self._skip_until = 0.0  # monotonic time before which the store, having just failed, is not asked

    def _items_for(self, tenant: str, kind: LimitKind) -> list[RateLimitItem]:
        found = self._items.get((tenant, kind))
        if found is None:
            value = self._limit_for(tenant, kind)
            found = parse_many(value) if value else []
            if len(self._items) < 100_000:  # one entry per tenant and kind; bounded all the same
                self._items[(tenant, kind)] = found
        return found

    async def hit(self, kind: LimitKind, tenant: TenantId, caller: str | None = None) -> None:
        """Count one `kind` for the tenant and the caller; RateLimited when either is over its limit."""
        items = self._items_for(str(tenant), kind)
        if not items:
            return
        if self._skip_until and time.monotonic() < self._skip_until:
            return
        keys = [("tenant", str(tenant))] + ([("token", caller)] if caller else [])
        checks = [(scope, key, item) for scope, key in keys for item in items]
        try:
            if self._pool is None:  # in memory: one after the other costs least
                allowed = [await self._limiter.hit(item, kind, scope, key) for scope, key, item in checks]
            else:  # on Redis: every window at once, one round trip of waiting
                allowed = await asyncio.gather(
                    *(self._limiter.hit(item, kind, scope, key) for scope, key, item in checks)
                )
            for (scope, key, item), ok in zip(checks, allowed, strict=True):
                if not ok:
                    metrics.RATE_LIMITED.labels(kind, scope).inc()
                    reset_at, _remaining = await self._limiter.get_window_stats(item, kind, scope, key)
                    whose = "this tenant" if scope == "tenant" else "this token"
                    raise RateLimited(
                        f"Too many {WHAT[kind]} for {whose}: the limit is {item}; retry later",
                        retry_after_s=math.ceil(reset_at - time.time()),
                    )
        except RateLimited:
            raise
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:  # the store is down: serve without limits rather than not at all
            self._outage.failed(exc, consequence="rate limits are not enforced until it is back")
            self._skip_until = time.monotonic() + RETRY_STORE_AFTER_S
            return
        self._skip_until = 0.0
        self._outage.succeeded()

    async def close(self) -> None:
        """Close the connections to Redis, if any."""
        if self._pool is not None:
            await self._pool.aclose()
