"""MemoryBus: the Bus within one process, for tests and single-process runs that want the real wiring.

Several MemoryBus objects on one MemoryBroker behave like processes on one PostgreSQL or Redis
server: every message reaches every subscriber of its channel, the sender's own included.
"""

from __future__ import annotations

from collections.abc import Callable

from ask_panel.infrastructure.bus.subscriptions import Handler, Subscriptions


class MemoryBroker:
    """The "server" that MemoryBus objects share."""

    def __init__(self) -> None:
        self.buses: list[MemoryBus] = []
        self.sent: list[tuple[str, str]] = []


class MemoryBus:
    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self._broker = broker or MemoryBroker()
        self._subscriptions = Subscriptions()
        self._connected = False

    def subscribe(self, channel: str, handler: Handler, *, on_reconnect: Callable[[], None] | None = None) -> None:
        self._subscriptions.add(channel, handler, on_reconnect)

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        if not self._connected:
            self._connected = True
            self._broker.buses.append(self)
            self._subscriptions.reconnected()

    async def send(self, channel: str, payload: str) -> None:
        self._broker.sent.append((channel, payload))
        for bus in list(self._broker.buses):
            bus._subscriptions.dispatch(channel, payload)

    async def close(self) -> None:
        if self._connected:
            self._connected = False
            self._broker.buses.remove(self)
