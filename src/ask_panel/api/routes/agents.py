"""Expert registry routes: the built-in catalogue plus the tenant's own experts."""

from __future__ import annotations

from fastapi import APIRouter

from ask_panel.api.deps import Agents, Tenant
from ask_panel.api.routes.responses import problems
from ask_panel.api.schemas import AgentListResponse, CreateAgentRequest
from ask_panel.domain.experts import Expert

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])
PROBLEMS = problems(400, 401, 403)


@router.get("", operation_id="listAgents", response_model=AgentListResponse, responses=PROBLEMS)
async def list_agents(tenant: Tenant, agents: Agents) -> AgentListResponse:
    """Built-in experts first, then the tenant's own."""
    return AgentListResponse(agents=await agents.list(tenant))


@router.post(
    "",
    operation_id="createAgent",
    status_code=201,
    response_model=Expert,
    responses=problems(400, 401, 403, 409, 422),
)
async def create_agent(body: CreateAgentRequest, tenant: Tenant, agents: Agents) -> Expert:
    """Add an expert visible only to this tenant; its id may not shadow a built-in one (409)."""
    return await agents.create(tenant, body.to_expert())


@router.get("/{agent_id}", operation_id="getAgent", response_model=Expert, responses=problems(400, 401, 403, 404))
async def get_agent(agent_id: str, tenant: Tenant, agents: Agents) -> Expert:
    return await agents.get(tenant, agent_id)
