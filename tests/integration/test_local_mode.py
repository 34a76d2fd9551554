"""`ask-panel … --local` runs its own panels in the command's process, on a store a server may share.

It must never resume or take over the panels of another process (a running `ask-panel serve` on the
same SQLite file): those are that server's to run.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from ask_panel.bootstrap import bootstrap
from ask_panel.cli.local import LOCAL_TENANT, local_client
from ask_panel.domain.ids import TenantId
from ask_panel.domain.status import PanelStatus
from tests.conftest import make_settings
from tests.harness import create, load

pytestmark = pytest.mark.sqlite
TWO = ["fda_expert", "clinical_expert"]
OTHER_TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")


async def test_a_local_run_leaves_another_process_s_queued_panel_alone(
    migrated_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shared.db"
    shutil.copy(migrated_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    for name, value in {
        "ASK_PANEL_DATABASE_URL": url,
        "ASK_PANEL_WORKER_HEARTBEAT_S": "0.05",  # the keeper looks often: a takeover would happen at once
        "ASK_PANEL_WORKER_STALLED_AFTER_S": "0.1",
        "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": "0",
        "ASK_PANEL_EXECUTOR": "local",
    }.items():
        monkeypatch.setenv(name, value)

    # The server's panel: queued (its own process will run it), never run by anyone yet.
    server = bootstrap(make_settings(url, run_worker=False))
    try:
        others = await create(server, "structured", TWO, max_rounds=1)
        async with server.uow(OTHER_TENANT, write=True) as work:
            panel = await work.panels.get(others, for_update=True)
            panel.queue()
            await work.panels.save(panel)
            await work.commit()
    finally:
        await server.stop()

    async with local_client(LOCAL_TENANT) as client:
        mine = await client.create("Local question?", agent_ids=TWO, configuration={"max_rounds": 1})
        events = [event async for event in client.stream(mine.panel_id, start=True)]
        await asyncio.sleep(0.5)  # several keeper rounds past the silence that marks an orphan
        assert (await client.get(mine.panel_id)).status == "completed"
    assert events[-1].type.value == "panel_complete"

    reader = bootstrap(make_settings(url, run_worker=False))
    try:
        panel, stored = await load(reader, others)
    finally:
        await reader.stop()
    assert panel.status is PanelStatus.QUEUED, "the local run resumed or took over the server's panel"
    assert panel.attempt == 0 and stored == []
