"""AgentService: the expert registry (built-in catalogue plus each tenant's own experts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.domain.errors import AgentAlreadyExists, AgentNotFound, BuiltinAgentReadOnly, InvalidInput
from ask_panel.domain.experts import BUILTIN_BY_ID, BUILTIN_EXPERTS, Expert, validate_agent_id
from ask_panel.domain.ids import TenantId
from ask_panel.domain.llm import parse_output_mode

MAX_EXPERTISE_TERMS = 20
EDITABLE_FIELDS = frozenset({"name", "role", "expertise", "instructions", "model", "provider", "output_mode"})


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
        expert = self._validated(requested)
        async with self._uow(tenant, write=True) as uow:
            if await uow.agents.get(expert.agent_id) is not None:
                raise AgentAlreadyExists(f"Agent '{expert.agent_id}' already exists")
            await uow.agents.add(expert)
            await uow.commit()
        return expert

    async def replace(self, tenant: TenantId, requested: Expert) -> Expert:
        """Redefine the tenant's expert as a whole (panels already created keep their own copy)."""
        self._refuse_builtin(requested.agent_id)
        expert = self._validated(requested)
        async with self._uow(tenant, write=True) as uow:
            if not await uow.agents.replace(expert):
                raise AgentNotFound(expert.agent_id)
            await uow.commit()
        return expert

    async def update(self, tenant: TenantId, agent_id: str, changes: Mapping[str, Any]) -> Expert:
        """Change some fields of the tenant's expert (`expertise` a list; None clears model, provider, mode)."""
        self._refuse_builtin(agent_id)
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise InvalidInput(f"cannot change: {', '.join(sorted(unknown))}")
        async with self._uow(tenant, write=True) as uow:
            current = await uow.agents.get(agent_id)
            if current is None:
                raise AgentNotFound(agent_id)
            values = dict(changes)
            for required in ("name", "role", "instructions", "expertise"):
                if required in values and values[required] is None:
                    raise InvalidInput(f"{required} cannot be removed (expertise may be [])")
            if "expertise" in values:
                values["expertise"] = tuple(values["expertise"])
            expert = self._validated(replace(current, **values))
            await uow.agents.replace(expert)
            await uow.commit()
        return expert

    async def delete(self, tenant: TenantId, agent_id: str) -> None:
        """Remove the tenant's expert (panels that have it keep their copy and still run)."""
        self._refuse_builtin(agent_id)
        async with self._uow(tenant, write=True) as uow:
            if not await uow.agents.delete(agent_id):
                raise AgentNotFound(agent_id)
            await uow.commit()

    @staticmethod
    def _refuse_builtin(agent_id: str) -> None:
        if agent_id in BUILTIN_BY_ID:
            raise BuiltinAgentReadOnly(agent_id)

    def _validated(self, requested: Expert) -> Expert:
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
        return expert
