"""Item 10: a worker paused (SIGSTOP) long enough for its jobs to be retried elsewhere comes back quietly.

Its panels are resumed by another worker; when it continues, its stale runs stop at the attempt
fence, and it says so in a few plain lines: no "Task exception was never retrieved", no traceback.
It keeps taking jobs afterwards: the other worker, starting while it was paused, pruned its
registration, so it registers again; with the other worker gone, it runs the next panel.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx2
import pytest

from tests.faults.conftest import TENANT, panel_body, status_of, wait_for
from tests.integration.processes import api_process, parse_sse, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]
PANELS = 3


def test_a_worker_back_from_a_pause_logs_quietly_and_every_panel_completes_once(pg_url: str, tmp_path: Path) -> None:
    env = {"ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": "25", "ASK_PANEL_WORKER_STALLED_AFTER_S": "3"}
    paused = start_worker(pg_url, tmp_path, "paused", **env)
    other = None
    try:
        with (
            api_process(pg_url, tmp_path, "--no-worker", **env) as (base, _api),
            httpx2.Client(base_url=base) as client,
        ):
            ids = [
                client.post(
                    "/api/v1/panels", json=panel_body(max_rounds=3, consensus_threshold=1.0), headers=TENANT
                ).json()["panel_id"]
                for _ in range(PANELS)
            ]
            for panel_id in ids:
                assert client.post(f"/api/v1/panels/{panel_id}/execute", headers=TENANT).status_code == 202
            wait_for(lambda: all(status_of(client, p) == "in_progress" for p in ids), what="the worker runs them all")
            other = start_worker(pg_url, tmp_path, "other", **env)
            paused.process.send_signal(signal.SIGSTOP)
            try:
                wait_for(
                    lambda: other is not None and other.output().count("lost its worker; retrying") >= PANELS,
                    what="the paused worker's jobs are retried by the other",
                )
            finally:
                paused.process.send_signal(signal.SIGCONT)
            wait_for(lambda: all(status_of(client, p) == "completed" for p in ids), what="every panel completed")
            time.sleep(3)  # the revived worker's late steps reach the fence meanwhile (nothing asserted on time)
            assert other is not None
            other.stop()
            later = client.post("/api/v1/panels", json=panel_body(), headers=TENANT).json()["panel_id"]
            assert client.post(f"/api/v1/panels/{later}/execute", headers=TENANT).status_code == 202
            wait_for(lambda: status_of(client, later) == "completed", what="the revived worker runs a new panel")
            streams = []
            for panel_id in [*ids, later]:
                with client.stream("GET", f"/api/v1/panels/{panel_id}/stream", headers=TENANT) as response:
                    streams.append(parse_sse(list(response.iter_lines())))
    finally:
        paused.stop()
        if other is not None:
            other.stop()
    revived = paused.output()
    assert f"panel_id={later}" in revived, "the revived worker ran the new panel"
    assert "never retrieved" not in revived, revived
    assert "Traceback" not in revived, revived
    for events in streams:
        assert [e["id"] for e in events] == list(range(1, len(events) + 1)), "every event once, in order"
        assert events[-1]["event"] == "panel_complete"
