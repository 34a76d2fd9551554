"""Wakeup: "panel P of tenant T has committed events first..last" — a small message, never the data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ask_panel.domain.ids import PanelId, TenantId

CHANNEL = "ask_panel_events"


@dataclass(frozen=True, slots=True)
class Wakeup:
    tenant_id: TenantId
    panel_id: PanelId
    first: int
    last: int
    origin: str

    def encode(self) -> str:
        return f"{self.tenant_id}|{self.panel_id}|{self.first}|{self.last}|{self.origin}"

    @classmethod
    def decode(cls, payload: str) -> Wakeup | None:
        try:
            tenant, panel, first, last, origin = payload.split("|")
            return cls(TenantId(uuid.UUID(tenant)), PanelId(uuid.UUID(panel)), int(first), int(last), origin)
        except ValueError:
            return None
