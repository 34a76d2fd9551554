"""What the logs never show: every line is redacted before it is written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from ask_panel.observability import logs
from ask_panel.observability.context import bind_tenant, set_request_id


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines into a buffer, as the service configures it."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure_logging("INFO", "json", secrets=["configured-secret-value-123"])
    stream = io.StringIO()
    root.handlers[0].stream = stream  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()
        set_request_id(None)  # (clears the context this test bound)


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ('"WebSocket /api/v1/panels/p/ws?ticket=Abc123-secret_ticket&last_event_id=3"', "Abc123-secret_ticket"),
        ("GET /api/v1/panels/p/stream?last_event_id=2&ticket=T0k3nValue", "T0k3nValue"),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl seen", "eyJhbGciOiJIUzI1NiJ9"),
        ("calling with key sk-ant-api03-abcdefghijklmnop", "sk-ant-api03-abcdefghijklmnop"),
        ("connecting to postgresql+asyncpg://app:hunter22@db:5432/x", "hunter22"),
        ("?api_key=xyz987654&x=1", "xyz987654"),
    ],
)
def test_secrets_in_messages_and_urls_are_redacted(text: str, hidden: str) -> None:
    redacted = logs.redact_text(text)
    assert hidden not in redacted and "[redacted]" in redacted


def test_a_configured_secret_is_redacted_wherever_it_appears(captured: io.StringIO) -> None:
    logging.getLogger("anything").warning("oops: %s", "the value configured-secret-value-123 leaked")
    line = json.loads(captured.getvalue())
    assert "configured-secret-value-123" not in captured.getvalue()
    assert line["message"] == "oops: the value [redacted] leaked"


def test_lines_carry_the_request_and_tenant_and_sensitive_fields_are_blanked(captured: io.StringIO) -> None:
    set_request_id("req-1")
    bind_tenant("11111111-1111-1111-1111-111111111111")
    structlog.get_logger("ask_panel.test").info("minted", authorization="Bearer x.y.z", ticket="abc")
    line = json.loads(captured.getvalue())
    assert line["request_id"] == "req-1" and line["tenant_id"] == "11111111-1111-1111-1111-111111111111"
    assert line["authorization"] == "[redacted]" and line["ticket"] == "[redacted]"
    assert {"timestamp", "level", "logger", "message"} <= line.keys()


def test_a_new_request_starts_without_the_previous_request_s_context(captured: io.StringIO) -> None:
    set_request_id("first")
    bind_tenant("11111111-1111-1111-1111-111111111111")
    set_request_id("second")
    logging.getLogger("ask_panel.test").info("hello")
    line = json.loads(captured.getvalue())
    assert line["request_id"] == "second" and "tenant_id" not in line


async def test_a_panel_run_s_lines_name_its_tenant_and_panel_but_not_the_request_that_queued_it(
    captured: io.StringIO,
) -> None:
    from ask_panel.config import MEMORY_DATABASE_URL
    from tests.conftest import TENANT_A, TERMINAL, create_panel, headers_for, make_settings, serving, wait_for_status

    settings = make_settings(MEMORY_DATABASE_URL)
    async with serving(settings) as (_container, client):
        panel = await create_panel(client, configuration={"max_rounds": 1})
        await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
        await wait_for_status(client, panel["panel_id"], TERMINAL)
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    runs = [line for line in lines if line["message"].startswith("panel run ")]
    assert [line["message"] for line in runs] == ["panel run started", "panel run ended: completed"]
    for line in runs:
        assert line["panel_id"] == panel["panel_id"] and line["tenant_id"] == TENANT_A
        assert "request_id" not in line
