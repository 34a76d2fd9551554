"""The value objects of a panel: its members, what they said (with stances), rounds, consensus, outcome, usage.

Plain dataclasses with no storage or wire format of their own: infrastructure maps them to rows and
JSON, and the API uses them directly as parts of its schemas (so each one's fields are declared here
once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Member:
    """An expert seated on a panel."""

    agent_id: str
    agent_name: str
    agent_role: str


@dataclass(frozen=True, slots=True)
class Stance:
    """An expert's structured position: what it prefers, how sure it is, and how it ranks the options."""

    position: str
    confidence: float
    ranking: tuple[str, ...] = ()
    endorses: str | None = None
    estimate: float | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """What one speaker (an expert, the moderator, judge or facilitator) said in a round."""

    agent_id: str
    agent_name: str
    content: str
    timestamp: datetime
    round: int
    role: str = "expert"
    stance: Stance | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Consensus:
    """How far the panel agrees (`level`) and how much that measure can be trusted (`confidence`)."""

    level: float
    confidence: float
    method: str = ""
    components: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Round:
    """One round of discussion: its messages, and the consensus and feedback measured at its end."""

    round_number: int
    messages: list[Message] = field(default_factory=list)
    consensus: Consensus | None = None
    feedback: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Fallback:
    """A structured step whose answer stayed unreadable after its repair call, and what stood in for it.

    `step` is the step's key as stored (`frame`, `r2:fda_expert`, `verdict`, `synthesis`, ...);
    `reason` says why the answer was refused and what the panel used instead.
    """

    step: str
    reason: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The panel's outcome: the recommendation with its rationale, agreement and dissent.

    `degraded` says the panel completed without all it asked for (a silent or failing expert, or a
    step that fell back); `fallbacks` lists the steps that fell back, in the order they were taken.
    """

    recommendation: str
    rationale: str
    agreement_points: tuple[str, ...]
    dissent: tuple[str, ...]
    degraded: bool
    decided_by: str
    verdict: dict[str, Any] | None = None
    fallbacks: tuple[Fallback, ...] = ()
    adopted: str | None = None
    """The option the panel adopted (the members' most supported final position), when there is one."""
    estimate: dict[str, Any] | None = None
    """A Delphi panel's estimate: question, unit, range, median, quartiles, IQR and panelists counted."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Language-model usage of a panel: tokens in and out, calls, and the estimated cost."""

    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0

    def add(self, input_tokens: int, output_tokens: int, cost_usd: float) -> Usage:
        return Usage(
            self.input_tokens + input_tokens,
            self.output_tokens + output_tokens,
            self.llm_calls + 1,
            round(self.cost_usd + cost_usd, 8),
        )
