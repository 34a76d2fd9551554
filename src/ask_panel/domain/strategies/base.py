"""What every strategy shares: the Discussion port it drives, speakers, stances and synthesis."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ask_panel.domain import consensus as consensus_math
from ask_panel.domain.errors import InvalidInput, QuorumLost
from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode
from ask_panel.domain.panel import Consensus, Member, Message, Panel, Recommendation, Stance

MAX_TRANSCRIPT_CHARS = 1200


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who speaks a turn: an expert of the panel, or the moderator (judge, facilitator)."""

    agent_id: str
    name: str
    role: str
    system_prompt: str
    model: str | None = None
    provider: str | None = None
    kind: str = "expert"
    output_mode: OutputMode | None = None

    @classmethod
    def of(cls, expert: Expert) -> Speaker:
        return cls(
            expert.agent_id,
            expert.name,
            expert.role,
            expert.system_prompt(),
            expert.model,
            expert.provider,
            output_mode=expert.output_mode,
        )


MODERATOR = Speaker(
    "moderator",
    "Panel Moderator",
    "neutral moderator",
    "You are the neutral moderator of a panel of experts. You keep the discussion focused, never take "
    "sides, and summarise faithfully, including minority views.",
    kind="moderator",
)
JUDGE = Speaker(
    "judge",
    "Panel Judge",
    "impartial judge",
    "You are an impartial judge. You weigh the arguments of both sides on their merits and decide.",
    kind="judge",
)
FACILITATOR = Speaker(
    "facilitator",
    "Delphi Facilitator",
    "Delphi facilitator",
    "You run a Delphi process: you keep panelists anonymous and feed back the group's distribution.",
    kind="facilitator",
)


@dataclass(frozen=True, slots=True)
class StanceRequest:
    """The JSON a turn's stance must follow, and the function that validates it."""

    schema: JsonSchema
    parse: Callable[[Mapping[str, Any]], Stance]


class Discussion(Protocol):
    """The port a strategy drives. Every step has a key; a step already committed is not redone."""

    @property
    def panel(self) -> Panel: ...

    def speaker(self, agent_id: str) -> Speaker: ...

    async def begin_round(self, number: int) -> None: ...

    async def speak(
        self,
        key: str,
        *,
        speaker: Speaker,
        round_number: int,
        prompt: Sequence[ChatMessage],
        stance: StanceRequest | None = None,
    ) -> Message | None:
        """One turn: prose (streamed), then the stance as JSON. None when the speaker failed."""
        ...

    async def decide(
        self,
        key: str,
        *,
        speaker: Speaker,
        prompt: Sequence[ChatMessage],
        schema: JsonSchema,
        parse: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """A structured decision of the moderator (not a message); it fails the panel if impossible."""
        ...

    async def announce(self, key: str, *, speaker: Speaker, round_number: int, content: str) -> Message:
        """A message the service writes itself (no model call), such as Delphi feedback."""
        ...

    async def end_round(
        self, number: int, consensus: Consensus | None, feedback: dict[str, Any] | None = None
    ) -> None: ...


class Strategy(Protocol):
    name: str

    async def run(self, discussion: Discussion) -> Recommendation: ...


# ---- shared building blocks ----------------------------------------------------------------------


def order_for_round(panel: Panel, round_number: int) -> list[Member]:
    """The speaking order of a round: shuffled with the panel's seed (bias control), reproducibly."""
    members = list(panel.members)
    if panel.configuration.shuffle_order:
        random.Random(f"{panel.configuration.seed}:{round_number}").shuffle(members)
    return members


def user(text: str) -> ChatMessage:
    return ChatMessage("user", text)


def system(text: str) -> ChatMessage:
    return ChatMessage("system", text)


def clip(text: str, limit: int = MAX_TRANSCRIPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def transcript(panel: Panel, *, upto_round: int | None = None, anonymous: bool = False) -> str:
    """The discussion so far, as text for the next speaker."""
    lines: list[str] = []
    labels: dict[str, str] = {}
    for rnd in panel.discussions:
        if upto_round is not None and rnd.round_number > upto_round:
            break
        for m in rnd.messages:
            name = m.agent_name
            if anonymous and m.role == "expert":
                name = labels.setdefault(m.agent_id, f"Panelist {chr(ord('A') + len(labels))}")
            stance = ""
            if m.stance is not None:
                stance = f" [position: {m.stance.position}; confidence {m.stance.confidence:.2f}]"
            lines.append(f"Round {m.round} - {name} ({m.role}){stance}: {clip(m.content)}")
    return "\n".join(lines) if lines else "(no discussion yet)"


def latest_stances(panel: Panel) -> dict[str, Stance | None]:
    """Each member's most recent stance (None for a member with none yet)."""
    stances: dict[str, Stance | None] = {m.agent_id: None for m in panel.members}
    for rnd in panel.discussions:
        for m in rnd.messages:
            if m.agent_id in stances and m.stance is not None:
                stances[m.agent_id] = m.stance
    return stances


def spoken(panel: Panel) -> set[str]:
    return {m.agent_id for r in panel.discussions for m in r.messages if m.role == "expert"}


def measure(panel: Panel, options: Sequence[str]) -> Consensus:
    return consensus_math.measure(latest_stances(panel), options)


def quorum(members: int) -> int:
    """Quorum rule: at least half of the members (rounded up) must have spoken for a valid outcome."""
    return max(1, (members + 1) // 2)


def check_quorum(panel: Panel) -> bool:
    """Raise QuorumLost below quorum; return whether the panel is degraded (some expert went silent)."""
    voices = spoken(panel)
    needed = quorum(len(panel.members))
    if len(voices) < needed:
        raise QuorumLost(
            f"Only {len(voices)} of {len(panel.members)} experts could take part; at least {needed} are needed"
        )
    return len(voices) < len(panel.members) or bool(panel.steps.get("failures"))


# ---- JSON schemas and their validation -----------------------------------------------------------


def _require_number(data: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"'{key}' must be a number from {low} to {high}")
    return float(value)


def _require_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{key}' must be a non-empty string")
    return value.strip()


def _text_list(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of non-empty strings, without repeats, in the order given."""
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"'{key}' must be a list of strings")
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def stance_request(
    options: Sequence[str],
    *,
    peers: Sequence[str] = (),
    with_ranking: bool = True,
    with_estimate: bool = False,
) -> StanceRequest:
    """A stance over `options`; `peers` are the other experts one may endorse (never oneself)."""
    properties: dict[str, Any] = {
        "position": {"type": "string", "enum": list(options)},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    }
    required = ["position", "confidence"]
    if with_ranking:
        properties["ranking"] = {
            "type": "array",
            "items": {"type": "string", "enum": list(options)},
            "minItems": len(options),
            "maxItems": len(options),
            "uniqueItems": True,
        }
        required.append("ranking")
    if peers:
        properties["endorses"] = {"type": "string", "enum": list(peers)}
        required.append("endorses")
    if with_estimate:
        properties["estimate"] = {"type": "number", "minimum": 0, "maximum": 100}
        required.append("estimate")
    schema = {
        "title": "stance",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    allowed_peers = set(peers)

    def parse(data: Mapping[str, Any]) -> Stance:
        position = data.get("position")
        if position not in options:
            raise InvalidInput(f"'position' must be one of {list(options)}")
        confidence = _require_number(data, "confidence", 0, 1)
        ranking: tuple[str, ...] = ()
        if with_ranking:
            raw = data.get("ranking")
            if not isinstance(raw, list) or sorted(raw) != sorted(options):
                raise InvalidInput("'ranking' must order every option exactly once")
            ranking = tuple(raw)
        endorses = None
        if allowed_peers:
            endorses = data.get("endorses")
            if endorses not in allowed_peers:
                raise InvalidInput("'endorses' must name another expert")
        estimate = _require_number(data, "estimate", 0, 100) if with_estimate else None
        return Stance(str(position), confidence, ranking, endorses, estimate)

    return StanceRequest(schema, parse)


def options_schema() -> JsonSchema:
    return {
        "title": "options",
        "type": "object",
        "properties": {
            "options": {
                "type": "array",
                "items": {"type": "string", "maxLength": 120},
                "minItems": 2,
                "maxItems": 4,
                "uniqueItems": True,
            },
        },
        "required": ["options"],
        "additionalProperties": False,
    }


def parse_options(data: Mapping[str, Any]) -> dict[str, Any]:
    options = _text_list(data, "options")
    if not 2 <= len(options) <= 4 or len(set(options)) != len(options):
        raise InvalidInput("'options' must hold 2 to 4 distinct strings")
    return {"options": [clip(o, 120) for o in options]}


async def frame_options(discussion: Discussion) -> list[str]:
    """The moderator turns the question into 2-4 concrete options the experts take positions on."""
    panel = discussion.panel
    decision = await discussion.decide(
        "frame",
        speaker=MODERATOR,
        prompt=[
            system(MODERATOR.system_prompt),
            user(
                f"Question for the panel: {panel.query}\n\nFrame it as 2 to 4 mutually exclusive, "
                "concrete options the experts can take positions on. Answer as JSON."
            ),
        ],
        schema=options_schema(),
        parse=parse_options,
    )
    return list(decision["options"])


def synthesis_schema() -> JsonSchema:
    return {
        "title": "synthesis",
        "type": "object",
        "properties": {
            "recommendation": {"type": "string"},
            "rationale": {"type": "string"},
            "agreement_points": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
            "dissent": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
        },
        "required": ["recommendation", "rationale", "agreement_points", "dissent"],
        "additionalProperties": False,
    }


def parse_synthesis(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "recommendation": _require_text(data, "recommendation"),
        "rationale": _require_text(data, "rationale"),
        "agreement_points": _text_list(data, "agreement_points"),
        "dissent": _text_list(data, "dissent"),
    }


def minority_views(panel: Panel) -> list[str]:
    """Experts whose latest position differs from the modal one, in their own words (shortened)."""
    stances = latest_stances(panel)
    positions = [s.position for s in stances.values() if s is not None]
    if not positions:
        return []
    modal = max(set(positions), key=positions.count)
    views = []
    for agent_id, stance in stances.items():
        if stance is not None and stance.position != modal:
            views.append(
                f"{panel.member(agent_id).agent_name} prefers '{stance.position}' (confidence {stance.confidence:.2f})"
            )
    return views


async def synthesize(
    discussion: Discussion, *, speaker: Speaker = MODERATOR, instruction: str = "", key: str = "synthesis"
) -> Recommendation:
    """The moderator's final synthesis: recommendation, rationale, agreement and dissent."""
    panel = discussion.panel
    degraded = check_quorum(panel)
    consensus = panel.consensus
    summary = (
        f"Consensus level {consensus.level:.2f}, confidence {consensus.confidence:.2f}, "
        f"modal position: {consensus.components.get('modal_position')}"
        if consensus
        else "No consensus measured."
    )
    decision = await discussion.decide(
        key,
        speaker=speaker,
        prompt=[
            system(speaker.system_prompt),
            user(
                f"Question: {panel.query}\n\nDiscussion:\n{transcript(panel)}\n\n{summary}\n\n"
                f"{instruction or 'Synthesize the final recommendation of the panel.'} Give the "
                "recommendation, the key rationale, the points of agreement and the dissenting or "
                "minority views. Answer as JSON."
            ),
        ],
        schema=synthesis_schema(),
        parse=parse_synthesis,
    )
    dissent = list(decision["dissent"])
    for view in minority_views(panel):
        if view not in dissent:
            dissent.append(view)
    return Recommendation(
        recommendation=decision["recommendation"],
        rationale=decision["rationale"],
        agreement_points=tuple(decision["agreement_points"]),
        dissent=tuple(dissent),
        degraded=degraded,
        decided_by=speaker.agent_id,
    )


def expert_prompt(discussion: Discussion, member: Member, task: str) -> list[ChatMessage]:
    speaker = discussion.speaker(member.agent_id)
    return [system(speaker.system_prompt), user(task)]
