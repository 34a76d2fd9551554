"""PanelService: the panel use cases (create, get, list, execute, cancel)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ask_panel.application.estimates import CostEstimator
from ask_panel.application.ports import AgentRepository, EventPublisher, PanelExecutor, PanelPage, UnitOfWorkFactory
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.duration import HOSTED_PACE, ModelPace
from ask_panel.domain.errors import (
    IdempotencyConflict,
    InvalidInput,
    PanelConflict,
    UnknownAgents,
)
from ask_panel.domain.experts import BUILTIN_BY_ID, BUILTIN_EXPERTS, MAX_MEMBERS, Expert, select_experts
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.text import storable, storable_tree
from ask_panel.domain.values import Member

if TYPE_CHECKING:
    from ask_panel.application.usage import UsageService

MAX_LIST_LIMIT = 100


@dataclass(frozen=True, slots=True)
class CreatePanel:
    query: str
    panel_type: PanelType
    agent_ids: list[str] | None = None
    configuration: Mapping[str, Any] | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        body = {
            "query": self.query,
            "panel_type": self.panel_type,
            "agent_ids": self.agent_ids,
            "configuration": dict(self.configuration or {}),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Created:
    panel: Panel
    replayed: bool


class PanelService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        executor: PanelExecutor,
        publisher: EventPublisher,
        *,
        max_query_chars: int,
        estimator: CostEstimator | None = None,
        usage: UsageService | None = None,
        pace: ModelPace = HOSTED_PACE,
    ) -> None:
        """`estimator` estimates each new panel's usage and cost; `usage` holds tenants to their budgets."""
        self._uow = uow_factory
        self._executor = executor
        self._publisher = publisher
        self._max_query_chars = max_query_chars
        self._estimator = estimator
        self._usage = usage
        self._pace = pace
        """The pace of the configured model, for `estimated_duration`."""

    async def create(self, tenant: TenantId, command: CreatePanel) -> Created:
        storable(command.query, "query")
        storable_tree(command.configuration, "configuration")
        storable_tree(command.agent_ids, "agent_ids")
        if command.idempotency_key is not None:
            storable(command.idempotency_key, "Idempotency-Key")
        query = command.query.strip()
        if not query:
            raise InvalidInput("query must not be empty")
        if len(query) > self._max_query_chars:
            raise InvalidInput(f"query must be at most {self._max_query_chars} characters")
        panel_type = command.panel_type
        configuration = PanelConfiguration.parse(command.configuration, panel_type=panel_type)
        fingerprint = command.fingerprint()
        if self._usage is not None:
            await self._usage.check(tenant)  # a tenant past its budget starts nothing new
        async with self._uow(tenant, write=True) as uow:
            if command.idempotency_key:
                found = await uow.panels.find_by_idempotency_key(command.idempotency_key)
                if found is not None:
                    panel, stored_fingerprint = found
                    if stored_fingerprint != fingerprint:
                        raise IdempotencyConflict("This Idempotency-Key was used with a different request body")
                    return Created(panel, replayed=True)
            experts, selection = await self._pick_experts(uow.agents, query, command.agent_ids)
            if panel_type is PanelType.ADVERSARIAL and len(experts) < 2:
                raise InvalidInput("An adversarial panel needs at least 2 experts")
            panel = Panel.create(
                tenant_id=tenant,
                query=query,
                panel_type=panel_type,
                configuration=configuration,
                members=[Member(e.agent_id, e.name, e.role) for e in experts],
                selection=selection,
                experts=experts,
                pace=self._pace,
            )
            if self._estimator is not None:
                panel.estimated_usage = self._estimator.estimate(panel_type, configuration, experts)
            await uow.panels.add(panel, idempotency_key=command.idempotency_key, fingerprint=fingerprint)
            await uow.commit()
        return Created(panel, replayed=False)

    async def _pick_experts(
        self, agents: AgentRepository, query: str, agent_ids: list[str] | None
    ) -> tuple[list[Expert], str]:
        if not agent_ids:
            return select_experts(query, [*BUILTIN_EXPERTS, *await agents.all()]), "auto"
        if len(agent_ids) > MAX_MEMBERS:
            raise InvalidInput(f"At most {MAX_MEMBERS} agent ids")
        if len(set(agent_ids)) != len(agent_ids):
            raise InvalidInput("agent_ids must not repeat")
        if all(a in BUILTIN_BY_ID for a in agent_ids):
            return [BUILTIN_BY_ID[a] for a in agent_ids], "requested"
        own = {e.agent_id: e for e in await agents.all()}
        unknown = [a for a in agent_ids if a not in BUILTIN_BY_ID and a not in own]
        if unknown:
            raise UnknownAgents(unknown)
        return [BUILTIN_BY_ID.get(a) or own[a] for a in agent_ids], "requested"

    async def get(self, tenant: TenantId, panel_id: PanelId) -> Panel:
        async with self._uow(tenant) as uow:
            return await uow.panels.get(panel_id)

    async def list(
        self,
        tenant: TenantId,
        *,
        limit: int = 50,
        offset: int = 0,
        status: PanelStatus | None = None,
        panel_type: PanelType | None = None,
    ) -> PanelPage:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidInput(f"limit must be from 1 to {MAX_LIST_LIMIT}")
        if offset < 0:
            raise InvalidInput("offset must not be negative")
        async with self._uow(tenant) as uow:
            return await uow.panels.page(limit=limit, offset=offset, status=status, panel_type=panel_type)

    async def execute(self, tenant: TenantId, panel_id: PanelId) -> Panel:
        """Queue a draft panel and hand it to the executor; anything but a draft is a conflict."""
        if self._usage is not None:
            await self._usage.check(tenant)
        async with self._uow(tenant, write=True) as uow:
            panel = await uow.panels.get(panel_id, for_update=True)
            if panel.status is not PanelStatus.DRAFT:
                raise PanelConflict(f"Only a draft panel can be executed; this one is '{panel.status.value}'")
            panel.queue()
            await uow.panels.save(panel)
            await uow.commit()
        await self._executor.submit(tenant, panel_id)
        return panel

    async def cancel(self, tenant: TenantId, panel_id: PanelId) -> Panel:
        """Cancel a panel that has not ended: the status is written first, then the run is stopped."""
        async with self._uow(tenant, write=True) as uow:
            panel = await uow.panels.get(panel_id, for_update=True)
            if panel.status.is_terminal:
                raise PanelConflict(f"The panel has already ended ('{panel.status.value}')")
            panel.cancel()
            stored = await uow.panels.save(panel, bump_attempt=True)
            await uow.commit()
        await self._executor.stop(panel_id)
        await self._publisher.publish(panel_id, stored)
        return panel
