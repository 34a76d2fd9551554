"""The composition root: builds every adapter and service from Settings, and nothing else does."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

import procrastinate

from ask_panel.application.agents import AgentService
from ask_panel.application.hub import EventHub
from ask_panel.application.panels import PanelService
from ask_panel.application.ports import EventPublisher, LLMProvider, PanelExecutor
from ask_panel.application.pricing import PriceTable
from ask_panel.application.runner import LocalPanelPool, PanelRun
from ask_panel.application.streams import StreamService
from ask_panel.application.tickets import TicketService
from ask_panel.config import Settings
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId
from ask_panel.infrastructure.auth import TokenVerifier
from ask_panel.infrastructure.bus.bridge import WakeupBridge
from ask_panel.infrastructure.bus.fanout import FanoutPublisher
from ask_panel.infrastructure.bus.postgres import PostgresBus
from ask_panel.infrastructure.bus.redis import RedisBus
from ask_panel.infrastructure.bus.tokens import TokenForwarder
from ask_panel.infrastructure.bus.wakeup import CHANNEL as WAKEUP_CHANNEL
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.group_commit import GroupCommitCheckpoints
from ask_panel.infrastructure.db.repositories import SqlRecoveryScanner
from ask_panel.infrastructure.db.uow import SqlUnitOfWorkFactory
from ask_panel.infrastructure.jobs.procrastinate_queue import (
    QUEUE,
    ProcrastinateExecutor,
    WorkerUpkeep,
    build_app,
)
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
                output_mode=settings.llm_output_mode,
                strict_schemas=settings.llm_strict_schema,
                max_tokens=settings.llm_max_tokens,
                max_tokens_field=settings.llm_max_tokens_field,
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
                max_tokens=settings.llm_max_tokens,
                output_mode=settings.anthropic_output_mode,
            )
        )

    return Providers(settings.llm_provider, {"simulated": simulated, "openai": openai, "anthropic": anthropic})


class Container:
    """Every long-lived object of one process."""

    def __init__(self, settings: Settings, *, providers: Providers | None = None) -> None:
        self.settings = settings
        self.origin = uuid.uuid4().hex[:12]
        self.database = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            pool_timeout_s=settings.db_pool_timeout_s,
        )
        self.uow = SqlUnitOfWorkFactory(self.database)
        self.hub = EventHub(
            buffer_size=settings.stream_buffer_events,
            max_streams=settings.max_streams,
            max_streams_per_tenant=settings.max_streams_per_tenant,
        )
        self.providers = providers or build_providers(settings)

        # Fan-out across processes: commits wake the other processes, which read the log.
        mode = settings.fanout_mode
        self.bridge = WakeupBridge(self.uow, self.hub, origin=self.origin) if mode != "none" else None
        self.bus: PostgresBus | RedisBus | None = None
        self.tokens: TokenForwarder | None = None
        publisher: EventPublisher = self.hub
        if self.bridge is not None:
            if mode == "postgres":
                self.database.notify_origin = self.origin  # commits NOTIFY inside their transaction
                self.bus = PostgresBus(settings.database_url)
            else:
                assert settings.redis_url, "ASK_PANEL_REDIS_URL is required for Redis fan-out"
                self.bus = RedisBus(settings.redis_url)
            self.bus.subscribe(WAKEUP_CHANNEL, self.bridge.on_payload)
            self.bus.on_connected = self.bridge.resync
            self.tokens = TokenForwarder(self.bus, self.hub, origin=self.origin)
            publisher = FanoutPublisher(
                self.hub, self.tokens, origin=self.origin, bus=self.bus if mode == "redis" else None
            )
        self.publisher = publisher

        self.checkpoints = GroupCommitCheckpoints(self.database) if self.database.is_sqlite else None
        self.run = PanelRun(
            checkpoints=self.checkpoints,
            uow_factory=self.uow,
            publisher=publisher,
            providers=self.providers,
            prices=PriceTable(),
            default_model=settings.default_model,
        )
        self.pool = LocalPanelPool(
            self.run, max_concurrent=settings.max_concurrent_panels, recovery=SqlRecoveryScanner(self.database)
        )
        executor: PanelExecutor = self.pool
        self.jobs: procrastinate.App | None = None
        self.upkeep: WorkerUpkeep | None = None
        if settings.executor == "procrastinate":
            self.jobs = build_app(settings.database_url, run_panel=self.pool.run_now)
            executor = ProcrastinateExecutor(self.jobs)
            self.upkeep = WorkerUpkeep(
                self.jobs,
                self.database,
                stalled_after_s=settings.worker_stalled_after_s,
                interval_s=max(1.0, settings.worker_heartbeat_s),
            )
        if self.bridge is not None:
            self.bridge.hooks.append((self.pool.is_running, self._stop_ended_runs))
        self._worker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

        self.panels = PanelService(self.uow, executor, publisher, max_query_chars=settings.max_query_chars)
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

    def _stop_ended_runs(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        """A run here whose panel was ended elsewhere (a cancel on another node) is stopped now."""
        if any(e.is_terminal for e in events):
            task = asyncio.get_running_loop().create_task(self.pool.stop(panel_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def start(self) -> None:
        if self.settings.auth_mode == "none":
            log.warning("ASK_PANEL_AUTH_MODE=none: no authentication, for local development only")
        if self.bus is not None:
            await self.bus.start()
        if self.tokens is not None:
            self.tokens.start()
        if self.jobs is not None:
            await self.jobs.open_async()
        if not self.settings.run_worker:
            return
        if self.jobs is None:
            await self.pool.resume_unfinished()
            return
        self._worker = asyncio.create_task(
            self.jobs.run_worker_async(
                queues=[QUEUE],
                concurrency=self.settings.worker_concurrency,
                install_signal_handlers=False,
                update_heartbeat_interval=self.settings.worker_heartbeat_s,
                stalled_worker_timeout=self.settings.worker_stalled_after_s,
                shutdown_graceful_timeout=1.0,
                delete_jobs="successful",
            ),
            name="procrastinate-worker",
        )
        assert self.upkeep is not None
        self.upkeep.start()

    async def stop(self) -> None:
        self.hub.close_all()
        if self.upkeep is not None:
            await self.upkeep.close()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        await self.pool.close()
        if self.checkpoints is not None:
            await self.checkpoints.close()
        if self.tokens is not None:
            await self.tokens.close()
        if self.bus is not None:
            await self.bus.close()
        if self.bridge is not None:
            await self.bridge.close()
        if self.jobs is not None:
            await self.jobs.close_async()
        await self.providers.aclose()
        await self.database.dispose()
