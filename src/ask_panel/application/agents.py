"""AgentService: the expert registry (built-in catalogue plus each tenant's own experts)."""

from __future__ import annotations

from dataclasses import dataclass

from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.domain.errors import AgentAlreadyExists, AgentNotFound, InvalidInput
from ask_panel.domain.experts import BUILTIN_BY_ID, BUILTIN_EXPERTS, Expert, validate_agent_id
from ask_panel.domain.ids import TenantId
from ask_panel.domain.llm import parse_output_mode

MAX_EXPERTISE_TERMS = 20


@dataclass(frozen=True, slots=True)
class CreateAgent:
    agent_id: str
    name: str
    role: str
    expertise: list[str]
    instructions: str
    model: str | None = None
    provider: str | None = None
    output_mode: str | None = None


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

    async def create(self, tenant: TenantId, command: CreateAgent) -> Expert:
        validate_agent_id(command.agent_id)
        if command.agent_id in BUILTIN_BY_ID:
            raise AgentAlreadyExists(f"'{command.agent_id}' is a built-in expert and cannot be redefined")
        if len(command.expertise) > MAX_EXPERTISE_TERMS:
            raise InvalidInput(f"At most {MAX_EXPERTISE_TERMS} expertise terms")
        if command.provider is not None and command.provider not in self._known_providers:
            raise InvalidInput(f"provider must be one of: {', '.join(sorted(self._known_providers))}")
        output_mode = parse_output_mode(command.output_mode)
        expert = Expert(
            agent_id=command.agent_id,
            name=command.name.strip(),
            role=command.role.strip(),
            expertise=tuple(t.strip() for t in command.expertise if t.strip()),
            instructions=command.instructions.strip(),
            model=command.model,
            provider=command.provider,
            output_mode=output_mode,
        )
        if not expert.name or not expert.role or not expert.instructions:
            raise InvalidInput("name, role and instructions must not be empty")
        async with self._uow(tenant, write=True) as uow:
            if await uow.agents.get(command.agent_id) is not None:
                raise AgentAlreadyExists(f"Agent '{command.agent_id}' already exists")
            await uow.agents.add(expert)
            await uow.commit()
        return expert
