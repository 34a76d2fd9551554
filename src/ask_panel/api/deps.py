"""FastAPI dependencies: the container's services and the authenticated tenant, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from ask_panel.api.errors import Forbidden, Unauthorized
from ask_panel.api.params import TENANT_HEADER_SCHEMA, parse_tenant
from ask_panel.application.agents import AgentService
from ask_panel.application.panels import PanelService
from ask_panel.application.streams import StreamService
from ask_panel.application.tickets import TicketService
from ask_panel.bootstrap import Container
from ask_panel.config import Settings
from ask_panel.domain.ids import TenantId
from ask_panel.infrastructure.ratelimit import LimitKind, caller_of
from ask_panel.observability.context import bind_tenant


def container_of(connection: HTTPConnection) -> Container:
    container: Container = connection.app.state.container
    return container


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("A bearer token is required: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'")
    return token.strip()


async def authenticate(connection: HTTPConnection, tenant_header: str | None, authorization: str | None) -> TenantId:
    """The tenant of a request: X-Tenant-ID, checked against the bearer token's grants.

    An authenticated request counts against the tenant's and the token's request rate limit (429).
    """
    tenant = parse_tenant(tenant_header)
    container = container_of(connection)
    caller = None
    if container.verifier is not None:
        token = _bearer(authorization)
        principal = await container.verifier.verify(token)
        if not principal.may_act_for(tenant):
            raise Forbidden(f"The token is not for tenant {tenant}: its tenant_id and tenant_ids claims do not name it")
        caller = caller_of(token)
    bind_tenant(tenant)  # the request's log lines name their tenant
    connection.state.caller = caller
    await container.limits.hit("request", tenant, caller)
    return tenant


async def count(connection: HTTPConnection, kind: LimitKind, tenant: TenantId) -> None:
    """Count a panel creation or a stream opening against the tenant's (and its token's) rate limit."""
    await container_of(connection).limits.hit(kind, tenant, getattr(connection.state, "caller", None))


async def current_tenant(
    request: Request,
    x_tenant_id: Annotated[
        str,
        Header(
            alias="X-Tenant-ID",
            description="The tenant, a UUID: every call names it (a bearer token must grant it)",
            json_schema_extra={"pattern": TENANT_HEADER_SCHEMA["pattern"]},
            examples=["11111111-1111-1111-1111-111111111111"],
        ),
    ],
) -> TenantId:
    # The bearer token is read from the header by `authenticate` (its exact problems are its own); the
    # OpenAPI document declares it once, as the `bearerAuth` security scheme (`api/openapi.py`).
    return await authenticate(request, x_tenant_id, request.headers.get("authorization"))


async def service_settings(request: Request) -> Settings:
    return container_of(request).settings


async def panel_service(request: Request) -> PanelService:
    return container_of(request).panels


async def agent_service(request: Request) -> AgentService:
    return container_of(request).agents


async def stream_service(connection: HTTPConnection) -> StreamService:
    return container_of(connection).streams


async def ticket_service(connection: HTTPConnection) -> TicketService:
    return container_of(connection).tickets


# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool.
Tenant = Annotated[TenantId, Depends(current_tenant)]
Config = Annotated[Settings, Depends(service_settings)]
Panels = Annotated[PanelService, Depends(panel_service)]
Agents = Annotated[AgentService, Depends(agent_service)]
Streams = Annotated[StreamService, Depends(stream_service)]
Tickets = Annotated[TicketService, Depends(ticket_service)]
