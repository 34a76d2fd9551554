"""AgentService: the expert registry (built-in catalogue plus each tenant's own experts), bounded.

Every field of a tenant's expert has a limit, a tenant has at most `max_per_tenant` experts, and the
registry is read a page at a time: the built-in experts first, then the tenant's own, oldest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.domain.errors import (
    AgentAlreadyExists,
    AgentLimitReached,
    AgentNotFound,
    BuiltinAgentReadOnly,
    InvalidInput,
)
from ask_panel.domain.experts import (
    BUILTIN_BY_ID,
    BUILTIN_EXPERTS,
    MAX_EXPERTISE_TERM_CHARS,
    MAX_EXPERTISE_TERMS,
    MAX_INSTRUCTIONS_CHARS,
    MAX_MODEL_CHARS,
    MAX_NAME_CHARS,
    MAX_PROVIDER_CHARS,
    MAX_ROLE_CHARS,
    Expert,
    is_agent_id,
    validate_agent_id,
)
from ask_panel.domain.ids import TenantId
from ask_panel.domain.llm import parse_output_mode
from ask_panel.domain.text import storable

DEFAULT_PAGE = 200
MAX_PAGE = 500
EDITABLE_FIELDS = frozenset({"name", "role", "expertise", "instructions", "model", "provider", "output_mode"})


@dataclass(frozen=True, slots=True)
class AgentPage:
    agents: list[Expert]
    total: int


class AgentService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, *, known_providers: frozenset[str], max_per_tenant: int = 100
    ) -> None:
        self._uow = uow_factory
        self._known_providers = known_providers
        self.max_per_tenant = max_per_tenant

    async def list(self, tenant: TenantId, *, limit: int = DEFAULT_PAGE, offset: int = 0) -> AgentPage:
        """A page of the registry: built-in experts first, then the tenant's own, oldest first."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}")
        if offset < 0:
            raise InvalidInput("offset must not be negative")
        builtin = list(BUILTIN_EXPERTS[offset : offset + limit])
        own_offset = max(0, offset - len(BUILTIN_EXPERTS))
        async with self._uow(tenant) as uow:
            own_total = await uow.agents.count()
            wanted = limit - len(builtin)
            own = await uow.agents.page(limit=wanted, offset=own_offset) if wanted and own_offset < own_total else []
        return AgentPage([*builtin, *own], len(BUILTIN_EXPERTS) + own_total)

    async def get(self, tenant: TenantId, agent_id: str) -> Expert:
        if agent_id in BUILTIN_BY_ID:
            return BUILTIN_BY_ID[agent_id]
        self._refuse_malformed(agent_id)
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
            if await uow.agents.count() >= self.max_per_tenant:
                raise AgentLimitReached(f"This tenant has {self.max_per_tenant} experts, the most it may have")
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
        AgentService._refuse_malformed(agent_id)

    @staticmethod
    def _refuse_malformed(agent_id: str) -> None:
        """An id no expert can have is the same 404 as an unknown one (and never reaches a store)."""
        if not is_agent_id(agent_id):
            raise AgentNotFound(agent_id)

    def _validated(self, requested: Expert) -> Expert:
        self._check_fields(requested)
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

    @staticmethod
    def _check_fields(expert: Expert) -> None:
        """Every field within its limit, and only text that every store keeps faithfully."""
        for what, value, most in (
            ("name", expert.name, MAX_NAME_CHARS),
            ("role", expert.role, MAX_ROLE_CHARS),
            ("instructions", expert.instructions, MAX_INSTRUCTIONS_CHARS),
            ("model", expert.model, MAX_MODEL_CHARS),
            ("provider", expert.provider, MAX_PROVIDER_CHARS),
        ):
            if value is not None and len(storable(value, what)) > most:
                raise InvalidInput(f"{what} must be at most {most} characters")
        if len(expert.expertise) > MAX_EXPERTISE_TERMS:
            raise InvalidInput(f"At most {MAX_EXPERTISE_TERMS} expertise terms")
        for term in expert.expertise:
            if len(storable(term, "expertise")) > MAX_EXPERTISE_TERM_CHARS:
                raise InvalidInput(f"Each expertise term must be at most {MAX_EXPERTISE_TERM_CHARS} characters")
