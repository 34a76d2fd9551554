"""Budgets reached during a run, through the SQL storage: the tenant's ledger read by the running panel,
and a degraded outcome whose skipped step and budget stop survive the stored checkpoint (the in-memory runs are
specified in tests/unit/test_budget_stops.py)."""

from __future__ import annotations

from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.status import PanelStatus
from tests.conftest import make_settings, sql_only
from tests.harness import TENANT, harness, run_panel, types
from tests.scripted import ScriptedProvider
from tests.unit.test_budget_stops import CALL_USD, PER_CALL, PRICED, THREE, USAGE, disagreeing


@sql_only
async def test_a_tenant_daily_budget_reached_mid_panel_is_read_from_the_sql_ledger(database_url: str) -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    settings = make_settings(database_url, model_prices=PRICED, tenant_daily_budget_usd=7 * CALL_USD)
    async with harness(settings, provider) as container:
        panel, events = await run_panel(container, "structured", THREE, max_rounds=3)
        spent = await container.usage.spent(TENANT)

    assert panel.status is PanelStatus.COMPLETED
    assert panel.final_recommendation is not None and panel.final_recommendation.degraded
    [fallback] = panel.final_recommendation.fallbacks
    assert fallback.step == "synthesis" and fallback.reason.startswith("the tenant's daily budget was reached")
    assert len(provider.calls) == 7 and spent.today_usd >= 7 * CALL_USD - 1e-9
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert types(events)[-1] == "panel_complete"


@sql_only
async def test_a_skipped_synthesis_is_stored_with_its_checkpoint(database_url: str) -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(make_settings(database_url), provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=3, max_tokens=8 * PER_CALL)

    note = panel.checkpoint.answers[StepKey.decision("synthesis")]  # as read back from the database
    assert note.outcome == "skipped" and note.calls == 0
    assert note.fallback is not None and "the discussion ended after round 1" in note.fallback
    assert panel.final_recommendation is not None
    assert [f.reason for f in panel.final_recommendation.fallbacks] == [note.fallback]
    stop = panel.checkpoint.decision(StepKey.decision("wrap_up"))  # what a resumed run wraps up by
    assert stop is not None and stop["period"] == "panel" and stop["at"] == "the discussion ended after round 1"
    assert stop["reached"].startswith("the panel's token budget was reached")
