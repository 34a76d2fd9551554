"""The client's typed models: the service's own schemas, imported (one definition, not a copy)."""

from __future__ import annotations

from ask_panel.api.schemas import (
    AgentListResponse,
    AgentOut,
    CreateAgentRequest,
    CreatePanelRequest,
    ExecuteResponse,
    PanelListResponse,
    PanelResponse,
    Problem,
)
from ask_panel.domain.events import EventType

__all__ = [
    "AgentListResponse",
    "AgentOut",
    "CreateAgentRequest",
    "CreatePanelRequest",
    "EventType",
    "ExecuteResponse",
    "PanelListResponse",
    "PanelResponse",
    "Problem",
]
