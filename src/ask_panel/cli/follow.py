"""Follow a panel's stream to its end, and what Ctrl-C does meanwhile: cancel the panel, asking first in a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Protocol

from rich.console import Console

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.client import AsyncAskPanel, Conflict, Event, EventType
from ask_panel.client.models import PanelStatus


class View(Protocol):
    def show(self, event: Event) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


def outcome(last: Event | None) -> ExitCode:
    """The exit code a panel's terminal event means."""
    if last is None:
        return ExitCode.UNREACHABLE
    if last.type is EventType.PANEL_COMPLETE:
        return ExitCode.OK
    if last.type is EventType.PANEL_CANCELLED:
        return ExitCode.PANEL_CANCELLED
    return ExitCode.PANEL_FAILED


ENDED_WITH = {
    PanelStatus.COMPLETED: ExitCode.OK,
    PanelStatus.FAILED: ExitCode.PANEL_FAILED,
    PanelStatus.CANCELLED: ExitCode.PANEL_CANCELLED,
}


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


class Follower:
    """Shows a panel's events until its terminal one. The first Ctrl-C cancels the panel (after a yes in a
    terminal); a second one leaves without cancelling."""

    def __init__(
        self,
        client: AsyncAskPanel,
        view: View,
        prompts: Console,
        *,
        ask_first: bool,
        cancels: bool = True,
        runs_here: bool = False,
    ) -> None:
        self.client = client
        self.runs_here = runs_here  # `ask --local`: the panel runs in this process and stops with it
        self.cancels = cancels
        self.view = view
        self.prompts = prompts
        self.ask_first = ask_first
        self.last: Event | None = None
        self._interrupts: asyncio.Queue[None] = asyncio.Queue()

    async def follow(self, panel_id: str, *, start: bool, tokens: bool, since: int = 0) -> ExitCode:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupts.put_nowait, None)
        watching = asyncio.create_task(self._watch(panel_id, start=start, tokens=tokens, since=since))
        try:
            while True:
                interrupted = asyncio.create_task(self._interrupts.get())
                done, _ = await asyncio.wait({watching, interrupted}, return_when=asyncio.FIRST_COMPLETED)
                if watching in done:
                    interrupted.cancel()
                    watching.result()
                    return await self._ended(panel_id)
                if not self.cancels:
                    raise _LeaveWithoutCancelling
                if not await self._confirm_cancel(panel_id):
                    continue
                with contextlib.suppress(Conflict):  # it ended meanwhile: its own terminal event tells how
                    await self.client.cancel(panel_id)
                self.prompts.print(f"[yellow]cancelling panel {panel_id}…[/]")
                await self._finish(watching)
                return outcome(self.last)
        except _LeaveWithoutCancelling:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            self.prompts.print(f"\n{self._left(panel_id)}")
            return ExitCode.INTERRUPTED
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    async def _ended(self, panel_id: str) -> ExitCode:
        """The exit code of a stream that has ended: its terminal event's, or (a panel that had ended before
        `since`, so nothing new came) the panel's own status."""
        if self.last is not None and self.last.terminal:
            return outcome(self.last)
        status = (await self.client.get(panel_id)).status
        return ENDED_WITH.get(status, ExitCode.UNREACHABLE)

    def _left(self, panel_id: str) -> str:
        if self.runs_here:
            return (
                f"left panel {panel_id} unfinished: it ran in this process, so it stops here; `ask-panel serve` "
                f"on the same store resumes it (or: ask-panel panels cancel {panel_id} --local)"
            )
        return f"left panel {panel_id} running; watch it with: ask-panel panels watch {panel_id}"

    async def _watch(self, panel_id: str, *, start: bool, tokens: bool, since: int) -> None:
        async for event in self.client.stream(panel_id, start=start, tokens=tokens, last_event_id=since):
            if event.id is not None:
                self.last = event
            self.view.show(event)

    async def _finish(self, watching: asyncio.Task[None]) -> None:
        """Wait for the stream's terminal event (`panel_cancelled`); another Ctrl-C leaves at once."""
        interrupted = asyncio.create_task(self._interrupts.get())
        done, _ = await asyncio.wait({watching, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        if watching not in done:
            raise _LeaveWithoutCancelling
        interrupted.cancel()
        watching.result()

    async def _confirm_cancel(self, panel_id: str) -> bool:
        if not self.ask_first:
            return True
        self.view.pause()
        try:
            self.prompts.print(f"\nCancel panel {panel_id}? \\[y/N] (Ctrl-C again leaves it running) ", end="")
            answer = asyncio.create_task(_read_line())
            interrupted = asyncio.create_task(self._interrupts.get())
            done, _ = await asyncio.wait({answer, interrupted}, return_when=asyncio.FIRST_COMPLETED)
            if interrupted in done:
                answer.cancel()
                raise _LeaveWithoutCancelling
            interrupted.cancel()
            return answer.result().strip().lower() in ("y", "yes")
        finally:
            self.view.resume()


class _LeaveWithoutCancelling(Exception):
    pass


async def _read_line() -> str:
    """One line from standard input without blocking the event loop (or a thread that would outlive it)."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()
    fd = sys.stdin.fileno()

    def readable() -> None:
        if not line.done():
            line.set_result(sys.stdin.readline())

    loop.add_reader(fd, readable)
    try:
        return await line
    finally:
        loop.remove_reader(fd)
