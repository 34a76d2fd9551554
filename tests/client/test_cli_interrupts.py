"""Ctrl-C in `ask-panel ask --local`: the panel runs in the command's own process, and Ctrl-C still cancels it
cleanly (exit 3), a second one leaves at once (exit 130), and neither prints a traceback."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import time
from pathlib import Path

from ask_panel.cli.exit_codes import ExitCode
from tests.client.cli import EXECUTABLE, cli_env, json_lines
from tests.client.test_cli import EXPERTS, QUESTION, event_names, read_until_someone_spoke


def start_local_ask(tmp_path: Path, *, terminal: int | None = None) -> subprocess.Popen[str]:
    """`ask --local --json`; with `terminal` (a pty), its standard input and error are that terminal."""
    env = cli_env(
        ASK_PANEL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'local.db'}",
        ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="40",  # slow enough that the panel is still running at Ctrl-C
    )
    return subprocess.Popen(
        [EXECUTABLE, "ask", QUESTION, "--experts", EXPERTS, "--rounds", "6", "--json", "--local"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if terminal is None else terminal,
        stdin=subprocess.DEVNULL if terminal is None else terminal,
        text=True,
        env=env,
    )


def test_ctrl_c_cancels_a_local_panel_cleanly(tmp_path: Path) -> None:
    process = start_local_ask(tmp_path)
    seen = read_until_someone_spoke(process)
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    events = seen + json_lines(rest)

    assert process.returncode == ExitCode.PANEL_CANCELLED, errors
    assert "Traceback" not in errors and "error" not in errors.lower(), errors
    assert events[-1]["event"] == "panel_cancelled"
    assert "panel_complete" not in event_names(events)


def read_all(fd: int) -> str:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_a_second_ctrl_c_at_the_question_leaves_a_local_panel_without_a_traceback(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    process = start_local_ask(tmp_path, terminal=terminal)
    os.close(terminal)
    try:
        read_until_someone_spoke(process)
        process.send_signal(signal.SIGINT)  # in a terminal: asks whether to cancel; the panel goes on meanwhile
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)  # leaves without cancelling
        process.communicate(timeout=60)
        errors = read_all(controller)
    finally:
        os.close(controller)

    assert "Cancel panel" in errors
    assert process.returncode == ExitCode.INTERRUPTED, errors
    assert "Traceback" not in errors and "unhandled error" not in errors, errors
    assert "it ran in this process, so it stops here" in " ".join(errors.split())
