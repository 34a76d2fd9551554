"""A TCP proxy on 127.0.0.1 that a test can cut (every open connection dropped at once) and hold (new ones parked)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to 127.0.0.1:<upstream_port>, byte for byte, one thread pair per connection.

    `cut()` resets every open connection (as a network drop does); `hold()` makes new connections wait,
    unanswered, until `release()`. Nothing is buffered or altered: the browser talks to the real server.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self.cuts = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._released.set()
        self._stopping = False
        self._acceptor = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def cut(self) -> int:
        """Reset every open connection (RST, no FIN); returns how many sockets were cut."""
        with self._lock:
            sockets = list(self._open)
            self._open.clear()
            self.cuts += 1
        for sock in sockets:
            _reset(sock)
        return len(sockets)

    def stop(self) -> None:
        self._stopping = True
        self._released.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.cut()
        self._acceptor.join(timeout=5)

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(client,), name="proxy-conn", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self._open.add(client)
        self._released.wait()
        if self._stopping:
            _reset(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            _reset(client)
            return
        with self._lock:
            if client not in self._open:  # cut while it was waiting
                _reset(upstream)
                return
            self._open.add(upstream)
        down = threading.Thread(target=_pump, args=(upstream, client), name="proxy-down", daemon=True)
        down.start()
        _pump(client, upstream)
        down.join(timeout=30)
        with self._lock:
            self._open.discard(client)
            self._open.discard(upstream)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def _reset(sock: socket.socket) -> None:
    """Drop the connection at once. `shutdown` wakes the pump thread blocked reading it (a bare `close` from
    another thread would not); with a zero linger the close then resets the connection."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
