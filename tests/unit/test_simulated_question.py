"""How the simulated model reads a question: noun phrases for its slots, the question's form, options and unit."""

from __future__ import annotations

import pytest

from ask_panel.infrastructure.llm.simulated_decisions import estimate_question, options_for
from ask_panel.infrastructure.llm.simulated_question import read_question, topic_phrases

NOT_A_PHRASE_END = {"will", "should", "can", "many", "much", "under", "next", "of", "for", "to", "the", "how", "what"}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "How many months will FDA clearance take under next year's rules?",
            {"the FDA clearance", "the next year's rules"},
        ),
        (
            "What price should we set for our new glucose monitor subscription?",
            {"the new glucose monitor subscription"},
        ),
        ("What is our FDA 510(k) strategy for this device (a class II patch)?", {"the FDA 510(k) strategy"}),
        ("Which manufacturing partner should we choose for scale-up?", {"the manufacturing partner"}),
    ],
)
def test_topics_are_noun_phrases_cut_at_function_words(question: str, expected: set[str]) -> None:
    topics = topic_phrases(question)
    assert expected <= set(topics)
    for topic in topics:
        words = topic.split()
        assert words[-1].lower() not in NOT_A_PHRASE_END and words[1:2] != ["the"], topic


def test_a_question_without_a_usable_phrase_has_none_and_the_templates_fall_back() -> None:
    assert topic_phrases("How many months will it take to do so?") == []
    assert read_question("How many months will it take to do so?").topic == "the decision in front of us"


def test_either_or_questions_are_framed_with_their_own_alternatives() -> None:
    question = read_question("Should we pursue a 510(k) or a De Novo for our AI-based ECG patch?")
    assert question.form == "choice"
    assert options_for(question) == ["Pursue a 510(k)", "Pursue a De Novo"]
    assert options_for(read_question("Should we launch in Europe first or in the US?")) == [
        "Launch in Europe first",
        "Launch in the US",
    ]


def test_yes_no_questions_are_framed_as_go_pilot_or_hold() -> None:
    question = read_question("Is it worth running a clinical trial before launch in Germany?")
    assert question.form == "yes_no" and question.action == "run a clinical trial before launch in Germany"
    assert options_for(question) == [
        "Go ahead and run a clinical trial before launch in Germany",
        "Run a limited pilot first, then decide whether to run a clinical trial before launch in Germany",
        "Do not run a clinical trial before launch in Germany for now",
    ]


def test_quantity_questions_are_framed_as_ranges_and_estimated_in_their_unit() -> None:
    question = read_question("How many months will FDA clearance take?")
    assert question.form == "quantity" and question.unit is not None and question.unit.name == "months"
    assert all("months" in o for o in options_for(question))
    assert "Answer in months, from 1 to 48" in estimate_question(question)
    patients = read_question("How many patients do we need for the pivotal study?")
    assert patients.unit is not None and patients.unit.name == "patients"


def test_a_question_in_a_known_field_gets_that_fields_options() -> None:
    pricing = options_for(read_question("What price should we set for our new glucose monitor subscription?"))
    assert len(pricing) >= 2 and all("price" in o.lower() for o in pricing)
    generic = options_for(read_question("What should our hiring plan for the data team look like?"))
    assert "Proceed now with the current plan" not in generic and any("hiring plan" in o for o in generic)
