"""Ports: the interfaces the application needs from storage, fan-out, execution and language models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from ask_panel.domain.events import ExpertToken, StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamPart
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.summary import PanelSummary
from ask_panel.domain.usage import UsageDay
from ask_panel.domain.values import Usage


@dataclass(frozen=True, slots=True)
class PanelPage:
    """A page of summaries, newest first, and how many panels match in all pages."""

    panels: list[PanelSummary]
    total: int


class PanelRepository(Protocol):
    """Panels of one tenant. Every method is scoped to the unit of work's tenant."""

    async def add(self, panel: Panel, *, idempotency_key: str | None, fingerprint: str | None) -> None: ...

    async def get(self, panel_id: PanelId, *, for_update: bool = False) -> Panel:
        """The panel, or PanelNotFound (also for another tenant's panel)."""
        ...

    async def find_by_idempotency_key(self, key: str) -> tuple[Panel, str | None] | None: ...

    async def page(
        self, *, limit: int, offset: int, status: PanelStatus | None, panel_type: PanelType | None
    ) -> PanelPage:
        """Summaries, newest first (a projection: no panel's discussion is read)."""
        ...

    async def save(self, panel: Panel, *, bump_attempt: bool = False) -> list[StoredEvent]:
        """Write the panel and append its pending events, fenced by `panel.attempt`; its unrecorded usage
        goes to the usage ledger in the same transaction.

        Raises StaleAttempt when the stored attempt is no longer `panel.attempt`. With
        `bump_attempt` the stored attempt becomes `panel.attempt + 1` (and so does the panel's).
        """
        ...


class CheckpointStore(Protocol):
    """Writes a running panel's checkpoint (state and pending events), fenced by its attempt."""

    async def write(self, panel: Panel) -> list[StoredEvent]: ...


class AgentRepository(Protocol):
    async def all(self) -> list[Expert]:
        """The tenant's experts, oldest first."""
        ...

    async def page(self, *, limit: int, offset: int) -> list[Expert]:
        """A slice of `all()`."""
        ...

    async def count(self) -> int: ...

    async def get(self, agent_id: str) -> Expert | None: ...

    async def add(self, expert: Expert) -> None: ...

    async def replace(self, expert: Expert) -> bool:
        """Store `expert` over the tenant's expert of the same id; False when there is none."""
        ...

    async def delete(self, agent_id: str) -> bool:
        """Remove the tenant's expert; False when there is none."""
        ...


class UsageLedger(Protocol):
    """The tenant's model usage, kept apart from its panels: every save of a panel that used models adds
    an entry (`PanelRepository.save` writes `panel.unrecorded_usage` in the same transaction)."""

    async def add(self, panel_id: PanelId, usage: Usage, at: datetime) -> None: ...

    async def days(self, first: date, last: date) -> list[UsageDay]:
        """The tenant's usage per UTC day from `first` to `last` (both included), days without usage left out."""
        ...

    async def cost_since(self, first: date) -> float:
        """What the tenant's model calls cost from the start of `first` (UTC) until now."""
        ...


class EventLog(Protocol):
    async def read(self, panel_id: PanelId, *, after: int, limit: int | None = None) -> list[StoredEvent]: ...


@dataclass(frozen=True, slots=True)
class Ticket:
    tenant_id: TenantId
    panel_id: PanelId


class TicketStore(Protocol):
    async def add(self, digest: str, ticket: Ticket, expires_at: datetime) -> None: ...

    async def use(self, digest: str, panel_id: PanelId, stream: str, now: datetime) -> Ticket | None:
        """The ticket, if it exists for this panel, is unexpired, and is unused or was used for `stream`.

        Its first use binds it to `stream` (the kind of connection): it then serves that stream's
        reconnects until it expires, and nothing else.
        """
        ...


class UnitOfWork(Protocol):
    @property
    def panels(self) -> PanelRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def tickets(self) -> TicketStore: ...

    @property
    def usage(self) -> UsageLedger: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, tenant: TenantId, *, write: bool = False) -> UnitOfWork: ...


class RecoveryScanner(Protocol):
    """System-wide, tenant-crossing reads and writes that find the panels nobody runs, to resume them.

    A process that runs panels beats for them; a queued or running panel whose runner stopped beating
    (and that has not changed meanwhile) is an orphan that any process may take over.
    """

    async def unfinished(self) -> list[tuple[TenantId, PanelId]]:
        """Every queued or running panel (resumed at start-up by a single process)."""
        ...

    async def beat(self, panel_ids: Sequence[PanelId]) -> None:
        """This process runs (or is about to run) these panels, now."""
        ...

    async def orphaned(self, *, silent_for_s: float) -> list[tuple[TenantId, PanelId]]:
        """Queued or running panels with neither a heartbeat nor a change for `silent_for_s`, oldest first."""
        ...


class LogHeads(Protocol):
    """System-wide, tenant-crossing reads of each panel's log head: its last seq (0 when it has none).

    The high-water marks that watchers reconcile against: a panel not found is left out.
    """

    async def last_seqs(self, panel_ids: Sequence[PanelId]) -> dict[PanelId, int]: ...


class EventPublisher(Protocol):
    """Wakes subscribers after a commit. Never the only copy of anything: the log is."""

    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None: ...

    def publish_delta(self, panel_id: PanelId, delta: ExpertToken) -> None:
        """Text of a turn in progress, for subscribers that asked for it (never stored)."""
        ...

    def wants_deltas(self, panel_id: PanelId) -> bool:
        """Whether anyone (here or in another process) watches this panel's text deltas."""
        ...


class Bus(Protocol):
    """Small messages between the processes of one deployment, by channel, best effort.

    Every process subscribed to a channel gets every message sent on it, the sender included. A
    message can be lost (a reconnect, a full server): `on_reconnect` tells a subscriber that it may
    have missed some. Implementations: PostgreSQL LISTEN/NOTIFY, Redis pub/sub, and in memory.
    """

    def subscribe(
        self, channel: str, handler: Callable[[str], None], *, on_reconnect: Callable[[], None] | None = None
    ) -> None: ...

    async def send(self, channel: str, payload: str) -> None:
        """Hand a message over for sending; never blocks on the server (a message that cannot be sent is lost)."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the bus works now: its subscription is live (and answers its probes), and sending is not failing."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class PanelExecutor(Protocol):
    """Runs queued panels: in this process, or handed to workers."""

    async def submit(self, tenant: TenantId, panel_id: PanelId) -> None: ...

    async def stop(self, panel_id: PanelId) -> None:
        """Stop the panel's run if it runs here (its status is already terminal)."""
        ...


class LLMProvider(Protocol):
    name: str

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        """Text deltas, then one StreamEnd. With `json_schema`, the answer should be JSON following it,
        asked for in `output_mode` (None: the provider's configured default)."""
        ...


class ProviderRegistry(Protocol):
    def get(self, name: str | None) -> LLMProvider: ...
