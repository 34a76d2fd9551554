"""Observability: structured logs (`logs`) and their context (`context`), metrics (`metrics`), traces (`tracing`).

Outside the layers: `api`, `cli`, `bootstrap` and `infrastructure` call into it; `domain` and
`application` never import it (their objects keep plain counters that `metrics` reads).
"""

from __future__ import annotations

from ask_panel.observability.context import current_request_id, set_request_id
from ask_panel.observability.logs import configure_logging

__all__ = ["configure_logging", "current_request_id", "set_request_id"]
