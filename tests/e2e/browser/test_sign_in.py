"""Signing in to a service that checks bearer tokens: the tenant comes from the token's claims."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from ask_panel.infrastructure.auth import mint_jwt
from tests.conftest import JWT_SECRET, TENANT_A, TENANT_B
from tests.e2e.browser.conftest import WebServer, screenshot

pytestmark = pytest.mark.slow  # a real server process and a browser

OpenPage = Callable[..., Page]


def test_a_person_pastes_a_token_chooses_one_of_its_tenants_and_runs_a_panel(
    jwt_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{jwt_server.base_url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    token_field = page.get_by_label("Bearer token")

    # Typing is not an error; leaving the field with something that is not a token is, without a focus trap.
    token_field.press_sequentially("eyJhb")
    expect(page.get_by_text("This is not a JSON Web Token")).to_be_hidden()
    token_field.fill("not-a-token")
    token_field.press("Tab")
    expect(page.get_by_text("This is not a JSON Web Token")).to_be_visible()
    expect(token_field).not_to_be_focused()
    token_field.fill(mint_jwt("another-secret-0123456789-0123456789-abc", [TENANT_A]))
    page.get_by_role("button", name="Sign in").click()
    # The service's reason as a sentence, not an HTTP status word ("Unauthorized: ...").
    expect(page.locator("#token-error")).to_have_text(
        re.compile(r"^The service refused this token\. The token's signature does not match")
    )

    token_field.fill(mint_jwt(JWT_SECRET, [TENANT_A, TENANT_B]))
    tenant = page.get_by_label("Tenant", exact=True)
    expect(tenant.locator("option")).to_have_count(2)
    tenant.select_option(TENANT_B)
    screenshot(page, "sign-in-token-laptop")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Ask a panel")).to_be_visible()
    expect(page.locator(".account-tenant")).to_have_text(f"Tenant {TENANT_B[:8]}…")
    page.get_by_label("Your question").fill("Do we need a clinical investigation for the software update?")
    page.get_by_label("Rounds", exact=True).fill("1")
    page.get_by_role("button", name="Convene the panel").click()
    page.locator(".panel-page[data-status=completed]").wait_for()
    panel_id = page.url.rsplit("/", 1)[1]

    with jwt_server.client() as client:
        as_b = {"X-Tenant-ID": TENANT_B, "Authorization": f"Bearer {mint_jwt(JWT_SECRET, [TENANT_B])}"}
        as_a = {"X-Tenant-ID": TENANT_A, "Authorization": f"Bearer {mint_jwt(JWT_SECRET, [TENANT_A])}"}
        assert client.get(f"/api/v1/panels/{panel_id}", headers=as_b).json()["status"] == "completed"
        assert client.get(f"/api/v1/panels/{panel_id}", headers=as_a).status_code == 404


def test_a_token_the_service_no_longer_accepts_sends_the_person_back_to_sign_in_with_the_reason(
    jwt_server: WebServer, open_page: OpenPage
) -> None:
    page = open_page(f"{jwt_server.base_url}/")
    page.get_by_label("Bearer token").fill(mint_jwt(JWT_SECRET, [TENANT_A]))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Ask a panel")).to_be_visible()
    # The key was rotated: the token kept by this tab is no longer accepted.
    revoked = mint_jwt("rotated-secret-0123456789-0123456789-ab", [TENANT_A])
    page.evaluate(
        "([tenantId, token]) => sessionStorage.setItem('ask-panel.session', JSON.stringify({tenantId, token}))",
        [TENANT_A, revoked],
    )
    page.goto(f"{jwt_server.base_url}/#/history")
    page.reload()  # a new visit in this tab: the kept token is read again

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("You were signed out")
    page.get_by_label("Bearer token").fill(mint_jwt(JWT_SECRET, [TENANT_A]))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your panels")).to_be_visible()
