"""Reading a question for the simulated model: its topic phrases, its form, its alternatives and its unit.

Topic phrases are noun phrases cut from the question at function words, verbs and punctuation, so
they can fill a template's noun slot ("the question turns on {topic}") and read as English. A
phrase is kept only if it ends in a word that can end a noun phrase (never a function word, a
modal, an adverb or a bare quantifier); otherwise the templates fall back to their field's phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ask_panel.infrastructure.llm.simulated_words import (
    COMMON_VERBS,
    DETERMINERS,
    ING_NOUNS,
    PREPOSITIONS,
    STOP,
    TIME_NOUNS,
    VAGUE_NOUNS,
    words_of,
)

Form = Literal["choice", "yes_no", "quantity", "open"]

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9()'\u2019&/+.-]*[A-Za-z0-9)%]|[A-Za-z0-9]")
_BREAK = re.compile(r"[,;:?!\"\u201c\u201d\[\]]|\.(?:\s|$)|\s[-\u2013\u2014]\s")
_ASIDE = re.compile(r"(?:^|\s)\(([^()]*)\)")


def _clean_word(word: str, first: bool) -> str:
    word = word.replace("\u2019", "'")
    if word.endswith(("'s", "s'")):
        return word
    if first and len(word) > 1 and word[0].isupper() and word[1:].islower():
        return word.lower()
    return word


def _is_boundary(word: str, *, opening: bool, following: str) -> bool:
    """Whether `word` ends a noun phrase.

    An -ing word is a verb only at a phrase's start and before a function word ('running a
    trial'); before a noun it is part of the phrase ('hiring plan'), as it is inside one ('wound
    dressing').
    """
    low = word.lower()
    gerund = opening and low.endswith("ing") and low not in ING_NOUNS and (following in STOP or not following)
    return low in STOP or (low.endswith("ly") and len(low) > 4) or gerund


def _good_phrase(words: list[str]) -> bool:
    if not words or len(words) > 5:
        return False
    last = words[-1].lower().rstrip("%")
    if last in STOP or last in TIME_NOUNS or last.isdigit() or last.endswith("'s"):
        return False
    if len(words) == 1:
        word = words[0]
        if word.lower() in VAGUE_NOUNS:
            return False
        return len(word) >= 4 or (word.isupper() and len(word) >= 2) or "(" in word
    return True


def _with_article(phrase: str) -> str:
    """'the ' + phrase, except for a proper name ('Germany', 'Acme Health')."""
    words = phrase.split()
    proper = all(w[:1].isupper() and w[1:].islower() for w in words)
    return phrase if proper else f"the {phrase}"


def topic_phrases(question: str) -> list[str]:
    """Noun phrases of the question, most specific first, each with its article ('the ...')."""
    phrases: list[tuple[int, int, str]] = []
    for index, clause in enumerate(_BREAK.split(_ASIDE.sub(r", \1,", question))):
        chunk: list[str] = []
        words = _WORD.findall(clause)
        padded = [*words, "."]
        for position, raw in enumerate(padded):
            word = _clean_word(raw, first=index == 0 and position == 0)
            following = padded[position + 1].lower() if position + 1 < len(words) else ""
            if raw != "." and not _is_boundary(word, opening=not chunk, following=following):
                chunk.append(word)
                continue
            while chunk and chunk[-1].lower() in TIME_NOUNS | {"first", "next", "new", "last"}:
                chunk.pop()
            if _good_phrase(chunk):
                phrases.append((len(chunk), -len(phrases), " ".join(chunk)))
            chunk = []
    ordered = [p for _, _, p in sorted(phrases, reverse=True)]
    unique: list[str] = []
    for phrase in ordered:
        if not any(phrase.lower() in kept.lower() for kept in unique):
            unique.append(phrase)
    return [_with_article(p) for p in unique]


@dataclass(frozen=True, slots=True)
class Unit:
    """What a quantity question is answered in, with a plausible range and a typical answer."""

    name: str
    low: float
    high: float
    typical: float

    def span(self, low: float, high: float) -> str:
        """A range as people write it: '7 to 20 months', '35% to 70%', '$10 to $50'."""
        if self.name in ("%", "USD"):
            return f"{self.fmt(low)} to {self.fmt(high)}"
        return f"{self.fmt(low).rsplit(' ', 1)[0]} to {self.fmt(high)}"

    def fmt(self, value: float) -> str:
        number = f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
        if self.name == "%":
            return f"{number}%"
        if self.name == "USD":
            return f"${number}"
        return f"{number} {self.name}"


UNITS: dict[str, Unit] = {
    "months": Unit("months", 1, 48, 12),
    "weeks": Unit("weeks", 1, 104, 16),
    "years": Unit("years", 1, 15, 3),
    "days": Unit("days", 1, 365, 60),
    "patients": Unit("patients", 10, 2000, 150),
    "subjects": Unit("subjects", 10, 2000, 150),
    "participants": Unit("participants", 10, 2000, 150),
    "sites": Unit("sites", 1, 60, 10),
    "%": Unit("%", 0, 100, 55),
    "USD": Unit("USD", 1, 2000, 150),
}
_COUNT = re.compile(r"\bhow many ([a-z]+)", re.I)
_LONG = re.compile(r"\bhow long\b|\bwhen (?:will|can|could|should|would|do|does|is|are)\b|\btime to\b", re.I)
_PERCENT = re.compile(
    r"\b(?:what (?:percentage|percent|share|proportion|fraction)|how likely|probability|chance|likelihood|odds)\b",
    re.I,
)
_MONEY = re.compile(r"\bhow much\b|\bwhat price\b|\bprice point\b", re.I)


def unit_of(question: str) -> Unit | None:
    """The unit a quantity question is answered in, or None when the question asks for no number."""
    count = _COUNT.search(question)
    if count:
        noun = count.group(1).lower()
        if noun in UNITS:
            return UNITS[noun]
        plural = noun if noun.endswith("s") else noun + "s"
        return Unit(plural, 1, 1000, 50)
    if _PERCENT.search(question):
        return UNITS["%"]
    if _LONG.search(question):
        return UNITS["months"]
    if _MONEY.search(question):
        return UNITS["USD"]
    return None


_LEAD = re.compile(
    r"^(?:(?:so|now|overall),?\s+)?(?:should|shall|can|could|would|will|must|do|does)\s+"
    r"(?:we|i|you|the company|the team|our team|our company|they)\s+(?P<rest>.+)$",
    re.I,
)
_BETTER = re.compile(r"\b(?:better|best|wiser|preferable|smarter) to\s+(?P<rest>.+)$", re.I)
_WORTH = re.compile(
    r"^(?:is it|would it be|are we)\s+(?:worth|wise|time|ready|sensible|smart)\s+(?:to\s+)?(?P<rest>.+)$", re.I
)
_WHETHER = re.compile(r"\bwhether (?:or not )?(?:to|we should)\s+(?P<rest>.+)$", re.I)
_EXTRA_E = words_of(
    "mak tak us hav giv mov pric choos charg rais pursu manag scal chang produc secur outsourc licens "
    "financ clos hir releas fil prepar improv acquir merg reduc increas introduc engag purchas stag "
    "leverag"
)


def base_verb(word: str) -> str:
    """The base form of a gerund ('running' → 'run', 'making' → 'make'); other words unchanged."""
    low = word.lower()
    if not low.endswith("ing") or low in ING_NOUNS or len(low) < 5:
        return word
    stem = low[:-3]
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    return stem + "e" if stem in _EXTRA_E else stem


def _main_clause(question: str) -> str:
    text = " ".join(question.split()).strip()
    parts = [p.strip() for p in re.split(r"(?<=[?.!])\s+", text) if p.strip()]
    asked = [p for p in parts if p.endswith("?")]
    return (asked[-1] if asked else parts[-1] if parts else text).rstrip("?.! ")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


_SHARED_TAIL = re.compile(r"\s+(?:for|given|so that|to treat|in order to)\s+.+$", re.I)


def _alternatives(rest: str) -> list[str]:
    if " or " not in f" {rest} " or re.search(r"\bor not\b", rest, re.I):
        return []
    pieces = [p.strip(" ,") for p in re.split(r",\s*(?:or\s+)?|\s+or\s+", rest) if p.strip(" ,")]
    if not 2 <= len(pieces) <= 4:
        return []
    tail = _SHARED_TAIL.search(pieces[-1])
    if tail and len(pieces[-1].split()) > 3:
        pieces[-1] = pieces[-1][: tail.start()].strip()
    lead = pieces[0].split()[0].lower() if pieces[0].split() else ""
    verb = base_verb(lead) if lead not in STOP or lead in COMMON_VERBS else ""
    out: list[str] = []
    for i, piece in enumerate(pieces):
        words = piece.split()
        if not words:
            return []
        first = words[0].lower()
        if (
            i
            and verb
            and (first in DETERMINERS or first in PREPOSITIONS or words[0][:1].isupper() or first[0].isdigit())
        ):
            piece = f"{verb} {piece}"
        elif not i and verb:
            piece = " ".join([verb, *words[1:]])
        out.append(_capital(piece))
    distinct = list(dict.fromkeys(out))
    return distinct if len(distinct) == len(out) and all(len(o) <= 120 for o in out) else []


@dataclass(frozen=True, slots=True)
class Question:
    """A question as the simulated model reads it."""

    text: str
    form: Form
    topics: tuple[str, ...]
    alternatives: tuple[str, ...] = ()
    action: str | None = None
    unit: Unit | None = None

    @property
    def topic(self) -> str:
        return self.topics[0] if self.topics else "the decision in front of us"


def read_question(text: str) -> Question:
    """The form of the question (a choice, yes or no, a quantity, or open) and what fills its slots."""
    clause = _main_clause(text)
    unit = unit_of(clause)
    topics = tuple(t for t in topic_phrases(text) if unit is None or t != f"the {unit.name}")
    if unit is not None and re.match(r"^(?:how|when|what (?:percentage|percent|share|proportion))\b", clause, re.I):
        return Question(text, "quantity", topics, unit=unit)
    for pattern in (_BETTER, _LEAD, _WORTH, _WHETHER):
        match = pattern.search(clause)
        if match is None:
            continue
        rest = match.group("rest").strip()
        alternatives = _alternatives(rest)
        if alternatives:
            return Question(text, "choice", topics, alternatives=tuple(alternatives), unit=unit)
        words = rest.split()
        if pattern is _LEAD or pattern is _WORTH or pattern is _WHETHER:
            action = " ".join([base_verb(words[0]).lower() if words[0][1:].islower() else words[0], *words[1:]])
            action = re.sub(r"\s+or not$", "", action)
            if len(action) <= 90:
                return Question(text, "yes_no", topics, action=action, unit=unit)
    if ":" in text and " or " in text.split(":")[-1]:
        alternatives = _alternatives(text.split(":")[-1].strip(" ?"))
        if alternatives:
            return Question(text, "choice", topics, alternatives=tuple(alternatives), unit=unit)
    return Question(text, "open", topics, unit=unit)
