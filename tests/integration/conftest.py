"""Integration fixtures: a real `fakellm` server process, and an address where nothing listens."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

FAKELLM_ANSWER = "The quick brown fox jumps over the lazy dog"
MODERATOR_ANSWER = "Moderator speaking: the panel will now begin."
JSON_ANSWER = '{"verdict": "proceed", "confidence": 0.8}'

FAKELLM_CONFIG = f"""\
version: 1
rules:
  - name: verdict_tool
    when:
      tools_include: "verdict"
    respond:
      tool_calls:
        - name: verdict
          arguments: {JSON_ANSWER}
  - name: json_answer
    when:
      messages_contain: "answer only with a json object"
    respond:
      content: '{JSON_ANSWER}'
  - name: moderator
    when:
      messages_contain: "you moderate the expert panel"
    respond:
      content: "{MODERATOR_ANSWER}"
  - name: fox
    when:
      messages_contain: "tell me about the fox"
    respond:
      content: "{FAKELLM_ANSWER}"
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx2.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"fakellm exited with {process.returncode}:\n{log.read_text()}")
            try:
                if client.get(f"{url}/_fakellm/stats").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
    pytest.fail(f"fakellm did not answer within {timeout_s} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def fakellm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (`http://127.0.0.1:PORT`) of a fakellm server that runs for the whole session."""
    workdir = tmp_path_factory.mktemp("fakellm")
    config = workdir / "fakellm.yaml"
    config.write_text(FAKELLM_CONFIG)
    log = workdir / "fakellm.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "fakellm.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--config", str(config)], cwd=workdir, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_serving(process, url, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on localhost where no server listens."""
    return f"http://127.0.0.1:{_free_port()}"
