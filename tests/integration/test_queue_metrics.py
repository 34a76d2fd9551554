"""The job queue's depth and stalled jobs, read from PostgreSQL when /metrics is scraped."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import create_panel, headers_for, make_settings, serving
from tests.postgres import PostgresTemplate


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


async def test_a_queued_panel_shows_as_a_todo_job_in_the_metrics(postgres_template: PostgresTemplate) -> None:
    with postgres_template.fresh_database() as url:
        settings = make_settings(url, executor="procrastinate", run_worker=False)  # an API node: nobody runs it
        async with serving(settings) as (_container, client):
            empty = (await client.get("/metrics")).text
            panel = await create_panel(client)
            response = await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
            assert response.status_code == 202
            queued = (await client.get("/metrics")).text
    assert sample(empty, "ask_panel_jobs", status="todo") == 0
    assert sample(queued, "ask_panel_jobs", status="todo") == 1
    assert sample(queued, "ask_panel_jobs", status="doing") == 0
    assert sample(queued, "ask_panel_jobs_stalled") == 0
    assert (sample(queued, "ask_panel_db_pool_size") or 0) >= 1
    assert sample(queued, "ask_panel_db_pool_connections", state="in_use") is not None
