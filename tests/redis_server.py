"""Redis for tests: the server on 127.0.0.1:6379, or a skip with the reason (a failure under CI=true)."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = os.environ.get("ASK_PANEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Redis is required under CI: {exc}")
        pytest.skip(f"no Redis reachable at {REDIS_URL}: {exc}")
    return REDIS_URL
