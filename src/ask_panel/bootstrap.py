"""The composition root: `bootstrap(settings, ...)` builds every adapter and service, and nothing else does.

Every part can be handed in instead (cosmicpython's `bootstrap(uow=...)`): tests pass in-memory
storage, a scripted provider or an in-memory bus and get the real services wired around them.
Objects receive their collaborators and hooks in their constructors; nothing is re-wired later.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ask_panel.application.agents import AgentService
from ask_panel.application.discussion import UnitOfWorkCheckpoints
from ask_panel.application.drain import CheckpointGate, Drain
from ask_panel.application.estimates import CostEstimator
from ask_panel.application.hub import EventHub
from ask_panel.application.panels import PanelService
from ask_panel.application.ports import (
    Bus,
    CheckpointStore,
    EventPublisher,
    LLMProvider,
    LogHeads,
    PanelExecutor,
    RecoveryScanner,
    UnitOfWorkFactory,
)
from ask_panel.application.pricing import FixedPrices, Prices
from ask_panel.application.reconcile import LogReconciler
from ask_panel.application.runner import LocalPanelPool
from ask_panel.application.streams import StreamService
from ask_panel.application.tickets import TicketService
from ask_panel.application.usage import UsageService
from ask_panel.config import MEMORY_DATABASE_URL, Settings
from ask_panel.domain.duration import HOSTED_PACE, ModelPace
from ask_panel.domain.ids import TenantId
from ask_panel.domain.usage import TenantBudget
from ask_panel.infrastructure.auth import JwtVerifier
from ask_panel.infrastructure.bus.bridge import WakeupBridge
from ask_panel.infrastructure.bus.deltas import DeltaForwarder
from ask_panel.infrastructure.bus.fanout import FanoutPublisher
from ask_panel.infrastructure.bus.wakeup import WakeupSender
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.llm.metered import MeteredProvider
from ask_panel.infrastructure.llm.prices import CatalogPrices
from ask_panel.infrastructure.llm.registry import Providers
from ask_panel.infrastructure.llm.simulated import SimulatedProvider, simulated_pace
from ask_panel.infrastructure.memory.repositories import MemoryRecoveryScanner
from ask_panel.infrastructure.memory.store import MemoryStore
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from ask_panel.infrastructure.ratelimit import RateLimits
from ask_panel.observability import metrics
from ask_panel.observability.instrumented import InstrumentedPanelRun, MeteredPublisher, TracedPanelService
from ask_panel.observability.readings import drain_readings, hub_readings, pool_readings

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


def model_pace(settings: Settings) -> ModelPace:
    """The pace of the configured default provider, which `estimated_duration` is calibrated against."""
    if settings.llm_provider == "simulated":
        return simulated_pace(settings.simulated_token_delay_ms)
    return HOSTED_PACE


def build_prices(settings: Settings) -> Prices:
    """The price of every model call: the configured prices first, then the bundled `genai-prices` data."""
    return CatalogPrices(FixedPrices({m: (p.input, p.output) for m, p in settings.model_prices.items()}))


def build_providers(settings: Settings, prices: Prices | None = None) -> Providers:
    """Every configured provider, wrapped once in MeteredProvider (retries, metrics priced with `prices`)."""
    prices = prices or build_prices(settings)

    def resilient(provider: LLMProvider) -> LLMProvider:
        return MeteredProvider(
            provider,
            prices=prices,
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

    factories = {"simulated": simulated, "openai": openai, "anthropic": anthropic}
    if not settings.simulated_allowed:  # production: no agent may name the simulated provider either
        del factories["simulated"]
    return Providers(settings.llm_provider, factories)


@dataclass(slots=True)
class Container:
    """The long-lived objects of one process that the API and the CLI use, and how to start and stop them."""

    settings: Settings
    panels: PanelService
    agents: AgentService
    streams: StreamService
    tickets: TicketService
    usage: UsageService
    hub: EventHub
    pool: LocalPanelPool
    uow: UnitOfWorkFactory
    providers: Providers
    verifier: JwtVerifier | None
    origin: str
    drain: Drain
    limits: RateLimits
    ready: Step = _nothing
    starting: list[Step] = field(default_factory=list)
    stopping: list[Step] = field(default_factory=list)

    async def start(self) -> None:
        if self.settings.auth_mode == "none":
            log.warning("ASK_PANEL_AUTH_MODE=none: no authentication, for local development only")
        if self.settings.uses_development_secret:
            log.warning(
                "ASK_PANEL_JWT_SECRET is not set: tokens are checked with the built-in development secret, "
                "which anyone can read; set it outside development"
            )
        for step in self.starting:
            await step()

    async def stop(self) -> None:
        self.hub.close_all()
        for step in self.stopping:
            await step()


def bootstrap(
    settings: Settings,
    *,
    uow: UnitOfWorkFactory | None = None,
    checkpoints: CheckpointStore | None = None,
    recovery: RecoveryScanner | None = None,
    providers: Providers | None = None,
    bus: Bus | None = None,
    origin: str | None = None,
    takes_over: bool = True,
) -> Container:
    """Build one process's objects from `settings`; any part given is used instead of the configured one.

    `uow` alone brings no recovery scan (pass `recovery` to resume panels at start) and sends no
    wake-ups of its own; `bus` replaces the configured fan-out (PostgreSQL, Redis) for text deltas
    and, unless the database NOTIFYs, for wake-ups. `takes_over=False` makes a process that runs
    only the panels it is asked to run (`ask --local`): it still beats for them, but resumes
    nothing at start and never takes over another process's panels.
    """
    origin = origin or uuid.uuid4().hex[:12]
    prices = build_prices(settings)  # one price list for the metrics and the panels' usage
    providers = providers or build_providers(settings, prices)
    bus, wakeups = _fanout(settings, bus, origin)
    storage = _storage(settings, uow, checkpoints, recovery, wakeups)
    uow = storage.uow

    hub = EventHub(
        buffer_size=settings.stream_buffer_events,
        max_streams=settings.max_streams,
        max_streams_per_tenant=settings.max_streams_per_tenant,
    )
    publisher: EventPublisher = hub
    deltas = DeltaForwarder(bus, hub, origin=origin) if bus is not None else None
    if deltas is not None:
        publisher = FanoutPublisher(hub, deltas)
    gate = CheckpointGate(MeteredPublisher(publisher))
    publisher = gate

    usage = UsageService(uow, budget_for=_budgets(settings), refresh_s=settings.tenant_budget_refresh_s)
    run = InstrumentedPanelRun(
        uow_factory=uow,
        tenant_meter=usage.meter,
        checkpoints=storage.checkpoints,
        publisher=publisher,
        providers=providers,
        prices=prices,
        default_model=settings.default_model,
    )
    pool = LocalPanelPool(
        run,
        max_concurrent=settings.max_concurrent_panels,
        recovery=storage.recovery,
        heartbeat_s=settings.worker_heartbeat_s,
        stalled_after_s=settings.worker_stalled_after_s,
    )
    _track(hub, pool, storage.database)
    drain = Drain(hub, gate, pool, timeout_s=settings.drain_timeout_s)
    metrics.track(drain, drain_readings)
    reconciler = bridge = None
    if bus is not None:  # wake-ups from other processes can be lost: watchers also reconcile against the log
        reconciler = LogReconciler(hub, uow, storage.heads, interval_s=settings.stream_reconcile_s)
        bridge = WakeupBridge(bus, uow, hub, origin=origin, local_runs=pool, catch_up=reconciler.wake)

    executor: PanelExecutor = pool
    jobs: JobQueue | None = None
    if settings.executor == "procrastinate":
        jobs = _job_queue(settings, pool, storage.database)
        executor = jobs.executor

    # Start in this order, stop in the order below: runs stop before what they use is closed.
    starting: list[Step] = []
    stopping: list[Step] = []
    if storage.database is not None and storage.database.is_postgres:
        starting.append(storage.database.warn_if_rls_bypassed)
    if bus is not None and deltas is not None and reconciler is not None:
        starting += [reconciler.start, bus.start, deltas.start]
    if jobs is not None:
        starting.append(jobs.open)
        if settings.run_worker:  # procrastinate hands jobs out; the pool only beats for what it runs
            starting += [jobs.start_worker, _keep(pool, reclaim=False)]
            stopping.append(jobs.stop_worker)
    elif settings.run_worker and takes_over:  # the embedded executor: resume now, then take over what nobody runs
        starting += [_resume(pool), _keep(pool, reclaim=True)]
    elif settings.run_worker:  # only its own panels: beat for them, so that no other process takes them over
        starting.append(_keep(pool, reclaim=False))
    stopping += [pool.close, *storage.closing]
    if bus is not None and deltas is not None and bridge is not None and reconciler is not None:
        stopping += [deltas.close, bus.close, bridge.close, reconciler.close]
    if jobs is not None:
        stopping.append(jobs.close)
    stopping.append(providers.aclose)
    if storage.database is not None:
        stopping.append(storage.database.dispose)

    verifier = None
    if settings.auth_mode == "jwt":
        verifier = JwtVerifier(
            secret=settings.jwt_secret,
            jwks_url=settings.jwks_url,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    limits = RateLimits.build(settings.redis_url, settings.limit_for)
    stopping.append(limits.close)
    estimator = CostEstimator(
        prices,
        default_provider=settings.llm_provider,
        default_models={"openai": settings.llm_model or "gpt-4o-mini", "anthropic": settings.anthropic_model},
    )
    return Container(
        settings=settings,
        panels=TracedPanelService(
            uow,
            executor,
            publisher,
            max_query_chars=settings.max_query_chars,
            estimator=estimator,
            usage=usage,
            pace=model_pace(settings),
        ),
        agents=AgentService(uow, known_providers=providers.names, max_per_tenant=settings.max_agents_per_tenant),
        streams=StreamService(uow, hub),
        tickets=TicketService(uow, ttl_seconds=settings.ticket_ttl_s),
        usage=usage,
        hub=hub,
        pool=pool,
        uow=uow,
        providers=providers,
        verifier=verifier,
        origin=origin,
        drain=drain,
        limits=limits,
        ready=_readiness(storage.ready, bus, jobs.worker_up if jobs is not None and settings.run_worker else None),
        starting=starting,
        stopping=stopping,
    )


def _budgets(settings: Settings) -> Callable[[TenantId], TenantBudget]:
    """Each tenant's daily and monthly budget: its own (ASK_PANEL_TENANT_LIMITS), else the service's."""

    def budget_for(tenant: TenantId) -> TenantBudget:
        policy = settings.policy_for(str(tenant))
        return TenantBudget(policy.daily_budget_usd, policy.monthly_budget_usd)

    return budget_for


def _track(hub: EventHub, pool: LocalPanelPool, database: Database | None) -> None:
    """Report the hub's, the pool's and the database pool's own counters at every scrape."""
    metrics.track(hub, hub_readings)
    metrics.track(pool, pool_readings)
    if database is not None:
        metrics.track(database, Database.pool_readings)


def _fanout(settings: Settings, bus: Bus | None, origin: str) -> tuple[Bus | None, WakeupSender | None]:
    """The bus to other processes (given, or the configured one) and how commits wake them."""
    mode = settings.fanout_mode
    if bus is None and mode == "postgres":
        from ask_panel.infrastructure.bus.postgres import PostgresBus

        bus = PostgresBus(settings.database_url)
    elif bus is None and mode == "redis":
        from ask_panel.infrastructure.bus.redis import RedisBus

        if not settings.redis_url:
            raise ValueError("ASK_PANEL_REDIS_URL is required for Redis fan-out")
        bus = RedisBus(settings.redis_url, probe_s=settings.bus_probe_s)
    if bus is None:
        return None, None
    # On PostgreSQL the wake-up is a NOTIFY in the committing transaction; otherwise a bus message after it.
    notify = mode == "postgres" and settings.database_url.startswith("postgresql")
    return bus, WakeupSender(origin=origin, notify=notify, bus=None if notify else bus)


@dataclass(slots=True)
class Storage:
    """Where panels live: units of work, the checkpoint writer, the recovery scan, a probe, what to close."""

    uow: UnitOfWorkFactory
    checkpoints: CheckpointStore
    recovery: RecoveryScanner | None
    heads: LogHeads | None = None
    ready: Step = _nothing
    closing: list[Step] = field(default_factory=list)
    database: Database | None = None


def _storage(
    settings: Settings,
    uow: UnitOfWorkFactory | None,
    checkpoints: CheckpointStore | None,
    recovery: RecoveryScanner | None,
    wakeups: WakeupSender | None,
) -> Storage:
    """The given unit of work, or the configured database's (in memory, SQLite or PostgreSQL)."""
    if uow is not None:
        return Storage(uow, checkpoints or UnitOfWorkCheckpoints(uow), recovery)
    if settings.database_url == MEMORY_DATABASE_URL:
        store = MemoryStore()
        memory = MemoryUnitOfWorkFactory(store, wakeups=wakeups)
        return Storage(memory, checkpoints or UnitOfWorkCheckpoints(memory), recovery or MemoryRecoveryScanner(store))
    from ask_panel.infrastructure.db.engine import Database
    from ask_panel.infrastructure.db.group_commit import GroupCommitCheckpoints
    from ask_panel.infrastructure.db.repositories import SqlLogHeads, SqlRecoveryScanner
    from ask_panel.infrastructure.db.uow import SqlUnitOfWorkFactory

    database = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        pool_timeout_s=settings.db_pool_timeout_s,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    sql = SqlUnitOfWorkFactory(database, wakeups=wakeups)
    storage = Storage(sql, checkpoints or UnitOfWorkCheckpoints(sql), recovery or SqlRecoveryScanner(database))
    storage.ready, storage.database, storage.heads = database.ping, database, SqlLogHeads(database)
    if database.is_sqlite and checkpoints is None:  # SQLite has one writer: many panels' checkpoints per commit
        group_commit = GroupCommitCheckpoints(database, wakeups=wakeups)
        storage.checkpoints = group_commit
        storage.closing.append(group_commit.close)
    return storage


class NotReady(Exception):
    """A dependency the process needs does not answer (the readiness probe says which)."""


def _readiness(database: Step, bus: Bus | None, worker_up: Callable[[], bool] | None = None) -> Step:
    """Ready when the database answers, with a bus, the bus works (a watcher would otherwise wait
    for the reconcile interval, and text deltas would not cross processes) and, in a process that
    runs the job worker, the worker is registered and taking jobs."""

    async def ready() -> None:
        try:
            await database()
        except Exception as exc:
            raise NotReady(f"database unavailable: {type(exc).__name__}") from exc
        if bus is not None and not bus.connected:
            raise NotReady("bus unavailable: wake-ups between processes are not flowing")
        if worker_up is not None and not worker_up():
            raise NotReady("the job worker is not running (it is being started again)")

    return ready


def _resume(pool: LocalPanelPool) -> Step:
    async def resume() -> None:
        await pool.resume_unfinished()

    return resume


def _keep(pool: LocalPanelPool, *, reclaim: bool) -> Step:
    async def keep() -> None:
        await pool.start(reclaim=reclaim)

    return keep


@dataclass(slots=True)
class JobQueue:
    """The procrastinate job queue of a process: the executor, and the steps that run its worker."""

    executor: PanelExecutor
    open: Step
    close: Step
    start_worker: Step
    stop_worker: Step
    worker_up: Callable[[], bool]


def _job_queue(settings: Settings, pool: LocalPanelPool, database: Database | None) -> JobQueue:
    """Panels as procrastinate jobs (PostgreSQL): this process defers them, and runs them if it is a worker."""
    from ask_panel.infrastructure.jobs.procrastinate_queue import (
        ProcrastinateExecutor,
        QueueReadings,
        WorkerUpkeep,
        build_app,
        new_worker,
        quiet_aborted_jobs,
        quiet_taken_over_jobs,
        worker_registered,
    )
    from ask_panel.infrastructure.jobs.worker_supervisor import SupervisedWorker

    if database is None or not database.is_postgres:
        raise ValueError("the procrastinate executor needs a PostgreSQL database")
    jobs = build_app(settings.database_url, run_panel=pool.run_now)
    upkeep = WorkerUpkeep(
        jobs,
        database,
        stalled_after_s=settings.worker_stalled_after_s,
        interval_s=max(1.0, settings.worker_heartbeat_s),
    )
    worker = SupervisedWorker(
        lambda: new_worker(
            jobs,
            concurrency=settings.worker_concurrency,
            heartbeat_s=settings.worker_heartbeat_s,
            stalled_after_s=settings.worker_stalled_after_s,
        ),
        lambda worker_id: worker_registered(jobs, worker_id),
        check_s=settings.worker_heartbeat_s,
    )
    queue = QueueReadings(jobs, stalled_after_s=settings.worker_stalled_after_s)
    untrack_queue = metrics.track(queue, QueueReadings.readings, QueueReadings.refresh)

    async def open_queue() -> None:
        await jobs.open_async()

    async def close_queue() -> None:
        untrack_queue()  # (this closure also keeps the readings alive while the queue is open)
        await jobs.close_async()

    async def start_worker() -> None:
        quiet_taken_over_jobs(asyncio.get_running_loop())
        quiet_aborted_jobs()
        worker.start()
        upkeep.start()

    async def stop_worker() -> None:
        await upkeep.close()
        await worker.stop()

    return JobQueue(ProcrastinateExecutor(jobs), open_queue, close_queue, start_worker, stop_worker, lambda: worker.up)
