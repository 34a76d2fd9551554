"""A panel as a list shows it: the summary that repositories project from a stored panel without its discussion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Consensus, Member, Recommendation


@dataclass(frozen=True, slots=True)
class PanelSummary:
    """A panel as a list shows it, projected by the repository from the stored panel without reading its
    discussion (rounds and messages), so a page costs the same whatever the panels hold."""

    panel_id: PanelId
    tenant_id: TenantId
    query: str
    panel_type: PanelType
    status: PanelStatus
    members: list[Member]
    consensus: Consensus | None
    recommendation: Recommendation | None
    total_messages: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
