"""The README's Development section says how to test, lint and re-pin (the example is checked in tests/client)."""

from __future__ import annotations

from tests.readme import section


def test_the_development_section_says_how_to_test_lint_and_lock() -> None:
    development = section("Development")
    for what in ("make test-fast", "CI=true make test", "make lint", "make typecheck", "make lock", "tests/"):
        assert what in development, what
    for folder in ("unit", "contract", "api", "integration", "e2e", "client"):
        assert f"`{folder}`" in development, folder
