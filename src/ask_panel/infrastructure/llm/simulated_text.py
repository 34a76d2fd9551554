"""What a simulated expert says: whole-sentence templates with typed slots, chosen with a seeded RNG.

Every template is a complete sentence. Its slots are typed: `{option}` is an option as framed,
`{topic}` a noun phrase read from the question, `{concern}`, `{risk}`, `{benefit}` and
`{evidence}` noun phrases of the speaker's field, `{condition}` a clause of its field, `{other}`
another expert's name, `{value}` an estimate with its unit. A turn opens with its claim (the
position and why), so its first sentence stands alone when quoted.
"""

from __future__ import annotations

import random
import re

from ask_panel.infrastructure.llm.simulated_context import Context, Voice, concern_in
from ask_panel.infrastructure.llm.simulated_fields import field_of_text
from ask_panel.infrastructure.llm.simulated_views import View, concern_of, estimate_of, option_for_estimate, view_of

CLAIMS = (
    "I favour '{option}', because {q_benefit} matters more here than anything else.",
    "My recommendation is '{option}': it gives us {q_benefit} while keeping {q_risk} in check.",
    "'{option}' is where I land, because it protects us against {q_risk}.",
    "I would choose '{option}', since it is the surest way to {q_benefit_verb}.",
)
LENSES = (
    "Speaking as the panel's {role}, I look first at {concern} for {topic}.",
    "From where I sit as the panel's {role}, {topic} also comes down to {concern}.",
    "As the panel's {role}, I judge {topic} mainly on {concern}.",
)
LENSES_NO_TOPIC = (
    "Speaking as the panel's {role}, I look first at {concern}.",
    "From where I sit as the panel's {role}, this comes down to {concern}.",
)
EVIDENCE = (
    "What would settle it for me is {evidence}.",
    "Before we commit, I want to see {evidence}.",
    "The deciding evidence would be {evidence}.",
)
CONDITIONS = (
    "I would go ahead provided that {condition}.",
    "My one condition is that {condition}.",
)
RISKS = (
    "The risk I worry about most is {risk}.",
    "What could go wrong is {risk}, and we should plan for it now.",
)
AGREE = (
    "I agree with {other} on '{option}', and I would add {concern} to the argument.",
    "{other} is right to back '{option}', and my own field points the same way.",
)
AGREE_ON = ("{other} is right about {other_concern}, and that supports '{option}' as well.",)
DISAGREE = (
    "I disagree with {other}: '{other_option}' underrates {q_risk}.",
    "{other} makes a fair case for '{other_option}', but it leaves {q_risk} unaddressed.",
)
CHANGED = (
    "I have changed my position from '{previous}' to '{option}': {other}'s point about {other_concern} persuaded me.",
    "After hearing {other} on {other_concern}, I now favour '{option}' over '{previous}'.",
)
CHANGED_PLAIN = (
    "I have moved from '{previous}' to '{option}', because {other}'s argument holds up better than mine did.",
)
HOLD = (
    "I still favour '{option}', because {q_benefit} matters more than anything said against it.",
    "My position on '{option}' stands after this round: it is still the surest way to {q_benefit_verb}.",
)
QUESTIONS = (
    "{name}, you favour '{option}': what evidence about {topic} would change your mind?",
    "{name}, which assumption behind '{option}' would hurt us most if it turned out wrong?",
    "{name}, how would a sceptical reviewer attack your case for '{option}'?",
)
QUESTIONS_OPEN = (
    "{name}, what is the weakest assumption in your view of {topic}?",
    "{name}, what would you need to see before committing to a position on {topic}?",
)
ANSWERS = (
    "To answer directly: the evidence that would change my mind is {evidence}.",
    "To answer directly: the assumption I rely on most is that {condition}.",
    "To answer directly: a sceptic would point to {risk}, and I take that seriously.",
)
PRO_OPEN = (
    "I argue for the proposition, because it gives us {benefit}.",
    "The proposition is right, because it is the surest way to {benefit_verb}.",
)
CON_OPEN = (
    "I argue against the proposition, because it exposes us to {risk}.",
    "The proposition is wrong for us, because it leaves {risk} unaddressed.",
)
PRO_REBUT = ("{other} warns about {other_concern}, but that risk is manageable provided that {condition}.",)
PRO_REBUT_PLAIN = ("{other}'s objection does not change the balance: {benefit} outweighs {risk}.",)
CON_REBUT = ("{other} promises {other_concern}, but the proposition still leaves us exposed to {risk}.",)
CON_REBUT_PLAIN = ("{other}'s case rests on everything going right, and {risk} is the likelier outcome.",)
PRO_CLOSE = ("The opponents will point to {risk}, but that is manageable provided that {condition}.",)
CON_CLOSE = ("Its supporters promise {benefit}, yet nothing in the plan secures it.",)
DELPHI_FIRST = (
    "My estimate is {value}, because {concern} usually sets the pace.",
    "I put it at {value}; {concern} is what drives the number.",
)
DELPHI_HOLD = (
    "The group median of {median} is close to my view, so I keep my estimate at {value}.",
    "I keep my estimate at {value}: the group median of {median} gives me no reason to move.",
)
DELPHI_MOVE = (
    "I am moving from {first} to {value}, towards the group median of {median}, because {concern} "
    "weighs less than I assumed.",
    "The feedback moves me from {first} to {value}: the group median of {median} reflects risks I underweighted.",
)
DELPHI_OPTION = ("Of the options, I favour '{option}'.", "Among the options, '{option}' fits that number best.")


def _verb_of(benefit: str) -> str:
    """A benefit noun phrase as an infinitive clause ('a predictable review' → 'get a predictable review')."""
    return f"get {benefit}" if not benefit.startswith(("a ", "an ", "the ")) else f"secure {benefit}"


def tidy(sentences: list[str]) -> str:
    out = []
    for sentence in sentences:
        sentence = re.sub(r"\s+", " ", sentence).strip()
        if sentence:
            out.append(sentence[:1].upper() + sentence[1:])
    return " ".join(out)


class Writer:
    """Fills templates for one speaker and request, from a seeded RNG."""

    def __init__(self, ctx: Context, rng: random.Random) -> None:
        self.ctx = ctx
        self.rng = rng
        f = ctx.persona.field
        q = field_of_text(ctx.question.text) or f
        benefit = rng.choice(f.benefits)
        q_benefit = rng.choice(q.benefits)
        self.slots: dict[str, str] = {
            "role": ctx.persona.role_phrase,
            "topic": ctx.question.topic,
            "concern": rng.choice(f.concerns),
            "risk": rng.choice(f.risks),
            "benefit": benefit,
            "benefit_verb": _verb_of(benefit),
            "evidence": rng.choice(f.evidence),
            "condition": rng.choice(f.conditions),
            "q_benefit": q_benefit,
            "q_benefit_verb": _verb_of(q_benefit),
            "q_risk": rng.choice(q.risks),
        }

    def say(self, templates: tuple[str, ...], **slots: str) -> str:
        return self.rng.choice(templates).format(**(self.slots | slots))

    def fact(self) -> str:
        return self.rng.choice(self.ctx.persona.field.facts)

    def lens(self) -> str:
        return self.say(LENSES if self.ctx.question.topics else LENSES_NO_TOPIC)


def expert_turn(ctx: Context, rng: random.Random, seed: str) -> str:
    """An expert's contribution to a structured, open or socratic round: its claim first, then why."""
    w = Writer(ctx, rng)
    options = ctx.options or list(ctx.question.alternatives)
    if not options:
        return tidy([w.lens(), w.fact(), w.say(EVIDENCE), w.say(CONDITIONS)])
    view = view_of(ctx, options, seed)
    if ctx.asked is not None:
        first = w.say(CLAIMS, option=view.position) if view.previous is None else _change_or_hold(w, view)
        answer = _answer(w, ctx.asked)
        closing = w.say(RISKS) if w.slots["condition"] in answer else w.say(CONDITIONS)
        return tidy([answer, first, w.fact(), closing])
    if view.previous is None:
        sentences = [w.say(CLAIMS, option=view.position)]
        if view.agree_with is None and view.disagree_with is None:
            return tidy([*sentences, w.lens(), w.fact(), w.say(rng.choice((EVIDENCE, RISKS))), w.say(CONDITIONS)])
    else:
        sentences = [_change_or_hold(w, view)]
    sentences += _responses(w, view)
    sentences += [w.fact(), w.say(CONDITIONS)]
    return tidy(sentences)


def _answer(w: Writer, asked: str) -> str:
    """The direct answer to the moderator's question: evidence, an assumption or the sceptic's point."""
    low = asked.lower()
    for keys, template in (
        (("assumption",), ANSWERS[1]),
        (("sceptic", "skeptic", "attack"), ANSWERS[2]),
        (("evidence", "need to see"), ANSWERS[0]),
    ):
        if any(k in low for k in keys):
            return template.format(**w.slots)
    return w.say(ANSWERS)


def _change_or_hold(w: Writer, view: View) -> str:
    if view.previous is None or view.previous == view.position:
        return w.say(HOLD, option=view.position)
    mover = view.moved_by or view.agree_with
    if mover is None:
        return w.say(HOLD, option=view.position)
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
            out.append(w.say(AGREE_ON, other=agree.name, other_concern=concern, option=view.position))
        else:
            out.append(w.say(AGREE, other=agree.name, option=view.position))
    if view.disagree_with is not None:
        other = view.disagree_with
        out.append(w.say(DISAGREE, other=other.name, other_option=other.position or "the alternative"))
    return out


def question_turn(ctx: Context, rng: random.Random, target: str) -> str:
    """The moderator's probing question to `target`, about the position they hold."""
    w = Writer(ctx, rng)
    held = ctx.others.get(target) or next((v for v in ctx.voices if v.name == target), None)
    if held is not None and held.position:
        return w.say(QUESTIONS, name=target, option=held.position)
    return w.say(QUESTIONS_OPEN, name=target)


def debate_turn(ctx: Context, rng: random.Random) -> str:
    """A debater's opening or rebuttal, always for its own side; a rebuttal answers the other side's words."""
    w = Writer(ctx, rng)
    pro = ctx.side == "proponent"
    sentences = [w.say(PRO_OPEN if pro else CON_OPEN)]
    others = [v for v in ctx.voices if v.role == "expert" and v.name != ctx.persona.name]
    rival = _rival(ctx, others, pro)
    if rival is None:
        sentences += [w.lens(), w.fact(), w.say(PRO_CLOSE if pro else CON_CLOSE)]
        return tidy(sentences)
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


def delphi_turn(ctx: Context, rng: random.Random, seed: str) -> str:
    """A Delphi panelist's reasoning, its estimate in the question's unit, and its preferred option."""
    w = Writer(ctx, rng)
    value, first, unit = estimate_of(ctx, seed)
    if first is None or ctx.median is None:
        sentences = [w.say(DELPHI_FIRST, value=unit.fmt(value))]
    elif abs(value - first) < max(1.0, 0.05 * (unit.high - unit.low)):
        sentences = [w.say(DELPHI_HOLD, value=unit.fmt(value), median=unit.fmt(ctx.median))]
    else:
        sentences = [w.say(DELPHI_MOVE, value=unit.fmt(value), first=unit.fmt(first), median=unit.fmt(ctx.median))]
    sentences.append(w.fact())
    if ctx.options:
        option = option_for_estimate(ctx.options, value) or view_of(ctx, ctx.options, seed).position
        sentences.append(w.say(DELPHI_OPTION, option=option))
    sentences.append(w.say(CONDITIONS))
    return tidy(sentences)
