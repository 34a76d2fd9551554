"""Expert registry routes: the built-in catalogue plus the tenant's own experts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ask_panel.api.deps import Agents, Tenant
from ask_panel.api.routes.responses import Responses, problems
from ask_panel.api.schemas import (
    AgentListResponse,
    CreateAgentRequest,
    Problem,
    ReplaceAgentRequest,
    UpdateAgentRequest,
)
from ask_panel.application.agents import DEFAULT_PAGE, MAX_PAGE
from ask_panel.domain.experts import Expert

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])
PROBLEMS = problems(400, 401, 403)
MAX_OFFSET = 2**31 - 1
# What 403 and 409 mean on these routes (the shared wording speaks of panels).
READ_ONLY_403: Responses = {
    403: {
        "model": Problem,
        "description": "The bearer token does not grant this tenant (`forbidden`), or the expert is a built-in "
        "one: built-ins are read-only (`builtin-agent-read-only`; make a tenant expert with POST instead)",
    }
}
CREATE_409: Responses = {
    409: {
        "model": Problem,
        "description": "The id is taken, by one of the tenant's experts or by a built-in one (`agent-exists`), or "
        "the tenant already has ASK_PANEL_MAX_AGENTS_PER_TENANT experts (`agent-limit`)",
    }
}


@router.get("", operation_id="listAgents", summary="List experts", response_model=AgentListResponse, responses=PROBLEMS)
async def list_agents(
    tenant: Tenant,
    agents: Agents,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Experts per page")] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AgentListResponse:
    """Built-in experts first, then the tenant's own, oldest first, a page at a time (`total` counts all)."""
    page = await agents.list(tenant, limit=limit, offset=offset)
    return AgentListResponse(agents=page.agents, total=page.total, limit=limit, offset=offset)


@router.post(
    "",
    operation_id="createAgent",
    summary="Create a tenant expert",
    status_code=201,
    response_model=Expert,
    responses={**problems(400, 401, 403, 422), **CREATE_409},
)
async def create_agent(body: CreateAgentRequest, tenant: Tenant, agents: Agents) -> Expert:
    """Add an expert visible only to this tenant; its id may not shadow a built-in one (409), and a tenant
    has at most ASK_PANEL_MAX_AGENTS_PER_TENANT experts of its own (409 `agent-limit` beyond)."""
    return await agents.create(tenant, body.to_expert())


@router.get(
    "/{agent_id}",
    operation_id="getAgent",
    summary="Get an expert",
    response_model=Expert,
    responses=problems(400, 401, 403, 404),
)
async def get_agent(agent_id: str, tenant: Tenant, agents: Agents) -> Expert:
    """A built-in expert or one of the tenant's own (`builtin` says which); another tenant's is a 404."""
    return await agents.get(tenant, agent_id)


@router.put(
    "/{agent_id}",
    operation_id="replaceAgent",
    summary="Replace a tenant expert",
    response_model=Expert,
    responses={**problems(400, 401, 404, 422), **READ_ONLY_403},
)
async def replace_agent(agent_id: str, body: ReplaceAgentRequest, tenant: Tenant, agents: Agents) -> Expert:
    """Redefine one of the tenant's experts as a whole: fields left out take their defaults (`expertise`
    empty; `model`, `provider` and `output_mode` unset). It does not create one: an id the tenant has not
    created is a 404, as is another tenant's expert. A built-in expert is read-only (403
    `builtin-agent-read-only`). Panels already created keep the definition they were given."""
    return await agents.replace(tenant, body.to_expert(agent_id))


@router.patch(
    "/{agent_id}",
    operation_id="updateAgent",
    summary="Change a tenant expert",
    response_model=Expert,
    responses={**problems(400, 401, 404, 422), **READ_ONLY_403},
)
async def update_agent(agent_id: str, body: UpdateAgentRequest, tenant: Tenant, agents: Agents) -> Expert:
    """Change only the fields given of one of the tenant's experts; `null` clears `model`, `provider` or
    `output_mode` (`name`, `role`, `instructions` and `expertise` cannot be removed: 422). Another tenant's
    expert, or an unknown id, is a 404; a built-in expert is read-only (403 `builtin-agent-read-only`).
    Panels already created keep their copy."""
    return await agents.update(tenant, agent_id, body.changes())


@router.delete(
    "/{agent_id}",
    operation_id="deleteAgent",
    summary="Delete a tenant expert",
    status_code=204,
    responses={**problems(400, 401, 404), **READ_ONLY_403},
)
async def delete_agent(agent_id: str, tenant: Tenant, agents: Agents) -> Response:
    """Remove one of the tenant's experts (204, no body); its id is free again. Panels that have it keep
    their copy, and still run. Another tenant's expert, or an unknown id, is a 404; a built-in expert is
    read-only (403 `builtin-agent-read-only`)."""
    await agents.delete(tenant, agent_id)
    return Response(status_code=204)
