"""FaultProxy: a TCP proxy on 127.0.0.1 that tests put in front of PostgreSQL or Redis, then break.

It runs its own asyncio loop in a thread (so sync and async tests can drive it alike) and has four
modes:

- `pass_through()`: bytes flow both ways;
- `stall()`: nothing flows and new connections are accepted but left hanging, as when the process
  behind (or the proxy itself) is stopped with SIGSTOP; on `pass_through()` what was held flows on;
- `refuse()`: the listening port is closed (connection refused) and every open connection is reset,
  as when the server is down;
- `drop()`: every open connection is reset once; new ones are accepted (a network blip).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

CHUNK = 65536


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.connections = 0
        self._thread.start()
        self._call(self._start())

    # ---- control (any thread) ------------------------------------------------------------------
    def pass_through(self) -> None:
        self._call(self._pass_through())

    def stall(self) -> None:
        self._call(self._stall())

    def refuse(self) -> None:
        self._call(self._refuse())

    def drop(self) -> None:
        self._call(self._reset_all())

    def close(self) -> None:
        self._call(self._refuse())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, work: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(work, self._loop)
        return future.result(timeout=10)

    # ---- the proxy (its own loop) --------------------------------------------------------------
    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _pass_through(self) -> None:
        await self._listen()
        assert self._flowing is not None
        self._flowing.set()

    async def _stall(self) -> None:
        await self._listen()
        assert self._flowing is not None
        self._flowing.clear()

    async def _refuse(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._reset_all()
        assert self._flowing is not None
        self._flowing.set()

    async def _reset_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(OSError):
                sock = writer.get_extra_info("socket")
                if sock is not None:  # RST, not FIN: as a dead peer or a broken network looks
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.close()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        self.connections += 1
        self._writers.add(client_writer)
        try:
            await self._flowing.wait()  # a stalled proxy leaves new connections hanging
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except (OSError, asyncio.CancelledError):
            self._writers.discard(client_writer)
            client_writer.close()
            return
        self._writers.add(upstream_writer)
        pumps = [
            asyncio.ensure_future(self._pump(client_reader, upstream_writer)),
            asyncio.ensure_future(self._pump(upstream_reader, client_writer)),
        ]
        for pump in pumps:
            self._tasks.add(pump)
            pump.add_done_callback(self._tasks.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_writer, upstream_writer):
            self._writers.discard(writer)
            writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                await self._flowing.wait()  # stalled: stop reading, so the sender's buffers fill up too
                data = await reader.read(CHUNK)
                if not data:
                    return
                await self._flowing.wait()  # data read just before a stall is held until it ends
                writer.write(data)
                await writer.drain()


@contextmanager
def fault_proxy(target_host: str, target_port: int) -> Iterator[FaultProxy]:
    proxy = FaultProxy(target_host, target_port)
    try:
        yield proxy
    finally:
        proxy.close()
