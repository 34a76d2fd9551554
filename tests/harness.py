"""Runs panels to completion through the real services and strategies, on any storage, with a given provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from ask_panel.application.panels import CreatePanel
from ask_panel.application.ports import LLMProvider
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import MEMORY_DATABASE_URL, Settings
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelType
from ask_panel.infrastructure.llm.registry import Providers

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")
QUESTION = "What is our FDA 510(k) strategy for this device?"


def memory_settings(**overrides: Any) -> Settings:
    from tests.conftest import make_settings

    return make_settings(MEMORY_DATABASE_URL, **overrides)


def scripted(provider: LLMProvider, **others: LLMProvider) -> Providers:
    """A registry whose default provider is `provider` (named "scripted"), plus any others by name."""
    return Providers("scripted", {"scripted": lambda: provider} | {k: (lambda p=p: p) for k, p in others.items()})


@asynccontextmanager
async def harness(settings: Settings, provider: LLMProvider, **others: LLMProvider) -> AsyncIterator[Container]:
    container = bootstrap(settings, providers=scripted(provider, **others))
    await container.start()
    try:
        yield container
    finally:
        await container.stop()


async def create(container: Container, panel_type: str, agent_ids: list[str], **configuration: Any) -> PanelId:
    created = await container.panels.create(
        TENANT,
        CreatePanel(
            query=QUESTION,
            panel_type=PanelType(panel_type),
            agent_ids=agent_ids,
            configuration={"seed": 11, **configuration},
        ),
    )
    return created.panel.panel_id


async def run_panel(
    container: Container, panel_type: str, agent_ids: list[str], **configuration: Any
) -> tuple[Panel, list[StoredEvent]]:
    panel_id = await create(container, panel_type, agent_ids, **configuration)
    await container.panels.execute(TENANT, panel_id)
    await finished(container, panel_id)
    return await load(container, panel_id)


async def finished(container: Container, panel_id: PanelId) -> None:
    """Wait for the panel's run in this process, if there is one."""
    task = container.pool.running.get(panel_id)
    if task is not None:
        await task


async def load(container: Container, panel_id: PanelId) -> tuple[Panel, list[StoredEvent]]:
    panel = await container.panels.get(TENANT, panel_id)
    async with container.uow(TENANT) as uow:
        events = await uow.events.read(panel.panel_id, after=0)
    return panel, events


def types(events: list[StoredEvent]) -> list[str]:
    return [e.type for e in events]


def expert_messages(panel: Panel) -> list[Any]:
    return [m for m in panel.messages() if m.role == "expert"]


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0) -> None:
    """Wait until `check()` holds (bounded generously for a loaded machine; no timing is asserted)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.001)  # polls state that has no event to await
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
