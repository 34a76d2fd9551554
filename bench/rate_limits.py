"""Benchmark: what the rate limits add to a request, in memory and on Redis.

    .venv/bin/python -m bench.rate_limits [--hits 5000] [--runs 3] [--redis redis://127.0.0.1:6379/0]

`RateLimits.hit("request", tenant, token)` alone (two keys: the tenant's and the token's), one at a
time, with the default limit (600/minute) spread over enough tenants and tokens never to refuse
(500 hits each): the time each check adds to an authenticated request. Prints the best per-hit time
of the runs for each store.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import redis.asyncio

from ask_panel.domain.ids import TenantId
from ask_panel.infrastructure.ratelimit import RateLimits, caller_of
from bench.common import machine, stamp

PER_KEY = 500  # hits per tenant and token: under the default 600/minute


async def per_hit_ms(limits: RateLimits, hits: int, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        keys = [
            (TenantId.from_string(str(uuid.uuid4())), caller_of(uuid.uuid4().hex)) for _ in range(hits // PER_KEY + 1)
        ]
        started = time.perf_counter()
        for i in range(hits):
            tenant, caller = keys[i // PER_KEY]
            await limits.hit("request", tenant, caller)
        times.append((time.perf_counter() - started) / hits * 1000)
    return times


async def main(hits: int, runs: int, redis_url: str | None) -> None:
    def limit(_tenant: str, _kind: str) -> str:
        return "600/minute"

    stores = [("memory", None)] + ([("redis", redis_url)] if redis_url else [])
    print(f"# rate_limits — {stamp()} — {machine()}")
    if redis_url:
        client = redis.asyncio.Redis.from_url(redis_url)
        started = time.perf_counter()
        for _ in range(hits):
            await client.ping()
        print(f"redis PING round trip: {(time.perf_counter() - started) / hits * 1e6:.0f} µs (for scale)")
        await client.aclose()
    for name, url in stores:
        limits = RateLimits.build(url, limit)
        try:
            times = await per_hit_ms(limits, hits, runs)
        finally:
            await limits.close()
        print(
            f"{name}: {hits} checks (tenant + token), {runs} runs: best {min(times) * 1000:.0f} µs per request "
            f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.hits, args.runs, args.redis))
