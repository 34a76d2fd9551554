"""Several processes on PostgreSQL: an API node streams what a worker runs; a killed worker's panel resumes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.integration.processes import api_process, parse_sse, start_worker
from tests.postgres import PostgresTemplate
from tests.redis_server import redis_or_skip

pytestmark = pytest.mark.slow
TENANT = {"X-Tenant-ID": "11111111-1111-1111-1111-111111111111"}
PANEL = {
    "query": "What is our FDA 510(k) strategy for this device?",
    "panel_type": "structured",
    "agent_ids": ["fda_expert", "clinical_expert", "reimbursement_expert"],
    "configuration": {"max_rounds": 3, "consensus_threshold": 1.0, "seed": 11},
}


@pytest.fixture
def pg_url(postgres_template: PostgresTemplate) -> Iterator[str]:
    with postgres_template.fresh_database() as url:
        yield url


def read_stream(
    client: httpx2.Client, url: str, *, last_event_id: int = 0, stop_after: int | None = None, method: str = "GET"
) -> list[dict[str, Any]]:
    """Read SSE events until the stream ends (or `stop_after` events, then disconnect)."""
    headers = {**TENANT, "Last-Event-ID": str(last_event_id)}
    lines: list[str] = []
    with client.stream(method, url, headers=headers, timeout=httpx2.Timeout(120.0)) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            lines.append(line)
            if stop_after is not None and line == "" and len(parse_sse(lines)) >= stop_after:
                break
    return parse_sse(lines)


@pytest.mark.parametrize("fanout", ["postgres", "redis"])
def test_an_api_node_streams_a_panel_that_a_worker_process_runs(pg_url: str, tmp_path: Path, fanout: str) -> None:
    env = {"ASK_PANEL_FANOUT": fanout}
    if fanout == "redis":
        env["ASK_PANEL_REDIS_URL"] = redis_or_skip()
    worker = start_worker(pg_url, tmp_path, "a", **env)
    try:
        with (
            api_process(pg_url, tmp_path, "--no-worker", **env) as (base, _api),
            httpx2.Client(base_url=base) as client,
        ):
            panel = client.post("/api/v1/panels", json=PANEL, headers=TENANT).json()
            events = read_stream(client, f"/api/v1/panels/{panel['panel_id']}/stream", method="POST")
            final = client.get(f"/api/v1/panels/{panel['panel_id']}", headers=TENANT).json()
    finally:
        worker.stop()
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event"] == "panel_started" and events[-1]["event"] == "panel_complete"
    assert final["status"] == "completed"
    assert "is taking panels" in worker.output()


def test_a_killed_worker_s_panel_resumes_on_another_worker_with_every_event_once(pg_url: str, tmp_path: Path) -> None:
    first = start_worker(pg_url, tmp_path, "first")
    second = None
    try:
        with api_process(pg_url, tmp_path, "--no-worker") as (base, _api), httpx2.Client(base_url=base) as client:
            panel = client.post("/api/v1/panels", json=PANEL, headers=TENANT).json()
            url = f"/api/v1/panels/{panel['panel_id']}/stream"
            assert client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=TENANT).status_code == 202
            before = read_stream(client, url, stop_after=5)  # mid-panel: a few turns are committed
            assert any(e["event"] == "expert_speaking" for e in before)
            first.kill()
            killed_at = time.monotonic()
            second = start_worker(pg_url, tmp_path, "second")
            rest = read_stream(client, url, last_event_id=before[-1]["id"])
            resumed_within = time.monotonic() - killed_at
            final = client.get(f"/api/v1/panels/{panel['panel_id']}", headers=TENANT).json()
            everything = read_stream(client, url)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    ids = [e["id"] for e in before + rest]
    assert ids == list(range(1, len(ids) + 1)), "every event exactly once across the reconnect"
    assert [e["id"] for e in everything] == ids
    assert final["status"] == "completed"
    keys = Counter((m["round"], m["agent_id"]) for r in final["discussions"] for m in r["messages"])
    assert all(n == 1 for n in keys.values()), "no turn lost or duplicated"
    speaking = [e for e in everything if e["event"] == "expert_speaking"]
    assert len(speaking) == final["total_messages"]
    assert resumed_within < 60
    assert second is not None and "lost its worker; retrying" in second.output() + first.output()


def test_cancelling_on_the_api_node_stops_the_run_in_the_worker(pg_url: str, tmp_path: Path) -> None:
    worker = start_worker(pg_url, tmp_path, "c", ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="20")
    try:
        with api_process(pg_url, tmp_path, "--no-worker") as (base, _api), httpx2.Client(base_url=base) as client:
            panel = client.post("/api/v1/panels", json=PANEL, headers=TENANT).json()
            url = f"/api/v1/panels/{panel['panel_id']}/stream"
            client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=TENANT)
            before = read_stream(client, url, stop_after=3)
            assert client.delete(f"/api/v1/panels/{panel['panel_id']}", headers=TENANT).status_code == 204
            at_cancel = read_stream(client, url)
            time.sleep(1.5)  # a run that was not stopped would commit its next turn meanwhile
            later = read_stream(client, url)
    finally:
        worker.stop()
    assert len(before) == 3
    assert at_cancel[-1]["event"] == "panel_cancelled"
    assert later == at_cancel
    assert "stale, stopping" not in worker.output(), "the run was cancelled, not left to hit the fence"


@pytest.mark.parametrize("fanout", ["postgres", "redis"])
def test_token_deltas_reach_a_watcher_on_another_node(pg_url: str, tmp_path: Path, fanout: str) -> None:
    import threading

    env = {"ASK_PANEL_FANOUT": fanout}
    if fanout == "redis":
        env["ASK_PANEL_REDIS_URL"] = redis_or_skip()
    worker = start_worker(pg_url, tmp_path, "t", **env)
    try:
        with (
            api_process(pg_url, tmp_path, "--no-worker", **env) as (base, _api),
            httpx2.Client(base_url=base) as client,
        ):
            panel = client.post(
                "/api/v1/panels", json={**PANEL, "configuration": {"max_rounds": 1}}, headers=TENANT
            ).json()
            url = f"/api/v1/panels/{panel['panel_id']}/stream?tokens=true"
            lines: list[str] = []
            connected = threading.Event()

            def watch() -> None:
                with (
                    httpx2.Client(base_url=base) as watcher,
                    watcher.stream("GET", url, headers=TENANT, timeout=httpx2.Timeout(120.0)) as response,
                ):
                    for line in response.iter_lines():
                        connected.set()
                        lines.append(line)

            for _ in range(300):  # the worker listens on the bus before the watcher announces its interest
                if "is taking panels" in worker.output():
                    break
                time.sleep(0.1)
            thread = threading.Thread(target=watch)
            thread.start()
            assert connected.wait(30)
            time.sleep(0.5)  # the interest announcement reaches the worker
            client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=TENANT)
            thread.join(120)
    finally:
        worker.stop()
    events = parse_sse(lines)
    tokens = [e for e in events if e["event"] == "expert_token"]
    assert tokens, "token deltas were forwarded from the worker"
    assert all("id" not in e and e["data"]["delta"] for e in tokens)
    assert events[-1]["event"] == "panel_complete"
