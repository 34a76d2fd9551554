"""Browser fixtures: a real `ask-panel serve` on 127.0.0.1, Debian's headless Chromium driven by Playwright.

Without /usr/bin/chromium or the playwright package these tests are skipped with the reason, except
under CI=true, where that is a failure. Screenshots go to `.artifacts/web/` (ignored by git).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import pytest

from tests.conftest import JWT_SECRET, TENANT_A
from tests.integration.processes import ServiceProcess, free_port, service_env, wait_until_healthy

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / ".artifacts" / "web"
LAPTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Slow enough that a person (and a test) can act while a panel runs; each turn is about 200 tokens.
TOKEN_DELAY_MS = "12"
UI_TIMEOUT_MS = 60_000


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append("Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    return missing


def require_browser() -> None:
    missing = _missing()
    if not missing:
        return
    reason = "browser tests need " + " and ".join(missing)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@dataclass
class WebServer:
    base_url: str
    port: int
    process: ServiceProcess

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.base_url, timeout=30.0)


def start_server(tmp: Path, **env: str) -> WebServer:
    port = free_port()
    environment = service_env(
        f"sqlite+aiosqlite:///{tmp / 'ask_panel.db'}", ASK_PANEL_SIMULATED_TOKEN_DELAY_MS=TOKEN_DELAY_MS
    )
    environment.update(env)
    process = ServiceProcess(["serve", "--port", str(port)], environment, tmp / f"serve-{port}.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
    except BaseException:
        process.stop()
        raise
    return WebServer(base_url, port, process)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`ask-panel serve` with authentication off (as `make run` has it) and the simulated model."""
    require_browser()
    server = start_server(tmp_path_factory.mktemp("web"))
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def jwt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`ask-panel serve` checking HS256 bearer tokens."""
    require_browser()
    server = start_server(
        tmp_path_factory.mktemp("web-jwt"), ASK_PANEL_AUTH_MODE="jwt", ASK_PANEL_JWT_SECRET=JWT_SECRET
    )
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """open_page(url, viewport=LAPTOP): a fresh browser context (no stored session) on `url`.

    Uncaught script errors and console errors fail the test: a page that logs errors is broken.
    """
    contexts = []
    problems: list[str] = []

    def on_error(error: Error) -> None:
        problems.append(f"uncaught: {error}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    def opener(url: str, viewport: ViewportSize | None = None) -> Page:
        context = browser.new_context(viewport=viewport or LAPTOP)
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", on_error)
        page.on("console", on_console)
        page.goto(url)
        return page

    yield opener
    for context in contexts:
        context.close()
    unexpected = [p for p in problems if not _expected_console_error(p)]
    assert not unexpected, f"the page reported errors: {unexpected}"


def _expected_console_error(text: str) -> bool:
    """Network failures the browser itself logs while a test cuts connections or a request is refused."""
    return bool(re.search(r"net::ERR_|Failed to load resource|ERR_CONNECTION|ERR_EMPTY_RESPONSE|EventSource", text))


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_locally(page: Page, tenant: str = TENANT_A) -> None:
    """The local-mode sign-in: the tenant id, then Continue (the page then shows where the person was going)."""
    page.get_by_label("Tenant id").fill(tenant)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Choose a workspace").wait_for(state="detached")


def stored_event_ids(server: WebServer, panel_id: str, event_type: str, tenant: str = TENANT_A) -> list[int]:
    """Ids of the panel's stored events of one type, read from the log (a finished panel's stream replays it)."""
    ids: list[int] = []
    current: dict[str, Any] = {}
    with (
        server.client() as client,
        client.stream("GET", f"/api/v1/panels/{panel_id}/stream", headers={"X-Tenant-ID": tenant}) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line == "":
                if current.get("event") == event_type:
                    ids.append(current["id"])
                current = {}
    return ids
