"""A worker process: its metrics port, and SIGTERM drains it; another worker resumes the panel, every event once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.processes import api_process, free_port, start_worker
from tests.integration.test_processes import PANEL, TENANT, read_stream
from tests.postgres import PostgresTemplate

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_url(postgres_template: PostgresTemplate) -> Iterator[str]:
    with postgres_template.fresh_database() as url:
        yield url


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


def test_a_draining_worker_holds_its_panel_at_a_checkpoint_and_another_worker_finishes_it(
    pg_url: str, tmp_path: Path
) -> None:
    port = free_port()
    first = start_worker(pg_url, tmp_path, "first", ASK_PANEL_WORKER_METRICS_PORT=str(port))
    second = None
    probes = f"http://127.0.0.1:{port}"
    try:
        with api_process(pg_url, tmp_path, "--no-worker") as (base, _api), httpx2.Client(base_url=base) as client:
            panel = client.post("/api/v1/panels", json=PANEL, headers=TENANT).json()
            url = f"/api/v1/panels/{panel['panel_id']}/stream"
            assert client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=TENANT).status_code == 202
            before = read_stream(client, url, stop_after=4)
            assert any(e["event"] == "expert_speaking" for e in before)
            with httpx2.Client(base_url=probes, timeout=10) as worker:
                scrape = worker.get("/metrics").text
                ready = worker.get("/readyz").status_code
            first.process.terminate()  # SIGTERM: drain
            first.process.wait(timeout=60)
            drained = first.output()
            second = start_worker(pg_url, tmp_path, "second")
            rest = read_stream(client, url, last_event_id=before[-1]["id"])
            final = client.get(f"/api/v1/panels/{panel['panel_id']}", headers=TENANT).json()
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert ready == 200
    assert sample(scrape, "ask_panel_panels_running") == 1
    assert sample(scrape, "ask_panel_panels_total", status="in_progress", panel_type="structured") == 1
    assert sample(scrape, "ask_panel_llm_calls_total", outcome="ok") > 0
    assert "drained: 1 panels held at a checkpoint" in drained
    ids = [e["id"] for e in before + rest]
    assert ids == list(range(1, len(ids) + 1)), "every event exactly once"
    assert final["status"] == "completed"
    keys = Counter((m["round"], m["agent_id"]) for r in final["discussions"] for m in r["messages"])
    assert all(n == 1 for n in keys.values()), "no turn lost or duplicated"
