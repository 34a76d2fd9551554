"""Writes are fenced by the attempt: a runner that lost its claim cannot append."""

from __future__ import annotations

import pytest

from ask_panel.application.discussion import UnitOfWorkCheckpoints
from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import Container
from ask_panel.config import Settings
from ask_panel.domain.errors import StaleAttempt
from ask_panel.domain.panel import Message, utcnow
from tests.integration.panel_harness import TENANT, load, types


async def test_a_runner_whose_attempt_is_stale_cannot_commit(settings: Settings) -> None:
    container = Container(settings.model_copy(update={"run_worker": False}))
    await container.start()
    try:
        created = await container.panels.create(
            TENANT, CreatePanel(query="Fenced?", panel_type="structured", agent_ids=["fda_expert", "clinical_expert"])
        )
        panel_id = created.panel.panel_id
        await container.pool.close()  # nobody runs it here: this test plays both runners
        await container.panels.execute(TENANT, str(panel_id))
        old = await container.run._claim(TENANT, panel_id)
        new = await container.run._claim(TENANT, panel_id)
        assert old is not None and new is not None
        stale_panel, _ = old
        assert (stale_panel.attempt, new[0].attempt) == (1, 2)

        stale_panel.add_message(Message("r1:fda_expert", "fda_expert", "Dr. A", "late words", utcnow(), 1))
        writer = container.checkpoints or UnitOfWorkCheckpoints(container.uow)
        with pytest.raises(StaleAttempt):
            await writer.write(stale_panel)
        panel, events = await load(container, str(panel_id))
        assert panel.total_messages == 0
        assert "expert_speaking" not in types(events)
        assert panel.attempt == 2
    finally:
        await container.stop()
