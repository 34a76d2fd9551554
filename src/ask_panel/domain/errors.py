"""Domain exceptions: every error the service raises on purpose (the API maps each to one status, in api/errors.py)."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """Base of every deliberate error of the service."""

    title = "Domain error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    title = "Invalid input"


class PanelNotFound(DomainError):
    title = "Panel not found"

    def __init__(self, panel_id: object = None) -> None:
        super().__init__("Panel not found")
        self.panel_id = panel_id


class AgentNotFound(DomainError):
    title = "Agent not found"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent '{agent_id}' not found")
        self.agent_id = agent_id


class UnknownAgents(DomainError):
    title = "Unknown agents"

    def __init__(self, agent_ids: Sequence[str]) -> None:
        super().__init__("Unknown agent ids: " + ", ".join(agent_ids))
        self.agent_ids = list(agent_ids)


class AgentAlreadyExists(DomainError):
    title = "Agent already exists"


class BuiltinAgentReadOnly(DomainError):
    """A built-in expert cannot be changed or removed; a tenant makes its own instead."""

    title = "Built-in expert is read-only"

    def __init__(self, agent_id: str) -> None:
        super().__init__(
            f"'{agent_id}' is a built-in expert and cannot be changed or deleted; "
            "create your own with POST /api/v1/agents (another id)"
        )
        self.agent_id = agent_id


class AgentLimitReached(DomainError):
    """The tenant has as many experts of its own as it may have."""

    title = "Too many experts"


class IllegalTransition(DomainError):
    title = "Illegal status transition"


class PanelConflict(DomainError):
    """The panel is in a state where the requested operation cannot be done."""

    title = "Conflict with the panel's state"


class IdempotencyConflict(DomainError):
    title = "Idempotency-Key reused"


class StaleAttempt(DomainError):
    """A runner tried to write for an attempt that is no longer the panel's current one."""

    title = "Stale execution attempt"


class TooManyStreams(DomainError):
    title = "Too many streams"


class InvalidTicket(DomainError):
    title = "Invalid stream ticket"


class ProviderError(DomainError):
    """A language-model call failed. `retryable` says whether trying again may help."""

    title = "Language model error"

    def __init__(self, detail: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.retry_after = retry_after


class StorageUnavailable(DomainError):
    """The database cannot be reached or cannot answer now (a fault of the moment: retry later)."""

    title = "Storage unavailable"


class ServiceBusy(StorageUnavailable):
    """The service cannot take the request now (its database connections are all busy)."""

    title = "Service busy"


class QuorumLost(DomainError):
    title = "Too few experts could take part"


class RateLimited(DomainError):
    """A tenant (or a token) went past one of its rate limits; `retry_after_s` says when it may try again."""

    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)


class BudgetExhausted(DomainError):
    """The tenant has spent its daily or monthly budget: no new panel work until the period turns."""

    title = "Budget exhausted"

    def __init__(self, detail: str, *, retry_after_s: int, period: str) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)
        self.period = period  # day or month


class BudgetExceeded(DomainError):
    """A running panel's next step would go past a budget: its own `max_tokens` or `max_cost_usd`
    (`period` "panel"), or its tenant's daily or monthly budget ("day", "month"). The run stops at a
    step boundary: failed at its last checkpoint, or completed degraded when it has a round to build on.
    """

    title = "Panel budget exceeded"
    reason = "budget_exceeded"

    def __init__(self, detail: str, *, reached: str = "", period: str = "panel") -> None:
        super().__init__(detail)
        self.reached = reached or detail  # the budget and what was spent of it, in a few words
        self.period = period
