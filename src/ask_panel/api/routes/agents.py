"""Expert registry routes: the built-in catalogue plus the tenant's own experts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ask_panel.api.deps import Agents, Tenant
from ask_panel.api.routes.responses import problems
from ask_panel.api.schemas import AgentListResponse, CreateAgentRequest, ReplaceAgentRequest, UpdateAgentRequest
from ask_panel.application.agents import DEFAULT_PAGE, MAX_PAGE
from ask_panel.domain.experts import Expert

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])
PROBLEMS = problems(400, 401, 403)
MAX_OFFSET = 2**31 - 1


@router.get("", operation_id="listAgents", response_model=AgentListResponse, responses=PROBLEMS)
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
    status_code=201,
    response_model=Expert,
    responses=problems(400, 401, 403, 409, 422),
)
async def create_agent(body: CreateAgentRequest, tenant: Tenant, agents: Agents) -> Expert:
    """Add an expert visible only to this tenant; its id may not shadow a built-in one (409), and a tenant
    has at most ASK_PANEL_MAX_AGENTS_PER_TENANT experts of its own (409 `agent-limit` beyond)."""
    return await agents.create(tenant, body.to_expert())


@router.get("/{agent_id}", operation_id="getAgent", response_model=Expert, responses=problems(400, 401, 403, 404))
async def get_agent(agent_id: str, tenant: Tenant, agents: Agents) -> Expert:
    return await agents.get(tenant, agent_id)


READ_ONLY = "A built-in expert is read-only (403, `builtin-agent-read-only`); another tenant's expert is a 404."


@router.put(
    "/{agent_id}",
    operation_id="replaceAgent",
    response_model=Expert,
    responses=problems(400, 401, 403, 404, 422),
    description=READ_ONLY,
)
async def replace_agent(agent_id: str, body: ReplaceAgentRequest, tenant: Tenant, agents: Agents) -> Expert:
    """Redefine one of the tenant's experts. Panels already created keep the definition they were given."""
    return await agents.replace(tenant, body.to_expert(agent_id))


@router.patch(
    "/{agent_id}",
    operation_id="updateAgent",
    response_model=Expert,
    responses=problems(400, 401, 403, 404, 422),
    description=READ_ONLY,
)
async def update_agent(agent_id: str, body: UpdateAgentRequest, tenant: Tenant, agents: Agents) -> Expert:
    """Change some fields of one of the tenant's experts. Panels already created keep their copy."""
    return await agents.update(tenant, agent_id, body.changes())


@router.delete(
    "/{agent_id}",
    operation_id="deleteAgent",
    status_code=204,
    responses=problems(400, 401, 403, 404),
    description=READ_ONLY,
)
async def delete_agent(agent_id: str, tenant: Tenant, agents: Agents) -> Response:
    """Remove one of the tenant's experts. Panels that have it keep their copy, and still run."""
    await agents.delete(tenant, agent_id)
    return Response(status_code=204)
