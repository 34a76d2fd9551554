"""Resuming panels after a restart: from the last checkpoint, without repeating committed turns."""

from __future__ import annotations

import asyncio
from collections import Counter

from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import Settings
from ask_panel.domain.ids import PanelId
from ask_panel.domain.status import PanelType
from tests.conftest import database_of, sql_only
from tests.harness import TENANT, load, types


async def wait_for_messages(container: Container, panel_id: PanelId, count: int) -> None:
    for _ in range(2000):
        _, events = await load(container, panel_id)
        if types(events).count("expert_speaking") >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the panel did not speak")


@sql_only  # memory does not outlive its process (tests/unit/test_panel_use_cases.py resumes in memory)
async def test_a_panel_stopped_mid_run_resumes_on_the_next_start_with_no_duplicated_turn(settings: Settings) -> None:
    slow = settings.model_copy(update={"simulated_token_delay_ms": 3})
    first = bootstrap(slow)
    await first.start()
    created = await first.panels.create(
        TENANT,
        CreatePanel(
            query="What is our FDA 510(k) strategy?",
            panel_type=PanelType.STRUCTURED,
            agent_ids=["fda_expert", "clinical_expert", "reimbursement_expert"],
            configuration={"max_rounds": 3, "consensus_threshold": 1.0, "seed": 5},
        ),
    )
    panel_id = created.panel.panel_id
    await first.panels.execute(TENANT, panel_id)
    await wait_for_messages(first, panel_id, 2)
    await first.stop()  # the process goes away mid-panel: the run is interrupted, not cancelled

    reader = bootstrap(slow)
    interrupted, before = await load(reader, panel_id)
    await database_of(reader).dispose()
    assert interrupted.status.value == "in_progress"
    committed = {key: m.content for key, m in interrupted.checkpoint.spoken.items()}
    assert len(committed) >= 2

    second = bootstrap(slow)
    await second.start()  # resumes unfinished panels
    try:
        task = second.pool.running.get(panel_id)
        assert task is not None
        await task
        panel, events = await load(second, panel_id)
    finally:
        await second.stop()

    assert panel.status.value == "completed"
    keys = list(panel.checkpoint.spoken)
    assert len(keys) == panel.total_messages, "no turn was repeated"
    for key, content in committed.items():
        message = panel.checkpoint.message(key)
        assert message is not None and message.content == content
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), "the log continues without a gap"
    assert events[: len(before)] == before
    counts = Counter(types(events))
    assert counts["panel_started"] == 1 and counts["panel_complete"] == 1
    assert counts["expert_speaking"] == len(keys)
    assert counts["round_started"] == len(panel.rounds)
    assert panel.attempt == 2, "the resumed run took a new attempt"
