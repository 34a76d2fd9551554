"""A reasoning model's chain of thought never reaches the discussion: whole answers and streamed deltas."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ask_panel.application.reasoning import ReasoningFilter, strip_reasoning


@pytest.mark.parametrize(
    ("answer", "visible"),
    [
        ("Plain prose.", "Plain prose."),
        ("<think>weigh A against B</think>\n\nI recommend A.", "I recommend A."),
        ("<thinking>x</thinking>A. <Reasoning>y</Reasoning>B.", "A. B."),
        ("<think>\nfirst\n</think>\n<think>second</think>Answer.", "Answer."),
        ("the template opened the block</think>Answer.", "Answer."),
        ("Answer. <think>cut off while reasoning", "Answer."),
        ("<think>only reasoning, never an answer</think>", ""),
        ("Use a <b>bold</b> plan.", "Use a <b>bold</b> plan."),
    ],
)
def test_reasoning_blocks_are_removed_from_an_answer(answer: str, visible: str) -> None:
    assert strip_reasoning(answer) == visible


def _streamed(deltas: list[str]) -> str:
    stream = ReasoningFilter()
    return "".join(stream.feed(d) for d in deltas) + stream.flush()


def test_a_block_split_across_deltas_is_hidden_as_it_streams() -> None:
    deltas = ["<th", "ink>I should", " weigh</thi", "nk>", "\n\nI ", "recommend", " A."]

    stream = ReasoningFilter()
    shown = [stream.feed(d) for d in deltas]

    assert "".join(shown) == "I recommend A."
    assert shown[:4] == ["", "", "", ""], "nothing of the reasoning is shown while it streams"


def test_a_less_than_sign_that_opens_no_tag_is_shown_once_the_next_delta_tells() -> None:
    stream = ReasoningFilter()

    assert stream.feed("costs <") == "costs "
    assert stream.feed("5%") == "<5%"
    assert stream.feed(" more <t") == " more "
    assert stream.flush() == "<t"


def test_an_answer_cut_off_inside_a_block_shows_nothing_of_it() -> None:
    assert _streamed(["Answer. ", "<think>and then", " more"]) == "Answer. "


tags = st.sampled_from(["think", "thinking", "reasoning", "THINK"])
words = st.text(alphabet=st.characters(exclude_characters="<>", exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.tuples(words, st.booleans(), tags), min_size=1, max_size=5),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_streaming_shows_what_stripping_the_whole_answer_shows(
    parts: list[tuple[str, bool, str]], cuts: list[int]
) -> None:
    answer = "".join(f"<{tag}>{text}</{tag}>" if hidden else text for text, hidden, tag in parts)
    bounds = sorted({0, len(answer), *(c for c in cuts if c < len(answer))})
    deltas = [answer[a:b] for a, b in itertools.pairwise(bounds)]

    assert _streamed(deltas).rstrip() == strip_reasoning(answer)
