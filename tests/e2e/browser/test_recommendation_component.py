"""The web app's outcome card (`js/components/recommendation.js`) run in Chromium: a degraded panel says
so, and names each step that fell back with its reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.browser.conftest import WebServer
from tests.e2e.browser.test_stream_module import module_path

pytestmark = pytest.mark.slow  # a real server process and a browser

OpenPage = Callable[..., Page]
FRAME_REASON = "no readable answer after a repair call (no JSON object in the answer): a neutral option set was used"

RENDER = """
async ({ path, outcome }) => {
  const { recommendationCard } = await import(path);
  const card = recommendationCard(outcome);
  const note = card.querySelector('.degraded');
  return {
    note: note ? note.textContent : null,
    role: note ? note.getAttribute('role') : null,
    steps: [...card.querySelectorAll('.fallbacks li')].map((li) => li.textContent),
    codes: [...card.querySelectorAll('.fallbacks li code')].map((c) => c.textContent),
  };
}
"""


@pytest.fixture
def page(web_server: WebServer, open_page: OpenPage) -> Page:
    return open_page(f"{web_server.base_url}/")


def render(page: Page, **recommendation: Any) -> dict[str, Any]:
    outcome = {
        "recommendation": {
            "recommendation": "Go ahead as proposed.",
            "rationale": "Tallied.",
            "agreement_points": [],
            "dissent": [],
            "decided_by": "moderator",
            "verdict": None,
            **recommendation,
        },
        "consensus": 0.5,
        "confidence": 0.4,
        "duration": 3.0,
    }
    path = module_path(page, "components/recommendation.js")
    result: dict[str, Any] = page.evaluate(RENDER, {"path": path, "outcome": outcome})
    return result


def test_a_degraded_outcome_lists_the_steps_that_fell_back_and_why(page: Page) -> None:
    shown = render(
        page,
        degraded=True,
        fallbacks=[
            {"step": "frame", "reason": FRAME_REASON},
            {"step": "synthesis", "reason": "the experts' final positions were tallied instead"},
        ],
    )
    assert shown["role"] == "note" and "Degraded result." in shown["note"]
    assert "these steps fell back" in shown["note"]
    assert shown["codes"] == ["frame", "synthesis"]
    assert shown["steps"] == [f"frame: {FRAME_REASON}", "synthesis: the experts' final positions were tallied instead"]


def test_a_degraded_outcome_without_fallbacks_blames_a_silent_expert(page: Page) -> None:
    shown = render(page, degraded=True, fallbacks=[])
    assert shown["note"] is not None and "At least one expert stayed silent or failed" in shown["note"]
    assert shown["steps"] == []


def test_an_outcome_that_is_not_degraded_has_no_note(page: Page) -> None:
    shown = render(page, degraded=False, fallbacks=[])
    assert shown["note"] is None and shown["steps"] == []
