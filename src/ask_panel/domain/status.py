"""Panel statuses and the state machine that links them."""

from __future__ import annotations

from enum import StrEnum

from ask_panel.domain.errors import IllegalTransition


class PanelStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_running(self) -> bool:
        return self in (PanelStatus.QUEUED, PanelStatus.IN_PROGRESS)

    def can_become(self, target: PanelStatus) -> bool:
        return target in _TRANSITIONS[self]

    def check_transition(self, target: PanelStatus) -> None:
        if not self.can_become(target):
            raise IllegalTransition(f"A panel cannot go from '{self.value}' to '{target.value}'")


_TERMINAL = frozenset({PanelStatus.COMPLETED, PanelStatus.FAILED, PanelStatus.CANCELLED})

_TRANSITIONS: dict[PanelStatus, frozenset[PanelStatus]] = {
    PanelStatus.DRAFT: frozenset({PanelStatus.QUEUED, PanelStatus.CANCELLED}),
    PanelStatus.QUEUED: frozenset({PanelStatus.IN_PROGRESS, PanelStatus.FAILED, PanelStatus.CANCELLED}),
    PanelStatus.IN_PROGRESS: frozenset({PanelStatus.COMPLETED, PanelStatus.FAILED, PanelStatus.CANCELLED}),
    PanelStatus.COMPLETED: frozenset(),
    PanelStatus.FAILED: frozenset(),
    PanelStatus.CANCELLED: frozenset(),
}


class PanelType(StrEnum):
    STRUCTURED = "structured"
    OPEN = "open"
    SOCRATIC = "socratic"
    ADVERSARIAL = "adversarial"
    DELPHI = "delphi"
