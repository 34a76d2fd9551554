"""Turns are counted as they are committed: spoken, or failed (one expert could not answer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ask_panel.domain.events import ExpertToken, StoredEvent
from ask_panel.domain.ids import PanelId
from ask_panel.observability import metrics
from ask_panel.observability.instrumented import MeteredPublisher

PANEL = PanelId.from_string("5b0f3c52-7f44-4c1e-9f1e-0c7d5b7f2a10")


class Recorder:
    def __init__(self) -> None:
        self.published: list[list[StoredEvent]] = []

    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        self.published.append(list(events))

    def publish_delta(self, panel_id: PanelId, delta: ExpertToken) -> None: ...

    def wants_deltas(self, panel_id: PanelId) -> bool:
        return False


def event(seq: int, type_: str, **data: Any) -> StoredEvent:
    return StoredEvent(str(PANEL), seq, type_, data, datetime.now(UTC))


def turns(outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value("ask_panel_turns_total", {"outcome": outcome}) or 0.0


async def test_spoken_and_failed_turns_are_counted_and_everything_is_passed_on() -> None:
    inner = Recorder()
    spoken, failed = turns("spoken"), turns("failed")
    batch = [
        event(1, "round_started", round=1),
        event(2, "expert_speaking", agent_id="a"),
        event(3, "expert_error", agent_id="b", message="b could not answer", terminal=False),
        event(4, "expert_speaking", agent_id="c"),
        event(5, "error", message="the panel failed", terminal=True),
    ]
    await MeteredPublisher(inner).publish(PANEL, batch)
    assert inner.published == [batch]
    assert turns("spoken") - spoken == 2
    assert turns("failed") - failed == 1  # the panel's own end is not a turn
