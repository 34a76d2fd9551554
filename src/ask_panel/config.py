"""Settings from environment variables prefixed ASK_PANEL_ (pydantic-settings)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ask_panel.domain.llm import OutputMode

DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{Path('data') / 'ask_panel.db'}"
DEVELOPMENT_SECRET = "dev-secret-change-me-dev-secret-change-me"
MEMORY_DATABASE_URL = "memory://"  # everything in this process's memory: for tests and demos, nothing is kept


ANY_ORIGIN = "*"


def normalize_origin(value: str) -> str:
    """An origin as browsers send it (`scheme://host[:port]`, lower case, no path), or `*`; else ValueError."""
    text = value.strip()
    if text == ANY_ORIGIN:
        return text
    parts = urlsplit(text.rstrip("/"))
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or port == -1
    ):
        raise ValueError(f"{value!r} is not an origin: use scheme://host[:port], e.g. https://app.example.com")
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    default_port = {"http": 80, "https": 443}[scheme]  # browsers leave it out of the Origin header
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default_port) else "")


def _comma_separated(value: object, normalize: Callable[[str], str]) -> object:
    """A comma-separated setting (or a list) as a tuple of normalized, distinct, non-blank entries, in order."""
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, list | tuple):
        return tuple(dict.fromkeys(normalize(str(v)) for v in value if str(v).strip()))
    return value


def describe_refusal(error: ValidationError) -> str:
    """A settings error on one line, naming each variable and what is wrong, never its value (a secret, maybe)."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        location = item["loc"]
        problems.append(f"ASK_PANEL_{str(location[0]).upper()}: {message}" if location else message)
    return "; ".join(problems)


NO_LIMIT = "none"


def rate_limit(value: str | None) -> str | None:
    """A rate limit in the `limits` notation (`600/minute`, `10/second;600/minute`), or None for none."""
    if value is None or value.strip().lower() in ("", NO_LIMIT):
        return None
    try:
        parse_many(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate limit: use e.g. 600/minute or 10/second;600/minute") from None
    return value.strip()


class TenantPolicy(BaseModel):
    """One tenant's own limits and budgets (`ASK_PANEL_TENANT_LIMITS`); a key left out keeps the service's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_limit: str | None = None
    panel_create_limit: str | None = None
    stream_open_limit: str | None = None
    daily_budget_usd: float | None = Field(None, ge=0)
    monthly_budget_usd: float | None = Field(None, ge=0)

    @field_validator("rate_limit", "panel_create_limit", "stream_open_limit")
    @classmethod
    def _limit(cls, value: str | None) -> str | None:
        # "none" is kept as such here: it turns the service's limit off for this tenant.
        return NO_LIMIT if value is not None and rate_limit(value) is None else value


class ModelPrice(BaseModel):
    """A model's price in USD per million tokens, for models the price data does not know (self-hosted ones)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASK_PANEL_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(10, ge=1, le=200)
    db_max_overflow: int = Field(10, ge=0, le=200)
    db_statement_timeout_ms: int = Field(30_000, ge=0)
    db_pool_timeout_s: float = Field(30.0, gt=0)
    db_connect_timeout_s: float = Field(10.0, gt=0)
    """PostgreSQL: a connection attempt that takes longer fails (503); a statement with no answer at all
    fails after the statement timeout plus this (a stalled network)."""
    redis_url: str | None = None
    fanout: Literal["auto", "none", "postgres", "redis"] = "auto"
    executor: Literal["local", "procrastinate"] = "local"
    worker_concurrency: int = Field(32, ge=1)
    worker_heartbeat_s: float = Field(2.0, gt=0)
    worker_stalled_after_s: float = Field(10.0, gt=0)

    auth_mode: Literal["jwt", "none"] = "jwt"
    jwt_secret: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwks_url: str | None = None

    max_query_chars: int = Field(8000, ge=1, le=100_000)
    max_agents_per_tenant: int = Field(100, ge=0, le=10_000)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    http_header_timeout_s: float = Field(10.0, gt=0)
    """A request's headers must arrive within this from the connection's start (or its previous response)."""
    http_body_timeout_s: float = Field(30.0, gt=0)
    """The longest pause while a request body arrives (408 beyond)."""
    http_keepalive_timeout_s: float = Field(5.0, gt=0)
    """An idle keep-alive connection is closed after this."""

    llm_provider: Literal["simulated", "openai", "anthropic"] = "simulated"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout_s: float = Field(120.0, gt=0)
    llm_max_attempts: int = Field(4, ge=1, le=10)
    llm_max_tokens: int = Field(2048, ge=16, le=200_000)
    llm_max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = None
    """None: `max_completion_tokens` on api.openai.com (its reasoning models require it), else `max_tokens`."""
    llm_output_mode: OutputMode = "json_schema"
    """How the `openai` provider asks for JSON: json_schema, json_object or prompt."""
    llm_strict_schema: bool | None = None
    """`strict` structured outputs for json_schema; None: on for api.openai.com only."""
    anthropic_base_url: str = "https://api.anthropic.com"
    anthropic_api_key: str | None = None
    anthropic_model: str = "claude-sonnet-4-5"
    anthropic_output_mode: OutputMode = "prompt"
    """How the `anthropic` provider asks for JSON: prompt (every model), or json_schema (forced tool use)."""
    allow_simulated: bool = False
    """Production refuses the simulated provider (canned answers) unless this is true (e.g. for a demo)."""
    simulated_token_delay_ms: float = Field(8.0, ge=0)
    simulated_fault_rate: float = Field(0.0, ge=0, le=1)
    simulated_seed: int = 0

    max_concurrent_panels: int = Field(64, ge=1)
    run_worker: bool = True

    stream_reconcile_s: float = Field(2.0, gt=0, le=60)
    """With a bus: how often watched panels are checked against their log (the longest a lost wake-up delays)."""
    bus_probe_s: float = Field(2.0, gt=0, le=60)
    """Redis: how often the subscription is PINGed; silent for 3 probes, it is made again."""

    sse_heartbeat_s: float = Field(15.0, gt=0)
    sse_retry_ms: int = Field(2000, ge=0)
    stream_send_timeout_s: float = Field(10.0, gt=0)
    stream_buffer_events: int = Field(1024, ge=16)
    max_streams: int = Field(10_000, ge=1)
    max_streams_per_tenant: int = Field(1000, ge=1)
    ticket_ttl_s: int = Field(60, ge=1, le=60)
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Origins whose pages may call the API from a browser (comma-separated `scheme://host[:port]`, or
    `*` for any); empty: same origin only. Applies to every route, the watch stream and the WebSocket."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        return _comma_separated(value, normalize_origin)

    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Host names the service answers (comma-separated, `*` for any), besides the loopback names; empty: with
    ASK_PANEL_AUTH_MODE=none only loopback names (`localhost`, `127.0.0.1`, `[::1]`), else any (DNS rebinding)."""

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        return _comma_separated(value, lambda host: host.strip().strip("[]").lower())

    log_format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines in production, readable lines elsewhere."""
    metrics_token: str | None = None
    """When set, GET /metrics needs `Authorization: Bearer <metrics_token>`."""
    worker_metrics_port: int | None = Field(None, ge=1, le=65535)
    """`ask-panel worker` serves /metrics, /healthz and /readyz on this port (127.0.0.1 unless worker_metrics_host)."""
    worker_metrics_host: str = "127.0.0.1"
    tracing: Literal["none", "otlp", "console"] = "none"
    """OpenTelemetry traces: otlp (OTEL_EXPORTER_OTLP_* variables), console, or none. Needs ask-panel[otel]."""
    trace_sample_ratio: float = Field(1.0, ge=0, le=1)
    drain_timeout_s: float = Field(20.0, ge=0)
    """On SIGTERM: how long running turns get to reach their next checkpoint before runs are stopped."""

    rate_limit: str | None = "600/minute"
    """Requests per tenant (and per bearer token) to the tenant's API, in the `limits` notation; `none`: no limit."""
    panel_create_limit: str | None = "60/minute"
    """Panels created per tenant (and per bearer token); `none`: no limit."""
    stream_open_limit: str | None = "120/minute"
    """Streams opened (SSE and WebSocket) per tenant (and per bearer token); `none`: no limit."""
    tenant_daily_budget_usd: float | None = Field(None, ge=0)
    """What a tenant may spend on model calls per UTC day; None: no budget."""
    tenant_monthly_budget_usd: float | None = Field(None, ge=0)
    """What a tenant may spend on model calls per UTC calendar month; None: no budget."""
    tenant_budget_refresh_s: float = Field(2.0, gt=0, le=300)
    """How old a running panel's reading of its tenant's spend may get before it reads the ledger again."""
    tenant_limits: dict[str, TenantPolicy] = Field(default_factory=dict)
    """Per-tenant overrides of the limits and budgets above, JSON: {"<tenant uuid>": {"rate_limit": ..., ...}}."""
    model_prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Prices of models the bundled price data does not know, JSON: {"<model or prefix>": {"input": 0.5,
    "output": 1.5}} in USD per million tokens; the longest matching prefix wins over the price data."""

    @field_validator("rate_limit", "panel_create_limit", "stream_open_limit")
    @classmethod
    def _rate_limit(cls, value: str | None) -> str | None:
        return rate_limit(value)

    @field_validator("tenant_limits")
    @classmethod
    def _tenant_ids(cls, value: dict[str, TenantPolicy]) -> dict[str, TenantPolicy]:
        policies: dict[str, TenantPolicy] = {}
        for key, policy in value.items():
            try:
                policies[str(uuid.UUID(key))] = policy
            except ValueError:
                raise ValueError(f"ASK_PANEL_TENANT_LIMITS: {key!r} is not a tenant id (a UUID)") from None
        return policies

    def policy_for(self, tenant: str) -> TenantPolicy:
        """The tenant's limits and budgets: its overrides, else the service's settings."""
        own = self.tenant_limits.get(tenant)
        fields = ("rate_limit", "panel_create_limit", "stream_open_limit")
        budgets = ("daily_budget_usd", "monthly_budget_usd")
        values: dict[str, object] = {f: getattr(self, f) for f in fields}
        values |= {
            "daily_budget_usd": self.tenant_daily_budget_usd,
            "monthly_budget_usd": self.tenant_monthly_budget_usd,
        }
        if own is not None:
            values |= {f: getattr(own, f) for f in (*fields, *budgets) if f in own.model_fields_set}
        return TenantPolicy.model_validate(
            {k: (NO_LIMIT if k in fields and v is None else v) for k, v in values.items()}
        )

    def limit_for(self, tenant: str, kind: str) -> str | None:
        """The tenant's rate limit of `kind` (request, panel_create, stream_open), or None for none."""
        policy = self.policy_for(tenant)
        value: str | None = policy.rate_limit if kind == "request" else getattr(policy, f"{kind}_limit")
        return None if value in (None, NO_LIMIT) else value

    def secret_values(self) -> list[str | None]:
        """Values that must never be logged (the logs redact them)."""
        values: list[str | None] = [self.jwt_secret, self.llm_api_key, self.anthropic_api_key, self.metrics_token]
        for url in (self.database_url, self.redis_url):
            with contextlib.suppress(ValueError):  # an unparsable URL fails elsewhere, with its own message
                values.append(urlsplit(url or "").password)
        return values

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Plain PostgreSQL URLs (as Supabase and most hosts give them) use the asyncpg driver."""
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        return value

    @model_validator(mode="after")
    def _secrets_outside_development(self) -> Settings:
        if self.auth_mode == "jwt" and not (self.jwt_secret or self.jwks_url):
            if self.environment != "development":
                raise ValueError(
                    f"ASK_PANEL_AUTH_MODE=jwt needs ASK_PANEL_JWT_SECRET or ASK_PANEL_JWKS_URL "
                    f"(ASK_PANEL_ENVIRONMENT={self.environment}; the built-in secret is for development only)"
                )
            self.jwt_secret = DEVELOPMENT_SECRET
        if self.environment == "production" and self.jwt_secret == DEVELOPMENT_SECRET:
            raise ValueError("the development JWT secret must not be used in production")
        if self.environment == "production" and self.auth_mode == "none":
            raise ValueError("ASK_PANEL_AUTH_MODE=none is for development; it is refused in production")
        if self.environment == "production" and self.jwks_url and not self.jwt_audience:
            raise ValueError("ASK_PANEL_JWT_AUDIENCE is required with ASK_PANEL_JWKS_URL in production")
        if self.llm_provider == "simulated" and not self.simulated_allowed:
            raise ValueError(
                "ASK_PANEL_LLM_PROVIDER=simulated (the default) gives canned answers: in production set "
                "ASK_PANEL_LLM_PROVIDER=openai or anthropic, or ASK_PANEL_ALLOW_SIMULATED=true for a demo"
            )
        return self

    @property
    def simulated_allowed(self) -> bool:
        """The simulated provider may answer: outside production, or in production when explicitly allowed."""
        return self.environment != "production" or self.allow_simulated

    @property
    def uses_development_secret(self) -> bool:
        return self.auth_mode == "jwt" and self.jwt_secret == DEVELOPMENT_SECRET

    @property
    def fanout_mode(self) -> str:
        """How committed events reach other processes: none, postgres (LISTEN/NOTIFY) or redis."""
        if self.fanout != "auto":
            return self.fanout
        if self.redis_url:
            return "redis"
        return "postgres" if self.database_url.startswith("postgresql") else "none"

    @property
    def default_model(self) -> str | None:
        return self.llm_model if self.llm_provider == "openai" else None
