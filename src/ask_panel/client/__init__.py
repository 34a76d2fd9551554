"""The Python client of the Ask Panel API: `AskPanel` (blocking) and `AsyncAskPanel` (asyncio).

Installable without the service (`pip install ask-panel`): it needs httpx2 and pydantic only, and
its models are the service's own schemas and event vocabulary.
"""

from ask_panel.client.async_client import AsyncAgents, AsyncAskPanel
from ask_panel.client.connection import Connection
from ask_panel.client.errors import (
    ApiError,
    AskPanelError,
    BadRequest,
    BudgetExhausted,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    StreamInterrupted,
    Unauthorized,
)
from ask_panel.client.events import Event
from ask_panel.client.models import EventType
from ask_panel.client.retry import ReconnectPolicy, RetryPolicy
from ask_panel.client.sync_client import Agents, AskPanel

__all__ = [
    "Agents",
    "ApiError",
    "AskPanel",
    "AskPanelError",
    "AsyncAgents",
    "AsyncAskPanel",
    "BadRequest",
    "BudgetExhausted",
    "ConfigurationError",
    "Conflict",
    "Connection",
    "ConnectionFailed",
    "Event",
    "EventType",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ReconnectPolicy",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "StreamInterrupted",
    "Unauthorized",
]
