"""What each structured step falls back to when its answer stays unreadable after the repair call.

A model that cannot (or will not) answer a step in the JSON asked for never fails a panel: the step
takes one of these instead and is listed, with the reason, in the recommendation's `fallbacks`
(the panel completes `degraded`). Each fallback is built from what the panel already has: the
model's own words, the question, the experts' stances, the seeded speaking order. Every function
here builds a step's `DecisionFallback`, which `Discussion.decide` calls with the model's own words.

| step | fallback |
|---|---|
| `frame` (options) | the 2-4 items of a list in the moderator's own answer, else a neutral option set |
| `frame` (Delphi) | the same options, and a neutral estimate question in percent (0-100) |
| a turn's stance | the turn is kept without a stance |
| a Delphi turn's stance | the position read without its estimate (not counted), else no stance |
| `t{n}:next` (open) | the next expert in the seeded speaking order |
| `r{n}:targets` (socratic) | the least confident experts (no stance counts as least) |
| `proposition` | the first sentence of the moderator's own answer, else the question as a proposition |
| `verdict` | `undecided`, citing no argument, saying a readable verdict would settle it |
| `synthesis` | the experts' final positions tallied (and estimates, where given) |

The panel's last decision (`synthesis`, `verdict`) also stands in when a budget is reached after round 1:
the discussion wraps up and the step is not asked for (`skipped=True`: no words, nothing unreadable).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from ask_panel.domain.consensus import Distribution
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.estimates import in_a_sentence
from ask_panel.domain.strategies.port import DecisionFallback, FallenBack
from ask_panel.domain.strategies.prompts import clip
from ask_panel.domain.values import Stance

NEUTRAL_OPTIONS = ("Go ahead as proposed", "Go ahead with changes or conditions", "Do not go ahead")
NEUTRAL_ESTIMATE_QUESTION = "How likely (0-100 %) is the option the panel prefers to succeed?"
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|\(?[A-Da-d][.)])\s+(?P<text>\S.*?)\s*$")
_SHOULD = re.compile(r"^(?P<verb>should|shall|must)\s+(?P<subject>we|i|they)\s+(?P<rest>.+)$", re.IGNORECASE)


def listed_options(words: str) -> list[str]:
    """The items of a 2-4 item list (bullets, numbers or letters) in a model's own words, else nothing."""
    items: list[str] = []
    for line in words.splitlines():
        match = _LIST_ITEM.match(line)
        if match is None:
            continue
        text = clip(match["text"].replace("**", "").strip().rstrip(".:;").strip(), 120)
        if text and text not in items:
            items.append(text)
    return items if 2 <= len(items) <= 4 else []


def _options_in(words: str, /, *, skipped: bool = False) -> FallenBack:
    listed = listed_options(words)
    if listed:
        return FallenBack({"options": listed}, "the options listed in the moderator's own answer were used")
    return FallenBack({"options": list(NEUTRAL_OPTIONS)}, "a neutral option set was used")


def framed_options() -> DecisionFallback:
    """The `frame` step: the moderator's own listed options, else a neutral option set."""
    return _options_in


def delphi_frame() -> DecisionFallback:
    """The Delphi `frame` step: options as `framed_options`, and a neutral estimate question."""

    def fallback(words: str, /, *, skipped: bool = False) -> FallenBack:
        options = _options_in(words)
        return FallenBack(
            {
                **options.decision,
                "estimate_question": NEUTRAL_ESTIMATE_QUESTION,
                "unit": "percent",
                "min": 0,
                "max": 100,
            },
            f"{options.instead}, with a neutral estimate question",
        )

    return fallback


def next_in_order(candidates: Sequence[str]) -> DecisionFallback:
    """An open panel's `next` step: the first candidate, in the round's seeded speaking order."""
    chosen = FallenBack(
        {"next_speaker": candidates[0], "reason": "the next expert in the speaking order"},
        "the next expert in the seeded speaking order took the floor",
    )
    return _always(chosen)


def least_confident(order: Sequence[str], stances: Mapping[str, Stance | None], most: int) -> DecisionFallback:
    """A socratic round's `targets` step: the `most` least confident experts (without a stance first)."""

    def confidence(agent_id: str) -> float:
        stance = stances.get(agent_id)
        return -1.0 if stance is None else stance.confidence

    ranked = sorted(order, key=confidence)
    targets = [a for a in order if a in ranked[:most]]
    chosen = FallenBack({"targets": targets}, "the least confident experts were questioned")
    return _always(chosen)


def proposition_from(query: str) -> DecisionFallback:
    """An adversarial panel's `proposition` step: the first sentence of the moderator's own answer, else
    the question itself stated as a proposition."""

    def fallback(words: str, /, *, skipped: bool = False) -> FallenBack:
        sentence = first_sentence(words)
        if sentence:
            return FallenBack(
                {"proposition": clip(sentence, 400)}, "the moderator's own first sentence was taken as the proposition"
            )
        return FallenBack(
            {"proposition": clip(_stated(query), 400)}, "the question itself was debated as the proposition"
        )

    return fallback


def first_sentence(words: str) -> str:
    """The first sentence of a model's prose (nothing when it holds JSON-like text or is too short to state much)."""
    text = " ".join(words.split())
    if "{" in text:
        return ""
    match = re.match(r"(?P<sentence>.+?[.!?])(?:\s|$)", text)
    sentence = match["sentence"] if match else text
    return sentence if len(sentence.split()) >= 4 else ""


def _stated(query: str) -> str:
    text = " ".join(query.split()).rstrip("?").strip()
    should = _SHOULD.match(text)
    if should:
        subject = should["subject"]
        return f"{'I' if subject.lower() == 'i' else subject.capitalize()} {should['verb'].lower()} {should['rest']}."
    return f"The course of action the question raises should be taken: {text}?"


def _tally(stances: Mapping[str, Stance | None]) -> Counter[str]:
    return Counter(s.position for s in stances.values() if s is not None)


def undecided_verdict(arguments: int) -> DecisionFallback:
    """An adversarial panel's `verdict` step: `undecided`, citing nothing, saying what would settle it."""

    def fallback(_words: str, /, *, skipped: bool = False) -> FallenBack:
        settle = (
            f"A judge's verdict on the {arguments} arguments made (the budget was reached before the judge was asked)."
            if skipped
            else f"A readable verdict on the {arguments} arguments made (the judge's answer could not be read)."
        )
        return FallenBack(
            {"verdict": "undecided", "confidence": 0.0, "reasons": [], "settle": settle}, "the verdict is undecided"
        )

    return fallback


def tallied_synthesis(
    panel: Panel, stances: Mapping[str, Stance | None], adopted: str | None = None, *, by: str = "moderator"
) -> DecisionFallback:
    """The `synthesis` step: the experts' final positions tallied, with estimates and the prose of `by`
    (the moderator or the facilitator).

    `adopted` is the option the panel adopts (`outcome.Outcome`): the recommendation names it, so a
    fallback never recommends another option than the one the dissent is measured against.
    """

    def fallback(words: str, /, *, skipped: bool = False) -> FallenBack:
        return _tallied(panel, stances, words, adopted, by, skipped=skipped)

    return fallback


def _always(chosen: FallenBack) -> DecisionFallback:
    def fallback(_words: str, /, *, skipped: bool = False) -> FallenBack:
        return chosen

    return fallback


def _tallied(
    panel: Panel, stances: Mapping[str, Stance | None], words: str, adopted: str | None, by: str, *, skipped: bool
) -> FallenBack:
    positions = _tally(stances)
    members = len(panel.members)
    agreement: list[str] = []
    if positions:
        ranked = positions.most_common()
        top = [p for p, n in ranked if n == ranked[0][1]]
        count = ranked[0][1]
        if adopted is not None and adopted in positions and top != [adopted]:  # a tie, or weighted support
            recommendation = (
                f"{adopted} (the final position of {positions[adopted]} of {members} experts, the most "
                "support once weighted by confidence and rankings)."
            )
            agreement.append(f"{positions[adopted]} of {members} experts ended on '{adopted}'")
        elif len(top) == 1:
            recommendation = f"{top[0]} (the final position of {count} of {members} experts)."
            agreement.append(f"{count} of {members} experts ended on '{top[0]}'")
        else:
            recommendation = (
                "No single position prevailed: "
                + " and ".join(f"'{p}'" for p in top)
                + (f" were each the final position of {count} of {members} experts.")
            )
        missing = "was not asked for (the budget was reached)" if skipped else "could not be read"
        rationale = f"The {by}'s synthesis {missing}; this outcome tallies the experts' final positions: "
        rationale += ", ".join(f"'{p}': {n}" for p, n in ranked) + "."
    else:
        recommendation = "No recommendation could be read: the experts' own words are in the discussion."
        rationale = (
            f"The {by}'s synthesis was not asked for (the budget was reached) and no expert's stance could be read. "
            if skipped
            else f"Neither the {by}'s synthesis nor any expert's stance could be read. "
        ) + _last_words(panel)
    estimates = [s.estimate for s in stances.values() if s is not None and s.estimate is not None]
    spread = Distribution.of(estimates)
    if spread is not None:
        rationale += f" {in_a_sentence(spread)}"
    if words and "{" not in words:
        rationale += f" The {by} wrote: {clip(words, 1200)}"
    return FallenBack(
        {"recommendation": recommendation, "rationale": rationale, "agreement_points": agreement, "dissent": []},
        "the experts' final positions were tallied instead",
    )


def _last_words(panel: Panel) -> str:
    last: dict[str, str] = {}
    for message in panel.messages():
        if message.role == "expert":
            last[message.agent_name] = message.content
    if not last:
        return ""
    return "Each expert's last words: " + " ".join(f"{name}: {clip(text, 200)!r}" for name, text in last.items())
