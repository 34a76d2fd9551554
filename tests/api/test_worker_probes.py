"""A worker's own HTTP port: /metrics (behind the metrics token), /healthz, /readyz (503 while draining)."""

from __future__ import annotations

import httpx2

from ask_panel.api.worker_app import create_worker_app
from ask_panel.bootstrap import bootstrap
from ask_panel.config import MEMORY_DATABASE_URL
from tests.conftest import make_settings


async def test_a_worker_serves_its_metrics_and_probes_and_is_not_ready_while_draining() -> None:
    container = bootstrap(make_settings(MEMORY_DATABASE_URL, metrics_token="worker-scrape-token"))
    await container.start()
    try:
        transport = httpx2.ASGITransport(app=create_worker_app(container))
        async with httpx2.AsyncClient(transport=transport, base_url="http://worker") as client:
            refused = await client.get("/metrics")
            scraped = await client.get("/metrics", headers={"Authorization": "Bearer worker-scrape-token"})
            healthy = await client.get("/healthz")
            ready = await client.get("/readyz")
            await container.drain.begin()
            draining = await client.get("/readyz")
    finally:
        await container.stop()
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    assert scraped.status_code == 200 and "ask_panel_panels_running" in scraped.text
    assert healthy.status_code == 200 and ready.status_code == 200
    assert draining.status_code == 503 and draining.json()["type"].endswith("/draining")
