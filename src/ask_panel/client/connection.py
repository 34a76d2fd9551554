"""Where the service is and who is asking: URL, bearer token and tenant, from arguments or environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ask_panel.client.errors import ConfigurationError

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "ASK_PANEL_URL"
TOKEN_VARIABLE = "ASK_PANEL_TOKEN"
TENANT_VARIABLE = "ASK_PANEL_TENANT"


@dataclass(frozen=True, slots=True)
class Connection:
    """The service's base URL, the bearer token (None when the service runs without auth) and the tenant."""

    url: str
    tenant: str
    token: str | None = None

    @classmethod
    def resolve(
        cls,
        url: str | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Connection:
        """Arguments win; then ASK_PANEL_URL, ASK_PANEL_TOKEN and ASK_PANEL_TENANT; the URL defaults to `make run`'s."""
        env = os.environ if environ is None else environ
        tenant = tenant or env.get(TENANT_VARIABLE) or None
        if not tenant:
            raise ConfigurationError(f"No tenant: pass tenant=... (--tenant) or set {TENANT_VARIABLE}")
        url = (url or env.get(URL_VARIABLE) or DEFAULT_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"The service URL must start with http:// or https://, not {url!r}")
        return cls(url=url, tenant=tenant, token=token or env.get(TOKEN_VARIABLE) or None)

    def headers(self) -> dict[str, str]:
        headers = {"X-Tenant-ID": self.tenant}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def __repr__(self) -> str:  # the token never reaches logs or tracebacks
        return f"Connection(url={self.url!r}, tenant={self.tenant!r}, token={'***' if self.token else None})"
