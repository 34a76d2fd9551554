"""AgentService: the expert registry (built-in catalogue plus each tenant's own experts)."""

from __future__ import annotations

from dataclasses import replace

from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.domain.errors import AgentAlreadyExists, AgentNotFound, InvalidInput
from ask_panel.domain.experts import BUILTIN_BY_ID, BUILTIN_EXPERTS, Expert, validate_agent_id
from ask_panel.domain.ids import TenantId
from ask_panel.domain.llm import parse_output_mode

MAX_EXPERTISE_TERMS = 20


class AgentService:
    def __init__(self, uow_factory: UnitOfWorkFactory, *, known_providers: frozenset[str]) -> None:
        self._uow = uow_factory
        self._known_providers = known_providers

    async def list(self, tenant: TenantId) -> list[Expert]:
        async with self._uow(tenant) as uow:
            own = await uow.agents.all()
        return [*BUILTIN_EXPERTS, *own]

    async def get(self, tenant: TenantId, agent_id: str) -> Expert:
        if agent_id in BUILTIN_BY_ID:
            return BUILTIN_BY_ID[agent_id]
        async with self._uow(tenant) as uow:
            expert = await uow.agents.get(agent_id)
        if expert is None:
            raise AgentNotFound(agent_id)
        return expert

    async def create(self, tenant: TenantId, requested: Expert) -> Expert:
        """Add the tenant's own expert (trimmed; never built-in, never shadowing a built-in one)."""
        validate_agent_id(requested.agent_id)
        if requested.agent_id in BUILTIN_BY_ID:
            raise AgentAlreadyExists(f"'{requested.agent_id}' is a built-in expert and cannot be redefined")
        if len(requested.expertise) > MAX_EXPERTISE_TERMS:
            raise InvalidInput(f"At most {MAX_EXPERTISE_TERMS} expertise terms")
        if requested.provider is not None and requested.provider not in self._known_providers:
            raise InvalidInput(f"provider must be one of: {', '.join(sorted(self._known_providers))}")
        expert = replace(
            requested,
            name=requested.name.strip(),
            role=requested.role.strip(),
            expertise=tuple(t.strip() for t in requested.expertise if t.strip()),
            instructions=requested.instructions.strip(),
            output_mode=parse_output_mode(requested.output_mode),
            builtin=False,
        )
        if not expert.name or not expert.role or not expert.instructions:
            raise InvalidInput("name, role and instructions must not be empty")
        async with self._uow(tenant, write=True) as uow:
            if await uow.agents.get(expert.agent_id) is not None:
                raise AgentAlreadyExists(f"Agent '{expert.agent_id}' already exists")
            await uow.agents.add(expert)
            await uow.commit()
        return expert
