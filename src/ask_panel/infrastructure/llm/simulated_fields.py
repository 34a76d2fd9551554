"""The fields the simulated model's personas speak from: their vocabulary, and how a persona's field is found.

Each field holds typed phrases for the sentence templates: `concerns`, `risks`, `evidence` and
`benefits` are noun phrases, `conditions` are clauses that follow "provided that", `facts` are
whole sentences, and `options` are the choices a question in this field is framed with. A persona's
field is the one whose keywords best match its role, expertise, description and name; a persona
that matches none speaks from a generic field built from its own expertise terms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    keywords: tuple[str, ...]
    concerns: tuple[str, ...]
    risks: tuple[str, ...]
    evidence: tuple[str, ...]
    benefits: tuple[str, ...]
    conditions: tuple[str, ...]
    facts: tuple[str, ...]
    options: tuple[str, ...] = ()


def _field(key: str, keywords: str, **parts: Sequence[str]) -> Field:
    return Field(key, tuple(k.strip() for k in keywords.split(",")), **{k: tuple(v) for k, v in parts.items()})


FIELDS: tuple[Field, ...] = (
    _field(
        "us_regulatory",
        "fda, 510(k), de novo, pma, predicate, substantial equivalence, regulatory, submission, clearance, "
        "q-submission, pre-submission, regulator",
        concerns=(
            "the choice of predicate device",
            "the FDA's view of the intended use",
            "the testing the FDA will expect",
        ),
        risks=(
            "an additional-information request that stops the review clock",
            "a not-substantially-equivalent letter",
        ),
        evidence=("bench and biocompatibility data", "a Pre-Submission meeting with the FDA"),
        benefits=("a predictable review", "the shortest credible route to market"),
        conditions=("we confirm the predicate in a Pre-Submission meeting", "the intended use stays narrow"),
        facts=(
            "A 510(k) stands or falls on a predicate with the same intended use.",
            "A De Novo request buys a new classification at the price of a longer review.",
            "A Pre-Submission meeting removes most surprises for about three months of calendar time.",
            "Most additional-information requests come from testing gaps, not from paperwork.",
        ),
        options=(
            "Traditional 510(k) against the closest predicate",
            "De Novo classification request",
            "Pre-Submission meeting first, then choose the pathway",
        ),
    ),
    _field(
        "eu_regulatory",
        "eu, mdr, ivdr, ce mark, notified body, europe, european, clinical evaluation, gspr",
        concerns=("the notified body's capacity", "the clinical evaluation report", "the device's MDR classification"),
        risks=("a notified-body queue of a year or more", "a clinical evaluation the notified body rejects"),
        evidence=("a clinical evaluation built on equivalent devices", "post-market clinical follow-up data"),
        benefits=("access to the European market", "a CE mark that other markets recognise"),
        conditions=("we book notified-body capacity now", "the clinical evaluation can rely on equivalence"),
        facts=(
            "Under the MDR, notified bodies scrutinise clinical evaluations far harder than before.",
            "Notified-body capacity, not the regulation itself, sets most European timelines today.",
            "Equivalence claims under the MDR need access to the other manufacturer's technical file.",
        ),
        options=(
            "CE mark under the MDR first",
            "US clearance first, then the CE mark",
            "Run both submissions in parallel",
        ),
    ),
    _field(
        "clinical",
        "clinical, trial, study design, endpoints, investigator, ide, patients, efficacy, protocol, study",
        concerns=("the primary endpoint", "the clinical evidence we already have", "the enrolment plan"),
        risks=("a study that measures the wrong endpoint", "slow enrolment at too few sites"),
        evidence=("a small, well-designed prospective study", "published literature and real-world data"),
        benefits=("evidence that convinces reviewers and clinicians alike", "a cleaner label claim"),
        conditions=(
            "the primary endpoint is agreed before the first patient is enrolled",
            "we can enrol at enough sites",
        ),
        facts=(
            "A small, well-designed study beats a large one that measures the wrong thing.",
            "Enrolment, not analysis, is what usually delays a clinical study.",
            "Real-world data can support a claim only if it was collected with the endpoint in mind.",
        ),
        options=(
            "Run a new prospective study",
            "Rely on published literature and real-world data",
            "Start with a small feasibility study, then decide",
        ),
    ),
    _field(
        "statistics",
        "statistics, statistician, biostatistics, biostatistician, sample size, power, bayesian, analysis, "
        "non-inferiority, data",
        concerns=("the sample size", "the non-inferiority margin", "the statistical analysis plan"),
        risks=("an underpowered study", "a margin that reviewers will not accept"),
        evidence=("a power calculation on realistic effect sizes", "a pre-specified analysis plan"),
        benefits=("a result that survives a sceptical reviewer", "a smaller study with the same power"),
        conditions=(
            "the effect size we assume is backed by pilot data",
            "the analysis plan is fixed before unblinding",
        ),
        facts=(
            "The sample size follows from the effect size and the margin, not from the budget.",
            "Bayesian borrowing can shrink a study, but only if the prior data are truly comparable.",
            "Missing data do more damage to a study than a slightly smaller sample.",
        ),
    ),
    _field(
        "reimbursement",
        "reimbursement, coding, cpt, cms, payer, payers, coverage, market access, hta",
        concerns=("the coding and coverage path", "what payers will ask for", "the time to coverage"),
        risks=("a cleared product that nobody pays for", "a coverage decision that takes years"),
        evidence=("health-economic data payers recognise", "an early conversation with the main payers"),
        benefits=("paid use from the first year", "a coverage decision that sticks"),
        conditions=("the study also collects the outcomes payers care about", "we start payer conversations now"),
        facts=(
            "Clearance does not create payment: coding, coverage and payment are three separate battles.",
            "Payers respond to budget impact first and cost-effectiveness second.",
            "A new CPT code takes years, so most launches start under an existing code.",
        ),
        options=(
            "Seek coverage before launch",
            "Launch and build real-world evidence",
            "Partner with a payer on a pilot",
        ),
    ),
    _field(
        "economics",
        "health economics, economist, cost-effectiveness, budget impact, qaly, economic model, outcomes, value",
        concerns=("the budget impact for a typical hospital", "the cost-effectiveness case", "the value story"),
        risks=("a value story that rests on assumptions nobody can check", "a budget impact that scares buyers"),
        evidence=("a budget-impact model built with real hospital costs", "outcome data that translate into money"),
        benefits=("a value case buyers can defend internally", "a price the evidence supports"),
        conditions=("the model uses costs from the customers we target", "the outcomes we claim are measured"),
        facts=(
            "Hospitals buy on budget impact and rarely on lifetime value.",
            "A cost-effectiveness claim is only as strong as its weakest input.",
        ),
    ),
    _field(
        "quality",
        "quality, iso 13485, qmsr, design controls, capa, risk management, iso 14971, audit",
        concerns=("the design history file", "the risk management file", "audit readiness"),
        risks=("a design-control gap found during inspection", "a CAPA backlog that delays the launch"),
        evidence=("traceable verification and validation records", "a complete ISO 14971 risk file"),
        benefits=("a quality system that scales with the product", "an inspection without findings"),
        conditions=("design controls cover every change from now on", "the risk file traces each hazard to a test"),
        facts=(
            "Design controls have to trace every requirement to its verification.",
            "Inspectors look first at complaint handling and CAPA, not at the glossy documents.",
            "Fixing a design-history gap after launch costs several times what it costs before.",
        ),
    ),
    _field(
        "safety",
        "safety, adverse events, vigilance, post-market, recall, human factors, usability, harm, patient safety",
        concerns=("the use-related hazards", "post-market surveillance", "the harm a misuse could cause"),
        risks=("a recall in the first year", "a use error we never tested for"),
        evidence=("a summative human-factors study", "a post-market surveillance plan"),
        benefits=("fewer adverse events after launch", "a safety record that protects the brand"),
        conditions=("human-factors testing happens before design freeze", "vigilance reporting is ready at launch"),
        facts=(
            "Use-related hazards found in human-factors testing are cheaper to fix before validation.",
            "Most recalls trace back to risks that were known but not controlled.",
        ),
    ),
    _field(
        "cybersecurity",
        "cybersecurity, security, software, samd, sbom, connected, threat model, 524b, ai, algorithm, machine learning",
        concerns=("the threat model", "the software bill of materials", "the plan for updating the algorithm"),
        risks=("a vulnerability disclosed after launch", "an algorithm change that needs a new submission"),
        evidence=("a documented threat model and SBOM", "a predetermined change control plan"),
        benefits=("software we can patch without a new submission", "a product hospitals' IT teams approve"),
        conditions=(
            "the SBOM and patching plan are in the submission",
            "algorithm changes follow a predetermined plan",
        ),
        facts=(
            "Section 524B makes an SBOM, a threat model and a patching plan part of the submission.",
            "Hospital security reviews now decide purchases as often as clinicians do.",
        ),
    ),
    _field(
        "legal",
        "patent, patents, ip, intellectual property, freedom to operate, legal, counsel, liability, contracts, "
        "licensing, exclusivity",
        concerns=("freedom to operate", "the claims we make in marketing", "the patent position"),
        risks=("an infringement claim after launch", "marketing claims that outrun the label"),
        evidence=("a freedom-to-operate opinion", "a review of every claim against the evidence"),
        benefits=("a protected position against fast followers", "claims we can defend in court"),
        conditions=("freedom to operate is checked before the design freezes", "every claim is tied to evidence"),
        facts=(
            "Freedom to operate should be checked before the design freezes, not after.",
            "Claims made in a submission follow the company into every later dispute.",
        ),
    ),
    _field(
        "manufacturing",
        "manufacturing, supply chain, sterilization, sterilisation, scale-up, validation, suppliers, production, "
        "biocompatibility, contract manufacturer",
        concerns=("process validation", "the supply of critical components", "the cost of goods at scale"),
        risks=("a single-source supplier failing", "a sterilisation validation that slips"),
        evidence=("validated processes at production scale", "qualified second sources"),
        benefits=("a supply that keeps up with demand", "a lower cost of goods"),
        conditions=("process validation is planned into the timeline", "a second source is qualified early"),
        facts=(
            "Process and sterilisation validation often set the real launch date.",
            "A contract manufacturer saves capital but adds months of technology transfer.",
        ),
        options=(
            "Build in-house manufacturing",
            "Use a contract manufacturer",
            "Start with a contract manufacturer, bring production in-house at scale",
        ),
    ),
    _field(
        "pricing",
        "pricing, price, prices, willingness to pay, discount, discounts, monetization, monetisation, subscription, "
        "revenue, tiers, packaging, price point",
        concerns=("willingness to pay", "the price anchor customers compare us with", "discount discipline"),
        risks=(
            "a launch price we cannot raise later",
            "a price war with the incumbent",
            "discounting that erodes margin",
        ),
        evidence=("willingness-to-pay research with real buyers", "win-loss data from the first deals"),
        benefits=("room to prove value before we discount", "a margin that funds the next product"),
        conditions=("we test willingness to pay with two customer segments first", "discounts need a named approver"),
        facts=(
            "It is far easier to lower a launch price than to raise it.",
            "Customers judge a price against their next best alternative, not against our costs.",
            "A clear tier structure does more for revenue than a clever list price.",
        ),
        options=(
            "Premium price, justified by outcomes data",
            "Price at parity with the leading competitor",
            "Penetration price to win share quickly",
            "Value-based price tied to outcomes",
        ),
    ),
    _field(
        "commercial",
        "commercial, launch, market, sales, competition, competitor, adoption, go-to-market, distribution, customers",
        concerns=("the first customer segment", "adoption barriers in the clinic", "the competitive response"),
        risks=("a launch that spreads the sales team too thin", "a competitor reaching the key accounts first"),
        evidence=("reference customers in the first segment", "a pilot with a handful of key accounts"),
        benefits=("faster time to revenue", "reference sites that sell for us"),
        conditions=("we win reference customers in one segment first", "the sales team is trained before launch"),
        facts=(
            "The regulatory path changes time to revenue more than any launch tactic.",
            "Launches that win one segment first usually outgrow broad launches within two years.",
        ),
        options=("Launch in one lead market first", "Launch broadly at once", "Launch with a distribution partner"),
    ),
    _field(
        "finance",
        "finance, financial, budget, investment, investor, funding, capital, cash, roi, cfo, accounting",
        concerns=("the cash runway", "the return on the investment", "the budget we can commit"),
        risks=("running out of cash before the milestone", "a plan that needs another funding round"),
        evidence=("a cash-flow plan with a downside case", "milestones investors recognise"),
        benefits=("a longer runway", "a milestone that raises the valuation"),
        conditions=("the plan still works in the downside case", "spending is staged against milestones"),
        facts=(
            "A plan that only works in the base case is not a plan.",
            "Investors fund milestones, not activity.",
        ),
    ),
    _field(
        "engineering",
        "engineering, engineer, product, technical, architecture, design, r&d, development, prototype, hardware",
        concerns=("the technical risk", "the design freeze", "the development timeline"),
        risks=("a late design change that resets verification", "a technical debt we carry into launch"),
        evidence=("a working prototype tested in realistic conditions", "verification results"),
        benefits=("a design we can verify once", "fewer late changes"),
        conditions=("the design is frozen before verification starts", "the riskiest component is prototyped first"),
        facts=(
            "Every change after design freeze restarts part of the verification.",
            "Schedules slip on integration, rarely on individual components.",
        ),
    ),
    _field(
        "marketing",
        "marketing, brand, messaging, positioning, campaign, communications, demand generation",
        concerns=("the positioning against the incumbent", "the message clinicians remember", "brand trust"),
        risks=("a message that promises more than the label allows", "a brand nobody recognises at launch"),
        evidence=("message testing with target customers", "early awareness data"),
        benefits=("a position competitors cannot copy", "demand before the sales team arrives"),
        conditions=("every claim in the campaign is on the label", "the message is tested with real customers"),
        facts=(
            "Customers remember one message per product, so choose it deliberately.",
            "Positioning is decided by what the competitor already owns in the customer's mind.",
        ),
    ),
)
GENERIC = _field(
    "generic",
    "",
    concerns=("the evidence we can realistically produce", "the cost of being wrong", "the execution risk"),
    risks=("a decision we cannot reverse", "a plan that depends on everything going right"),
    evidence=("a small, fast test of the riskiest assumption", "data from a comparable case"),
    benefits=("a decision we can defend later", "options kept open at low cost"),
    conditions=("we test the riskiest assumption first", "we agree now on what would make us change course"),
    facts=(
        "Decisions like this usually fail on execution rather than on strategy.",
        "The cheapest time to test an assumption is before anyone depends on it.",
        "Reversible decisions deserve speed, irreversible ones deserve evidence.",
    ),
)
BY_KEY = {f.key: f for f in FIELDS}


def _matches(keyword: str, text: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", text) is not None


def score(field: Field, text: str) -> int:
    return sum(1 for k in field.keywords if _matches(k, text))


def field_of(role: str, expertise: Sequence[str], description: str, name: str) -> Field:
    """The field a persona speaks from: keywords in its role weigh most, then expertise, then the rest.

    A persona matching no field speaks from the generic field, with its own expertise terms as concerns.
    """
    weights = ((role.lower(), 6), (" , ".join(expertise).lower(), 2), (description.lower(), 1), (name.lower(), 1))
    best, best_score = GENERIC, 0
    for candidate in FIELDS:
        total = sum(weight * score(candidate, text) for text, weight in weights)
        if total > best_score:
            best, best_score = candidate, total
    own = tuple(_concern(term) for term in expertise if _usable(term))
    if best is GENERIC:
        return replace(GENERIC, concerns=(*own[:4], *GENERIC.concerns) if own else GENERIC.concerns)
    return best


def field_of_text(text: str) -> Field | None:
    """The field a question belongs to, or None when it names none."""
    low = text.lower()
    ranked = sorted(FIELDS, key=lambda f: score(f, low), reverse=True)
    return ranked[0] if ranked and score(ranked[0], low) > 0 else None


def _usable(term: str) -> bool:
    words = term.split()
    return (
        1 <= len(words) <= 5
        and (len(term) >= 5 or term.isupper())
        and re.fullmatch(r"[A-Za-z0-9 '()&/-]+", term) is not None
    )


def _concern(term: str) -> str:
    words = term.strip().split()
    if words and words[0][:1].isupper() and words[0][1:].islower():
        words[0] = words[0].lower()
    return "the " + " ".join(words)
