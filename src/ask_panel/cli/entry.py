"""The `ask-panel` executable: a Ctrl-C while the command's modules load exits quietly (130), then `main` runs."""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _leave(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(130)  # no traceback: nothing has started yet


def main() -> int:
    previous = signal.signal(signal.SIGINT, _leave)
    try:
        from ask_panel.cli.main import main as run_command
    finally:
        signal.signal(signal.SIGINT, previous)
    return run_command()


if __name__ == "__main__":
    sys.exit(main())
