"""Stream tickets: short-lived, single-use credentials for one tenant's panel, for browsers."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from ask_panel.application.ports import Ticket, UnitOfWorkFactory
from ask_panel.domain.errors import InvalidTicket
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import utcnow

MAX_TICKET_TTL_SECONDS = 60


def digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class TicketService:
    def __init__(self, uow_factory: UnitOfWorkFactory, *, ttl_seconds: int = MAX_TICKET_TTL_SECONDS) -> None:
        self._uow = uow_factory
        self._ttl = timedelta(seconds=min(ttl_seconds, MAX_TICKET_TTL_SECONDS))

    async def issue(self, tenant: TenantId, panel_id: PanelId) -> tuple[str, datetime]:
        ticket = secrets.token_urlsafe(32)
        expires_at = utcnow() + self._ttl
        async with self._uow(tenant, write=True) as uow:
            await uow.panels.get(panel_id)
            await uow.tickets.add(digest(ticket), Ticket(tenant, panel_id), expires_at)
            await uow.commit()
        return ticket, expires_at

    async def redeem(self, ticket: str, panel_id: PanelId | None, *, now: datetime | None = None) -> TenantId:
        """The ticket's tenant, if the ticket is valid for this panel; it can never be used again.

        `panel_id` is None when the path named no valid panel: the ticket is still used up.
        """
        if not ticket or len(ticket) > 200:
            raise InvalidTicket("Invalid or expired stream ticket")
        async with self._uow(_SYSTEM, write=True) as uow:
            found = await uow.tickets.consume(digest(ticket), now or utcnow())
            await uow.commit()
        if found is None or found.panel_id != panel_id:
            raise InvalidTicket("Invalid or expired stream ticket")
        return found.tenant_id


# Tickets are looked up before the tenant is known: the ticket store is not tenant-scoped.
_SYSTEM = TenantId.from_string("00000000-0000-0000-0000-000000000000")
