"""The composition root: builds every adapter and service from Settings, and nothing else does."""

from __future__ import annotations

import logging

from ask_panel.application.agents import AgentService
from ask_panel.application.hub import EventHub
from ask_panel.application.panels import PanelService
from ask_panel.application.ports import LLMProvider
from ask_panel.application.pricing import PriceTable
from ask_panel.application.runner import LocalPanelPool, PanelRun
from ask_panel.application.streams import StreamService
from ask_panel.application.tickets import TicketService
from ask_panel.config import Settings
from ask_panel.infrastructure.auth import TokenVerifier
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.group_commit import GroupCommitCheckpoints
from ask_panel.infrastructure.db.repositories import SqlRecoveryScanner
from ask_panel.infrastructure.db.uow import SqlUnitOfWorkFactory
from ask_panel.infrastructure.llm.registry import Providers
from ask_panel.infrastructure.llm.resilient import ResilientProvider
from ask_panel.infrastructure.llm.simulated import SimulatedProvider

log = logging.getLogger(__name__)


def build_providers(settings: Settings) -> Providers:
    def resilient(provider: LLMProvider) -> LLMProvider:
        return ResilientProvider(
            provider,
            attempts=settings.llm_max_attempts,
            timeout_s=settings.llm_timeout_s,
            backoff_s=0.05 if settings.llm_provider == "simulated" else 0.5,
        )

    def simulated() -> LLMProvider:
        return resilient(
            SimulatedProvider(
                token_delay_ms=settings.simulated_token_delay_ms,
                fault_rate=settings.simulated_fault_rate,
                seed=settings.simulated_seed,
            )
        )

    def openai() -> LLMProvider:
        from ask_panel.infrastructure.llm.openai_compat import OpenAICompatibleProvider

        return resilient(
            OpenAICompatibleProvider(
                base_url=settings.llm_base_url or "https://api.openai.com/v1",
                api_key=settings.llm_api_key,
                default_model=settings.llm_model or "gpt-4o-mini",
                timeout_s=settings.llm_timeout_s,
            )
        )

    def anthropic() -> LLMProvider:
        from ask_panel.infrastructure.llm.anthropic import AnthropicProvider

        return resilient(
            AnthropicProvider(
                base_url=settings.anthropic_base_url,
                api_key=settings.anthropic_api_key or settings.llm_api_key,
                default_model=settings.anthropic_model,
                timeout_s=settings.llm_timeout_s,
            )
        )

    return Providers(settings.llm_provider, {"simulated": simulated, "openai": openai, "anthropic": anthropic})


class Container:
    """Every long-lived object of one process."""

    def __init__(self, settings: Settings, *, providers: Providers | None = None) -> None:
        self.settings = settings
        self.database = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        self.uow = SqlUnitOfWorkFactory(self.database)
        self.hub = EventHub(
            buffer_size=settings.stream_buffer_events,
            max_streams=settings.max_streams,
            max_streams_per_tenant=settings.max_streams_per_tenant,
        )
        self.providers = providers or build_providers(settings)
        self.checkpoints = GroupCommitCheckpoints(self.database) if self.database.is_sqlite else None
        self.run = PanelRun(
            checkpoints=self.checkpoints,
            uow_factory=self.uow,
            publisher=self.hub,
            providers=self.providers,
            prices=PriceTable(),
            default_model=settings.default_model,
        )
        self.pool = LocalPanelPool(
            self.run, max_concurrent=settings.max_concurrent_panels, recovery=SqlRecoveryScanner(self.database)
        )
        self.panels = PanelService(self.uow, self.pool, self.hub, max_query_chars=settings.max_query_chars)
        self.agents = AgentService(self.uow, known_providers=self.providers.names)
        self.streams = StreamService(self.uow, self.hub)
        self.tickets = TicketService(self.uow, ttl_seconds=settings.ticket_ttl_s)
        self.verifier = (
            TokenVerifier(
                secret=settings.jwt_secret,
                jwks_url=settings.jwks_url,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
            )
            if settings.auth_mode == "jwt"
            else None
        )

    async def start(self) -> None:
        if self.settings.auth_mode == "none":
            log.warning("ASK_PANEL_AUTH_MODE=none: no authentication, for local development only")
        if self.settings.run_worker:
            await self.pool.resume_unfinished()

    async def stop(self) -> None:
        self.hub.close_all()
        await self.pool.close()
        if self.checkpoints is not None:
            await self.checkpoints.close()
        await self.providers.aclose()
        await self.database.dispose()
