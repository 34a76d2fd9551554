"""How a simulated expert speaks to a question outside its own field: it says so, and adds what its field does know.

A reimbursement lead on a 510(k) panel should not argue predicates, and an FDA strategist on a
pricing panel should not talk about biocompatibility. A persona whose field is neither the
question's field nor a neighbour of it (`NEIGHBOURS`) speaks as a real panelist would: it names the
question's area as not its own, defers on the details and contributes how its own field bears on
*any* decision of this kind. Each field has an `area` (the noun a sentence names it by), `conditions`
(clauses that follow "provided that") and `facts` (whole sentences) that hold whatever the question.
"""

from __future__ import annotations

from dataclasses import dataclass

from ask_panel.infrastructure.llm.simulated_fields import Field, score


@dataclass(frozen=True, slots=True)
class Bridge:
    area: str
    conditions: tuple[str, ...]
    facts: tuple[str, ...]


BRIDGES: dict[str, Bridge] = {
    "us_regulatory": Bridge(
        "US regulatory strategy",
        ("every claim we make stays within the cleared intended use", "nothing in the plan changes the intended use"),
        (
            "From the regulatory side, the claims we make have to stay inside the cleared indication.",
            "A change of intended use later can mean a new submission, so this choice should not depend on one.",
        ),
    ),
    "eu_regulatory": Bridge(
        "European regulatory strategy",
        ("the plan also fits the CE-mark technical file", "the notified body's timeline is built into the plan"),
        (
            "In Europe, the notified body's calendar is now the slowest part of any plan.",
            "Under the MDR, claims must match the clinical evaluation, so they cannot be stretched later.",
        ),
    ),
    "clinical": Bridge(
        "clinical strategy",
        ("the claims rest on outcomes data we actually have", "nothing in the plan depends on a study we have not run"),
        (
            "Clinicians will ask what the evidence shows before they ask anything else.",
            "From the clinical side, a choice is only as good as the outcomes data behind it.",
        ),
    ),
    "statistics": Bridge(
        "statistics",
        ("we decide now what result would make us change course", "the numbers are checked against a downside case"),
        (
            "The numbers behind a decision like this deserve a downside case, not only a base case.",
            "Decisions like this are usually made on very few data points, and we should say how few.",
        ),
    ),
    "reimbursement": Bridge(
        "reimbursement",
        ("payers can see what they get for the money", "the plan does not assume coverage we do not have yet"),
        (
            "Payers will put any choice we make through a budget-impact review.",
            "Payers move more slowly than plans assume, so nothing should depend on early coverage.",
        ),
    ),
    "economics": Bridge(
        "health economics",
        ("the value case uses costs our customers recognise", "the economic assumptions are written down and tested"),
        (
            "A hospital buyer needs a value story they can repeat to their own finance team.",
            "Economic arguments persuade only when their inputs come from the customer's own costs.",
        ),
    ),
    "quality": Bridge(
        "quality systems",
        ("the decision goes through design controls like any other change", "the quality system can absorb the work"),
        (
            "The quality system has to document a decision like this before an inspector asks about it.",
            "Decisions taken outside design controls tend to come back as inspection findings.",
        ),
    ),
    "safety": Bridge(
        "patient safety",
        ("no option we pick adds a use-related hazard", "vigilance reporting is ready on day one"),
        (
            "No plan is worth a use-related hazard we have not tested for.",
            "Safety problems after launch cost more than any delay before it.",
        ),
    ),
    "cybersecurity": Bridge(
        "cybersecurity",
        ("the software can still be patched without a new submission", "hospital IT security reviews are planned in"),
        (
            "Hospital security reviews will sit on the buying path of anything we ship.",
            "Any plan that touches the software should keep it patchable after launch.",
        ),
    ),
    "legal": Bridge(
        "legal strategy",
        ("every public claim is tied to evidence we hold", "freedom to operate is confirmed first"),
        (
            "Every claim made in support of this will be held against us in any later dispute.",
            "Contracts and claims outlive the strategy that produced them, so they deserve a review now.",
        ),
    ),
    "manufacturing": Bridge(
        "manufacturing",
        ("supply can follow the volumes the plan assumes", "the cost of goods still works at the planned volumes"),
        (
            "Supply has to follow the plan, and manufacturing capacity takes months to add.",
            "The cost of goods at launch volumes decides more margins than list prices do.",
        ),
    ),
    "pricing": Bridge(
        "pricing",
        ("the price leaves room for the evidence to justify it", "discounts are governed from the start"),
        (
            "The route we take now shapes the price we can defend later.",
            "Pricing power comes from evidence, so the evidence should be planned with the price in mind.",
        ),
    ),
    "commercial": Bridge(
        "commercial strategy",
        ("the sales team can explain the choice in one sentence", "we win reference customers in one segment first"),
        (
            "The sales team has to be able to explain this choice to a customer in one sentence.",
            "The commercial clock starts at launch, so every month of delay is a month of revenue lost.",
        ),
    ),
    "finance": Bridge(
        "finance",
        ("the plan still works in the downside case", "spending is staged against milestones"),
        ("A plan that only works in the base case is not a plan.", "Investors fund milestones, not activity."),
    ),
    "engineering": Bridge(
        "engineering",
        ("the design does not change after verification starts", "the engineering team has the capacity"),
        (
            "The engineering schedule has to absorb this before design freeze, not after.",
            "Late changes cost engineering time twice: once to make them and once to verify them.",
        ),
    ),
    "marketing": Bridge(
        "marketing",
        ("every claim in the campaign stays on the label", "the message is tested with real customers"),
        (
            "Clinicians remember one message per product, so the choice should make that message clearer.",
            "Positioning follows the evidence, so the option we pick should produce some.",
        ),
    ),
}

NEIGHBOURS: dict[str, frozenset[str]] = {}
"""The fields that can speak to each other's questions as specialists (symmetric)."""


def _link(key: str, *others: str) -> None:
    for other in others:
        NEIGHBOURS[key] = NEIGHBOURS.get(key, frozenset()) | {other}
        NEIGHBOURS[other] = NEIGHBOURS.get(other, frozenset()) | {key}


_link("us_regulatory", "eu_regulatory", "clinical", "quality", "safety", "cybersecurity", "legal", "statistics")
_link("eu_regulatory", "clinical", "quality", "safety", "legal", "manufacturing")
_link("clinical", "statistics", "safety", "reimbursement", "economics")
_link("statistics", "economics")
_link("reimbursement", "economics", "pricing", "commercial")
_link("economics", "pricing", "finance", "commercial")
_link("quality", "manufacturing", "safety", "engineering")
_link("safety", "engineering")
_link("cybersecurity", "engineering", "quality")
_link("legal", "marketing", "commercial")
_link("manufacturing", "engineering", "finance")
_link("pricing", "commercial", "finance", "marketing")
_link("commercial", "marketing", "finance")


def outside(persona: Field, question: Field | None, question_text: str) -> Bridge | None:
    """The persona's bridge when the question lies outside its field, else None (it speaks as a specialist).

    A question of no known field, a persona of no known field, the same field, a neighbouring field
    or a question that names one of the persona's own keywords all count as the persona's own.
    """
    if question is None or persona.key == question.key or persona.key not in BRIDGES:
        return None
    if persona.key in NEIGHBOURS.get(question.key, frozenset()):
        return None
    if score(persona, question_text.lower()) > 0:
        return None
    return BRIDGES[persona.key]


def area_of(question: Field | None) -> str:
    """The question's area as a sentence names it ('pricing', 'US regulatory strategy')."""
    if question is None or question.key not in BRIDGES:
        return "this area"
    return BRIDGES[question.key].area
