"""The contract suites reuse the integration fixtures (the fakellm server process)."""

from tests.integration.conftest import fakellm_url

__all__ = ["fakellm_url"]
