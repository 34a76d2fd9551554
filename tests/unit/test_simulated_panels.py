"""The simulated model read as a panel: whole sentences about the question asked, each expert from its field.

Panels run through the real services and strategies on in-memory storage with the simulated model
(no delay). The regression examples of issue 9 each have a test here that failed before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import Container
from ask_panel.domain.experts import Expert
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelType
from ask_panel.domain.strategies.outcome import excerpt
from ask_panel.domain.strategies.synthesis import FRAME
from ask_panel.infrastructure.llm.simulated import SimulatedProvider
from tests.harness import QUESTION, TENANT, finished, harness, load, memory_settings

QUERIES = (
    "What price should we set for our new glucose monitor subscription?",
    "How many months will FDA clearance take for a class II wound dressing under next year's rules?",
    "Should we pursue a 510(k) or a De Novo for our AI-based ECG patch?",
    "Is it worth running a clinical trial before launch in Germany?",
)
TEAM = ["fda_expert", "clinical_expert", "reimbursement_expert", "commercial_expert"]
# Words that never end a noun phrase, and words a noun slot must not start with: a slot filled
# with a word window ("the under next year", "the many months will") shows up as one of these.
FUNCTION_WORDS = re.findall(
    r"\w+",
    "will would should can could may might must is are was were do does did how many much what which who "
    "when under over of for to in on at by with and or but if than that the a an our we it",
)
SLOT_LEADS = re.compile(r"\bthe (?:" + "|".join(FUNCTION_WORDS) + r")\b", re.I)
DOUBLED = re.compile(r"\b(\w+) \1\b", re.I)


def sentences(text: str) -> Iterator[str]:
    for sentence in re.split(r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<=[.!?])\s+(?=\S)", text.strip()):
        if sentence:
            yield sentence


def assert_reads_as_sentences(text: str, where: str) -> None:
    assert text.strip(), where
    for sentence in sentences(text):
        assert sentence[0].isupper() or sentence[0] in "'\"", f"{where}: {sentence!r} does not start a sentence"
        assert sentence[-1] in ".?!", f"{where}: {sentence!r} does not end a sentence"
        assert "{" not in sentence and "}" not in sentence, f"{where}: unfilled slot in {sentence!r}"
        assert not SLOT_LEADS.search(sentence), f"{where}: broken slot in {sentence!r}"
        assert not DOUBLED.search(sentence), f"{where}: doubled word in {sentence!r}"


def assert_says_nothing_twice(text: str, where: str) -> None:
    said = list(sentences(text))
    assert len(said) == len(set(said)), f"{where}: a sentence repeats in {text!r}"
    clauses = re.findall(r"(?:provided that|condition is that|rely on most is that) ([^.]+)\.", text)
    assert len(clauses) == len(set(clauses)), f"{where}: a condition repeats in {text!r}"


async def run(container: Container, query: str, panel_type: str, agent_ids: list[str], **configuration: Any) -> Panel:
    created = await container.panels.create(
        TENANT,
        CreatePanel(query=query, panel_type=PanelType(panel_type), agent_ids=agent_ids, configuration=configuration),
    )
    await container.panels.execute(TENANT, created.panel.panel_id)
    await finished(container, created.panel.panel_id)
    panel, _ = await load(container, created.panel.panel_id)
    assert panel.status.value == "completed", panel.error
    return panel


def spoken_text(panel: Panel) -> list[tuple[str, str]]:
    """(who, what) for every model-written message and the recommendation's texts."""
    out = [(m.agent_name, m.content) for m in panel.messages() if m.role != "facilitator"]
    rec = panel.final_recommendation
    assert rec is not None
    out += [("recommendation", rec.recommendation), ("rationale", rec.rationale)]
    out += [("agreement", p) for p in rec.agreement_points]
    return out


@pytest.fixture
async def simulated() -> Any:
    async with harness(memory_settings(), SimulatedProvider(token_delay_ms=0)) as container:
        yield container


@pytest.mark.parametrize("panel_type", ["structured", "open", "socratic", "adversarial", "delphi"])
async def test_every_sentence_of_every_panel_type_is_whole_over_many_seeds_and_questions(
    simulated: Container, panel_type: str
) -> None:
    for seed in range(8):
        query = QUERIES[seed % len(QUERIES)]
        panel = await run(simulated, query, panel_type, TEAM[: 2 + seed % 3], seed=seed, max_rounds=2)
        for who, text in spoken_text(panel):
            assert_reads_as_sentences(text, f"{panel_type}/seed {seed}/{who}")
            assert_says_nothing_twice(text, f"{panel_type}/seed {seed}/{who}")


async def test_the_regression_queries_never_fill_a_slot_with_a_word_window(simulated: Container) -> None:
    """Issue 9: 'I see the under next year as the deciding issue', 'everything depends on the many months will'."""
    query = "How many months will FDA clearance take under next year's rules?"
    for seed in range(6):
        panel = await run(simulated, query, "structured", TEAM[:3], seed=seed, max_rounds=2)
        text = " ".join(t for _, t in spoken_text(panel)).lower()
        assert "the under next year" not in text and "the many months will" not in text
        assert "months will" not in text and "under next year " not in text


async def test_a_pricing_question_gets_pricing_options_not_generic_ones(simulated: Container) -> None:
    """Issue 9: a pricing question got "Adopt 'Proceed now with the current plan'"."""
    panel = await run(simulated, QUERIES[0], "structured", TEAM[:3], seed=3)
    options = panel.checkpoint.decision(FRAME)
    assert options is not None
    assert all("price" in o.lower() for o in options["options"]), options
    rec = panel.final_recommendation
    assert rec is not None and "Proceed now with the current plan" not in rec.recommendation
    assert any(o in rec.recommendation for o in options["options"])


async def test_a_tenants_pricing_strategist_talks_pricing_not_biocompatibility(simulated: Container) -> None:
    """Issue 9: a tenant's 'Pricing strategist' talked about biocompatibility testing."""
    await simulated.agents.create(
        TENANT,
        Expert(
            "pricing_strategist",
            "Jordan Blake",
            "Pricing strategist",
            ("pricing", "willingness to pay", "discounting"),
            "Set prices that capture value without losing the deal.",
        ),
    )
    for seed in range(5):
        panel = await run(
            simulated, QUERIES[0], "structured", ["pricing_strategist", "clinical_expert"], seed=seed, max_rounds=2
        )
        words = " ".join(m.content for m in panel.messages() if m.agent_id == "pricing_strategist").lower()
        assert re.search(r"price|pricing|discount|willingness to pay|margin", words), words
        for foreign in ("biocompatib", "510(k)", "predicate", "enrol", "notified body"):
            assert foreign not in words, (foreign, words)


async def test_later_rounds_answer_the_others_by_name_and_positions_change_with_a_reason(simulated: Container) -> None:
    later, named, changed = 0, 0, 0
    for seed in range(10):
        panel = await run(simulated, QUERIES[2], "structured", TEAM, seed=seed, max_rounds=3, consensus_threshold=1.0)
        names = {m.agent_name for m in panel.members}
        for message in panel.messages():
            if message.round >= 2 and message.role == "expert":
                later += 1
                named += any(n in message.content for n in names - {message.agent_name})
                changed += bool(re.search(r"changed my position from|I now favour|I have moved from", message.content))
    assert later > 0 and named / later > 0.9, (named, later)
    assert changed > 0


async def test_different_seeds_read_differently_and_the_same_seed_reads_the_same(simulated: Container) -> None:
    """Issue 9: two panels with different seeds produced word-for-word the same text."""

    async def texts(seed: int) -> list[str]:
        panel = await run(simulated, QUERIES[3], "structured", TEAM[:3], seed=seed, max_rounds=2)
        return [m.content for m in panel.messages() if m.round == 1 and m.role == "expert"]

    first, again, other = await texts(5), await texts(5), await texts(6)
    assert sorted(first) == sorted(again)
    assert set(first).isdisjoint(other)


async def test_debaters_argue_their_own_side(simulated: Container) -> None:
    for seed in range(4):
        panel = await run(simulated, QUERIES[3], "adversarial", TEAM, seed=seed, max_rounds=2)
        verdict = panel.final_recommendation.verdict if panel.final_recommendation else None
        assert verdict is not None
        proponents, opponents = set(verdict["proponents"]), set(verdict["opponents"])
        for message in panel.messages():
            if message.role != "expert":
                continue
            first = next(sentences(message.content))
            if message.agent_id in proponents:
                assert re.search(r"\bfor the proposition|proposition is right", first), first
            else:
                assert message.agent_id in opponents
                assert re.search(r"against the proposition|proposition is wrong", first), first


async def test_delphi_estimates_come_in_the_questions_unit(simulated: Container) -> None:
    """Issue 9: Delphi asked for a probability (0-100) when the question was 'How many months ...?'."""
    panel = await run(simulated, QUERIES[1], "delphi", TEAM[:3], seed=2, max_rounds=3)
    experts = [m for m in panel.messages() if m.role == "expert"]
    assert experts and all("months" in m.content for m in experts)
    estimates = [m.stance.estimate for m in experts if m.stance is not None and m.stance.estimate is not None]
    assert estimates and all(1 <= e <= 48 for e in estimates)
    for m in experts:
        assert m.stance is not None and m.stance.estimate is not None
        assert f"{m.stance.estimate:g} months" in m.content  # the prose and the stance give the same number
        assert _holds(m.stance.position, m.stance.estimate), (m.stance.position, m.stance.estimate)


def _holds(option: str, value: float) -> bool:
    """Whether a range option ('Less than 7 months', '7 to 20 months', 'More than 20 months') holds value."""
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", option)]
    if option.startswith("Less than"):
        return value <= numbers[0]
    if option.startswith("More than"):
        return value >= numbers[0]
    return numbers[0] <= value <= numbers[1]


async def test_the_model_is_named_simulated_even_when_a_real_model_is_configured(simulated: Container) -> None:
    panel = await run(simulated, QUERIES[0], "structured", TEAM[:2], seed=1, max_rounds=1, model="gpt-4o")
    models = {m.metadata.get("model") for m in panel.messages() if m.role == "expert"}
    assert models == {"simulated"}


def test_a_quoted_argument_never_ends_on_a_title() -> None:
    """An excerpt of a turn naming 'Dr. Samuel Okafor' read 'Dr.' as a sentence and ended on it."""
    text = "The proposition is wrong for us. Dr. Samuel Okafor's case rests on everything going right."
    assert excerpt(text, 60) == "The proposition is wrong for us."


async def test_a_three_way_split_is_named_as_a_split_not_as_a_recommendation_of_one_in_three(
    simulated: Container,
) -> None:
    """A 1-1-1 panel read "One of 3 experts support 'X'; ... made the strongest case" and "The panel recommends 'X'"."""
    splits = 0
    for seed in range(12):
        panel = await run(simulated, QUESTION, "structured", TEAM[:3], seed=seed, max_rounds=3)
        final = {m.agent_id: m.stance.position for m in panel.messages() if m.role == "expert" and m.stance}
        rec = panel.final_recommendation
        assert rec is not None
        if len(set(final.values())) < 3:
            continue
        splits += 1
        assert rec.rationale.startswith("The panel is split three ways, each expert on a different option"), rec
        assert "no majority" in rec.rationale and "adopted on confidence-weighted support" in rec.rationale
        assert rec.recommendation.startswith("The panel is divided and has no majority"), rec.recommendation
        assert f"'{rec.adopted}'" in rec.recommendation
        assert "One of 3" not in rec.rationale and "The panel recommends" not in rec.recommendation
    assert splits > 0, "no seed ended in a three-way split"


# Phrases of the US regulatory field: the reasons of a 510(k) panel's FDA strategist, not its payer expert's.
FDA_REASONS = (
    "predictable review",
    "shortest credible route to market",
    "additional-information request",
    "not-substantially-equivalent letter",
)


async def test_an_expert_gives_reasons_from_its_own_field_not_the_questions(simulated: Container) -> None:
    """The reimbursement lead on a 510(k) panel said "it gives us the shortest credible route to market while
    keeping an additional-information request ... in check": the question's field, not hers."""
    for seed in range(8):
        panel = await run(simulated, QUERIES[2], "structured", TEAM[:3], seed=seed, max_rounds=2)
        for message in panel.messages():
            if message.agent_id != "reimbursement_expert":
                continue
            own = re.sub(r"'[^']*'", "''", next(sentences(message.content)))  # her claim, options blanked
            assert not any(p in own for p in FDA_REASONS), own


async def test_an_expert_outside_the_questions_field_says_so_and_speaks_from_its_own(simulated: Container) -> None:
    """On a pricing question the FDA strategist defers on pricing and adds what regulation knows."""
    for seed in range(5):
        panel = await run(simulated, QUERIES[0], "structured", ["fda_expert", "commercial_expert"], seed=seed)
        first = next(m for m in panel.messages() if m.agent_id == "fda_expert")
        assert re.search(r"pricing", first.content, re.I) and re.search(
            r"not my specialty|from the side of|rather than as a specialist|stay in my lane", first.content
        ), first.content
        for foreign in ("biocompatib", "predicate", "enrol"):
            assert foreign not in first.content, first.content


async def test_the_judge_says_an_argument_went_unanswered_only_when_no_reply_named_it(simulated: Container) -> None:
    checked = 0
    for seed in range(8):
        panel = await run(simulated, QUERIES[3], "adversarial", TEAM, seed=seed, max_rounds=3)
        rec = panel.final_recommendation
        assert rec is not None and rec.verdict is not None
        whys = [r["why"] for r in rec.verdict["reasons"]]
        frames = [re.sub(r"about .+? (was|stands)|with .+?, and|on .+?, but|on .+? was", "", w) for w in whys]
        assert len(set(frames)) == len(frames), whys
        for reason in rec.verdict["reasons"]:
            unanswered = re.search(
                r"point about (.+?) was never answered|did not engage with (.+?), and", reason["why"]
            )
            if unanswered is None:
                continue
            checked += 1
            phrase = unanswered.group(1) or unanswered.group(2)
            debate = [m for m in panel.messages() if m.role == "expert"]
            cited = next(
                i for i, m in enumerate(debate) if m.agent_id == reason["agent_id"] and m.round == reason["round"]
            )
            other_side = rec.verdict["proponents"] if reason["side"] == "opponent" else rec.verdict["opponents"]
            later = [m.content for m in debate[cited + 1 :] if m.agent_id in other_side]
            assert not any(phrase in text for text in later), (reason, phrase)
    assert checked > 0


async def test_a_delphi_probability_reads_as_a_chance_and_outsiders_hold_it_loosely(simulated: Container) -> None:
    """'My estimate is 60%, because the primary endpoint usually sets the pace' answered a probability question."""
    for seed in range(4):
        panel = await run(simulated, QUESTION, "delphi", TEAM, seed=seed, max_rounds=2)
        for message in panel.messages():
            if message.role != "expert" or message.round != 1:
                continue
            first = next(sentences(message.content))
            assert "sets the pace" not in message.content
            if message.agent_id in ("fda_expert", "clinical_expert"):  # the question's field and its neighbour
                assert re.search(r"succeeds as planned|I would give it", first), first
            else:  # reimbursement and commercial: outside a 510(k) question
                assert re.search(r"outside my field|outside view|not a specialist", first), first


async def test_a_socratic_answer_opens_with_the_experts_position_so_a_dissent_quotes_a_reason(
    simulated: Container,
) -> None:
    """A dissent quoted 'To answer directly: the assumption I rely on most is ...': the answer, not the position."""
    for seed in range(4):
        panel = await run(simulated, QUERIES[3], "socratic", TEAM[:3], seed=seed, max_rounds=2)
        for message in panel.messages():
            if message.role == "expert" and message.stance is not None:
                assert f"'{message.stance.position}'" in next(sentences(message.content)), message.content
