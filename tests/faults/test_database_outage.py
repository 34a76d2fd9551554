"""Item 5 (and 8): while PostgreSQL cannot be reached, requests get a 503 problem with Retry-After, the
connection is closed properly after it, the outage is logged once, and the service recovers by itself."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.faults.conftest import TENANT, database_url_through, panel_body, wait_for
from tests.faults.proxy import FaultProxy
from tests.integration.processes import api_process

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(180)]
# A stalled database answers nothing: each request waits for its timeouts (about 2 s here), so fewer.
REQUESTS = {"refuse": 8, "stall": 2}


@pytest.mark.parametrize("fault", ["refuse", "stall"])
def test_a_database_outage_is_a_503_with_retry_after_logged_once(
    pg_url: str, pg_proxy: FaultProxy, tmp_path: Path, fault: str
) -> None:
    env = {
        "ASK_PANEL_DB_POOL_TIMEOUT_S": "1",
        "ASK_PANEL_DB_CONNECT_TIMEOUT_S": "1",
        "ASK_PANEL_DB_STATEMENT_TIMEOUT_MS": "1000",
    }
    with (
        api_process(database_url_through(pg_url, pg_proxy), tmp_path, **env) as (base, api),
        httpx2.Client(base_url=base, timeout=30) as client,
    ):
        assert client.post("/api/v1/panels", json=panel_body(), headers=TENANT).status_code == 201
        getattr(pg_proxy, fault)()
        answers = []
        for _ in range(REQUESTS[fault]):
            answers.append(client.get("/api/v1/panels", headers=TENANT))
            answers.append(client.post("/api/v1/panels", json=panel_body(), headers=TENANT))
        ready = client.get("/readyz")
        pg_proxy.pass_through()
        wait_for(
            lambda: client.get("/api/v1/panels", headers=TENANT).status_code == 200,
            what="the service answers again once PostgreSQL is back",
        )
        wait_for(  # the episode ends once the database has answered for a quiet period (5 s)
            lambda: (
                client.get("/api/v1/panels", headers=TENANT).status_code == 200
                and "the database is available again" in api.output()
            ),
            what="the recovery is logged",
            interval_s=0.5,
        )
        log = api.output()
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert int(answer.headers["retry-after"]) > 0
        assert answer.headers["connection"] == "close"
        assert answer.json()["status"] == 503
    assert ready.status_code == 503
    assert "Traceback" not in log, log
    assert log.count("the database is unavailable") == 1, log
    assert log.count("the database is available again") == 1, log
