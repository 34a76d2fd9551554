"""Readers of the counters and gauges that the process's objects keep themselves, for `metrics.track`."""

from __future__ import annotations

from collections.abc import Iterator

from ask_panel.application.drain import Drain
from ask_panel.application.hub import EventHub
from ask_panel.application.runner import LocalPanelPool
from ask_panel.observability.metrics import Reading


def hub_readings(hub: EventHub) -> Iterator[Reading]:
    yield "ask_panel_hub_deliveries_total", (), float(hub.delivered)
    yield "ask_panel_stream_subscribers_dropped_total", ("buffer_overflow",), float(hub.overflows)


def pool_readings(pool: LocalPanelPool) -> Iterator[Reading]:
    yield "ask_panel_panels_running", (), float(len(pool.running))


def drain_readings(drain: Drain) -> Iterator[Reading]:
    yield "ask_panel_draining", (), 1.0 if drain.active else 0.0
