"""A real `ask-panel serve` process, observed as an operator would: its logs and its /metrics after a full panel.

One run (module fixture) on a fresh, empty SQLite file: JSON logs at INFO with the access log, JWT auth,
a panel watched through a stream ticket, a WebSocket opened with another ticket, a refused WebSocket
handshake, a refused SSE ticket, a bad bearer token, and /metrics scraped (with its token) while a
stream is open and after the panel. The tests below read what it left behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from httpx2.websockets import WebSocketDisconnect, WebSocketUpgradeError
from prometheus_client.parser import text_string_to_metric_families

from ask_panel.infrastructure.auth import mint_jwt
from tests.conftest import JWT_SECRET, TENANT_A
from tests.e2e.conftest import free_port, http_client, panel_body, read_all, wait_until

pytestmark = pytest.mark.slow

METRICS_TOKEN = "metrics-token-9f8e7d6c5b4a"
LLM_API_KEY = "sk-test-0123456789abcdefghij"
BOGUS_TICKET = "bogus-ticket-Zx81Qp55Lm02"
BAD_BEARER = "not-a-jwt-Yt7w3Rk91"


@dataclass
class ObservedRun:
    log: str
    panel_id: str
    secrets: dict[str, str]
    metrics_while_watching: str
    metrics_after: str
    ws_close_code: int
    refused_ws_status: int
    lines: list[dict[str, Any]] = field(default_factory=list)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a scrape (0 when absent); the parser refuses a malformed exposition."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def _scenario(base_url: str, ws_url: str) -> tuple[str, dict[str, str], str, str, int, int]:
    token = mint_jwt(JWT_SECRET, [TENANT_A])
    auth = {"X-Tenant-ID": TENANT_A, "Authorization": f"Bearer {token}"}
    scrape_auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with http_client(base_url) as client:
        created = await client.post("/api/v1/panels", json=panel_body(configuration={"max_rounds": 1}), headers=auth)
        assert created.status_code == 201, created.text
        pid = created.json()["panel_id"]
        sse_ticket = (await client.post(f"/api/v1/panels/{pid}/stream-ticket", headers=auth)).json()["ticket"]
        async with client.stream("GET", f"/api/v1/panels/{pid}/stream", params={"ticket": sse_ticket}) as watch:
            assert watch.status_code == 200
            during = (await client.get("/metrics", headers=scrape_auth)).text
            assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=auth)).status_code == 202
            frames = await read_all(watch)
        assert frames[-1].event == "panel_complete"

        ws_ticket = (await client.post(f"/api/v1/panels/{pid}/stream-ticket", headers=auth)).json()["ticket"]
        async with httpx2.AsyncClient(base_url=ws_url) as ws_client:
            async with ws_client.websocket(
                f"/api/v1/panels/{pid}/ws", params={"ticket": ws_ticket}, keepalive_ping_interval_seconds=None
            ) as ws:
                code = 0
                async with asyncio.timeout(60):
                    while True:
                        try:
                            await ws.receive_text()
                        except WebSocketDisconnect as closed:
                            code = closed.code
                            break
            refused_status = 0
            try:
                async with ws_client.websocket(f"/api/v1/panels/{pid}/ws", params={"ticket": BOGUS_TICKET}):
                    pass
            except WebSocketUpgradeError as refused:
                refused_status = refused.response.status_code
        bad_ticket = await client.get(f"/api/v1/panels/{pid}/stream", params={"ticket": BOGUS_TICKET + "2"})
        assert bad_ticket.status_code == 401
        bad_bearer = await client.get(
            "/api/v1/panels", headers={"X-Tenant-ID": TENANT_A, "Authorization": f"Bearer {BAD_BEARER}"}
        )
        assert bad_bearer.status_code == 401
        after = (await client.get("/metrics", headers=scrape_auth)).text
    secrets = {
        "the JWT secret": JWT_SECRET,
        "the bearer token": token,
        "the SSE ticket": sse_ticket,
        "the WebSocket ticket": ws_ticket,
        "a refused ticket": BOGUS_TICKET,
        "a refused bearer token": BAD_BEARER,
        "the LLM API key": LLM_API_KEY,
        "the metrics token": METRICS_TOKEN,
    }
    return pid, secrets, during, after, code, refused_status


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedRun]:
    scratch = tmp_path_factory.mktemp("observed")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
    env.update(
        {
            "ASK_PANEL_ENVIRONMENT": "test",
            "ASK_PANEL_LOG_FORMAT": "json",
            "ASK_PANEL_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'empty.db'}",  # migrated at start
            "ASK_PANEL_AUTH_MODE": "jwt",
            "ASK_PANEL_JWT_SECRET": JWT_SECRET,
            "ASK_PANEL_LLM_API_KEY": LLM_API_KEY,
            "ASK_PANEL_METRICS_TOKEN": METRICS_TOKEN,
            "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_path = scratch / "server.log"
    executable = Path(sys.executable).parent / "ask-panel"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(executable), "--log-level", "INFO", "serve", "--port", str(port), "--access-log"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"

            async def run() -> tuple[str, dict[str, str], str, str, int, int]:
                async with http_client(base_url) as client:

                    async def healthy() -> bool:
                        if process.poll() is not None:
                            raise AssertionError(f"the server exited:\n{log_path.read_text()}")
                        try:
                            return (await client.get("/healthz")).status_code == 200
                        except httpx2.TransportError:
                            return False

                    await wait_until(healthy, what="the server answers /healthz", timeout_s=60)
                return await _scenario(base_url, f"ws://127.0.0.1:{port}")

            pid, secrets, during, after, code, refused = asyncio.run(run())
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    log = log_path.read_text(errors="replace")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    yield ObservedRun(log, pid, secrets, during, after, code, refused, lines)


# ---- the defects of issue 12 ------------------------------------------------------------------------


def test_the_websocket_access_line_shows_no_ticket(observed: ObservedRun) -> None:
    assert observed.secrets["the WebSocket ticket"] not in observed.log
    accepted = [line for line in observed.lines if "WebSocket" in line["message"] and "[accepted]" in line["message"]]
    assert accepted, "the WebSocket's access line is logged"
    assert all("ticket=[redacted]" in line["message"] for line in accepted)


def test_a_refused_websocket_handshake_logs_no_error(observed: ObservedRun) -> None:
    assert observed.refused_ws_status == 401
    assert "ASGI callable returned without completing handshake" not in observed.log
    assert not [line for line in observed.lines if line["level"] == "error"]


def test_starting_prints_no_alembic_plugin_lines(observed: ObservedRun) -> None:
    assert "alembic.runtime.plugins" not in observed.log and "setup plugin" not in observed.log
    assert any(
        line["message"].startswith("applied ") and " migrations: 0001 (" in line["message"] for line in observed.lines
    )


# ---- log hygiene ---------------------------------------------------------------------------------


def test_no_secret_reaches_the_logs_of_a_full_run(observed: ObservedRun) -> None:
    assert len(observed.log) > 1000, "the run logged its requests"
    leaked = [what for what, secret in observed.secrets.items() if secret in observed.log]
    assert leaked == []
    assert "[redacted]" in observed.log  # the tickets in URLs were there, and were replaced


def test_every_line_is_a_json_object_with_level_logger_time_and_message(observed: ObservedRun) -> None:
    text_lines = [line for line in observed.log.splitlines() if line.strip()]
    assert len(observed.lines) == len(text_lines), [line for line in text_lines if not line.startswith("{")][:3]
    for line in observed.lines:
        assert {"level", "logger", "timestamp", "message"} <= line.keys()


def test_request_lines_carry_request_tenant_and_panel_ids(observed: ObservedRun) -> None:
    access = [line for line in observed.lines if line["logger"] == "uvicorn.access"]
    assert access and all("request_id" in line for line in access)
    execute = [line for line in access if f"/api/v1/panels/{observed.panel_id}/execute" in line["message"]]
    assert execute and all(line["tenant_id"] == TENANT_A and line["panel_id"] == observed.panel_id for line in execute)
    accepted = [line for line in observed.lines if "[accepted]" in line["message"]]
    assert all(line.get("tenant_id") == TENANT_A and line.get("panel_id") == observed.panel_id for line in accepted)


# ---- metrics ---------------------------------------------------------------------------------------


def test_metrics_count_the_panel_its_turns_and_its_model_calls(observed: ObservedRun) -> None:
    after = observed.metrics_after
    for status in ("draft", "queued", "in_progress", "completed"):
        assert metric(after, "ask_panel_panels_total", status=status, panel_type="structured") == 1, status
    assert metric(after, "ask_panel_turns_total", outcome="spoken") >= 3
    calls = metric(after, "ask_panel_llm_calls_total", provider="simulated", model="default", outcome="ok")
    assert calls >= 6
    assert metric(after, "ask_panel_llm_call_duration_seconds_count", provider="simulated", model="default") == calls
    assert metric(after, "ask_panel_llm_tokens_total", provider="simulated", model="default", direction="output") > 0
    assert "ask_panel_llm_cost_usd_total" in after


def test_metrics_show_open_streams_by_transport_and_the_fan_out(observed: ObservedRun) -> None:
    assert metric(observed.metrics_while_watching, "ask_panel_streams_open", transport="sse_watch") == 1
    assert metric(observed.metrics_after, "ask_panel_streams_open", transport="sse_watch") == 0
    assert metric(observed.metrics_after, "ask_panel_streams_open", transport="websocket") == 0
    assert metric(observed.metrics_after, "ask_panel_stream_fanout_lag_seconds_count") >= 1
    assert metric(observed.metrics_after, "ask_panel_hub_deliveries_total") >= 1
    assert metric(observed.metrics_after, "ask_panel_db_pool_size") >= 1
    assert metric(observed.metrics_after, "ask_panel_group_commit_batches_total") >= 1


def test_metrics_count_requests_by_route_template_on_the_fast_path_and_websockets(observed: ObservedRun) -> None:
    after = observed.metrics_after
    stream = "/api/v1/panels/{panel_id}/stream"
    assert metric(after, "ask_panel_http_requests_total", method="GET", route=stream, status="200") == 1
    assert metric(after, "ask_panel_http_requests_total", method="GET", route=stream, status="401") == 1
    ws = "/api/v1/panels/{panel_id}/ws"
    assert metric(after, "ask_panel_http_requests_total", method="WEBSOCKET", route=ws, status="101") == 1
    assert metric(after, "ask_panel_http_requests_total", method="WEBSOCKET", route=ws, status="401") == 1
    assert observed.ws_close_code == 1000


def test_metrics_hold_no_tenant_or_panel_ids(observed: ObservedRun) -> None:
    for scrape in (observed.metrics_while_watching, observed.metrics_after):
        assert TENANT_A not in scrape and observed.panel_id not in scrape
