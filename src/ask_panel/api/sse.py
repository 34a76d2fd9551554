"""SSEResponse: a lean Server-Sent Events response for panel streams.

One task per stream (the request's own) sends; a second, parked on `receive()`, notices a client
that leaves. Heartbeats and send timeouts cost no timer per stream: one StreamSupervisor per
process sweeps every open stream once a second, nudging idle ones to send a heartbeat comment and
aborting any whose send has been blocked longer than the send timeout (a client that stopped
reading; it resumes with Last-Event-ID). Frames waiting together go out in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ask_panel.api.wire import sse_comment, sse_frame, sse_retry
from ask_panel.application.streams import PanelStream
from ask_panel.observability import metrics

log = logging.getLogger(__name__)

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
]
HEARTBEAT = sse_comment("heartbeat")
# The last frame of a stream closed because this server shuts down (no id: Last-Event-ID stays as it was).
RECONNECT = (
    b"event: reconnect\n"
    b'data: {"reason":"shutting_down","detail":"This server is shutting down: reconnect with Last-Event-ID '
    b'to continue on another one."}\n\n'
)


class StreamSupervisor:
    """Heartbeats and send timeouts for every open SSE stream of the process, in one sweep a second."""

    def __init__(self, *, heartbeat_s: float, send_timeout_s: float, tick_s: float = 1.0) -> None:
        self.heartbeat_s = heartbeat_s
        self.send_timeout_s = send_timeout_s
        self._tick = min(tick_s, heartbeat_s / 2, send_timeout_s / 2)
        self._streams: set[SSEResponse] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, stream: SSEResponse) -> None:
        self._streams.add(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._sweep(), name="sse-supervisor")

    def discard(self, stream: SSEResponse) -> None:
        self._streams.discard(stream)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._streams:
            await asyncio.sleep(self._tick)
            now = loop.time()
            for stream in list(self._streams):
                if stream.sending_since is not None:
                    if now - stream.sending_since > self.send_timeout_s:
                        stream.abort()
                elif now - stream.last_write >= self.heartbeat_s:
                    stream.panel_stream.subscriber.nudge()


def supervisor_of(connection: HTTPConnection) -> StreamSupervisor:
    """The app's supervisor, made on first use from the container's settings."""
    state = connection.app.state
    supervisor: StreamSupervisor | None = getattr(state, "sse_supervisor", None)
    if supervisor is None:
        settings = state.container.settings
        supervisor = StreamSupervisor(
            heartbeat_s=settings.sse_heartbeat_s, send_timeout_s=settings.stream_send_timeout_s
        )
        state.sse_supervisor = supervisor
    return supervisor


class SSEResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self, stream: PanelStream, *, supervisor: StreamSupervisor, retry_ms: int, transport: str = "sse_watch"
    ) -> None:
        super().__init__(status_code=200)
        self.transport = transport  # the `transport` label of the stream metrics
        self.raw_headers = list(HEADERS)
        self.panel_stream = stream
        self._supervisor = supervisor
        self._retry_ms = retry_ms
        self._task: asyncio.Task[object] | None = None
        self.sending_since: float | None = None
        self.last_write = 0.0
        self._timed_out = False

    def abort(self) -> None:
        self._timed_out = True
        if self._task is not None:
            self._task.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self.last_write = loop.time()
        watcher = loop.create_task(self._watch_disconnect(receive))
        self._supervisor.add(self)
        open_streams = metrics.STREAMS_OPEN.labels(self.transport)
        open_streams.inc()
        lag = metrics.FANOUT_LAG
        try:
            await self._send(send, {"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._send(send, self._body(sse_retry(self._retry_ms)))
            ended = False
            async with contextlib.aclosing(self.panel_stream.batches()) as batches:
                async for batch in batches:
                    ended = ended or (bool(batch) and batch[-1].terminal)
                    if not batch:
                        frame = HEARTBEAT
                    elif len(batch) == 1:
                        frame = sse_frame(batch[0])
                    else:
                        frame = b"".join(sse_frame(event) for event in batch)
                    await self._send(send, self._body(frame))
                    if batch and batch[0].committed_at is not None:
                        lag.observe(time.time() - batch[0].committed_at)
            if not ended and self.panel_stream.server_closing:
                await self._send(send, self._body(RECONNECT))
            await self._send(send, {"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not self._timed_out or self._task is None or self._task.uncancel() > 0:
                raise
            metrics.SEND_TIMEOUTS.labels(self.transport).inc()
            log.info("disconnected a stream client that stopped reading (send timeout)")
        finally:
            open_streams.dec()
            self._supervisor.discard(self)
            watcher.cancel()
            self.panel_stream.close()

    @staticmethod
    def _body(frame: bytes) -> Message:
        return {"type": "http.response.body", "body": frame, "more_body": True}

    async def _send(self, send: Send, message: Message) -> None:
        loop = asyncio.get_running_loop()
        self.sending_since = loop.time()
        await send(message)
        self.sending_since = None
        self.last_write = loop.time()

    async def _watch_disconnect(self, receive: Receive) -> None:
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except Exception as exc:  # e.g. a request body over the limit: treat as gone
            log.info("stream request failed while watching for a disconnect: %s", exc)
        self.panel_stream.close()  # ends the stream at once: the panel is not cancelled
