"""JSON forms of the panel's value objects (members, stances, messages, rounds, consensus, outcome, usage)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from ask_panel.domain.configuration import EstimateSpec, PanelConfiguration
from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import parse_output_mode
from ask_panel.domain.values import Consensus, Fallback, Member, Message, Recommendation, Stance, Usage

Json = dict[str, Any]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# Keys added after panels were first stored: written only when set, so older panels keep their shape.
OPTIONAL_CONFIGURATION_KEYS = ("estimate", "max_tokens", "max_cost_usd")


def configuration_json(config: PanelConfiguration) -> Json:
    stored = asdict(config)
    for key in OPTIONAL_CONFIGURATION_KEYS:  # written only when set: earlier bodies keep their shape
        if stored[key] is None:
            del stored[key]
    return stored


def configuration_of(data: Json) -> PanelConfiguration:
    values = dict(data)
    if values.get("estimate") is not None:
        values["estimate"] = EstimateSpec(**values["estimate"])
    return PanelConfiguration(**values)


def member_json(member: Member) -> Json:
    return {"agent_id": member.agent_id, "agent_name": member.agent_name, "agent_role": member.agent_role}


def member_of(data: Json) -> Member:
    return Member(data["agent_id"], data["agent_name"], data["agent_role"])


def stance_json(stance: Stance | None) -> Json | None:
    if stance is None:
        return None
    return {
        "position": stance.position,
        "confidence": stance.confidence,
        "ranking": list(stance.ranking),
        "endorses": stance.endorses,
        "estimate": stance.estimate,
    }


def stance_of(data: Json | None) -> Stance | None:
    if not data:
        return None
    return Stance(
        position=data["position"],
        confidence=float(data["confidence"]),
        ranking=tuple(data.get("ranking") or ()),
        endorses=data.get("endorses"),
        estimate=data.get("estimate"),
    )


def message_json(message: Message) -> Json:
    """A message as events and clients see it (the stored form adds its step key first)."""
    return {
        "agent_id": message.agent_id,
        "agent_name": message.agent_name,
        "content": message.content,
        "timestamp": message.timestamp.isoformat(),
        "round": message.round,
        "role": message.role,
        "stance": stance_json(message.stance),
        "metadata": message.metadata,
    }


def message_of(data: Json) -> Message:
    return Message(
        agent_id=data["agent_id"],
        agent_name=data["agent_name"],
        content=data["content"],
        timestamp=datetime.fromisoformat(data["timestamp"]),
        round=data["round"],
        role=data.get("role", "expert"),
        stance=stance_of(data.get("stance")),
        metadata=data.get("metadata") or {},
    )


def consensus_json(consensus: Consensus | None) -> Json | None:
    if consensus is None:
        return None
    return {
        "level": consensus.level,
        "confidence": consensus.confidence,
        "method": consensus.method,
        "components": consensus.components,
    }


def consensus_of(data: Json | None) -> Consensus | None:
    if not data:
        return None
    return Consensus(
        level=data["level"],
        confidence=data["confidence"],
        method=data.get("method", ""),
        components=data.get("components") or {},
    )


def recommendation_json(recommendation: Recommendation | None) -> Json | None:
    if recommendation is None:
        return None
    return {
        "recommendation": recommendation.recommendation,
        "rationale": recommendation.rationale,
        "agreement_points": list(recommendation.agreement_points),
        "dissent": list(recommendation.dissent),
        "degraded": recommendation.degraded,
        "decided_by": recommendation.decided_by,
        "verdict": recommendation.verdict,
        "fallbacks": [fallback_json(f) for f in recommendation.fallbacks],
        "adopted": recommendation.adopted,
        "estimate": recommendation.estimate,
    }


def recommendation_of(data: Json | None) -> Recommendation | None:
    if not data:
        return None
    return Recommendation(
        recommendation=data["recommendation"],
        rationale=data["rationale"],
        agreement_points=tuple(data.get("agreement_points") or ()),
        dissent=tuple(data.get("dissent") or ()),
        degraded=bool(data.get("degraded")),
        decided_by=data.get("decided_by", "moderator"),
        verdict=data.get("verdict"),
        fallbacks=tuple(fallback_of(f) for f in data.get("fallbacks") or ()),
        adopted=data.get("adopted"),
        estimate=data.get("estimate"),
    )


def fallback_json(fallback: Fallback) -> Json:
    return {"step": fallback.step, "reason": fallback.reason}


def fallback_of(data: Json) -> Fallback:
    return Fallback(step=str(data["step"]), reason=str(data.get("reason", "")))


def usage_json(usage: Usage) -> Json:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "llm_calls": usage.llm_calls,
        "cost_usd": usage.cost_usd,
    }


def usage_of(data: Json | None) -> Usage:
    data = data or {}
    return Usage(
        int(data.get("input_tokens", 0)),
        int(data.get("output_tokens", 0)),
        int(data.get("llm_calls", 0)),
        float(data.get("cost_usd", 0.0)),
    )


def expert_json(expert: Expert) -> Json:
    return {
        "agent_id": expert.agent_id,
        "name": expert.name,
        "role": expert.role,
        "expertise": list(expert.expertise),
        "instructions": expert.instructions,
        "model": expert.model,
        "provider": expert.provider,
        "builtin": expert.builtin,
        "output_mode": expert.output_mode,
    }


def expert_of(data: Json) -> Expert:
    return Expert(
        agent_id=data["agent_id"],
        name=data["name"],
        role=data["role"],
        expertise=tuple(data.get("expertise") or ()),
        instructions=data["instructions"],
        model=data.get("model"),
        provider=data.get("provider"),
        builtin=bool(data.get("builtin")),
        output_mode=parse_output_mode(data.get("output_mode")),
    )
