"""Every panel type runs to completion through the real SQL storage (the algorithms are specified in tests/unit)."""

from __future__ import annotations

import pytest

from ask_panel.config import Settings
from tests.conftest import sql_only
from tests.harness import expert_messages, harness, run_panel, types
from tests.scripted import ScriptedProvider

THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]


@sql_only  # the in-memory runs are specified in tests/unit/test_strategies.py
@pytest.mark.parametrize("panel_type", ["structured", "open", "socratic", "adversarial", "delphi"])
async def test_every_panel_type_completes_through_the_database_with_a_gapless_log(
    settings: Settings, panel_type: str
) -> None:
    async with harness(settings, ScriptedProvider()) as container:
        panel, events = await run_panel(container, panel_type, THREE, max_rounds=2)
    assert panel.status.value == "completed" and panel.final_recommendation is not None
    assert {m.agent_id for m in expert_messages(panel)} == set(THREE)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert types(events)[0] == "panel_started" and types(events)[-1] == "panel_complete"
    assert types(events).count("expert_speaking") == panel.total_messages
