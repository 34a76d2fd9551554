"""The client's typed models: the service's own schemas, imported (one definition, not a copy)."""

from __future__ import annotations

from ask_panel.api.schemas import (
    AgentListResponse,
    CreateAgentRequest,
    CreatePanelRequest,
    ExecuteResponse,
    PanelListResponse,
    PanelResponse,
    PanelSummary,
    Problem,
)
from ask_panel.domain.events import (
    ConsensusUpdate,
    EventType,
    ExpertFailed,
    ExpertSpeaking,
    ExpertToken,
    PanelCancelled,
    PanelComplete,
    PanelFailed,
    PanelStarted,
    RoundComplete,
    RoundStarted,
)
from ask_panel.domain.experts import Expert
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Consensus, Member, Message, Recommendation, Round, Stance, Usage

__all__ = [
    "AgentListResponse",
    "Consensus",
    "ConsensusUpdate",
    "CreateAgentRequest",
    "CreatePanelRequest",
    "EventType",
    "ExecuteResponse",
    "Expert",
    "ExpertFailed",
    "ExpertSpeaking",
    "ExpertToken",
    "Member",
    "Message",
    "PanelCancelled",
    "PanelComplete",
    "PanelFailed",
    "PanelListResponse",
    "PanelResponse",
    "PanelStarted",
    "PanelStatus",
    "PanelSummary",
    "PanelType",
    "Problem",
    "Recommendation",
    "Round",
    "RoundComplete",
    "RoundStarted",
    "Stance",
    "Usage",
]
