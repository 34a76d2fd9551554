"""How long a panel is expected to take: the model calls its strategy makes, at the pace of the model in use.

The estimate counts the calls each strategy makes (see each strategy's module) and prices them
with a `ModelPace`: seconds for an expert's answer, a moderator's short question and a JSON
answer (a stance or a decision), plus a fixed cost per call (the model's latency and the
service's checkpoint). Turns of a structured or Delphi round run concurrently: a round lasts as
long as its longest answer, and the fixed costs still add up on the service's side.
Strategies that stop early at consensus (structured, open, socratic, Delphi) may hold anything
from 1 to `max_rounds` rounds: they are expected to hold the geometric middle, the square root of
`max_rounds`, which keeps the estimate within the same factor of the fewest and of the most
rounds; an adversarial debate holds all of its rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.status import PanelType

LONGEST_OF_ROUND = 1.35
"""How much longer the longest answer of a concurrent round is than a typical one."""
SYNTHESIS_JSON = 2.5
"""A synthesis or a verdict is a longer JSON answer than a stance: this many times `json_s`."""


@dataclass(frozen=True, slots=True)
class ModelPace:
    """Seconds a model takes for each kind of answer, and a fixed cost per call."""

    answer_s: float
    """An expert's turn: a paragraph of prose."""
    question_s: float
    """A moderator's probing question: a sentence or two."""
    json_s: float
    """A JSON answer: a stance or a moderator's decision."""
    call_s: float
    """Fixed per call: time to the first token plus the service's bookkeeping."""


HOSTED_PACE = ModelPace(answer_s=6.0, question_s=2.0, json_s=2.0, call_s=0.8)
"""A hosted model at about 50 tokens/s with a second to the first token (an assumption, not a measurement)."""


def _calls(n: float, pace: ModelPace, *, answer: float, json: int = 1, question: int = 0) -> float:
    """`n` sequential turns, each an answer (as a multiple of `answer_s`), JSON answers and questions."""
    per = answer * pace.answer_s + json * pace.json_s + question * pace.question_s + (1 + json + question) * pace.call_s
    return n * per


def _decision(pace: ModelPace) -> float:
    return pace.json_s + pace.call_s


def _concurrent_round(members: int, pace: ModelPace) -> float:
    longest = LONGEST_OF_ROUND if members > 1 else 1.0
    return longest * pace.answer_s + pace.json_s + 2 * members * pace.call_s


def expected_rounds(panel_type: PanelType, config: PanelConfiguration) -> float:
    if panel_type is PanelType.ADVERSARIAL:
        return max(2, config.max_rounds)  # openings, then at least one round of rebuttals, all held
    return math.sqrt(config.max_rounds)


def estimate_seconds(panel_type: PanelType, config: PanelConfiguration, members: int, pace: ModelPace) -> float:
    """Seconds a panel is expected to take with a model of this pace."""
    n = max(1, members)
    rounds = expected_rounds(panel_type, config)
    frame = _decision(pace)
    synthesis = SYNTHESIS_JSON * pace.json_s + pace.call_s
    match panel_type:
        case PanelType.STRUCTURED | PanelType.DELPHI:
            body = rounds * _concurrent_round(n, pace)
        case PanelType.OPEN:
            limit = max(n, min(config.max_turns or config.max_rounds * n, config.max_rounds * n))
            turns = min(limit, rounds * n)
            body = _calls(turns, pace, answer=1.0) + (turns - 1) * _decision(pace)
        case PanelType.SOCRATIC:
            probed = n + (rounds - 1) * max(1, n // 2)  # everyone in round 1, then up to half
            body = _calls(probed, pace, answer=1.0, question=1) + (rounds - 1) * _decision(pace)
        case PanelType.ADVERSARIAL:
            body = _calls(rounds * n, pace, answer=1.0)
    return frame + body + synthesis


def estimate_duration(
    panel_type: PanelType, config: PanelConfiguration, members: int, pace: ModelPace = HOSTED_PACE
) -> int:
    """Whole seconds a panel is expected to take (at least 1)."""
    return max(1, math.ceil(estimate_seconds(panel_type, config, members, pace) - 0.5))
