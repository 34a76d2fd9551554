"""Items 1 and 2: wake-ups over a Redis that stalls or cannot be reached never leave a watcher waiting.

An API node (`serve --no-worker`) streams panels that a worker process runs; both reach Redis
through a FaultProxy. Whatever happens to Redis, every watcher gets every event once, in order,
and its stream ends with the panel.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.faults.conftest import (
    FAST_RECOVERY,
    TENANT,
    Watcher,
    panel_body,
    redis_url_through,
    status_of,
    wait_for,
)
from tests.faults.proxy import FaultProxy
from tests.integration.processes import api_process, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(300)]
PANELS = 10


def streams_ended(watchers: list[Watcher]) -> None:
    """Every watcher's stream ends with its panel (bounded: a watcher left waiting fails the test)."""
    try:
        wait_for(lambda: all(w.ended or w.error for w in watchers), what="every watcher's stream ended", timeout_s=45)
    except AssertionError:
        stuck = {w.panel_id: f"{len(w.events)} events" for w in watchers if not w.ended}
        raise AssertionError(f"watchers left waiting: {stuck}") from None


def assert_every_event_once(watchers: list[Watcher]) -> None:
    for watcher in watchers:
        assert watcher.error is None, watcher.error
        ids = [e["id"] for e in watcher.events]
        assert ids == list(range(1, len(ids) + 1)), f"panel {watcher.panel_id}: {ids}"
        assert watcher.ended, f"panel {watcher.panel_id} stream did not end: {[e['event'] for e in watcher.events]}"


def test_watchers_get_every_event_while_redis_is_stalled_and_the_bus_recovers_after(
    pg_url: str, redis_proxy: FaultProxy, tmp_path: Path
) -> None:
    env = {
        "ASK_PANEL_REDIS_URL": redis_url_through(redis_proxy),
        "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": "15",  # the panels outlast the worker's publish timeout
        **FAST_RECOVERY,
    }
    worker = start_worker(pg_url, tmp_path, "w", **env)
    try:
        with api_process(pg_url, tmp_path, "--no-worker", **env) as (base, api), httpx2.Client(base_url=base) as client:
            ids = [
                client.post("/api/v1/panels", json=panel_body(), headers=TENANT).json()["panel_id"]
                for _ in range(PANELS)
            ]
            watchers = [Watcher(base, panel_id).start() for panel_id in ids]
            for watcher in watchers:
                assert watcher.connected.wait(30)
            for panel_id in ids:
                assert client.post(f"/api/v1/panels/{panel_id}/execute", headers=TENANT).status_code == 202
            wait_for(lambda: all(w.events for w in watchers), what="every watcher saw its panel start")
            redis_proxy.stall()  # as SIGSTOP of a proxy in front of Redis: nothing flows, nothing is reset
            try:
                wait_for(
                    lambda: any("publish" in line and "Redis" in line for line in worker.output().splitlines()),
                    what="the worker's wake-ups are being lost (its publishes to Redis time out)",
                )
                wait_for(
                    lambda: all(status_of(client, p) == "completed" for p in ids),
                    what="every panel completed in the database",
                    timeout_s=120,
                )
                streams_ended(watchers)  # while Redis is still stalled
                wait_for(lambda: client.get("/readyz").status_code == 503, what="/readyz reports the stalled bus")
            finally:
                redis_proxy.pass_through()
            wait_for(lambda: client.get("/readyz").status_code == 200, what="/readyz once Redis flows again")
            api_log = api.output()
    finally:
        worker.stop()
    assert_every_event_once(watchers)
    for log in (api_log, worker.output()):  # one line as the outage begins, one as it ends, per direction
        assert log.count("Redis (receiving wake-ups) is unavailable") <= 1, log
        assert log.count("Redis (publishing wake-ups) is unavailable") <= 1, log
        assert "Traceback" not in log, log
    assert "Redis (receiving wake-ups) is unavailable" in api_log, "the stall was noticed by the API node"


def test_watchers_get_every_event_when_redis_is_unreachable_from_the_start(
    pg_url: str, redis_proxy: FaultProxy, tmp_path: Path
) -> None:
    redis_proxy.refuse()
    env = {"ASK_PANEL_REDIS_URL": redis_url_through(redis_proxy), **FAST_RECOVERY}
    worker = start_worker(pg_url, tmp_path, "w", **env)
    try:
        with (
            api_process(pg_url, tmp_path, "--no-worker", probe="/healthz", **env) as (base, _api),
            httpx2.Client(base_url=base) as client,
        ):
            ready = client.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.headers["content-type"] == "application/problem+json"
            assert "bus" in ready.json()["detail"]
            ids = [
                client.post("/api/v1/panels", json=panel_body(), headers=TENANT).json()["panel_id"] for _ in range(3)
            ]
            watchers = [Watcher(base, panel_id).start() for panel_id in ids]
            for watcher in watchers:
                assert watcher.connected.wait(30)
            for panel_id in ids:
                assert client.post(f"/api/v1/panels/{panel_id}/execute", headers=TENANT).status_code == 202
            streams_ended(watchers)
            redis_proxy.pass_through()
            wait_for(lambda: client.get("/readyz").status_code == 200, what="/readyz once Redis is reachable")
    finally:
        worker.stop()
    assert_every_event_once(watchers)
