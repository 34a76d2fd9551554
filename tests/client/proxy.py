"""A TCP proxy on 127.0.0.1 that tests cut: it drops a stream's connection in the middle of a chosen event."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttingProxy:
    """Forwards 127.0.0.1:`port` to the target; the first `cuts` responses carrying `cut_after` are cut inside it.

    The cut forwards the bytes up to and including `cut_after` and closes both sides: with
    `cut_after=b"event: expert_speaking"` the client holds half a frame, which it must not deliver.

    `requests` keeps the head of every request that went through (to see the `Last-Event-ID` sent on resume).
    """

    def __init__(self, target_port: int, *, cut_after: bytes | None = None, cuts: int = 1) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.cuts_done = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_all(self) -> None:
        """Drop every open connection now (as a network failure would)."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closing = True
        self._listener.close()
        self.cut_all()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        first = True
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if from_client and first:
                    self.requests.append(chunk)
                    first = False
                if not from_client and self._should_cut(chunk):
                    # forward the chunk up to the marker only: the frame it starts is left unfinished
                    assert self.cut_after is not None
                    sink.sendall(chunk[: chunk.index(self.cut_after) + len(self.cut_after)])
                    break
                sink.sendall(chunk)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _should_cut(self, chunk: bytes) -> bool:
        if self.cut_after is None or self.cut_after not in chunk:
            return False
        with self._lock:
            if self.cuts_left <= 0:
                return False
            self.cuts_left -= 1
            self.cuts_done += 1
            return True

    def resumed_from(self) -> list[str]:
        """The `Last-Event-ID` of every request that carried one, in order."""
        found = []
        for head in self.requests:
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("last-event-id:"):
                    found.append(line.split(":", 1)[1].strip())
        return found


@contextmanager
def cutting_proxy(target_port: int, *, cut_after: bytes | None = None, cuts: int = 1) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(target_port, cut_after=cut_after, cuts=cuts)
    try:
        yield proxy
    finally:
        proxy.close()
