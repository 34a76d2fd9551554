"""The API's documentation pages work offline: Swagger UI at /docs and ReDoc at /redoc render every
operation in Chromium with no request leaving the service (their assets are served by it)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route

from tests.e2e.browser.conftest import WebServer, screenshot

pytestmark = pytest.mark.slow  # a real server process and a browser


class OfflinePage:
    """A page whose every request to another host is recorded and refused, as on a machine without internet."""

    def __init__(self, browser: Browser, server: WebServer) -> None:
        self.host = urlsplit(server.base_url).netloc
        self.context = browser.new_context(viewport={"width": 1366, "height": 900})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.blocked: list[str] = []  # what the page's Content-Security-Policy kept it from loading
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.blocked.append(message.text)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith("data:") or urlsplit(url).netloc == self.host:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


@pytest.fixture
def offline(browser: Browser, web_server: WebServer) -> Iterator[OfflinePage]:
    page = OfflinePage(browser, web_server)
    yield page
    page.context.close()


def test_swagger_ui_renders_every_operation_offline(offline: OfflinePage, web_server: WebServer) -> None:
    page = offline.page
    page.goto(f"{web_server.base_url}/docs")
    page.locator(".opblock").first.wait_for()
    with web_server.client() as client:
        spec = client.get("/openapi.json").json()
    methods = ("get", "post", "put", "patch", "delete")
    documented = sum(len([m for m in item if m in methods]) for item in spec["paths"].values())
    assert page.locator(".opblock").count() == documented
    assert page.get_by_text("/api/v1/panels/{panel_id}/stream").count() >= 2
    page.get_by_role("button", name="Authorize").wait_for()  # the bearer security scheme
    screenshot(page, "api-docs-swagger")
    assert offline.outside == [] and offline.errors == [] and offline.blocked == []


def test_redoc_renders_the_operations_and_the_event_schemas_offline(
    offline: OfflinePage, web_server: WebServer
) -> None:
    page = offline.page
    page.goto(f"{web_server.base_url}/redoc")
    page.get_by_role("heading", name="Create Panel").wait_for()
    page.get_by_role("heading", name="Watch a panel").wait_for()
    page.get_by_role("heading", name="WebSocket /api/v1/panels/{panel_id}/ws").wait_for()
    screenshot(page, "api-docs-redoc")
    assert offline.outside == [] and offline.errors == []
    # ReDoc's bundle asks for its attribution logo on a CDN; the page's policy keeps it from being requested.
    assert all("cdn.redoc.ly" in line for line in offline.blocked), offline.blocked
