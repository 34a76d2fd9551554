"""Settings refused before a service runs: no JWT secret outside development, the simulated provider in production."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from ask_panel.bootstrap import bootstrap, build_providers
from ask_panel.config import DEVELOPMENT_SECRET, MEMORY_DATABASE_URL, Settings, describe_refusal

SECRET = "a-real-secret-0123456789-0123456789-abcdef"


def settings(**values: object) -> Settings:
    base: dict[str, object] = {"database_url": MEMORY_DATABASE_URL}
    base.update(values)
    return Settings(**base)  # type: ignore[arg-type]


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    return describe_refusal(caught.value)


@pytest.mark.parametrize("environment", ["test", "production"])
def test_jwt_auth_without_a_secret_or_key_set_is_refused_outside_development(environment: str) -> None:
    message = refusal(environment=environment, auth_mode="jwt", llm_provider="openai")
    assert "ASK_PANEL_JWT_SECRET or ASK_PANEL_JWKS_URL" in message
    assert f"ASK_PANEL_ENVIRONMENT={environment}" in message


def test_jwt_auth_with_a_jwks_url_needs_no_secret_outside_development() -> None:
    chosen = settings(environment="test", jwks_url="http://127.0.0.1:9/jwks.json")
    assert chosen.jwt_secret is None


def test_in_development_jwt_auth_without_a_secret_uses_the_development_secret_and_says_so_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chosen = settings(environment="development")
    assert chosen.jwt_secret == DEVELOPMENT_SECRET
    assert chosen.uses_development_secret

    async def start_and_stop() -> None:
        container = bootstrap(chosen)
        await container.start()
        await container.stop()

    import asyncio

    with caplog.at_level(logging.WARNING, logger="ask_panel.bootstrap"):
        asyncio.run(start_and_stop())
    warnings = [r.getMessage() for r in caplog.records if "development secret" in r.getMessage()]
    assert len(warnings) == 1
    assert DEVELOPMENT_SECRET not in warnings[0]


def test_a_configured_secret_is_not_the_development_one() -> None:
    assert not settings(environment="development", jwt_secret=SECRET).uses_development_secret


def test_production_refuses_the_simulated_provider_by_default() -> None:
    message = refusal(environment="production", jwt_secret=SECRET)
    assert message.startswith("ASK_PANEL_LLM_PROVIDER=simulated (the default) gives canned answers")
    assert "ASK_PANEL_ALLOW_SIMULATED=true" in message


def test_production_takes_the_simulated_provider_when_explicitly_allowed() -> None:
    chosen = settings(environment="production", jwt_secret=SECRET, allow_simulated=True)
    assert chosen.llm_provider == "simulated"
    assert "simulated" in build_providers(chosen).names


def test_in_production_no_agent_may_name_the_simulated_provider_unless_allowed() -> None:
    chosen = settings(environment="production", jwt_secret=SECRET, llm_provider="openai", llm_api_key="sk-test")
    assert build_providers(chosen).names == frozenset({"openai", "anthropic"})


@pytest.mark.parametrize("environment", ["development", "test"])
def test_outside_production_the_simulated_provider_needs_no_permission(environment: str) -> None:
    chosen = settings(environment=environment, jwt_secret=SECRET)
    assert chosen.simulated_allowed
    assert "simulated" in build_providers(chosen).names


def test_a_refusal_names_each_variable_and_never_its_value() -> None:
    message = refusal(environment="production", auth_mode="none", jwt_secret=SECRET, db_pool_size=0)
    assert "ASK_PANEL_DB_POOL_SIZE: Input should be greater than or equal to 1" in message
    assert SECRET not in message
    assert "\n" not in message


def test_a_model_level_refusal_is_its_sentence_alone() -> None:
    message = refusal(environment="production", auth_mode="none", jwt_secret=SECRET, llm_provider="openai")
    assert message == "ASK_PANEL_AUTH_MODE=none is for development; it is refused in production"
