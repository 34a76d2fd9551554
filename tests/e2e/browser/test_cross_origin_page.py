"""A page on another origin uses the API from Chromium: fetch with headers, EventSource and WebSocket with a
ticket. Its origin listed in ASK_PANEL_CORS_ORIGINS, everything works; not listed, the browser refuses.

The page is served by a plain HTTP server on another port of 127.0.0.1 (another origin), as a separate
front end would be; the service is a real `ask-panel serve`.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage

from tests.conftest import new_tenant
from tests.e2e.browser.conftest import WebServer, require_browser, screenshot, start_server
from tests.integration.processes import free_port

pytestmark = pytest.mark.slow  # real server processes and a browser

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Another origin</title></head>
<body><h1>A front end on another origin</h1><pre id="log"></pre></body></html>
"""

# What a front end does: create and start a panel with fetch(), get a ticket, watch it with EventSource
# until the end, then replay it over a WebSocket. Every step's outcome is reported, refusals included.
USE_THE_API = """
async ({ api, tenant }) => {
  const out = {};
  const headers = { 'Content-Type': 'application/json', 'X-Tenant-ID': tenant };
  const call = async (path, init = {}) => {
    try {
      const response = await fetch(api + path, { headers, ...init });
      return { status: response.status, body: response.status === 204 ? null : await response.json(),
               requestId: response.headers.get('X-Request-ID') };
    } catch (error) {
      return { refused: String(error) };
    }
  };
  out.create = await call('/api/v1/panels', { method: 'POST', body: JSON.stringify({
    query: 'Should we file a 510(k) or a De Novo for our patch?', panel_type: 'structured',
    agent_ids: ['fda_expert', 'clinical_expert'], configuration: { max_rounds: 1 } }) });
  if (out.create.refused) return out;
  const panelId = out.create.body.panel_id;
  out.execute = await call(`/api/v1/panels/${panelId}/execute`, { method: 'POST' });
  const ticket = (await call(`/api/v1/panels/${panelId}/stream-ticket`, { method: 'POST' })).body.ticket;
  out.sse = await new Promise((resolve) => {
    const source = new EventSource(`${api}/api/v1/panels/${panelId}/stream?ticket=${ticket}`);
    const seen = [];
    const names = ['panel_started', 'round_started', 'expert_speaking', 'expert_error', 'round_complete',
      'consensus_update'];
    for (const name of names) {
      source.addEventListener(name, (event) => seen.push([Number(event.lastEventId), name]));
    }
    source.addEventListener('panel_complete', (event) => {
      seen.push([Number(event.lastEventId), 'panel_complete']);
      source.close();
      resolve({ seen });
    });
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) resolve({ seen, closed: true }); };
  });
  const second = (await call(`/api/v1/panels/${panelId}/stream-ticket`, { method: 'POST' })).body.ticket;
  out.ws = await new Promise((resolve) => {
    const socket = new WebSocket(`${api.replace('http', 'ws')}/api/v1/panels/${panelId}/ws?ticket=${second}`);
    const seen = [];
    let opened = false;
    socket.onopen = () => { opened = true; };
    socket.onmessage = (message) => seen.push(JSON.parse(message.data).event);
    socket.onclose = (closed) => resolve({ opened, code: closed.code, seen });
  });
  return out;
}
"""

# A page of an origin the service does not list: each way in is refused by the browser.
TRY_THE_API = """
async ({ api, tenant, panelId }) => {
  const out = {};
  try {
    await fetch(api + '/api/v1/panels', { method: 'POST', headers: { 'Content-Type': 'application/json',
      'X-Tenant-ID': tenant }, body: JSON.stringify({ query: 'x', panel_type: 'open' }) });
    out.create = 'answered';
  } catch (error) {
    out.create = 'refused';
  }
  try {
    await fetch(`${api}/api/v1/panels?limit=1`, { headers: { 'X-Tenant-ID': tenant } });
    out.list = 'answered';
  } catch (error) {
    out.list = 'refused';
  }
  out.sse = await new Promise((resolve) => {
    const source = new EventSource(`${api}/api/v1/panels/${panelId}/stream?ticket=x`);
    source.onopen = () => { source.close(); resolve('opened'); };
    source.onerror = () => { source.close(); resolve('refused'); };
  });
  out.ws = await new Promise((resolve) => {
    const socket = new WebSocket(`${api.replace('http', 'ws')}/api/v1/panels/${panelId}/ws`);
    socket.onopen = () => { socket.close(); resolve('opened'); };
    socket.onclose = () => resolve('refused');
  });
  return out;
}
"""


class PageServer:
    """Serves PAGE at http://127.0.0.1:<port>/ from a thread: another origin than the service's."""

    def __init__(self, directory: Path) -> None:
        (directory / "index.html").write_text(PAGE)
        handler = functools.partial(QuietHandler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageServer]:
    require_browser()
    server = PageServer(tmp_path_factory.mktemp("page"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def listing_server(tmp_path_factory: pytest.TempPathFactory, page_server: PageServer) -> Iterator[WebServer]:
    """The service with the page's origin in ASK_PANEL_CORS_ORIGINS."""
    server = start_server(
        tmp_path_factory.mktemp("cors"), ASK_PANEL_CORS_ORIGINS=f"https://app.example.com,{page_server.origin}"
    )
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def same_origin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The service as it is by default: same origin only."""
    server = start_server(tmp_path_factory.mktemp("same-origin"))
    yield server
    server.process.stop()


def test_a_page_on_a_listed_origin_creates_watches_and_replays_a_panel(
    browser: Browser, page_server: PageServer, listing_server: WebServer
) -> None:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{page_server.origin}/")
    result: dict[str, Any] = page.evaluate(USE_THE_API, {"api": listing_server.base_url, "tenant": new_tenant()})
    page.evaluate("(r) => { document.getElementById('log').textContent = JSON.stringify(r, null, 1); }", result)
    screenshot(page, "cross-origin-listed")
    context.close()

    assert result["create"]["status"] == 201, result
    assert result["create"]["requestId"], "exposed headers are readable by the page"
    assert result["execute"]["status"] == 202 and result["execute"]["body"]["panel_status"] == "queued"
    ids = [seq for seq, _ in result["sse"]["seen"]]
    assert ids == list(range(1, len(ids) + 1)) and result["sse"]["seen"][-1][1] == "panel_complete", result["sse"]
    assert result["ws"]["opened"] and result["ws"]["code"] == 1000
    assert result["ws"]["seen"][0] == "panel_started" and result["ws"]["seen"][-1] == "panel_complete"
    assert problems == []


def test_a_page_on_an_origin_not_listed_is_refused_by_the_browser(
    browser: Browser, page_server: PageServer, same_origin_server: WebServer
) -> None:
    with same_origin_server.client() as client:
        tenant = new_tenant()
        created = client.post(
            "/api/v1/panels", json={"query": "A question", "panel_type": "open"}, headers={"X-Tenant-ID": tenant}
        )
        panel_id = created.json()["panel_id"]
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        console.append(message.text)

    page.on("console", on_console)
    page.goto(f"{page_server.origin}/")
    result = page.evaluate(TRY_THE_API, {"api": same_origin_server.base_url, "tenant": tenant, "panelId": panel_id})
    context.close()
    assert result == {"create": "refused", "list": "refused", "sse": "refused", "ws": "refused"}
    assert any("blocked by CORS policy" in line for line in console), console
    with same_origin_server.client() as client:  # nothing was created by the refused page
        listed = client.get("/api/v1/panels", headers={"X-Tenant-ID": tenant}).json()
    assert listed["total"] == 1
