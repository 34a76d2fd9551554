"""Third-party OpenAI-compatible mock servers from PyPI, run as real processes on 127.0.0.1.

- `fakellm` answers by YAML rules matched on the request (`messages_contain`, `model_matches`,
  `previous_message_contains`, ...) with a fixed content, streamed a word at a time. It cannot
  script a status code on a stream, a header, a delay or a broken stream.
- `llmock` scripts behaviours over its control API (`/_llmock/scenario`): HTTP errors with
  `Retry-After`, delays, a slow first token, streams cut, truncated, stalled or corrupted, and
  fixed replies; `--stream-chunk-delay-ms` paces every stream. Its replies cannot depend on what was
  asked (a reply is consumed by whichever request comes next); without one it answers structured
  requests with a schema example of its own (repeated array items included) and others with
  generic text. It journals every request with its body (`/_llmock/requests`) and judges the
  client's resilience (`/_llmock/verdict`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

from tests.integration.processes import free_port


def _wait_until_serving(process: subprocess.Popen[bytes], health_url: str, log: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx2.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"mock server exited with {process.returncode}:\n{log.read_text()}")
            try:
                if client.get(health_url).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError(f"mock server did not answer within {timeout_s} s:\n{log.read_text()}")


@contextmanager
def _serve(command: list[str], health_path: str, workdir: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / f"mock-{port}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(process, url + health_path, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def fakellm(rules: str, workdir: Path) -> Iterator[str]:
    """A fakellm server answering by `rules` (YAML); yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "fakellm.yaml"
    config.write_text(rules)
    command = [sys.executable, "-m", "fakellm.cli", "serve", "--config", str(config)]
    with _serve(command, "/_fakellm/stats", workdir) as url:
        yield url


@contextmanager
def llmock(workdir: Path, *options: str) -> Iterator[LLMock]:
    """An llmock server started with `options` (e.g. `--stream-chunk-delay-ms 40`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "llmock.cli", "serve", "--log-level", "warning", *options]
    with _serve(command, "/health", workdir) as url:
        yield LLMock(url)


class LLMock:
    """The control API of a running llmock server."""

    def __init__(self, url: str) -> None:
        self.url = url

    def reset(self) -> None:
        with httpx2.Client(timeout=10) as client:
            client.post(f"{self.url}/_llmock/reset").raise_for_status()

    def script(self, *behaviors: dict[str, Any]) -> None:
        """Queue behaviours, e.g. `{"type": "fail", "status": 429, "retry_after": 1, "times": 2}`."""
        with httpx2.Client(timeout=10) as client:
            client.post(f"{self.url}/_llmock/scenario", json={"behaviors": list(behaviors)}).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        with httpx2.Client(timeout=10) as client:
            response = client.get(f"{self.url}/_llmock/requests")
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()["requests"]
        return records

    def verdict(self) -> dict[str, Any]:
        with httpx2.Client(timeout=10) as client:
            response = client.get(f"{self.url}/_llmock/verdict")
        response.raise_for_status()
        verdict: dict[str, Any] = response.json()
        return verdict
