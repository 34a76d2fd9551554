"""The web app as a person uses it: ask, watch live, read the outcome, cancel, lose the network, come back later.

Each test drives Debian's Chromium against a real `ask-panel serve` (simulated model, authentication off as
with `make run`) and checks what is on screen against what the service stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.conftest import new_tenant
from tests.e2e.browser.conftest import PHONE, WebServer, screenshot, sign_in_locally, stored_event_ids
from tests.e2e.browser.proxy import CuttableProxy

pytestmark = pytest.mark.slow  # a real server process and a browser

QUESTION = (
    "What is the fastest defensible US pathway for our wearable ECG patch, and what evidence will the FDA expect?"
)
OpenPage = Callable[..., Page]


def panel_id_of(page: Page) -> str:
    page.wait_for_url(re.compile(r"#/panels/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1]


def transcript_ids(page: Page) -> list[int]:
    """Event ids of the stored turns on screen, in page order."""
    ids: list[str] = page.locator(".transcript [data-event-id]").evaluate_all(
        "items => items.map(item => item.dataset.eventId)"
    )
    return [int(i) for i in ids]


def ask(page: Page, *, panel_type: str, rounds: int, experts: list[str] | None = None, **fields: str) -> str:
    """Fill the ask form as a person does and convene the panel; returns the new panel's id."""
    page.get_by_label("Your question").fill(fields.get("question", QUESTION))
    page.get_by_role("radio", name=re.compile(f"^{panel_type}")).check()
    if experts:
        page.get_by_label("I will pick").check()
        for name in experts:
            page.get_by_label("Filter experts").fill(name)
            page.get_by_role("checkbox", name=re.compile(re.escape(name))).check()
        page.get_by_label("Filter experts").fill("")
    page.get_by_label("Rounds", exact=True).fill(str(rounds))
    if "threshold" in fields:
        page.get_by_label("Consensus threshold (%)").fill(fields["threshold"])
    if "proposition" in fields:
        page.get_by_label("Proposition to debate").fill(fields["proposition"])
    page.get_by_role("button", name="Convene the panel").click()
    return panel_id_of(page)


def pin_seed(page: Page, seed: int) -> None:
    """The panels this page creates get `seed`: the form has no seed, and a panel's course (how many rounds
    it runs before its experts agree) follows its seed, so a test that needs the panel running pins it."""

    def with_seed(route: Route) -> None:
        body = route.request.post_data_json if route.request.method == "POST" else None
        if not isinstance(body, dict):
            route.continue_()
            return
        body["configuration"] = {**body.get("configuration", {}), "seed": seed}
        route.continue_(post_data=json.dumps(body))

    page.route(re.compile(r".*/api/v1/panels$"), with_seed)


def rounds_of(server: WebServer, panel_id: str, tenant: str) -> int:
    with server.client() as client:
        panel = client.get(f"/api/v1/panels/{panel_id}", headers={"X-Tenant-ID": tenant}).json()
    return len(panel["discussions"])


def wait_for_status(page: Page, status: str) -> None:
    page.locator(f".panel-page[data-status={status}]").wait_for()


def test_a_person_asks_a_structured_panel_and_watches_it_reach_a_recommendation(
    web_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{web_server.base_url}/")
    expect(page.get_by_role("heading", name="Choose a workspace")).to_be_visible()
    sign_in_locally(page)
    screenshot(page, "ask-form-laptop")

    panel_id = ask(page, panel_type="Structured", rounds=2)

    # While it runs: a turn appears as it is written, with its progress.
    page.locator(".message.draft").first.wait_for()
    expect(page.locator(".round-text")).to_have_text(re.compile(r"Round \d of 2"))
    expect(page.locator(".connection")).to_have_text("Live")
    expect(page.get_by_role("button", name="Cancel panel")).to_be_visible()
    # The stored usage is not kept up to date while the panel runs: no "0 calls, 0 tokens", no raw id.
    details = page.locator(".details")
    expect(details).to_contain_text("Counted when the panel ends")
    expect(details).not_to_contain_text("Model calls")
    expect(details).not_to_contain_text(panel_id)
    screenshot(page, "panel-live-laptop")

    wait_for_status(page, "completed")
    expect(page.locator(".status-pill").first).to_have_text("Completed")
    outcome = page.locator(".outcome")
    expect(outcome.get_by_role("heading", name="Recommendation")).to_be_visible()
    expect(outcome.locator(".recommendation-text")).not_to_be_empty()
    expect(outcome.get_by_role("heading", name="Rationale")).to_be_visible()
    expect(outcome.get_by_role("heading", name="Dissent")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel panel")).to_be_hidden()
    expect(page.locator(".connection")).to_be_hidden()  # nothing more to receive: no "Stream ended" jargon
    expect(details).to_contain_text("Model calls")
    expect(details).not_to_contain_text("Counted when the panel ends")

    # Every stored turn is on screen once, and nothing else; the chart has one point per measurement.
    stored = stored_event_ids(web_server, panel_id, "expert_speaking")
    shown = transcript_ids(page)
    # In the log's order: experts who speak at once finish in another order than they start, and the page
    # shows them as reopening the panel does.
    assert shown == stored
    assert page.locator(".message.draft").count() == 0
    measurements = stored_event_ids(web_server, panel_id, "consensus_update")
    assert page.locator(".series-level circle").count() == len(measurements) >= 1
    assert page.locator(".round-title").count() == len(measurements)
    screenshot(page, "panel-complete-laptop")


def test_a_person_picks_experts_for_an_adversarial_panel_and_reads_the_verdict_on_a_phone(
    web_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{web_server.base_url}/", viewport=PHONE)
    tenant = new_tenant()
    sign_in_locally(page, tenant)
    proposition = "The company should file a De Novo request rather than a 510(k)."
    panel_id = ask(
        page,
        panel_type="Adversarial",
        rounds=2,
        experts=["Dr. Maya Chen", "Dr. Klaus Weber"],
        proposition=proposition,
    )

    wait_for_status(page, "completed")
    members = page.locator(".member-list .speaker-name").all_inner_texts()
    assert sorted(members) == ["Dr. Klaus Weber", "Dr. Maya Chen"]
    verdict = page.locator(".verdict")
    expect(verdict).to_contain_text(proposition)
    expect(verdict).to_contain_text(re.compile(r"Stronger case: (for|against) the proposition|neither side"))
    # A debate's length does not depend on agreement: no threshold is drawn or listed.
    expect(page.locator(".legend-threshold")).to_have_count(0)
    expect(page.locator(".details")).not_to_contain_text("Stops early at")
    expect(verdict).to_contain_text("Dr. Maya Chen")
    # Each debater's side is next to their name in the panel's list.
    sides = page.locator(".member-list .side-tag").all_inner_texts()
    assert sorted(side.strip(" ·") for side in sides) == ["argues against", "argues for"]
    assert sorted(transcript_ids(page)) == stored_event_ids(web_server, panel_id, "expert_speaking", tenant)
    # Nothing is wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "panel-adversarial-phone")


def test_a_person_cancels_a_running_panel(web_server: WebServer, open_page: OpenPage) -> None:
    page = open_page(f"{web_server.base_url}/")
    sign_in_locally(page, new_tenant())
    pin_seed(page, 6)  # this panel runs its 3 rounds (a third of seeds agree after round 1): it is still running
    panel_id = ask(page, panel_type="Open", rounds=3)
    page.locator(".message.draft").first.wait_for()

    page.get_by_role("button", name="Cancel panel").click()

    wait_for_status(page, "cancelled")
    # The person's own decision is reported as a fact, not as an error, with a way to ask again.
    notice = page.locator(".notice")
    expect(notice).to_contain_text(re.compile(r"This panel was cancelled in round \d, so it has no recommendation\."))
    expect(notice.get_by_role("link", name="Ask the same question again")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel panel")).to_be_hidden()
    expect(page.locator(".connection")).to_be_hidden()
    with web_server.client() as client:
        stored = client.get(f"/api/v1/panels/{panel_id}", headers={"X-Tenant-ID": tenant_of(page)}).json()
    assert stored["status"] == "cancelled"
    screenshot(page, "panel-cancelled-laptop")


def tenant_of(page: Page) -> str:
    tenant: str = page.evaluate("JSON.parse(localStorage.getItem('ask-panel.session')).tenantId")
    return tenant


@pytest.fixture
def proxy(web_server: WebServer) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(web_server.port)
    yield proxy
    proxy.stop()


@pytest.mark.parametrize("transport", ["fetch", "eventsource"])
def test_after_a_dropped_connection_the_transcript_resumes_with_no_message_twice_and_none_missing(
    web_server: WebServer, open_page: OpenPage, proxy: CuttableProxy, transport: str
) -> None:
    page = open_page(f"{proxy.url}/?transport={transport}")
    tickets: list[str] = []
    page.on("request", lambda r: tickets.append(r.url) if r.url.endswith("/stream-ticket") else None)
    tenant = new_tenant()
    sign_in_locally(page, tenant)
    assert page.evaluate("document.documentElement.dataset.transport") == transport
    # A threshold of 100% and a pinned seed keep the panel going for all its rounds (14 in 100 seeds agree
    # unanimously after round 1, 9 after round 2): events arrive while the network is down.
    pin_seed(page, 0)
    panel_id = ask(
        page, panel_type="Structured", rounds=3, experts=["Dr. Maya Chen", "Dr. Samuel Okafor"], threshold="100"
    )
    page.locator(".transcript [data-event-id]").first.wait_for()

    # The network drops, and stays down while the panel goes on.
    proxy.hold()
    assert proxy.cut() > 0
    page.locator(".panel-page[data-connection=reconnecting]").wait_for()
    seen_before = max(transcript_ids(page))
    with web_server.client() as client:
        for _ in range(600):
            stored = client.get(f"/api/v1/panels/{panel_id}", headers={"X-Tenant-ID": tenant}).json()
            if stored["last_event_id"] >= seen_before + 3 or stored["status"] == "completed":
                break
            page.wait_for_timeout(100)  # the server is producing events; nothing to await from here
    proxy.release()

    wait_for_status(page, "completed")
    assert rounds_of(web_server, panel_id, tenant) == 3, "this seed no longer runs all three rounds"
    assert int(page.locator(".panel-page").get_attribute("data-reconnects") or 0) >= 1
    shown = transcript_ids(page)
    assert len(shown) == len(set(shown)), f"a message is shown twice: {shown}"
    assert sorted(shown) == stored_event_ids(web_server, panel_id, "expert_speaking", tenant)
    assert max(shown) > seen_before, "nothing arrived after the reconnect"
    points = page.locator(".series-level circle").count()
    assert points == len(stored_event_ids(web_server, panel_id, "consensus_update", tenant))
    if transport == "eventsource":
        # The browser's own reconnect resumed the stream with the same ticket: one was ever minted.
        assert len(tickets) == 1, tickets


def test_history_filters_panels_and_opens_one_to_read_replay_or_start(
    web_server: WebServer, open_page: OpenPage
) -> None:
    tenant = new_tenant()
    headers = {"X-Tenant-ID": tenant}
    with web_server.client() as client:

        def create(**body: Any) -> str:
            base = {
                "query": QUESTION,
                "agent_ids": ["fda_expert", "clinical_expert"],
                "configuration": {"max_rounds": 1},
            }
            response = client.post("/api/v1/panels", json={**base, **body}, headers=headers)
            assert response.status_code == 201, response.text
            panel_id: str = response.json()["panel_id"]
            return panel_id

        finished = create(panel_type="delphi", query="How many months will CE marking under the MDR take?")
        with client.stream("POST", f"/api/v1/panels/{finished}/stream", headers=headers) as response:
            for _ in response.iter_lines():
                pass
        draft = create(panel_type="structured", query="Should we ask for a Pre-Submission meeting first?")

    page = open_page(f"{web_server.base_url}/#/history")
    sign_in_locally(page, tenant)  # then back where the person was going
    expect(page.get_by_role("heading", name="Your panels")).to_be_visible()
    rows = page.locator(".panel-table tbody tr[data-panel-id]")
    expect(rows).to_have_count(2)
    screenshot(page, "history-laptop")

    page.get_by_label("Status").select_option("completed")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CE marking")
    page.get_by_label("Panel type").select_option("structured")
    expect(page.get_by_text("No panels match.")).to_be_visible()
    # Not "No panels yet": the person has panels, just none that match.
    expect(page.locator(".panel-table")).to_contain_text("None of your panels match these filters.")
    page.get_by_role("link", name="Show all panels.").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_label("Status")).to_have_value("")
    page.get_by_label("Status").select_option("completed")
    page.get_by_label("Panel type").select_option("structured")
    page.get_by_label("Status").select_option("")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Pre-Submission")
    page.get_by_label("Panel type").select_option("")

    # Read a finished panel: everything from the log, then replay it.
    page.get_by_role("link", name="How many months will CE marking").click()
    wait_for_status(page, "completed")
    expect(page.locator(".connection")).to_be_hidden()
    # A Delphi panel's answer is a number in its unit.
    expect(page.locator(".outcome-figures")).to_contain_text(re.compile(r"Estimate\s*\d+(\.\d)? months"))
    expect(page.locator(".round-summary").first).to_contain_text(re.compile(r"median estimate \d+(\.\d)? months"))
    stored = stored_event_ids(web_server, finished, "expert_speaking", tenant)
    assert sorted(transcript_ids(page)) == stored
    page.get_by_role("button", name="Replay discussion").click()
    expect(page.get_by_role("button", name="Show all")).to_be_focused()
    page.get_by_role("button", name="Show all").click()
    expect(page.get_by_role("button", name="Replay discussion")).to_be_visible()
    assert sorted(transcript_ids(page)) == stored
    expect(page.locator(".outcome")).to_be_visible()

    # A draft has not started: the person starts it from its page and watches it finish.
    page.go_back()
    page.get_by_role("link", name="Should we ask for a Pre-Submission meeting first?").click()
    expect(page.locator(".round-text")).to_have_text("Not started")
    page.get_by_role("button", name="Start panel").click()
    wait_for_status(page, "completed")
    assert sorted(transcript_ids(page)) == stored_event_ids(web_server, draft, "expert_speaking", tenant)


def test_the_ask_form_works_from_the_keyboard_alone(web_server: WebServer, open_page: OpenPage) -> None:
    page = open_page(f"{web_server.base_url}/")
    page.get_by_label("Tenant id").wait_for()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Ask Panel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Tenant id")).to_be_focused()
    page.keyboard.press("Enter")  # submits the sign-in form
    heading = page.get_by_role("heading", name="Ask a panel")
    expect(heading).to_be_focused()

    page.keyboard.press("Tab")
    expect(page.get_by_label("Your question")).to_be_focused()
    page.keyboard.type("Which notified body should we choose for a class IIb device?")
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name=re.compile("^Structured"))).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name=re.compile("^Open"))).to_be_checked()
    outline = page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle")
    assert outline != "none", "the focused choice shows no focus ring"
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name=re.compile("^Choose for me"))).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Rounds", exact=True)).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Convene the panel")).to_be_focused()
    page.keyboard.press("Enter")

    panel_id_of(page)
    expect(page.locator(".panel-query")).to_be_focused()
    expect(page.locator(".eyebrow")).to_contain_text("Open panel")
    wait_for_status(page, "completed")


def test_every_form_control_has_a_label_and_mistakes_are_explained(web_server: WebServer, open_page: OpenPage) -> None:
    page = open_page(f"{web_server.base_url}/")
    sign_in_locally(page, new_tenant())
    page.get_by_label("I will pick").check()
    page.locator(".expert-option").first.wait_for()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
            .map(el => el.outerHTML)"""
    )
    assert unlabelled == []

    page.get_by_label("Rounds", exact=True).fill("12")
    page.get_by_role("button", name="Convene the panel").click()
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Write the question for the panel.")
    expect(summary).to_contain_text("Pick at least 1 expert")
    expect(summary).to_contain_text("Rounds must be a whole number from 1 to 10.")
    expect(page.get_by_label("Your question")).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link", name="Write the question for the panel.").click()
    expect(page.get_by_label("Your question")).to_be_focused()

    # The list follows the corrections, without taking the focus from where the person types.
    page.get_by_label("Your question").press_sequentially("Which notified body?")
    expect(summary).not_to_contain_text("Write the question for the panel.")
    expect(summary).to_contain_text("Rounds must be a whole number from 1 to 10.")
    expect(page.get_by_label("Your question")).to_be_focused()
    expect(page.get_by_label("Your question")).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("Rounds", exact=True).fill("2")
    page.get_by_label("Choose for me").check()
    expect(page.locator(".error-summary")).to_be_hidden()


def test_a_panel_that_ends_while_the_network_drops_still_shows_its_usage(
    web_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{web_server.base_url}/")
    sign_in_locally(page)
    reads: list[str] = []

    def flaky_reads(route: Route) -> None:
        """The panel's own record: read on opening, then after the end; the first two reads after it fail."""
        reads.append(route.request.url)
        if len(reads) in (2, 3):
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r".*/api/v1/panels/[0-9a-f-]{36}$"), flaky_reads)
    ask(page, panel_type="Structured", rounds=1)
    wait_for_status(page, "completed")
    calls = page.locator(".panel-page dt", has_text="Model calls").locator("xpath=following-sibling::dd")
    expect(calls).not_to_have_text("0")
    assert len(reads) >= 4, reads  # the refresh was retried after the failures
