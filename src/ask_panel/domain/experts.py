"""The expert registry's domain: expert personas, the built-in catalogue, and picking a panel."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ask_panel.domain.checkpoint import RESERVED_NAMES
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.llm import OutputMode

AGENT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{1,63}$")
# Every field of a tenant's expert is bounded: an expert is a few kilobytes at most.
MAX_NAME_CHARS = 200
MAX_ROLE_CHARS = 200
MAX_EXPERTISE_TERMS = 20
MAX_EXPERTISE_TERM_CHARS = 100
MAX_INSTRUCTIONS_CHARS = 4000
MAX_MODEL_CHARS = 200
MAX_PROVIDER_CHARS = 40
MIN_AUTO_MEMBERS = 3
MAX_AUTO_MEMBERS = 5
MAX_MEMBERS = 10


@dataclass(frozen=True, slots=True)
class Expert:
    """An expert persona: who it is, what it knows, how it answers, and (optionally) its own model."""

    agent_id: str
    name: str
    role: str
    expertise: tuple[str, ...]
    instructions: str
    model: str | None = None
    provider: str | None = None
    builtin: bool = False
    output_mode: OutputMode | None = None
    """How this expert's model is asked for JSON; None: its provider's default."""

    def system_prompt(self) -> str:
        return f"You are {self.name}, {self.role}. Expertise: {', '.join(self.expertise)}.\n{self.instructions}"


def is_agent_id(value: str) -> bool:
    """Whether `value` has the form of an expert id (anything else names no expert)."""
    return AGENT_ID_PATTERN.fullmatch(value) is not None


def validate_agent_id(agent_id: str) -> None:
    if not is_agent_id(agent_id):
        raise InvalidInput(
            "agent_id must be 2-64 characters of lowercase letters, digits, '_' or '-', starting with a letter or digit"
        )
    if agent_id in RESERVED_NAMES:
        raise InvalidInput(f"agent_id '{agent_id}' is reserved (it names a step of a panel's run)")


def _expert(agent_id: str, name: str, role: str, expertise: Sequence[str], instructions: str) -> Expert:
    return Expert(agent_id, name, role, tuple(expertise), instructions, builtin=True)


BUILTIN_EXPERTS: tuple[Expert, ...] = (
    _expert(
        "fda_expert",
        "Dr. Maya Chen",
        "US FDA regulatory strategist",
        [
            "fda",
            "510(k)",
            "de novo",
            "pma",
            "predicate",
            "substantial equivalence",
            "regulatory",
            "submission",
            "clearance",
            "q-submission",
        ],
        "Assess the US regulatory pathway (510(k), De Novo, PMA), predicate selection, testing the FDA "
        "will expect, Q-Submission strategy and review timelines. Cite the relevant guidance by name and "
        "flag the risks that most often cause additional-information requests.",
    ),
    _expert(
        "clinical_expert",
        "Dr. Samuel Okafor",
        "Clinical research director",
        [
            "clinical",
            "trial",
            "study design",
            "endpoints",
            "investigator",
            "ide",
            "evidence",
            "patients",
            "efficacy",
            "protocol",
        ],
        "Judge what clinical evidence is needed, how a study should be designed (endpoints, sample, "
        "sites, IDE), and whether existing literature or real-world data can substitute for a new trial.",
    ),
    _expert(
        "reimbursement_expert",
        "Laura Martinez",
        "Reimbursement and market access lead",
        ["reimbursement", "coding", "cpt", "cms", "payer", "coverage", "market access", "pricing", "hta"],
        "Explain how the product gets paid for: coding (CPT/HCPCS), coverage by CMS and private payers, "
        "the evidence payers want and a realistic timeline to coverage.",
    ),
    _expert(
        "quality_expert",
        "Henrik Larsen",
        "Quality systems and design controls expert",
        [
            "quality",
            "iso 13485",
            "qmsr",
            "design controls",
            "capa",
            "risk management",
            "iso 14971",
            "manufacturing",
            "audit",
        ],
        "Evaluate the quality system: design controls, risk management under ISO 14971, ISO 13485 and "
        "the QMSR, supplier controls and audit readiness.",
    ),
    _expert(
        "biostatistics_expert",
        "Dr. Priya Raman",
        "Biostatistician",
        [
            "statistics",
            "biostatistics",
            "sample size",
            "power",
            "bayesian",
            "endpoints",
            "analysis",
            "non-inferiority",
            "data",
        ],
        "Check the numbers: sample size and power, non-inferiority margins, Bayesian borrowing, missing "
        "data and the analysis plan a reviewer will accept.",
    ),
    _expert(
        "patient_safety_expert",
        "Dr. Elena Rossi",
        "Patient safety and vigilance officer",
        [
            "safety",
            "adverse events",
            "vigilance",
            "post-market",
            "mdr reporting",
            "recall",
            "human factors",
            "usability",
            "harm",
        ],
        "Focus on patient harm: hazards, human factors and usability, adverse-event reporting and "
        "post-market surveillance obligations.",
    ),
    _expert(
        "eu_mdr_expert",
        "Dr. Klaus Weber",
        "EU MDR and notified body specialist",
        ["eu", "mdr", "ivdr", "ce mark", "notified body", "europe", "clinical evaluation", "gspr"],
        "Assess the European route under the MDR or IVDR: classification, notified-body review, clinical "
        "evaluation and the general safety and performance requirements.",
    ),
    _expert(
        "health_economics_expert",
        "Dr. Aisha Bello",
        "Health economist",
        [
            "health economics",
            "cost-effectiveness",
            "budget impact",
            "qaly",
            "value",
            "economic model",
            "outcomes",
            "cost",
            "price",
        ],
        "Build the value case: cost-effectiveness, budget impact, outcomes that matter to payers and "
        "hospitals, and the data needed to support them.",
    ),
    _expert(
        "cybersecurity_expert",
        "Tomás Silva",
        "Medical device cybersecurity engineer",
        [
            "cybersecurity",
            "software",
            "samd",
            "sbom",
            "connected",
            "threat model",
            "524b",
            "security",
            "ai",
            "algorithm",
        ],
        "Review software and cybersecurity: threat modelling, SBOM, section 524B premarket expectations, "
        "software as a medical device and AI/ML change control.",
    ),
    _expert(
        "ip_legal_expert",
        "Rachel Goldberg",
        "IP and regulatory legal counsel",
        [
            "patent",
            "ip",
            "intellectual property",
            "freedom to operate",
            "legal",
            "liability",
            "contracts",
            "licensing",
            "exclusivity",
        ],
        "Protect and clear the product: patents, freedom to operate, licensing, liability and the legal "
        "exposure of claims made in submissions and marketing.",
    ),
    _expert(
        "manufacturing_expert",
        "Diego Alvarez",
        "Manufacturing and supply chain lead",
        [
            "manufacturing",
            "supply chain",
            "sterilization",
            "scale-up",
            "validation",
            "suppliers",
            "production",
            "biocompatibility",
        ],
        "Judge whether the product can be built reliably: process validation, sterilization, "
        "biocompatibility, suppliers and scale-up.",
    ),
    _expert(
        "commercial_expert",
        "Nina Patel",
        "Commercial strategy lead",
        [
            "commercial",
            "launch",
            "market",
            "sales",
            "competition",
            "adoption",
            "strategy",
            "pricing",
            "subscription",
            "revenue",
            "customers",
            "churn",
        ],
        "Weigh the commercial case: target market, competition, adoption barriers, launch sequencing and "
        "how the regulatory choice changes time to revenue.",
    ),
)

BUILTIN_BY_ID: dict[str, Expert] = {e.agent_id: e for e in BUILTIN_EXPERTS}

_WORD = re.compile(r"[a-z0-9()]+(?:[-'][a-z0-9]+)*")
# Endings stripped so that a word and its inflections meet ("prices", "pricing" and "price" all read "pric").
_ENDINGS = ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s", "e")


def stem(word: str) -> str:
    """The word without its commonest English ending, keeping at least three letters."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)] + ("y" if ending == "ies" else "")
    return word


def _stems(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower())]


def relevance(expert: Expert, query: str) -> int:
    """How many of the expert's expertise terms and role words appear in the query, inflections included."""
    query_stems = _stems(query)
    words = set(query_stems)
    phrase = f" {' '.join(query_stems)} "
    score = 0
    for term in expert.expertise:
        term_stems = _stems(term)
        if len(term_stems) > 1:
            score += 2 if f" {' '.join(term_stems)} " in phrase else 0
        elif term_stems and term_stems[0] in words:
            score += 2
    score += sum(1 for w in _WORD.findall(expert.role.lower()) if len(w) > 3 and stem(w) in words)
    return score


def select_experts(query: str, candidates: Iterable[Expert]) -> list[Expert]:
    """Pick 3 to 5 experts relevant to the query, the most relevant first; ties keep catalogue order."""
    pool = list(candidates)
    scored = sorted(((relevance(e, query), index, e) for index, e in enumerate(pool)), key=lambda t: (-t[0], t[1]))
    relevant = [e for score, _, e in scored if score > 0][:MAX_AUTO_MEMBERS]
    if len(relevant) < MIN_AUTO_MEMBERS:
        for _, _, e in scored:
            if e not in relevant:
                relevant.append(e)
            if len(relevant) == MIN_AUTO_MEMBERS:
                break
    return relevant
