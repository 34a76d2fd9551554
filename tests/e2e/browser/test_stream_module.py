"""The web app's stream module (`js/stream.js`) run in Chromium against scripted connections.

These pin down what the module promises whatever the server does: the SSE format parsed as the HTML
standard says, every stored event delivered once and in order across reconnects (repeats dropped, a gap
asked for again), the last id sent on every reconnect, and no retry where retrying cannot help.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.browser.conftest import WebServer

pytestmark = pytest.mark.slow  # a real server process and a browser

OpenPage = Callable[..., Page]

# A fake transport: each connection plays one script of frames; "drop" throws as a lost network does,
# {"http": 401} throws the error the fetch transport throws for an HTTP error answer.
HARNESS = """
async ({ path, scripts, isFinished }) => {
  const { PanelStream, StreamHttpError } = await import(path);
  const asked = [];
  const delivered = [];
  const statuses = [];
  const transport = {
    name: 'scripted',
    async *open({ lastEventId }) {
      asked.push(lastEventId);
      const frames = scripts.shift() || [];
      for (const frame of frames) {
        if (frame === 'drop') throw new TypeError('network error');
        if (frame.http) throw new StreamHttpError(frame.http, { detail: 'refused' });
        yield frame;
      }
    },
  };
  const stream = new PanelStream({
    panelId: 'p',
    transport,
    retryMs: 0,
    onEvent: (event) => delivered.push([event.id, event.type]),
    onStatus: (status) => statuses.push(status),
    isFinished: isFinished === null ? null : async () => isFinished,
  });
  await stream.start();
  return { asked, delivered, statuses, stats: stream.stats, left: scripts.length };
}
"""


def frame(seq: int, event: str = "expert_speaking", **data: Any) -> dict[str, Any]:
    import json

    return {"id": str(seq), "event": event, "data": json.dumps(data)}


TOKEN = {"event": "expert_token", "data": '{"delta": "Hel"}'}
OPENED = {"opened": True}


def module_path(page: Page, name: str) -> str:
    main = page.locator("script[type=module]").get_attribute("src") or ""
    assert main.endswith("/js/main.js"), main
    return re.sub(r"main\.js$", name, main)


def run(page: Page, scripts: list[list[Any]], is_finished: bool | None = None) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        HARNESS, {"path": module_path(page, "stream.js"), "scripts": scripts, "isFinished": is_finished}
    )
    return result


@pytest.fixture
def page(web_server: WebServer, open_page: OpenPage) -> Page:
    return open_page(f"{web_server.base_url}/")


def test_every_stored_event_is_delivered_once_in_order_across_drops_repeats_and_gaps(page: Page) -> None:
    result = run(
        page,
        [
            [OPENED, frame(1, "panel_started"), frame(2, "round_started"), TOKEN, frame(3), "drop"],
            [OPENED, frame(2, "round_started"), frame(3), frame(4), frame(6)],  # repeats 2 and 3, then skips 5
            [OPENED, frame(5), frame(6), frame(7, "panel_complete")],
        ],
    )
    assert result["asked"] == [0, 3, 4], "each reconnect names the last event it holds"
    assert [i for i, _ in result["delivered"] if i is not None] == [1, 2, 3, 4, 5, 6, 7]
    assert [None, "expert_token"] in result["delivered"], "token deltas (no id) pass through"
    assert result["stats"]["duplicates"] == 2
    assert result["stats"]["gaps"] == 1
    assert result["statuses"][-1] == "ended"
    assert "reconnecting" in result["statuses"]


def test_a_terminal_error_ends_the_stream_and_a_non_terminal_one_does_not(page: Page) -> None:
    result = run(
        page,
        [
            [
                OPENED,
                frame(1, "error", message="one expert failed", terminal=False),
                frame(2, "error", message="quorum lost", terminal=True),
                frame(3),  # never read: the stream has ended
            ]
        ],
    )
    assert [i for i, _ in result["delivered"]] == [1, 2]
    assert result["statuses"][-1] == "ended"


def test_a_refused_stream_is_not_retried_but_an_unavailable_server_is(page: Page) -> None:
    refused = run(page, [[{"http": 401}], [OPENED, frame(1)]])
    assert refused["asked"] == [0]
    assert refused["statuses"][-1] == "failed"
    assert refused["left"] == 1

    busy = run(page, [[{"http": 503}], [OPENED, frame(1, "panel_complete")]])
    assert busy["asked"] == [0, 0]
    assert busy["statuses"][-1] == "ended"


def test_a_stream_that_ends_empty_for_a_finished_panel_stops_instead_of_reconnecting_forever(page: Page) -> None:
    result = run(page, [[OPENED]], is_finished=True)
    assert result["asked"] == [0]
    assert result["statuses"][-1] == "ended"


SPLIT_PARSE = """
async ({ path, chunks }) => {
  const { SSEParser } = await import(path);
  const parser = new SSEParser();
  return chunks.flatMap((chunk) => parser.feed(chunk));
}
"""


def test_the_sse_parser_follows_the_standard_whatever_the_chunking(page: Page) -> None:
    text = (
        "retry: 2000\r\n\r\n"
        ": heartbeat\n\n"
        'id: 1\r\nevent: expert_speaking\r\ndata: {"content":\r\n\r\n'
        "id: 2\revent: round_complete\rdata: line one\rdata: line two\r\r"
        "event: expert_token\ndata:no space\n\n"
        "id: 3\nevent: panel_complete\ndata: cut off by the end of the body"
    )
    whole = page.evaluate(SPLIT_PARSE, {"path": module_path(page, "stream.js"), "chunks": [text]})
    byte_by_byte = page.evaluate(SPLIT_PARSE, {"path": module_path(page, "stream.js"), "chunks": list(text)})
    assert whole == byte_by_byte
    assert whole == [
        {"retry": 2000},
        {"comment": "heartbeat"},
        {"id": "1", "event": "expert_speaking", "data": '{"content":'},
        {"id": "2", "event": "round_complete", "data": "line one\nline two"},
        {"event": "expert_token", "data": "no space"},
    ]
