"""Runs panels to completion through the real services, storage and strategies, with a given provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ask_panel.application.panels import CreatePanel
from ask_panel.application.ports import LLMProvider
from ask_panel.bootstrap import Container
from ask_panel.config import Settings
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import TenantId
from ask_panel.domain.panel import Panel
from ask_panel.infrastructure.llm.registry import Providers

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")


@asynccontextmanager
async def harness(settings: Settings, provider: LLMProvider) -> AsyncIterator[Container]:
    container = Container(settings, providers=Providers("scripted", {"scripted": lambda: provider}))
    await container.start()
    try:
        yield container
    finally:
        await container.stop()


async def run_panel(
    container: Container, panel_type: str, agent_ids: list[str], **configuration: Any
) -> tuple[Panel, list[StoredEvent]]:
    created = await container.panels.create(
        TENANT,
        CreatePanel(
            query="What is our FDA 510(k) strategy for this device?",
            panel_type=panel_type,
            agent_ids=agent_ids,
            configuration={"seed": 11, **configuration},
        ),
    )
    panel_id = created.panel.panel_id
    await container.panels.execute(TENANT, str(panel_id))
    task = container.pool.running.get(panel_id)
    if task is not None:
        await task
    return await load(container, str(panel_id))


async def load(container: Container, panel_id: str) -> tuple[Panel, list[StoredEvent]]:
    panel = await container.panels.get(TENANT, panel_id)
    async with container.uow(TENANT) as uow:
        events = await uow.events.read(panel.panel_id, after=0)
    return panel, events


def types(events: list[StoredEvent]) -> list[str]:
    return [e.type for e in events]
