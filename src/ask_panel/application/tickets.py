"""Stream tickets: short-lived credentials for one tenant's panel stream, for browsers.

A browser's `EventSource` and `WebSocket` cannot send headers, so a page asks for a ticket (with its
bearer token) and opens the stream with `?ticket=`. The ticket's first use binds it to that kind of
stream; until it expires it serves that stream's reconnects (`EventSource` repeats the same URL with
`Last-Event-ID`), and never another panel, tenant or kind of stream.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from ask_panel.application.ports import Ticket, UnitOfWorkFactory
from ask_panel.domain.errors import InvalidTicket
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import utcnow

MAX_TICKET_TTL_SECONDS = 60
MAX_TICKET_CHARS = 200


class StreamKind(StrEnum):
    """The stream a ticket opens: the SSE watch stream or the WebSocket (the same panel's two paths)."""

    SSE = "sse"
    WEBSOCKET = "websocket"


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

    async def redeem(
        self,
        ticket: str,
        panel_id: PanelId | None,
        stream: StreamKind,
        *,
        tenant: TenantId | None = None,
        now: datetime | None = None,
    ) -> TenantId:
        """The ticket's tenant, if the ticket is valid for this panel and this kind of stream.

        `panel_id` is None when the path named no valid panel; `tenant`, when the request also names
        one, must be the ticket's. Anything else is InvalidTicket, the same for every reason.
        """
        if not ticket or len(ticket) > MAX_TICKET_CHARS or panel_id is None:
            raise InvalidTicket("Invalid or expired stream ticket")
        async with self._uow(_SYSTEM, write=True) as uow:
            found = await uow.tickets.use(digest(ticket), panel_id, stream.value, now or utcnow())
            await uow.commit()
        if found is None or (tenant is not None and found.tenant_id != tenant):
            raise InvalidTicket("Invalid or expired stream ticket")
        return found.tenant_id


# Tickets are looked up before the tenant is known: the ticket store is not tenant-scoped.
_SYSTEM = TenantId.from_string("00000000-0000-0000-0000-000000000000")
