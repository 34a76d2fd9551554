"""Panel routes: create, read, list, execute and cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from ask_panel.api.deps import Panels, Tenant, count
from ask_panel.api.params import PanelIdPath
from ask_panel.api.routes.responses import problems
from ask_panel.api.schemas import (
    CreatePanelRequest,
    ExecuteResponse,
    PanelListResponse,
    PanelResponse,
    PanelSummary,
)
from ask_panel.application.panels import MAX_LIST_LIMIT, CreatePanel
from ask_panel.domain.status import PanelStatus, PanelType

MAX_OFFSET = 2**31 - 1
router = APIRouter(prefix="/api/v1/panels", tags=["panels"])
PROBLEMS = problems(400, 401, 403)
NOT_FOUND = problems(404)
CONFLICT = problems(409)


@router.post(
    "",
    operation_id="createPanel",
    status_code=201,
    response_model=PanelResponse,
    responses=problems(400, 401, 402, 403, 409, 413, 422),
)
async def create_panel(
    body: CreatePanelRequest,
    tenant: Tenant,
    panels: Panels,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> PanelResponse:
    """Create a panel in `draft`. With no agent ids the service picks 3-5 relevant experts.

    A retried request with the same `Idempotency-Key` returns the same panel. Creations count against
    the tenant's panel-creation rate limit (429).
    """
    await count(request, "panel_create", tenant)
    created = await panels.create(
        tenant,
        CreatePanel(
            query=body.query,
            panel_type=body.panel_type,
            agent_ids=body.agent_ids,
            configuration=body.settings(),
            idempotency_key=idempotency_key,
        ),
    )
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/panels/{created.panel.panel_id}"
    return PanelResponse.from_panel(created.panel)


@router.get("/{panel_id}", operation_id="getPanel", response_model=PanelResponse, responses={**PROBLEMS, **NOT_FOUND})
async def get_panel(panel_id: PanelIdPath, tenant: Tenant, panels: Panels) -> PanelResponse:
    """The full panel: members, rounds, consensus, recommendation, usage."""
    return PanelResponse.from_panel(await panels.get(tenant, panel_id))


@router.get("", operation_id="listPanels", response_model=PanelListResponse, responses=PROBLEMS)
async def list_panels(
    tenant: Tenant,
    panels: Panels,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: PanelStatus | None = None,
    panel_type: PanelType | None = None,
) -> PanelListResponse:
    """The tenant's panels, newest first, as summaries: id, query, type, status, members, the latest
    consensus, the recommendation's headline, the degraded flag and timestamps. The whole panel (its
    rounds and messages) is `GET /api/v1/panels/{id}`."""
    page = await panels.list(tenant, limit=limit, offset=offset, status=status, panel_type=panel_type)
    return PanelListResponse(
        panels=[PanelSummary.from_summary(p) for p in page.panels], total=page.total, limit=limit, offset=offset
    )


@router.post(
    "/{panel_id}/execute",
    operation_id="executePanel",
    status_code=202,
    response_model=ExecuteResponse,
    responses={**PROBLEMS, **problems(402), **NOT_FOUND, **CONFLICT},
)
async def execute_panel(panel_id: PanelIdPath, tenant: Tenant, panels: Panels) -> ExecuteResponse:
    """Start a draft panel in the background; watch it on `/stream` or `/ws`."""
    panel = await panels.execute(tenant, panel_id)
    return ExecuteResponse(panel_id=str(panel.panel_id), panel_status=panel.status, message="Panel execution started")


@router.delete(
    "/{panel_id}", operation_id="cancelPanel", status_code=204, responses={**PROBLEMS, **NOT_FOUND, **CONFLICT}
)
async def cancel_panel(panel_id: PanelIdPath, tenant: Tenant, panels: Panels) -> Response:
    """Cancel a panel that has not ended; its run is stopped and nothing is appended afterwards."""
    await panels.cancel(tenant, panel_id)
    return Response(status_code=204)
