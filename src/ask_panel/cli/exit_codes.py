"""The exit codes of `ask-panel`, one meaning each, for scripts to rely on."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a finished `ask-panel` command tells the shell (also listed in the README)."""

    OK = 0
    """The command succeeded; for `ask` and `panels watch`, the panel completed."""
    PANEL_FAILED = 1
    """The panel ended with a terminal `error`."""
    USAGE = 2
    """Bad arguments or options, a missing setting, or a missing `server` extra."""
    PANEL_CANCELLED = 3
    """The panel was cancelled (by Ctrl-C here, or by anyone else)."""
    REFUSED = 4
    """The service answered with a problem (4xx/5xx): not found, conflict, invalid input, auth, ..."""
    UNREACHABLE = 5
    """The service could not be reached, or a stream could not be resumed."""
    INTERRUPTED = 130
    """Interrupted without cancelling: a second Ctrl-C left the panel (it goes on in the service; with
    `--local` it stops with the command, unfinished), or Ctrl-C came before there was a panel to cancel."""
