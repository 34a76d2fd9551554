"""Domain-flavoured text for the simulated provider: personas, facts and sentence templates."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

FACTS: dict[str, str] = {
    "510(k)": "a 510(k) stands or falls on a predicate with the same intended use and technological "
    "characteristics that raise no new questions of safety and effectiveness",
    "fda": "the FDA will expect bench, biocompatibility and software documentation proportionate to risk, "
    "and a Pre-Submission meeting removes most surprises",
    "de novo": "a De Novo request creates a new classification with special controls, at the price of a "
    "longer review and a heavier evidence package",
    "clinical": "clinical evidence is only as persuasive as its endpoints; a small, well-designed study beats "
    "a large one that measures the wrong thing",
    "trial": "an IDE study needs a clear primary endpoint, a realistic enrolment plan and monitored sites",
    "reimbursement": "clearance does not create payment: coding, coverage and payment are three separate "
    "battles with CMS and private payers",
    "quality": "design controls and an ISO 14971 risk file must trace every requirement to verification",
    "statistics": "the sample size follows from the effect size and the non-inferiority margin, not from the budget",
    "safety": "use-related hazards found in human-factors testing are cheaper to fix before validation "
    "than after launch",
    "mdr": "under the EU MDR the notified body will scrutinise the clinical evaluation far harder than "
    "under the old directives",
    "economics": "payers respond to budget impact first and cost-effectiveness second",
    "cybersecurity": "section 524B makes an SBOM, a threat model and a patching plan part of the submission",
    "patent": "freedom to operate should be checked before the design freezes, not after",
    "manufacturing": "process validation and sterilisation validation often set the real launch date",
    "commercial": "the regulatory path changes time to revenue more than any launch tactic",
}

OPENINGS = (
    "From the {role} point of view, the question turns on {focus}.",
    "Speaking as {role}, I see {focus} as the deciding issue.",
    "My read, as {role}: everything depends on {focus}.",
)
ELABORATIONS = (
    "In my experience {fact}.",
    "It is worth remembering that {fact}.",
    "The record is clear that {fact}.",
)
CLOSINGS = (
    "I would sequence the work so that the riskiest assumption is tested first.",
    "My recommendation is to decide early, document the rationale and revisit it at the next milestone.",
    "I would commit to this path, with an explicit fallback if the first review goes badly.",
    "The cost of waiting is real, but so is the cost of a rejected submission.",
)
AGREEMENTS = (
    "I agree with {name} on the core risk, though I weigh it differently.",
    "{name} makes a fair point, and it strengthens the case I made.",
    "I part ways with {name}: the evidence does not support that much optimism.",
)
QUESTIONS = (
    "{name}, what evidence would change your position, and how confident are you that it does not exist?",
    "{name}, which assumption in your analysis would hurt us most if it turned out wrong?",
    "{name}, how would a sceptical reviewer attack your recommendation?",
)


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    role: str
    expertise: tuple[str, ...]


_PERSONA = re.compile(r"You are (?P<name>[^,\n]+), (?P<role>[^.\n]+)\.(?: Expertise: (?P<exp>[^\n]+)\.)?")


def persona_of(system_prompt: str) -> Persona:
    match = _PERSONA.search(system_prompt)
    if match is None:
        return Persona("the assistant", "an adviser", ())
    expertise = tuple(t.strip() for t in (match.group("exp") or "").split(",") if t.strip())
    return Persona(match.group("name").strip(), match.group("role").strip(), expertise)


def facts_for(persona: Persona, query: str) -> list[str]:
    text = (" ".join(persona.expertise) + " " + persona.role + " " + query).lower()
    found = [fact for key, fact in FACTS.items() if key in text]
    return found or [FACTS["fda"], FACTS["clinical"]]


def focus_of(query: str, rng: random.Random) -> str:
    words = [w for w in re.findall(r"[A-Za-z0-9()'-]+", query) if len(w) > 3]
    if not words:
        return "the evidence we can realistically produce"
    start = rng.randrange(max(1, len(words) - 2))
    return "the " + " ".join(words[start : start + 3]).lower()


def names_in(transcript: str) -> list[str]:
    return sorted(set(re.findall(r"Round \d+ - ([^(\n]+) \(expert\)", transcript)))


def prose(persona: Persona, query: str, transcript: str, rng: random.Random, *, question_for: str | None) -> str:
    if question_for is not None:
        return rng.choice(QUESTIONS).format(name=question_for)
    sentences = [rng.choice(OPENINGS).format(role=persona.role, focus=focus_of(query, rng))]
    for fact in rng.sample(facts_for(persona, query), k=min(2, len(facts_for(persona, query)))):
        sentences.append(rng.choice(ELABORATIONS).format(fact=fact))
    others = [n for n in names_in(transcript) if n != persona.name]
    if others:
        sentences.append(rng.choice(AGREEMENTS).format(name=rng.choice(others)))
    sentences.append(rng.choice(CLOSINGS))
    return " ".join(sentences)


def options_for(query: str) -> list[str]:
    q = query.lower()
    if "510(k)" in q or "fda" in q or "clearance" in q:
        return [
            "Traditional 510(k) with the closest predicate",
            "De Novo classification request",
            "Pre-Submission meeting first, then choose the pathway",
        ]
    if "reimburse" in q or "payer" in q or "pricing" in q:
        return ["Seek coverage before launch", "Launch and build real-world evidence", "Partner with a payer pilot"]
    return [
        "Proceed now with the current plan",
        "Proceed after a staged evidence plan",
        "Pause until the key risks are resolved",
    ]
