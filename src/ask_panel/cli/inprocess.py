"""An httpx2 transport that calls an ASGI app in this process and streams its response as the app sends it.

httpx2's own `ASGITransport` hands over a response only once the app has finished it, which a live
stream never does; this one returns as soon as the response starts, and its body is a queue the
app's `send` fills. Closing the response tells the app its client left (`http.disconnect`); what the
app sends after that is dropped, as a server does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx2

Message = MutableMapping[str, Any]
_END = b""


class _Body(httpx2.AsyncByteStream):
    def __init__(
        self, chunks: asyncio.Queue[bytes | BaseException | None], task: asyncio.Task[None], left: asyncio.Event
    ):
        self._chunks = chunks
        self._task = task
        self._left = left

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise httpx2.ReadError(f"the in-process service failed: {chunk!r}") from chunk
            yield chunk

    async def aclose(self) -> None:
        self._left.set()
        if not self._task.done():
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        if not self._task.done():
            self._task.cancel()


class InProcessTransport(httpx2.AsyncBaseTransport):
    """Requests go to `app` (an ASGI application) in this event loop: no socket, no server."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": ("127.0.0.1", 0),
            "root_path": "",
        }
        chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = asyncio.get_running_loop().create_future()
        left = asyncio.Event()
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                if left.is_set():
                    return  # the client has gone: dropped, as a server drops what is sent after a disconnect
                chunk = message.get("body", _END)
                if chunk:
                    chunks.put_nowait(chunk)
                if not message.get("more_body", False):
                    chunks.put_nowait(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                chunks.put_nowait(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                chunks.put_nowait(None)  # an app that returned without finishing its body

        task = asyncio.create_task(run())
        try:
            status, headers = await started
        except Exception as exc:
            raise httpx2.ConnectError(f"the in-process service failed: {exc!r}") from exc
        return httpx2.Response(status, headers=headers, stream=_Body(chunks, task, left), request=request)
