"""Identifier value objects: TenantId and PanelId."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ask_panel.domain.errors import InvalidInput


def _parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"{what.capitalize()} must be a UUID") from None


@dataclass(frozen=True, slots=True)
class TenantId:
    value: uuid.UUID

    @classmethod
    def from_string(cls, value: str) -> TenantId:
        return cls(_parse_uuid(value, "a tenant id"))

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class PanelId:
    value: uuid.UUID

    @classmethod
    def generate(cls) -> PanelId:
        return cls(uuid.uuid4())

    @classmethod
    def from_string(cls, value: str) -> PanelId:
        return cls(_parse_uuid(value, "a panel id"))

    def __str__(self) -> str:
        return str(self.value)
