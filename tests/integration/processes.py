"""Real service processes for tests: `ask-panel serve` and `ask-panel worker` on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

EXECUTABLE = Path(sys.executable).with_name("ask-panel")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            [str(EXECUTABLE), "--log-level", "INFO", *args],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log_file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
    env.update(
        {
            "ASK_PANEL_DATABASE_URL": database_url,
            "ASK_PANEL_AUTH_MODE": "none",
            "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": "4",
            "ASK_PANEL_WORKER_HEARTBEAT_S": "1",
            "ASK_PANEL_WORKER_STALLED_AFTER_S": "4",
        }
    )
    env.update(extra)
    return env


def wait_until_healthy(base_url: str, process: ServiceProcess, timeout_s: float = 90.0, probe: str = "/readyz") -> None:
    """Until `probe` answers 200 (`/healthz` for a process started while a dependency is down); a process starts
    in seconds, but a loaded machine (two test workers, browsers, other servers) may take far longer."""
    deadline = time.monotonic() + timeout_s
    with httpx2.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.process.poll() is not None:
                raise AssertionError(f"{process.args} exited:\n{process.output()}")
            try:
                if client.get(f"{base_url}{probe}").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError(f"{process.args} never became ready:\n{process.output()}")


@contextmanager
def api_process(
    database_url: str, log_dir: Path, *extra_args: str, probe: str = "/readyz", **env: str
) -> Iterator[tuple[str, ServiceProcess]]:
    port = free_port()
    process = ServiceProcess(
        ["serve", "--port", str(port), "--no-migrate", *extra_args],
        service_env(database_url, **env),
        log_dir / f"api-{port}.log",
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process, probe=probe)
        yield base_url, process
    finally:
        process.stop()


def start_worker(database_url: str, log_dir: Path, name: str, **env: str) -> ServiceProcess:
    return ServiceProcess(["worker"], service_env(database_url, **env), log_dir / f"worker-{name}.log")


def parse_sse(lines: list[str]) -> list[dict[str, Any]]:
    """Events of an SSE stream's lines: {id, event, data} (comments and retry hints dropped)."""
    import json

    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if "event" in current:
                events.append(current)
            current = {}
        elif line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
    return events
