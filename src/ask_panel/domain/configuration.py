"""PanelConfiguration: the validated settings of one panel; unknown keys, and keys its type does not read, are
rejected."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.status import PanelType

MAX_MODEL_NAME_CHARS = 200
MAX_PROPOSITION_CHARS = 2000
MAX_ESTIMATE_QUESTION_CHARS = 300
MAX_UNIT_CHARS = 40
MAX_PANEL_TOKENS = 1_000_000_000
MAX_PANEL_COST_USD = 1_000_000.0
ESTIMATE_BOUND = 1e15  # an estimate's min and max lie within ±this
# The range of each numeric key (inclusive), checked by `validate` and stated in the OpenAPI document.
NUMBER_RANGES: dict[str, tuple[int, int] | tuple[float, float]] = {
    "max_rounds": (1, 10),
    "consensus_threshold": (0.0, 1.0),
    "seed": (0, 2**53 - 1),  # the largest integer every JSON parser keeps exactly (I-JSON, RFC 7493)
    "temperature": (0.0, 2.0),
    "max_turns": (1, 100),
    "stability_tolerance": (0.0, 1.0),
    "max_tokens": (1, MAX_PANEL_TOKENS),
    "max_cost_usd": (0.0, MAX_PANEL_COST_USD),
}
# The longest value of each text key (at least one character that is not whitespace for the proposition).
TEXT_LIMITS = {"model": MAX_MODEL_NAME_CHARS, "proposition": MAX_PROPOSITION_CHARS}

# The keys only some panel types read; every other key applies to every type. A key sent for a type
# that does not read it is refused rather than silently ignored.
ONLY_FOR: dict[str, frozenset[PanelType]] = {
    "max_turns": frozenset({PanelType.OPEN}),
    "proposition": frozenset({PanelType.ADVERSARIAL}),
    "stability_tolerance": frozenset({PanelType.DELPHI}),
    "estimate": frozenset({PanelType.DELPHI}),
}


@dataclass(frozen=True, slots=True)
class EstimateSpec:
    """What a Delphi panel estimates: the question, its unit and the plausible range of answers."""

    question: str
    unit: str
    min: float
    max: float

    @classmethod
    def of(cls, data: object) -> EstimateSpec:
        """A validated estimate from its JSON form (`{question, unit, min, max}`)."""
        if isinstance(data, EstimateSpec):
            data.validate()
            return data
        if not isinstance(data, Mapping):
            raise InvalidInput("configuration.estimate must be an object with question, unit, min and max")
        fields = ("question", "unit", "min", "max")
        unknown = sorted(set(data) - set(fields))
        missing = [k for k in fields if k not in data]
        if unknown or missing:
            raise InvalidInput(
                "configuration.estimate takes exactly question, unit, min and max"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
                + (f" (missing: {', '.join(missing)})" if missing else "")
            )
        spec = cls(data["question"], data["unit"], data["min"], data["max"])
        spec.validate()
        return cls(spec.question.strip(), spec.unit.strip(), float(spec.min), float(spec.max))

    def validate(self) -> None:
        if not isinstance(self.question, str) or not 0 < len(self.question.strip()) <= MAX_ESTIMATE_QUESTION_CHARS:
            raise InvalidInput(
                f"configuration.estimate.question must be a string of 1..{MAX_ESTIMATE_QUESTION_CHARS} characters"
            )
        if not isinstance(self.unit, str) or not 0 < len(self.unit.strip()) <= MAX_UNIT_CHARS:
            raise InvalidInput(f"configuration.estimate.unit must be a string of 1..{MAX_UNIT_CHARS} characters")
        for name in ("min", "max"):
            _number_in(f"estimate.{name}", getattr(self, name), -ESTIMATE_BOUND, ESTIMATE_BOUND)
        if not self.min < self.max:
            raise InvalidInput("configuration.estimate.min must be less than configuration.estimate.max")


@dataclass(frozen=True, slots=True)
class PanelConfiguration:
    """Settings of a panel. `seed` is always set: it is drawn at creation when not given."""

    max_rounds: int = 3
    consensus_threshold: float = 0.8
    seed: int = 0
    model: str | None = None
    temperature: float | None = None
    max_turns: int | None = None
    proposition: str | None = None
    shuffle_order: bool = True
    stability_tolerance: float = 0.1
    estimate: EstimateSpec | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None

    @classmethod
    def keys_for(cls, panel_type: PanelType) -> tuple[str, ...]:
        """The configuration keys a panel of this type reads, in declaration order."""
        return tuple(k for k in cls.__dataclass_fields__ if panel_type in ONLY_FOR.get(k, (panel_type,)))

    @classmethod
    def parse(
        cls,
        raw: Mapping[str, Any] | None,
        *,
        panel_type: PanelType | None = None,
        rng: random.Random | None = None,
    ) -> PanelConfiguration:
        """A validated configuration; with `panel_type`, a key that type does not read is refused too."""
        data = dict(raw or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidInput("Unknown configuration keys: " + ", ".join(unknown))
        if panel_type is not None:
            other = [k for k in data if k not in cls.keys_for(panel_type)]
            if other:
                owners = {t.value for k in other for t in ONLY_FOR[k]}
                keys = ", ".join(f"configuration.{k}" for k in other)
                verb = "does" if len(other) == 1 else "do"
                raise InvalidInput(
                    f"{keys} {verb} not apply to {panel_type.value} panels (only to {', '.join(sorted(owners))})"
                )
        if data.get("seed") is None:
            data["seed"] = (rng or random.SystemRandom()).randrange(0, 2**31)
        if data.get("estimate") is not None:
            data["estimate"] = EstimateSpec.of(data["estimate"])
        config = cls(**data)
        config.validate()
        return config

    def validate(self) -> None:
        _int_in("max_rounds", self.max_rounds, *NUMBER_RANGES["max_rounds"])
        _number_in("consensus_threshold", self.consensus_threshold, *NUMBER_RANGES["consensus_threshold"])
        _int_in("seed", self.seed, *NUMBER_RANGES["seed"])
        if self.model is not None and (
            not isinstance(self.model, str) or not 0 < len(self.model) <= MAX_MODEL_NAME_CHARS
        ):
            raise InvalidInput(f"configuration.model must be a string of 1..{MAX_MODEL_NAME_CHARS} characters")
        if self.temperature is not None:
            _number_in("temperature", self.temperature, *NUMBER_RANGES["temperature"])
        if self.max_turns is not None:
            _int_in("max_turns", self.max_turns, *NUMBER_RANGES["max_turns"])
        if self.proposition is not None and (
            not isinstance(self.proposition, str) or not 0 < len(self.proposition.strip()) <= MAX_PROPOSITION_CHARS
        ):
            raise InvalidInput(f"configuration.proposition must be a string of 1..{MAX_PROPOSITION_CHARS} characters")
        if not isinstance(self.shuffle_order, bool):
            raise InvalidInput("configuration.shuffle_order must be a boolean")
        _number_in("stability_tolerance", self.stability_tolerance, *NUMBER_RANGES["stability_tolerance"])
        if self.estimate is not None:
            if not isinstance(self.estimate, EstimateSpec):
                raise InvalidInput("configuration.estimate must be an object with question, unit, min and max")
            self.estimate.validate()
        if self.max_tokens is not None:
            _int_in("max_tokens", self.max_tokens, *NUMBER_RANGES["max_tokens"])
        if self.max_cost_usd is not None:
            _number_in("max_cost_usd", self.max_cost_usd, *NUMBER_RANGES["max_cost_usd"])


def _int_in(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"configuration.{name} must be an integer from {low} to {high}")


def _number_in(name: str, value: object, low: float, high: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or not low <= value <= high
    ):
        raise InvalidInput(f"configuration.{name} must be a number from {low} to {high}")
