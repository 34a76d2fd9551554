"""Providers by name: the configured default, plus any other an expert asks for."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ask_panel.application.ports import LLMProvider
from ask_panel.domain.errors import InvalidInput


class Providers:
    """Creates each provider once, on first use, and hands out the same instance afterwards."""

    def __init__(self, default: str, factories: Mapping[str, Callable[[], LLMProvider]]) -> None:
        self.default = default
        self._factories = dict(factories)
        self._made: dict[str, LLMProvider] = {}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._factories)

    def get(self, name: str | None) -> LLMProvider:
        key = name or self.default
        provider = self._made.get(key)
        if provider is None:
            factory = self._factories.get(key)
            if factory is None:
                raise InvalidInput(f"Unknown provider '{key}'")
            provider = self._made[key] = factory()
        return provider

    async def aclose(self) -> None:
        for provider in self._made.values():
            close = getattr(provider, "aclose", None)  # providers with an HTTP client, and their wrappers
            if close is not None:
                await close()
        self._made.clear()
