"""PanelConfiguration: the validated settings of one panel; unknown keys are rejected."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ask_panel.domain.errors import InvalidInput

MAX_MODEL_NAME_CHARS = 200
MAX_PROPOSITION_CHARS = 2000


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

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None, *, rng: random.Random | None = None) -> PanelConfiguration:
        data = dict(raw or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidInput("Unknown configuration keys: " + ", ".join(unknown))
        if data.get("seed") is None:
            data["seed"] = (rng or random.SystemRandom()).randrange(0, 2**31)
        config = cls(**data)
        config.validate()
        return config

    def validate(self) -> None:
        _int_in("max_rounds", self.max_rounds, 1, 10)
        _number_in("consensus_threshold", self.consensus_threshold, 0.0, 1.0)
        _int_in("seed", self.seed, 0, 2**63 - 1)
        if self.model is not None and (
            not isinstance(self.model, str) or not 0 < len(self.model) <= MAX_MODEL_NAME_CHARS
        ):
            raise InvalidInput(f"configuration.model must be a string of 1..{MAX_MODEL_NAME_CHARS} characters")
        if self.temperature is not None:
            _number_in("temperature", self.temperature, 0.0, 2.0)
        if self.max_turns is not None:
            _int_in("max_turns", self.max_turns, 1, 100)
        if self.proposition is not None and (
            not isinstance(self.proposition, str) or not 0 < len(self.proposition.strip()) <= MAX_PROPOSITION_CHARS
        ):
            raise InvalidInput(f"configuration.proposition must be a string of 1..{MAX_PROPOSITION_CHARS} characters")
        if not isinstance(self.shuffle_order, bool):
            raise InvalidInput("configuration.shuffle_order must be a boolean")
        _number_in("stability_tolerance", self.stability_tolerance, 0.0, 1.0)


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
