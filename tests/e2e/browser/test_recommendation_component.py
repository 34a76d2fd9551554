"""The web app's outcome card (`js/components/recommendation.js`) and transcript (`js/components/transcript.js`)
run in Chromium: an incomplete (degraded) panel says so in words, naming who did not answer and each step that
fell back with its reason; a Delphi estimate is shown in its unit; a verdict says whose confidence it gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.browser.conftest import WebServer
from tests.e2e.browser.test_stream_module import module_path

pytestmark = pytest.mark.slow  # a real server process and a browser

OpenPage = Callable[..., Page]
DASH, APOSTROPHE = "\u2013", "\u2019"  # the page's typography: an en dash, a typographic apostrophe
FRAME_REASON = "no readable answer after a repair call (no JSON object in the answer): a neutral option set was used"

RENDER = """
async ({ path, outcome, silent }) => {
  const { recommendationCard } = await import(path);
  const names = { fda_expert: 'Dr. Maya Chen', clinical_expert: 'Dr. Samuel Okafor' };
  const card = recommendationCard(outcome, (id) => names[id] || id, silent);
  const note = card.querySelector('.degraded');
  return {
    note: note ? note.textContent : null,
    role: note ? note.getAttribute('role') : null,
    steps: [...card.querySelectorAll('.fallbacks li')].map((li) => li.textContent),
    figures: Object.fromEntries(
      [...card.querySelectorAll('.outcome-figures div')].map((d) => [d.firstChild.textContent, d.lastChild.textContent])
    ),
    verdict: card.querySelector('.verdict')?.textContent ?? null,
    headings: [...card.querySelectorAll('h3')].map((h) => h.textContent),
  };
}
"""

EXPERT_ERROR = """
async ({ path }) => {
  const { Transcript } = await import(path);
  const transcript = new Transcript();
  transcript.setMembers([
    { agent_id: 'reimbursement_expert', agent_name: 'Laura Martinez', agent_role: 'Market access' },
  ]);
  transcript.expertError(7, {
    round: 1,
    agent_id: 'reimbursement_expert',
    message: 'Laura Martinez could not answer: simulated rate limit (429) (after 1 attempt)',
  });
  return { text: transcript.element.querySelector('.message-error').textContent, silent: transcript.silent };
}
"""


@pytest.fixture
def page(web_server: WebServer, open_page: OpenPage) -> Page:
    return open_page(f"{web_server.base_url}/")


def render(page: Page, silent: list[dict[str, Any]] | None = None, **recommendation: Any) -> dict[str, Any]:
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
    result: dict[str, Any] = page.evaluate(RENDER, {"path": path, "outcome": outcome, "silent": silent or []})
    return result


def test_a_degraded_outcome_lists_the_steps_that_fell_back_in_words_and_why(page: Page) -> None:
    shown = render(
        page,
        degraded=True,
        fallbacks=[
            {"step": "frame", "reason": FRAME_REASON},
            {"step": "r2:clinical_expert", "reason": "the answer was kept as written, without a position"},
            {"step": "synthesis", "reason": "the experts' final positions were tallied instead"},
        ],
    )
    assert shown["role"] == "note" and shown["note"].startswith("Incomplete panel.")
    assert "these steps used a fallback" in shown["note"]
    assert shown["steps"] == [
        f"Setting out the options {DASH} {FRAME_REASON}",
        f"Dr. Samuel Okafor{APOSTROPHE}s turn in round 2 {DASH} the answer was kept as written, without a position",
        f"The final synthesis {DASH} the experts' final positions were tallied instead",
    ]


def test_a_degraded_outcome_names_the_experts_who_did_not_answer(page: Page) -> None:
    silent = [{"name": "Laura Martinez", "round": 1}, {"name": "Nina Patel", "round": 2}]
    shown = render(page, silent=silent, degraded=True, fallbacks=[])
    assert shown["note"] == (
        "Incomplete panel. Laura Martinez (round 1) and Nina Patel (round 2) did not answer. "
        "Weigh this recommendation with that in mind."
    )
    assert shown["steps"] == []


def test_a_degraded_outcome_the_page_did_not_watch_says_an_expert_did_not_answer(page: Page) -> None:
    shown = render(page, degraded=True, fallbacks=[])
    assert shown["note"] is not None and "At least one expert did not answer." in shown["note"]


def test_an_outcome_that_is_not_degraded_has_no_note(page: Page) -> None:
    shown = render(page, degraded=False, fallbacks=[])
    assert shown["note"] is None and shown["steps"] == []


def test_a_delphi_outcome_shows_the_estimate_and_its_middle_half_in_the_unit(page: Page) -> None:
    estimate = {"unit": "months", "min": 1.0, "max": 48.0, "n": 3, "median": 18.0, "q1": 16.5, "q3": 18.5, "iqr": 2.0}
    shown = render(page, degraded=False, fallbacks=[], decided_by="facilitator", estimate=estimate)
    assert shown["figures"]["Estimate"] == "18 months"
    assert shown["figures"]["Middle half of estimates"] == "16.5 to 18.5 months"
    assert shown["figures"]["Decided by"] == "the facilitator"


def test_a_verdict_says_its_confidence_is_the_judges(page: Page) -> None:
    verdict = {
        "proposition": "File a De Novo request.",
        "winner": "opponents",
        "confidence": 0.89,
        "proponents": ["fda_expert"],
        "opponents": ["clinical_expert"],
    }
    shown = render(
        page,
        degraded=False,
        fallbacks=[],
        decided_by="judge",
        verdict=verdict,
        agreement_points=["Dr. Samuel Okafor (opponents, round 2): the study measures the wrong endpoint."],
        dissent=["Dr. Maya Chen (proponents) argued: it is the shortest route."],
    )
    assert "Stronger case: against the proposition (the judge is 89% confident)" in shown["verdict"]
    assert "For: Dr. Maya Chen. Against: Dr. Samuel Okafor." in shown["verdict"]
    # What the judge's reasons cite is not an agreement, and the losing side is named as a side, not a dissent.
    assert shown["headings"] == ["Verdict", "Rationale", "Arguments the judge relied on", "The other side"]


def test_an_expert_who_did_not_answer_is_named_once_with_the_reason(page: Page) -> None:
    path = module_path(page, "components/transcript.js")
    shown: dict[str, Any] = page.evaluate(EXPERT_ERROR, {"path": path})
    assert shown["text"] == (
        "Laura Martinez did not answer in this round. Reason: simulated rate limit (429) (after 1 attempt)"
    )
    assert shown["silent"] == [{"name": "Laura Martinez", "round": 1}]
