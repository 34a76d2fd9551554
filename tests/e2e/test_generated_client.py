"""A client generated from the OpenAPI document by openapi-python-client (offline, in its own environment)
works against a real server: create, get, list, execute, a 404, 422s, and a stream read into its typed events."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ask_panel.api.app import create_app
from ask_panel.config import MEMORY_DATABASE_URL
from ask_panel.infrastructure.auth import mint_jwt
from tests.api.openapi_conformance import sse_events
from tests.conftest import JWT_SECRET, TENANT_A, TENANT_B, make_settings
from tests.e2e.conftest import LiveServer, wait_until

CODEGEN = Path(sys.prefix) / "tools" / "openapi-python-client" / "bin"
PACKAGE = "ask_panel_generated_client"
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = create_app(make_settings(MEMORY_DATABASE_URL)).openapi()
    return document


@pytest.fixture(scope="module")
def generated(spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package openapi-python-client generates from the document, imported."""
    if not (CODEGEN / "openapi-python-client").exists():
        reason = f"openapi-python-client is not installed in {CODEGEN.parent} (make install)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    where = tmp_path_factory.mktemp("generated")
    document = where / "openapi.json"
    document.write_text(json.dumps(spec))
    env = {**os.environ, "PATH": f"{CODEGEN}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff formats the code
    command = [str(CODEGEN / "openapi-python-client"), "generate", "--path", str(document), "--meta", "none"]
    result = subprocess.run(
        [*command, "--output-path", str(where / PACKAGE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, f"the generator skipped parts of the document:\n{result.stdout}"
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def part(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_client_creates_reads_lists_runs_and_streams_a_panel(
    generated: ModuleType, spec: dict[str, Any], live_server: LiveServer
) -> None:
    models = part("models")
    create_panel, get_panel, list_panels = (
        part("api.panels.create_panel"),
        part("api.panels.get_panel"),
        part("api.panels.list_panels"),
    )
    execute_panel, watch_panel = part("api.panels.execute_panel"), part("api.streaming.watch_panel")
    tenant = TENANT_A
    client = part("client").AuthenticatedClient(base_url=live_server.base_url, token=mint_jwt(JWT_SECRET, [TENANT_A]))
    async with client:
        body = models.CreateStructuredPanel(
            query="What is our FDA 510(k) strategy for this device?",
            panel_type="structured",
            agent_ids=["fda_expert", "clinical_expert"],
            configuration=models.StructuredConfiguration(max_rounds=1, consensus_threshold=0.9),
        )
        created = await create_panel.asyncio_detailed(client=client, body=body, x_tenant_id=tenant)
        assert created.status_code == 201, created.content
        panel = created.parsed
        assert isinstance(panel, models.PanelResponse)
        assert panel.status == models.PanelStatus.DRAFT and panel.panel_type == models.PanelType.STRUCTURED
        assert panel.configuration.max_rounds == 1 and [m.agent_id for m in panel.members] == [
            "fda_expert",
            "clinical_expert",
        ]

        read = await get_panel.asyncio(panel.panel_id, client=client, x_tenant_id=tenant)
        assert isinstance(read, models.PanelResponse) and read.panel_id == panel.panel_id
        listed = await list_panels.asyncio(client=client, x_tenant_id=tenant, status=models.PanelStatus.DRAFT)
        assert isinstance(listed, models.PanelListResponse) and panel.panel_id in [p.panel_id for p in listed.panels]

        started = await execute_panel.asyncio(panel.panel_id, client=client, x_tenant_id=tenant)
        assert isinstance(started, models.ExecuteResponse)
        assert started.status == "executing" and started.panel_status == models.PanelStatus.QUEUED

        async def finished() -> bool:
            current = await get_panel.asyncio(panel.panel_id, client=client, x_tenant_id=tenant)
            return bool(current.status == models.PanelStatus.COMPLETED)

        await wait_until(finished, what="the panel completes")

        # The stream, read into the generated event models (the document's discriminator names each one's).
        streamed = await watch_panel.asyncio_detailed(panel.panel_id, client=client, x_tenant_id=tenant)
        assert streamed.status_code == 200 and isinstance(streamed.parsed, str)
        mapping = spec["components"]["schemas"]["StreamEvent"]["discriminator"]["mapping"]
        events = [
            getattr(models, mapping[f["event"]].rsplit("/", 1)[1]).from_dict(f) for f in sse_events(streamed.parsed)
        ]
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        assert isinstance(events[0], models.PanelStartedEvent) and events[0].data.members[0].agent_id == "fda_expert"
        assert isinstance(events[-1], models.PanelCompleteEvent)
        assert events[-1].data.recommendation.recommendation
        speaking = [e for e in events if isinstance(e, models.ExpertSpeakingEvent)]
        assert speaking and all(e.data.content for e in speaking)
        at_end = await watch_panel.asyncio_detailed(
            panel.panel_id, client=client, x_tenant_id=tenant, last_event_id_header=events[-1].id
        )
        assert at_end.status_code == 204


async def test_a_generated_client_reads_every_refusal_as_a_problem(
    generated: ModuleType, live_server: LiveServer
) -> None:
    models = part("models")
    create_panel, get_panel = part("api.panels.create_panel"), part("api.panels.get_panel")
    watch_panel = part("api.streaming.watch_panel")
    client = part("client").AuthenticatedClient(base_url=live_server.base_url, token=mint_jwt(JWT_SECRET, [TENANT_A]))
    async with client:
        missing = await get_panel.asyncio_detailed(MISSING, client=client, x_tenant_id=TENANT_A)
        assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
        assert missing.parsed.type_.endswith("/panel-not-found") and missing.parsed.request_id

        unknown = models.CreateOpenPanel(query="Which pathway?", panel_type="open", agent_ids=["nobody"])
        refused = await create_panel.asyncio_detailed(client=client, body=unknown, x_tenant_id=TENANT_A)
        assert refused.status_code == 422 and isinstance(refused.parsed, models.Problem)
        assert refused.parsed.agent_ids == ["nobody"]

        out_of_range = models.CreateOpenPanel(
            query="Which pathway?", panel_type="open", configuration=models.OpenConfiguration(max_turns=1000)
        )
        refused = await create_panel.asyncio_detailed(client=client, body=out_of_range, x_tenant_id=TENANT_A)
        assert refused.status_code == 422 and "max_turns" in refused.parsed.detail

        other_tenant = await get_panel.asyncio_detailed(MISSING, client=client, x_tenant_id=TENANT_B)
        assert other_tenant.status_code == 403 and isinstance(other_tenant.parsed, models.Problem)

        stream_refused = await watch_panel.asyncio_detailed(MISSING, client=client, x_tenant_id=TENANT_A)
        assert stream_refused.status_code == 404 and isinstance(stream_refused.parsed, models.Problem)
