"""While the process drains (after SIGTERM): new panels get 503 with Retry-After, and readiness fails."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from ask_panel.api.errors import problem
from ask_panel.application.drain import Drain

# Creating a panel, executing one, and start-and-stream (which executes a draft).
NEW_PANEL_WORK = re.compile(r"^/api/v1/panels(/[^/]+/(execute|stream))?/?$")


class DrainMiddleware:
    """Refuses new panel work while draining (everything else is served as usual until the process stops)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._draining(scope):
            path = scope["path"]
            if path == "/readyz":
                refused = problem(503, "draining", "Draining", "This server is shutting down.")
                await refused(scope, receive, send)
                return
            if scope["method"] == "POST" and NEW_PANEL_WORK.match(path):
                refused = problem(
                    503, "draining", "Draining", "This server is shutting down and takes no new panels; retry."
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _draining(scope: Scope) -> bool:
        container = getattr(scope["app"].state, "container", None)
        return container is not None and container.drain.active


def drain_then(drain: Drain, stop: Callable[[], object]) -> None:
    """Begin draining (in the event loop) and call `stop` once the drain is over."""
    drain.begin().add_done_callback(lambda _task: stop())
