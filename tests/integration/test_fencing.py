"""Writes are fenced by the attempt: a runner that lost its claim cannot append."""

from __future__ import annotations

import pytest

from ask_panel.application.discussion import UnitOfWorkCheckpoints
from ask_panel.application.panels import CreatePanel
from ask_panel.application.pricing import FixedPrices
from ask_panel.application.runner import PanelRun
from ask_panel.bootstrap import bootstrap
from ask_panel.config import Settings
from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.errors import StaleAttempt
from ask_panel.domain.panel import utcnow
from ask_panel.domain.status import PanelType
from ask_panel.domain.values import Message
from tests.harness import TENANT, load, types


async def test_a_runner_whose_attempt_is_stale_cannot_commit(settings: Settings) -> None:
    container = bootstrap(settings.model_copy(update={"run_worker": False}))
    await container.start()
    try:
        created = await container.panels.create(
            TENANT,
            CreatePanel(query="Fenced?", panel_type=PanelType.STRUCTURED, agent_ids=["fda_expert", "clinical_expert"]),
        )
        panel_id = created.panel.panel_id
        await container.pool.close()  # nobody runs it here: this test plays both runners
        await container.panels.execute(TENANT, panel_id)
        runs = PanelRun(
            uow_factory=container.uow, publisher=container.hub, providers=container.providers, prices=FixedPrices({})
        )
        old = await runs._claim(TENANT, panel_id)
        new = await runs._claim(TENANT, panel_id)
        assert old is not None and new is not None
        stale_panel, _ = old
        assert (stale_panel.attempt, new[0].attempt) == (1, 2)

        stale_panel.begin_round(1)
        stale_panel.add_message(
            StepKey.speaking(1, "fda_expert"), Message("fda_expert", "Dr. A", "late words", utcnow(), 1)
        )
        with pytest.raises(StaleAttempt):
            await UnitOfWorkCheckpoints(container.uow).write(stale_panel)
        panel, events = await load(container, panel_id)
        assert panel.total_messages == 0
        assert "expert_speaking" not in types(events)
        assert panel.attempt == 2
    finally:
        await container.stop()
