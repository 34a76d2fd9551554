"""`ask-panel panels list` fits the terminal: whole ids, statuses and levels; the question is what gets cut."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from ask_panel.cli.panels import panels_table
from ask_panel.client.models import PanelSummary
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Consensus

QUESTION = "Should we launch our glucose monitor in the EU or the US first, given the notified body backlog?"


def summary(status: PanelStatus, level: float | None) -> PanelSummary:
    moment = datetime(2026, 11, 30, 18, 28, tzinfo=UTC)
    return PanelSummary(
        panel_id="1960e6fa-3ea6-4e1b-ba73-1b174fe95f88",
        tenant_id="11111111-1111-1111-1111-111111111111",
        query=QUESTION,
        panel_type=PanelType.ADVERSARIAL,
        status=status,
        members=[],
        consensus=Consensus(level, 0.7) if level is not None else None,
        recommendation=None,
        degraded=False,
        total_messages=0,
        created_at=moment,
        updated_at=moment,
        started_at=None,
        completed_at=None,
    )


def rendered(width: int) -> list[str]:
    out = io.StringIO()
    panels = [summary(PanelStatus.COMPLETED, 1.0), summary(PanelStatus.IN_PROGRESS, None)]
    Console(file=out, width=width, color_system=None).print(panels_table(panels, width))
    return out.getvalue().splitlines()


def test_at_80_columns_every_row_fits_with_whole_ids_statuses_and_levels() -> None:
    header, done, running = rendered(80)
    assert all(len(line) <= 80 for line in (header, done, running))
    assert "1960e6fa-3ea6-4e1b-ba73-1b174fe95f88" in done and "completed" in done and "1.00" in done
    assert "in_progress" in running
    assert "question" in header and "Should we" in done and "…" in done


def test_a_wide_terminal_shows_every_column_and_the_whole_question() -> None:
    header, done, _ = rendered(200)
    assert header.split() == ["id", "created", "type", "status", "level", "question"]
    assert "adversarial" in done and "11-30 18:28" in done and done.rstrip().endswith(QUESTION)
