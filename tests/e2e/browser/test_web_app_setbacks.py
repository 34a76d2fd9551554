"""The web app when things go wrong, and the ask form's settings per panel type, as a person sees them.

A panel that fails says that it has no recommendation and why, shows no promise of a discussion to come, and
offers to ask the same question again; a list that cannot be loaded says so and tries again; the form offers
only the settings that act on the chosen panel type; a phone's header fits its screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, Route, expect

from tests.conftest import new_tenant
from tests.e2e.browser.conftest import PHONE, WebServer, require_browser, screenshot, sign_in_locally, start_server
from tests.e2e.browser.test_web_app import QUESTION, ask, wait_for_status

pytestmark = pytest.mark.slow  # a real server process and a browser

OpenPage = Callable[..., Page]


@pytest.fixture(scope="module")
def failing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`ask-panel serve` whose simulated model refuses every call, with no retry: every panel fails."""
    require_browser()
    server = start_server(
        tmp_path_factory.mktemp("web-failing"),
        ASK_PANEL_SIMULATED_FAULT_RATE="1",
        ASK_PANEL_LLM_MAX_ATTEMPTS="1",
    )
    yield server
    server.process.stop()


def test_a_failed_panel_says_it_has_no_recommendation_and_offers_to_ask_again(
    failing_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{failing_server.base_url}/")
    sign_in_locally(page, new_tenant())
    ask(page, panel_type="Socratic", rounds=2)

    wait_for_status(page, "failed")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The panel stopped with an error and has no recommendation.")
    expect(alert).to_contain_text("Reason: simulated rate limit (429)")
    expect(page.locator(".round-text")).to_have_text("Failed before the first round")
    # Nothing promises a discussion or a measurement that will never come, and there is nothing to replay.
    expect(page.locator(".transcript")).to_have_text("No one spoke before the panel ended.")
    expect(page.locator(".chart-empty")).to_have_text("No round was measured.")
    expect(page.get_by_role("button", name="Replay discussion")).to_be_hidden()
    screenshot(page, "panel-failed-laptop")

    alert.get_by_role("link", name="Ask the same question again").click()
    expect(page.get_by_role("heading", name="Ask a panel")).to_be_visible()
    expect(page.get_by_label("Your question")).to_have_value(QUESTION)
    expect(page.get_by_role("radio", name=re.compile("^Socratic"))).to_be_checked()
    expect(page.get_by_label("Rounds", exact=True)).to_have_value("2")


def test_when_the_panels_cannot_be_loaded_the_page_says_so_and_tries_again(
    web_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{web_server.base_url}/")
    sign_in_locally(page, new_tenant())
    service_down = [True]

    def panel_list(route: Route) -> None:
        if service_down[0]:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route(re.compile(r".*/api/v1/panels\?.*"), panel_list)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Panels").click()

    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        re.compile(r"Your panels could not be loaded\. The service could not be reached\. Check your connection")
    )
    expect(page.locator(".panel-table")).to_be_hidden()  # no empty table under the error

    service_down[0] = False
    alert.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator(".panel-table")).to_contain_text("No panels yet.")


def test_the_ask_form_offers_only_the_settings_that_act_on_the_panel_type(
    web_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{web_server.base_url}/")
    sign_in_locally(page, new_tenant())
    rounds = page.get_by_label("Rounds", exact=True)
    threshold = page.get_by_label("Consensus threshold (%)")
    expect(threshold).to_be_visible()
    rounds_box, threshold_box = rounds.bounding_box(), threshold.bounding_box()
    assert rounds_box and threshold_box and rounds_box["y"] == threshold_box["y"], "the two inputs are not in line"

    # A debate runs every round and a Delphi panel stops on settled estimates: the threshold would do nothing.
    page.get_by_role("radio", name=re.compile("^Adversarial")).check()
    expect(threshold).to_be_hidden()
    debate_note = "A debate runs every round, whatever the agreement; then the judge decides."
    expect(page.get_by_text(debate_note)).to_be_visible()
    page.get_by_label("Your question").fill(QUESTION)
    rounds.fill("1")
    page.get_by_role("button", name="Convene the panel").click()
    expect(page.get_by_role("alert")).to_contain_text("A debate has from 2 to 10 rounds.")

    page.get_by_role("radio", name=re.compile("^Delphi")).check()
    expect(threshold).to_be_hidden()
    expect(page.get_by_text("A Delphi panel stops early once the estimates stop moving")).to_be_visible()
    page.get_by_role("radio", name=re.compile("^Structured")).check()
    expect(threshold).to_be_visible()


def test_on_a_phone_the_header_fits_the_screen(web_server: WebServer, open_page: OpenPage) -> None:
    page = open_page(f"{web_server.base_url}/#/history", viewport=PHONE)
    sign_in_locally(page, new_tenant())
    expect(page.get_by_role("heading", name="Your panels")).to_be_visible()
    switch = page.get_by_role("button", name="Switch tenant")
    box = switch.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"], "the button runs off the screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tenant = page.locator(".account-tenant").bounding_box()
    assert tenant and tenant["height"] < 30, "the tenant wraps onto several lines"


def test_when_the_service_cannot_be_reached_at_first_the_page_offers_only_what_works(
    web_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page("about:blank")
    page.route("**/api/v1/meta", lambda route: route.abort("connectionrefused"))
    page.goto(f"{web_server.base_url}/")

    expect(page.get_by_role("heading", name="The service could not be reached")).to_be_visible()
    expect(page.get_by_text("Ask Panel\u2019s service did not answer.")).to_be_visible()
    # No links that would lead nowhere while there is no service.
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_count(0)

    page.unroute("**/api/v1/meta")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", name="Choose a workspace")).to_be_visible()


def test_a_panel_that_cannot_be_loaded_offers_to_try_again(web_server: WebServer, open_page: OpenPage) -> None:
    tenant = new_tenant()
    with web_server.client() as client:
        created = client.post(
            "/api/v1/panels",
            json={"query": QUESTION, "panel_type": "structured", "agent_ids": ["fda_expert"]},
            headers={"X-Tenant-ID": tenant},
        )
        assert created.status_code == 201, created.text
        panel_id = created.json()["panel_id"]
    page = open_page(f"{web_server.base_url}/")
    sign_in_locally(page, tenant)
    service_down = [True]

    def panel(route: Route) -> None:
        if service_down[0]:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route(re.compile(rf".*/api/v1/panels/{panel_id}$"), panel)
    page.goto(f"{web_server.base_url}/#/panels/{panel_id}")
    expect(page.get_by_role("heading", name="The panel could not be loaded")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(
        "The service could not be reached. Check your connection, then try again."
    )

    service_down[0] = False
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", name=QUESTION)).to_be_visible()
    expect(page.locator(".round-text")).to_have_text("Not started")
