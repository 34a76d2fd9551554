"""What the simulated model reads from a request: who it is, the question, the options and who said what.

It reads the prompts the strategies write (`domain/strategies/*`): the persona line of an expert's
system prompt ("You are NAME, ROLE. Expertise: ..."), the `Question:` and `Options:` lines, and
the transcript lines (`Round N - NAME (expert) [position: X; confidence C]: text`). A change to
those prompts must change the patterns here with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ask_panel.domain.llm import ChatMessage
from ask_panel.infrastructure.llm.simulated_fields import FIELDS, Field, field_of
from ask_panel.infrastructure.llm.simulated_question import Question, read_question

_PERSONA = re.compile(r"You are (?P<name>[^,\n]+), (?P<role>[^.\n]+)\.(?: Expertise: (?P<exp>[^\n]*?)\.?$)?", re.M)
_QUERY = re.compile(r"Question(?: for the panel| for a Delphi panel)?: ([^\n]+)")
_OPTIONS = re.compile(r"^Options: ([^\n]+)$", re.M)
_LINE = re.compile(
    r"^Round (?P<round>\d+) - (?P<name>.+?) \((?P<role>expert|moderator|judge|facilitator)\)"
    r"(?: \[position: (?P<position>.+?); confidence (?P<confidence>[\d.]+)\])?: (?P<text>.*)$",
    re.M,
)
_ROUND = re.compile(r"\bRound (\d+)(?::|,)|\bDelphi round (\d+)", re.I)
_SIDE = re.compile(r"You (?:are|argue as) an? (proponent|opponent)\b", re.I)
_PROPOSITION = re.compile(r"^Proposition: ([^\n]+)$", re.M)
_ASKED = re.compile(r"The moderator asks you: ([^\n]+)")
_MEDIAN = re.compile(r"\bmedian (-?\d+(?:\.\d+)?)|\bpanelists? estimates? (-?\d+(?:\.\d+)?)")
"""The group's central estimate as the facilitator states it (`domain/strategies/estimates.py`): 'median 13
months, interquartile range ...', or, when the estimates do not spread, 'all three panelists estimate 8 months'."""
_NUMERIC = re.compile(r"^Numeric question[^:\n]*: ([^\n]+)$", re.M)


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    role: str
    expertise: tuple[str, ...]
    description: str
    field: Field

    @property
    def role_phrase(self) -> str:
        """The role as it reads after 'the panel's' (a leading capital kept only for names and acronyms)."""
        role = self.role
        return role[:1].lower() + role[1:] if role[1:2].islower() else role


@lru_cache(maxsize=512)  # a pure function of the prompt, asked on every call: reading a field is costly
def persona_of(system_prompt: str) -> Persona:
    match = _PERSONA.search(system_prompt)
    if match is None:
        return Persona("the assistant", "adviser", (), system_prompt, field_of("adviser", (), system_prompt, ""))
    expertise = tuple(t.strip() for t in (match.group("exp") or "").split(",") if t.strip())
    description = system_prompt[match.end() :].strip()
    name, role = match.group("name").strip(), match.group("role").strip()
    return Persona(name, role, expertise, description, field_of(role, expertise, description, name))


@dataclass(frozen=True, slots=True)
class Voice:
    """One line of the transcript: who spoke, in which round, the position they took and what they said."""

    round: int
    name: str
    role: str
    position: str | None
    confidence: float | None
    text: str


def voices_in(text: str) -> list[Voice]:
    return [
        Voice(
            int(m.group("round")),
            m.group("name").strip(),
            m.group("role"),
            m.group("position"),
            float(m.group("confidence")) if m.group("confidence") else None,
            m.group("text"),
        )
        for m in _LINE.finditer(text)
    ]


def latest_positions(voices: Sequence[Voice]) -> dict[str, Voice]:
    """Each expert's last line that carries a position."""
    last: dict[str, Voice] = {}
    for voice in voices:
        if voice.role == "expert" and voice.position is not None:
            last[voice.name] = voice
    return last


def concern_in(text: str, kinds: tuple[str, ...] = ("concerns", "risks", "benefits")) -> str | None:
    """The first field phrase of these kinds (concerns, risks, benefits) a turn mentions, to refer to it by."""
    low = text.lower()
    found = [
        (low.find(phrase.lower()), phrase)
        for f in FIELDS
        for kind in kinds
        for phrase in getattr(f, kind)
        if phrase.lower() in low
    ]
    return min(found)[1] if found else None


def medians_in(text: str) -> list[float]:
    """Every central estimate the facilitator fed back in `text`, in order."""
    return [float(a or b) for a, b in _MEDIAN.findall(text)]


@dataclass(slots=True)
class Context:
    """A request as the simulated model understands it."""

    persona: Persona
    task: str
    """The first user message: the same for an expert's prose and for its stance that follows."""
    prompt: str
    """Every message but the system prompt."""
    question: Question
    options: list[str] = field(default_factory=list)
    voices: list[Voice] = field(default_factory=list)
    round: int = 1
    side: str | None = None
    proposition: str | None = None
    asked: str | None = None
    median: float | None = None
    numeric: str | None = None
    own_words: str | None = None
    """The persona's own answer just given (when the request is the stance that follows it)."""

    @property
    def others(self) -> dict[str, Voice]:
        return {n: v for n, v in latest_positions(self.voices).items() if n != self.persona.name}

    @property
    def own_previous(self) -> Voice | None:
        return latest_positions(self.voices).get(self.persona.name)


def context_of(messages: Sequence[ChatMessage]) -> Context:
    system = next((m.content for m in messages if m.role == "system"), "")
    users = [m.content for m in messages if m.role == "user"]
    task = users[0] if users else ""
    prompt = "\n".join(m.content for m in messages if m.role != "system")
    query = _QUERY.search(task)
    options = _OPTIONS.search(task)
    rounds = _ROUND.findall(task)
    side = _SIDE.search(task)
    proposition = _PROPOSITION.search(task)
    asked = _ASKED.search(task)
    medians = medians_in(task)
    numeric = _NUMERIC.search(task)
    own = [m.content for m in messages if m.role == "assistant"]
    return Context(
        persona=persona_of(system),
        task=task,
        prompt=prompt,
        question=read_question(query.group(1).strip() if query else task.strip().split("\n")[0][:300]),
        options=[o.strip() for o in options.group(1).split("; ") if o.strip()] if options else [],
        voices=voices_in("\n".join(users)),
        round=max((int(a or b) for a, b in rounds), default=1),
        side=side.group(1).lower() if side else None,
        proposition=proposition.group(1).strip() if proposition else None,
        asked=asked.group(1).strip() if asked else None,
        median=medians[-1] if medians else None,
        numeric=numeric.group(1).strip() if numeric else None,
        own_words=own[0] if own else None,
    )
