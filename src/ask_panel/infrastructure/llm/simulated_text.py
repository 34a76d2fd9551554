"""What a simulated expert says: whole-sentence templates with typed slots, chosen with a seeded RNG.

Every template is a complete sentence. Its slots are typed: `{option}` is an option as framed,
`{topic}` a noun phrase read from the question, `{concern}`, `{risk}`, `{benefit}` and
`{evidence}` noun phrases of the speaker's own field (never the question's: a reason is the
speaker's own), `{condition}` a clause of its field, `{other}` another expert's name, `{value}` an
estimate with its unit, `{area}` the question's field by name. A turn opens with its claim (the
position and why), so its first sentence stands alone when quoted.

A panel does not repeat itself: each family of sentences has several frames, and a speaker takes
the frame used least in the discussion it can see (then in its own turn), so the same frame is
not used by expert after expert or round after round (`FAMILIES` lists them all, for the tests).
A speaker whose field is far from the question's (`simulated_bridges.py`) says so, defers on the
details and adds what its own field knows, instead of arguing the question's field.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import lru_cache
from string import Formatter

from ask_panel.infrastructure.llm.simulated_bridges import Bridge, area_of, outside
from ask_panel.infrastructure.llm.simulated_context import Context, Voice, concern_in
from ask_panel.infrastructure.llm.simulated_fields import field_of_text
from ask_panel.infrastructure.llm.simulated_views import (
    View,
    concern_of,
    estimate_of,
    option_for_estimate,
    seeded,
    view_of,
)

CLAIMS = (
    "I favour '{option}', because from where I sit the priority here is {benefit}.",
    "My recommendation is '{option}': it gives us {benefit} while keeping {risk} in check.",
    "'{option}' is where I land, because it protects us best against {risk}.",
    "I would choose '{option}', since it is the surest way to {benefit_verb}.",
    "On balance I support '{option}', mainly because of {concern}.",
    "My vote is for '{option}'; of the options in front of us, it handles {concern} best.",
)
CLAIMS_OUTSIDE = (
    "{area} is not my specialty, so I defer to the panel on the details, but I lean towards '{option}'.",
    "I come to {area} from the side of {own_area}, and from there '{option}' looks like the sounder choice.",
    "Speaking as the panel's {role} rather than as a specialist in {area}, I would pick '{option}'.",
    "I will stay in my lane on {area}, but seen from {own_area}, my vote goes to '{option}'.",
)
LENSES = (
    "Speaking as the panel's {role}, I look first at {concern} for {topic}.",
    "From where I sit as the panel's {role}, {topic} also comes down to {concern}.",
    "As the panel's {role}, I judge {topic} mainly on {concern}.",
    "For {topic}, the part I would scrutinise hardest is {concern}.",
)
LENSES_NO_TOPIC = (
    "Speaking as the panel's {role}, I look first at {concern}.",
    "From where I sit as the panel's {role}, this comes down to {concern}.",
    "The part I would scrutinise hardest is {concern}.",
)
EVIDENCE = (
    "What would settle it for me is {evidence}.",
    "Before we commit, I want to see {evidence}.",
    "The deciding evidence would be {evidence}.",
    "I would not sign off without {evidence}.",
)
CONDITIONS = (
    "I would go ahead provided that {condition}.",
    "My one condition is that {condition}.",
    "I can support it only if {condition}.",
    "My support holds as long as {condition}.",
    "I would make it conditional: we proceed provided that {condition}.",
    "What I need in return is a commitment that {condition}.",
)
RISKS = (
    "The risk I worry about most is {risk}.",
    "What could go wrong is {risk}, and we should plan for it now.",
    "The failure I would plan for is {risk}.",
    "I would put {risk} at the top of the risk register.",
)
AGREE = (
    "I agree with {other}, and I would add {concern} to the argument.",
    "{other} is right to back the same option, and my own field points the same way.",
    "{other} and I reach the same answer from different directions; for me it is {concern} that decides it.",
    "I side with {other} here, and {concern} only strengthens that case.",
)
AGREE_PLAIN = (
    "{other} makes the case for it better than I could, and I agree.",
    "I side with {other} on this.",
    "{other} and I end up in the same place.",
    "I find {other}'s reasoning convincing.",
    "{other} has it right, as far as I can judge from my side.",
)
AGREE_ON = (
    "{other} is right about {other_concern}, and that supports the same choice.",
    "{other}'s point about {other_concern} is the strongest argument made so far, and I share it.",
    "What {other} said about {other_concern} matches what I see in my own work.",
    "I would underline {other}'s point about {other_concern}; it is the heart of the case.",
)
DISAGREE = (
    "I disagree with {other}: '{other_option}' underrates {risk}.",
    "{other} makes a fair case for '{other_option}', but it leaves {risk} unaddressed.",
    "Where I part company with {other} is '{other_option}': it does too little about {risk}.",
    "{other}'s preference for '{other_option}' would be mine too if {risk} were not on the table.",
)
DISAGREE_OUTSIDE = (
    "{other} favours '{other_option}'; I see it differently, though the specialists' view should count for more "
    "than mine.",
    "I am not persuaded by {other}'s case for '{other_option}', but I hold that view less firmly than a specialist "
    "would.",
    "{other} may be right about '{other_option}'; I would want to hear why it is safer before I moved.",
    "I lean away from {other}'s '{other_option}', and I say so as a generalist on this point.",
)
CHANGED = (
    "I have changed my position from '{previous}' to '{option}': {other}'s point about {other_concern} persuaded me.",
    "After hearing {other} on {other_concern}, I now favour '{option}' over '{previous}'.",
    "{other}'s argument about {other_concern} moves me: I now support '{option}' rather than '{previous}'.",
)
CHANGED_PLAIN = (
    "I have moved from '{previous}' to '{option}', because {other}'s argument holds up better than mine did.",
    "I am changing my vote from '{previous}' to '{option}'; {other} made the better case.",
)
HOLD = (
    "I still favour '{option}', because nothing said against it outweighs {benefit}.",
    "My position on '{option}' stands after this round: it is still the surest way to {benefit_verb}.",
    "I stay with '{option}', because it still does most to keep {risk} in check.",
    "Having heard the others, I keep '{option}' as my recommendation, because this turns on {benefit}.",
    "Nothing said so far moves me off '{option}': it remains the best answer to {risk}.",
)
HOLD_OUTSIDE = (
    "I remain with '{option}'; seen from {own_area}, it is still the safer of the options.",
    "Having heard the specialists, I keep '{option}', because from the side of {own_area} it leaves fewer loose ends.",
    "Nothing said so far moves me off '{option}', though I would give way to a specialist who showed me why.",
    "I keep my vote for '{option}'; from the side of {own_area}, none of the objections changes the picture.",
)
QUESTIONS = (
    "{name}, you favour '{option}': what evidence about {topic} would change your mind?",
    "{name}, which assumption behind '{option}' would hurt us most if it turned out wrong?",
    "{name}, how would a sceptical reviewer attack your case for '{option}'?",
    "{name}, what would you need to see to abandon '{option}'?",
)
QUESTIONS_OPEN = (
    "{name}, what is the weakest assumption in your view of {topic}?",
    "{name}, what would you need to see before committing to a position on {topic}?",
    "{name}, where could your reading of {topic} turn out to be wrong?",
)
ANSWER_EVIDENCE = (
    "To your question: the evidence that would change my mind is {evidence}.",
    "What would change my mind is {evidence}.",
    "Show me {evidence} pointing the other way, and I would reconsider.",
)
ANSWER_ASSUMPTION = (
    "To your question: the assumption I rely on most is that {condition}.",
    "My weakest assumption is that {condition}.",
    "Everything I said rests on the assumption that {condition}.",
)
ANSWER_SCEPTIC = (
    "To your question: a sceptic would point to {risk}, and I take that seriously.",
    "A sceptical reviewer would go straight to {risk}, and that is a fair line of attack.",
    "The strongest case against me is {risk}, and I take it seriously.",
)
ANSWER_OUTSIDE = (
    "On {area} itself I would follow the evidence the specialists bring; my own part rests on the assumption "
    "that {condition}.",
    "That is a fair challenge; {area} is not my field, so the specialists' evidence would move me more than my "
    "own view, and I would still insist that {condition}.",
)
PRO_OPEN = (
    "I argue for the proposition, because it gives us {benefit}.",
    "The proposition is right, because it is the surest way to {benefit_verb}.",
    "I speak for the proposition: the case rests on {benefit}.",
)
CON_OPEN = (
    "I argue against the proposition, because it exposes us to {risk}.",
    "The proposition is wrong for us, because it leaves {risk} unaddressed.",
    "I speak against the proposition: it invites {risk}.",
)
PRO_AGAIN = (
    "My case for the proposition stands after the rebuttals.",
    "I still argue for the proposition, and for the same reason: {benefit}.",
    "The opponents have not shaken the case for the proposition.",
)
CON_AGAIN = (
    "My case against the proposition stands after the rebuttals.",
    "I still argue against the proposition, because {risk} has not been answered.",
    "The proponents have not answered the case against the proposition.",
)
PRO_REBUT = (
    "{other} is right that {other_concern} is a real risk, but it can be managed, and it does not outweigh {benefit}.",
    "{other}'s warning about {other_concern} calls for a plan, not a veto.",
    "{other} points to {other_concern}; that is a reason to plan carefully, not a reason to reject the proposition.",
)
PRO_REBUT_PLAIN = (
    "{other}'s objection does not change the balance: the gain in {benefit} is worth the exposure to {risk}.",
    "{other} lists what could go wrong, but not what we lose by waiting.",
)
CON_REBUT = (
    "{other} promises {other_concern}, but the proposition still leaves us exposed to {risk}.",
    "{other}'s promise of {other_concern} assumes everything goes to plan; {risk} is the likelier outcome.",
    "I do not doubt that {other_concern} matters, as {other} says, but it does not pay for {risk}.",
)
CON_REBUT_PLAIN = (
    "{other}'s case rests on everything going right, and {risk} is the likelier outcome.",
    "{other} describes the plan as it should go; I am describing how it usually goes, and that means {risk}.",
)
PRO_CLOSE = (
    "The opponents will point to {risk}, but that is manageable provided that {condition}.",
    "The downside is real but bounded, provided that {condition}.",
)
CON_CLOSE = (
    "Its supporters promise {benefit}, yet nothing in the plan secures it.",
    "Until someone shows how the plan secures {benefit}, I cannot support it.",
)
DELPHI_FIRST = (
    "My estimate is {value}; {concern} is what drives it.",
    "I put it at {value}, mainly because of {concern}.",
    "For me the answer is {value}, with {concern} as the main driver.",
    "I would say {value}; in my experience {concern} decides it.",
)
DELPHI_FIRST_CHANCE = (
    "I put the chance that it succeeds as planned at {value}; {concern} is the main uncertainty.",
    "My estimate is {value} that it succeeds as planned, with {concern} as the biggest uncertainty.",
    "I would give it {value}, mostly because of {concern}.",
)
DELPHI_FIRST_OUTSIDE = (
    "{area} is outside my field, so I hold this loosely: my estimate is {value}.",
    "As an outside view from {own_area}, I would put it at {value}.",
    "I am not a specialist in {area}, so take my {value} as an informed outsider's number.",
)
DELPHI_OUTSIDE_BASIS = (
    "My number leans on comparable projects I have seen, not on inside knowledge of {area}.",
    "I would weight the specialists' numbers above mine on this.",
    "I have no inside view of {area}, so I am anchoring on what similar projects took.",
    "The specialists on the panel know {area} better than I do, and my number should count for less.",
)
DELPHI_HOLD = (
    "The group median of {median} is close to my view, so I keep my estimate at {value}.",
    "I keep my estimate at {value}: the group median of {median} gives me no reason to move.",
    "With the group at {median}, I see no reason to change my {value}.",
    "My estimate stays at {value}, in line with the group's {median}.",
)
DELPHI_HOLD_APART = (
    "I keep my estimate at {value}, {side} the group median of {median}, because {concern} is easy to misjudge.",
    "I stay at {value} even though the group median is {median}; nobody has yet addressed {concern}.",
)
DELPHI_MOVE = (
    "I am moving from {first} to {value}, towards the group median of {median}, because {concern} weighs less "
    "than I assumed.",
    "The feedback moves me from {first} to {value}: the group median of {median} reflects risks I misjudged.",
    "I revise my estimate from {first} to {value}; the group's median of {median} is a fair correction.",
    "Seeing the group at {median}, I adjust my estimate from {first} to {value}.",
    "I now put it at {value} rather than {first}: the group's {median} made me recheck my assumptions.",
)
DELPHI_RANGE = (
    "That puts me in the range '{option}'.",
    "Of the ranges offered, mine is '{option}'.",
    "Among the options, '{option}' fits that number.",
    "On the options, that means '{option}'.",
    "So my option is '{option}'.",
)
DELPHI_OPTION = (
    "Of the options, I favour '{option}'.",
    "My preferred option is '{option}'.",
    "On the options themselves, I would pick '{option}'.",
    "As for the options, mine is '{option}'.",
    "I would back '{option}' among the options.",
    "Among the options, my choice is '{option}'.",
)
DELPHI_ASSUME = (
    "That estimate assumes that {condition}.",
    "My number holds only if {condition}.",
    "I am assuming that {condition}.",
    "The number rests on the assumption that {condition}.",
    "I would revise it if it turned out to be untrue that {condition}.",
)

FAMILIES: dict[str, tuple[str, ...]] = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, tuple) and value and all(isinstance(t, str) for t in value)
}
"""Every family of sentence frames, by name (the tests count how often a panel uses each frame)."""


@lru_cache(maxsize=256)
def frame_of(template: str) -> re.Pattern[str]:
    """A template as a pattern that finds its sentences (each slot matches any words)."""
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template)), re.IGNORECASE)


def _verb_of(benefit: str) -> str:
    """A benefit noun phrase as an infinitive clause ('a predictable review' → 'get a predictable review')."""
    return f"get {benefit}" if not benefit.startswith(("a ", "an ", "the ")) else f"secure {benefit}"


PHRASE_SLOTS = {"concern": "concerns", "risk": "risks", "benefit": "benefits", "evidence": "evidence"}
"""Slots filled with a phrase of the speaker's field, drawn afresh for each sentence."""


def tidy(sentences: list[str]) -> str:
    out = []
    for sentence in sentences:
        sentence = re.sub(r"\s+", " ", sentence).strip()
        if sentence:
            out.append(sentence[:1].upper() + sentence[1:])
    return " ".join(out)


class Writer:
    """Fills templates for one speaker and request, from a seeded RNG, using the least-used frames."""

    def __init__(self, ctx: Context, rng: random.Random, seed: str = "") -> None:
        self.ctx = ctx
        self.rng = rng
        self.seed = seed
        f = ctx.persona.field
        question_field = field_of_text(ctx.question.text)
        self.bridge: Bridge | None = outside(f, question_field, ctx.question.text)
        self.turn: list[str] = []
        conditions = self.bridge.conditions if self.bridge else f.conditions
        self.slots: dict[str, str] = {
            "role": ctx.persona.role_phrase,
            "topic": ctx.question.topic,
            "condition": rng.choice(conditions),
            "area": area_of(question_field),
            "own_area": _own_area(self.bridge, ctx.persona.role_phrase),
        }

    @property
    def outside(self) -> bool:
        """The question lies outside this speaker's field."""
        return self.bridge is not None

    def say(self, templates: tuple[str, ...], **slots: str) -> str:
        """The least-used frame of `templates` in what the speaker can see, then in its own turn."""
        seen = self.ctx.prompt
        said = " ".join(self.turn)
        uses = {t: len(frame_of(t).findall(seen)) + 2 * len(frame_of(t).findall(said)) for t in templates}
        fewest = min(uses.values())
        # Speakers who cannot see each other (a round's turns run concurrently) still vary: each
        # speaker walks the family from its own starting frame, one frame further each round.
        start = seeded(self.seed, self.ctx.persona.name, templates[0]).randrange(len(templates)) + self.ctx.round
        rotated = [templates[(start + i) % len(templates)] for i in range(len(templates))]
        template = next(t for t in rotated if uses[t] == fewest)
        names = {name for _, name, _, _ in Formatter().parse(template) if name}
        filled = self.slots | {k: self.phrase(k) for k in sorted(names & PHRASE_SLOTS.keys()) if k not in slots}
        if "benefit_verb" in names:
            filled["benefit_verb"] = _verb_of(self.phrase("benefit"))
        sentence = template.format(**(filled | slots))
        self.turn.append(sentence)
        return sentence

    def phrase(self, kind: str) -> str:
        """A phrase of the speaker's field for a slot, not yet used in this turn (a turn names a risk once)."""
        phrases: tuple[str, ...] = getattr(self.ctx.persona.field, PHRASE_SLOTS[kind])
        said = " ".join(self.turn)
        fresh = [p for p in phrases if p not in said]
        return self.rng.choice(fresh or list(phrases))

    def fact(self) -> str:
        """A fact of the speaker's field (its bridge facts outside it) not yet stated; nothing once all were."""
        facts = self.bridge.facts if self.bridge else self.ctx.persona.field.facts
        fresh = [f for f in facts if f not in self.ctx.prompt and f not in self.turn]
        if not fresh:
            return ""
        sentence = self.rng.choice(fresh)
        self.turn.append(sentence)
        return sentence

    def lens(self) -> str:
        return self.say(LENSES if self.ctx.question.topics else LENSES_NO_TOPIC)

    def claim(self, option: str) -> str:
        return self.say(CLAIMS_OUTSIDE if self.outside else CLAIMS, option=option)

    def own_condition_said(self) -> bool:
        """This speaker already stated the condition it would name now (in an earlier round)."""
        own = [v.text for v in self.ctx.voices if v.name == self.ctx.persona.name]
        return any(self.slots["condition"] in text for text in own)


def _own_area(bridge: Bridge | None, role: str) -> str:
    return bridge.area if bridge else role


def expert_turn(ctx: Context, rng: random.Random, seed: str) -> str:
    """An expert's contribution to a structured, open or socratic round: its claim first, then why."""
    w = Writer(ctx, rng, seed)
    options = ctx.options or list(ctx.question.alternatives)
    if not options:
        return tidy([w.lens(), w.fact(), w.say(EVIDENCE), w.say(CONDITIONS)])
    view = view_of(ctx, options, seed)
    if ctx.asked is not None:
        first = w.claim(view.position) if view.previous is None else _change_or_hold(w, view)
        answer = _answer(w, ctx.asked)
        fact = w.fact()
        closing = "" if w.outside else w.say(RISKS) if w.slots["condition"] in answer else w.say(CONDITIONS)
        return tidy([first, answer, fact, closing])
    if view.previous is None:
        sentences = [w.claim(view.position)]
        if view.agree_with is None and view.disagree_with is None:
            if w.outside:
                return tidy([*sentences, w.fact(), w.say(CONDITIONS)])
            middle = w.say(rng.choice((EVIDENCE, RISKS)))
            return tidy([*sentences, w.lens(), w.fact(), middle, w.say(CONDITIONS)])
    else:
        sentences = [_change_or_hold(w, view)]
    sentences += _responses(w, view)
    sentences.append(w.fact())
    sentences.append(_closing(w))
    return tidy(sentences)


def _closing(w: Writer) -> str:
    """A condition, unless the speaker stated it before; then a risk or the evidence it wants."""
    if not w.own_condition_said():
        return w.say(CONDITIONS)
    if w.outside:
        return ""
    return w.say(RISKS + EVIDENCE)


def _answer(w: Writer, asked: str) -> str:
    """The direct answer to the moderator's question: evidence, an assumption or the sceptic's point."""
    if w.outside:
        return w.say(ANSWER_OUTSIDE)
    low = asked.lower()
    for keys, family in (
        (("assumption", "wrong"), ANSWER_ASSUMPTION),
        (("sceptic", "skeptic", "attack"), ANSWER_SCEPTIC),
        (("evidence", "need to see"), ANSWER_EVIDENCE),
    ):
        if any(k in low for k in keys):
            return w.say(family)
    return w.say(w.rng.choice((ANSWER_EVIDENCE, ANSWER_ASSUMPTION, ANSWER_SCEPTIC)))


def _change_or_hold(w: Writer, view: View) -> str:
    hold = HOLD_OUTSIDE if w.outside else HOLD
    if view.previous is None or view.previous == view.position:
        return w.say(hold, option=view.position)
    mover = view.moved_by or view.agree_with
    if mover is None:
        return w.say(hold, option=view.position)
    concern = concern_of(mover)
    if concern:
        return w.say(CHANGED, previous=view.previous, option=view.position, other=mover.name, other_concern=concern)
    return w.say(CHANGED_PLAIN, previous=view.previous, option=view.position, other=mover.name)


def _responses(w: Writer, view: View) -> list[str]:
    out: list[str] = []
    agree = view.agree_with
    if agree is not None and agree is not view.moved_by:
        concern = concern_of(agree)
        if concern and w.rng.random() < 0.5:
            out.append(w.say(AGREE_ON, other=agree.name, other_concern=concern))
        else:
            out.append(w.say(AGREE_PLAIN if w.outside else AGREE + AGREE_PLAIN, other=agree.name))
    if view.disagree_with is not None:
        other = view.disagree_with
        family = DISAGREE_OUTSIDE if w.outside else DISAGREE
        out.append(w.say(family, other=other.name, other_option=other.position or "the alternative"))
    return out


def question_turn(ctx: Context, rng: random.Random, target: str, seed: str = "") -> str:
    """The moderator's probing question to `target`, about the position they hold."""
    w = Writer(ctx, rng, seed)
    held = ctx.others.get(target) or next((v for v in ctx.voices if v.name == target), None)
    if held is not None and held.position:
        return w.say(QUESTIONS, name=target, option=held.position)
    return w.say(QUESTIONS_OPEN, name=target)


def debate_turn(ctx: Context, rng: random.Random, seed: str = "") -> str:
    """A debater's opening or rebuttal, always for its own side; a rebuttal answers the other side's words."""
    w = Writer(ctx, rng, seed)
    pro = ctx.side == "proponent"
    others = [v for v in ctx.voices if v.role == "expert" and v.name != ctx.persona.name]
    rival = _rival(ctx, others, pro)
    if rival is None:
        sentences = [w.say(PRO_OPEN if pro else CON_OPEN)]
        sentences += [w.fact() if w.outside else w.lens(), w.fact(), w.say(PRO_CLOSE if pro else CON_CLOSE)]
        return tidy(sentences)
    spoke_before = any(v.name == ctx.persona.name for v in ctx.voices)
    opening = (PRO_AGAIN if pro else CON_AGAIN) if spoke_before else (PRO_OPEN if pro else CON_OPEN)
    sentences = [w.say(opening)]
    said = concern_in(rival.text, ("risks",) if pro else ("benefits",))
    if said is not None:
        sentences.append(w.say(PRO_REBUT if pro else CON_REBUT, other=rival.name, other_concern=said))
    else:
        sentences.append(w.say(PRO_REBUT_PLAIN if pro else CON_REBUT_PLAIN, other=rival.name))
    sentences += [w.fact(), w.say(EVIDENCE)]
    return tidy(sentences)


def _rival(ctx: Context, others: list[Voice], pro: bool) -> Voice | None:
    opposite = "against" if pro else "for"
    named = re.search(r"The other side's latest argument, by ([^:\n]+):", ctx.task)
    if named:
        return Voice(ctx.round, named.group(1).strip(), "expert", opposite, None, ctx.task[named.end() :])
    against = [v for v in others if v.position == opposite]
    return against[-1] if against else None


_CHANCE = re.compile(r"\b(?:probability|chance|likelihood|how likely)\b.*\bsucceed", re.I)


def delphi_turn(ctx: Context, rng: random.Random, seed: str) -> str:
    """A Delphi panelist's reasoning, its estimate in the question's unit, and its preferred option.

    From round 2 a panelist says how the feedback moved it (or why it did not), and restates its
    option and assumptions only now and then, as people do in a second questionnaire.
    """
    w = Writer(ctx, rng, seed)
    value, first, unit = estimate_of(ctx, seed)
    said = {"value": unit.fmt(value)}
    if first is None or ctx.median is None:
        family: tuple[str, ...] = DELPHI_FIRST_OUTSIDE
        if not w.outside:
            family = DELPHI_FIRST_CHANCE if _CHANCE.search(ctx.numeric or "") else DELPHI_FIRST
        sentences = [w.say(family, **said)]
    else:
        said |= {"median": _median(unit.fmt, ctx.median), "first": unit.fmt(first)}
        close = max(1.0, 0.05 * (unit.high - unit.low))
        if abs(value - first) >= close:
            sentences = [w.say(DELPHI_MOVE, **said)]
        elif abs(value - ctx.median) <= close:
            sentences = [w.say(DELPHI_HOLD, **said)]
        else:
            sentences = [w.say(DELPHI_HOLD_APART, side="above" if value > ctx.median else "below", **said)]
    later = first is not None
    if not w.outside:
        sentences.append(w.fact())
    elif not later or rng.random() < 0.4:
        sentences.append(w.say(DELPHI_OUTSIDE_BASIS))
    if ctx.options and (not later or rng.random() < 0.5):
        ranged = option_for_estimate(ctx.options, value)
        if ranged is not None:
            sentences.append(w.say(DELPHI_RANGE, option=ranged))
        else:
            sentences.append(w.say(DELPHI_OPTION, option=view_of(ctx, ctx.options, seed).position))
    if not w.outside and (not later or rng.random() < 0.4):
        sentences.append(w.say(DELPHI_ASSUME))
    return tidy(sentences)


def _median(fmt: Callable[[float], str], median: float) -> str:
    """The group median as fed back (13.5 stays 13.5, where an estimate would be rounded)."""
    text = fmt(median)
    if median != round(median) and abs(median) >= 10:
        number = f"{median:,.1f}".rstrip("0").rstrip(".")
        text = re.sub(r"[\d,]+(?:\.\d+)?", number, text, count=1)
    return text
