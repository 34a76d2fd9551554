"""Structured logs (structlog): JSON in production, readable lines in development, secrets redacted.

Every log line, from structlog or from the standard library (uvicorn, SQLAlchemy, procrastinate,
this service's own `logging.getLogger` calls), goes through one handler on the root logger with the
same processors: the context variables (request id, tenant id, panel id), level, logger name, UTC
timestamp, and redaction of anything that looks like a secret (bearer tokens, JWTs, `ticket=`,
`token=`, `api_key=` and friends in URLs and messages, and the configured secret values
themselves) before the line is rendered.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["json", "console"]

REDACTED = "[redacted]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # `?ticket=…`, `&token=…`, `api_key=…` in URLs and messages (the WebSocket access line has the query).
    (
        re.compile(
            r"(?i)\b(ticket|token|access_token|id_token|refresh_token|api_key|apikey|key|secret|password|signature)"
            r"=[^&\s\"'<>]+"
        ),
        rf"\1={REDACTED}",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),  # a JWT anywhere
    (re.compile(r"(?i)\b(sk|pk|rk)-[A-Za-z0-9_-]{12,}"), REDACTED),  # provider API keys (sk-…, sk-ant-…)
    (re.compile(r"(?i)(\w+://[^:/@\s]+:)[^@\s]+@"), rf"\1{REDACTED}@"),  # a password in a URL
)
_SENSITIVE_KEYS = frozenset({"authorization", "password", "secret", "token", "ticket", "api_key", "jwt_secret"})
_secrets: list[str] = []


def add_secrets(values: Iterable[str | None]) -> None:
    """Values that must never appear in a log line (the JWT secret, API keys, the metrics token, …)."""
    for value in values:
        if value and len(value) >= 6 and value not in _secrets:
            _secrets.append(value)
    _secrets.sort(key=len, reverse=True)


def redact_text(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in _SENSITIVE_KEYS and value:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    """A processor: every string value of the line with secrets replaced by `[redacted]`."""
    for key, value in event.items():
        event[key] = _redact_value(key, value)
    return event


class DroppedStreamFilter(logging.Filter):
    """A stream client dropped for not reading ends its response unfinished, on purpose: not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def _json_dumps(value: Mapping[str, Any], **_kwargs: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_console_colours,
    ]


def _drop_console_colours(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    event.pop("color_message", None)  # uvicorn's coloured copy of its message
    return event


def _rename_event(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    event["message"] = event.pop("event", "")
    return event


def formatter(fmt: LogFormat) -> structlog.stdlib.ProcessorFormatter:
    """The root handler's formatter: context, redaction, then JSON or console rendering."""
    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        final += [structlog.processors.dict_tracebacks, redact, _rename_event]
        renderer = structlog.processors.JSONRenderer(serializer=_json_dumps)
    else:
        final += [structlog.processors.format_exc_info, redact]
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_shared_processors(), processors=[*final, renderer])


def configure_logging(level: str = "INFO", fmt: LogFormat = "console", *, secrets: Iterable[str | None] = ()) -> None:
    """Route every logger through one structlog handler on stderr."""
    add_secrets(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.error").addFilter(DroppedStreamFilter())
    # Alembic announces its plugins and each step at INFO; `migrate` reports what it applied itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def log_format_for(setting: str, environment: str) -> LogFormat:
    """`auto` is JSON in production and readable lines elsewhere."""
    if setting in ("json", "console"):
        return setting  # type: ignore[return-value]
    return "json" if environment == "production" else "console"
