"""A service that must not start says why on one line and exits with the usage code: no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SECRET = "a-real-secret-0123456789-0123456789-abcdef"


def ask_panel(*arguments: str, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
    env.update({"ASK_PANEL_DATABASE_URL": "memory://", **env_overrides})
    return subprocess.run(
        [str(Path(sys.executable).parent / "ask-panel"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        (
            {"ASK_PANEL_ENVIRONMENT": "production", "ASK_PANEL_LLM_PROVIDER": "openai"},
            "ASK_PANEL_AUTH_MODE=jwt needs ASK_PANEL_JWT_SECRET or ASK_PANEL_JWKS_URL",
        ),
        (
            {"ASK_PANEL_ENVIRONMENT": "production", "ASK_PANEL_JWT_SECRET": SECRET},
            "ASK_PANEL_LLM_PROVIDER=simulated (the default) gives canned answers",
        ),
        (
            {"ASK_PANEL_ENVIRONMENT": "test", "ASK_PANEL_JWT_SECRET": SECRET, "ASK_PANEL_DB_POOL_SIZE": "0"},
            "ASK_PANEL_DB_POOL_SIZE: Input should be greater than or equal to 1",
        ),
    ],
    ids=["jwt-without-secret", "simulated-in-production", "bad-number"],
)
def test_serve_refuses_a_bad_configuration_in_one_line_with_exit_code_2(env: dict[str, str], reason: str) -> None:
    result = ask_panel("serve", "--port", "1", **env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ask-panel serve: refused to start: ")
    assert reason in lines[0]
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr


def test_worker_and_migrate_refuse_the_same_way() -> None:
    for command in ("worker", "migrate"):
        result = ask_panel(command, ASK_PANEL_ENVIRONMENT="production", ASK_PANEL_LLM_PROVIDER="openai")
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith(f"ask-panel {command}: refused to start: ")


def test_the_token_command_refuses_a_negative_lifetime_with_exit_code_2() -> None:
    result = ask_panel(
        "token", "--tenant", "11111111-1111-1111-1111-111111111111", "--ttl", "-5", ASK_PANEL_JWT_SECRET=SECRET
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Invalid value for '--ttl': -5 s is not a lifetime" in result.stderr
    assert "Traceback" not in result.stderr
