"""Every Prometheus metric of the service, in one registry, served at GET /metrics.

How to add a metric:

1. Declare it below, in the section it belongs to, on `REGISTRY`:
   `RATE_LIMITED = Counter("ask_panel_rate_limited_total", "What it counts", ["scope"], registry=REGISTRY)`.
   Names start with `ask_panel_`, counters end in `_total`, units are in the name (`_seconds`,
   `_usd`). Labels take a small, fixed set of values: never a tenant id, panel id, user input or
   raw path (a value that comes from configuration, such as a model name, goes through
   `bounded(...)`).
2. Call it where the thing happens: `metrics.RATE_LIMITED.labels("tenant").inc()`. `domain` and
   `application` do not import this module: an application object keeps a plain int (cheap, on
   hot paths) and a reader registered with `track(...)` reports it at scrape time.
3. Document it in docs/deployment.md (name, labels, meaning).

Each process has its own registry and is scraped on its own (`ask-panel serve` on its HTTP port,
`ask-panel worker` on `ASK_PANEL_WORKER_METRICS_PORT`); sum across instances in PromQL. Why not
prometheus-client's multiprocess mode: each of these processes is its own scrape target (uvicorn
runs without `--workers`), so nothing needs merging, and per-process registries keep live gauges
(open streams, pool use) exact and readers at scrape time possible, which multiprocess mode does
not support.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series beside every counter and histogram
REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# ---- HTTP ------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "ask_panel_http_requests_total",
    "HTTP requests and WebSocket handshakes, by method, route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "ask_panel_http_request_duration_seconds",
    "Time from a request's arrival to its response's start (headers), by method and route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)

# ---- panels ----------------------------------------------------------------------------------------
PANELS = Counter(
    "ask_panel_panels_total",
    "Panels that reached a status in this process (draft, queued, in_progress, completed, failed, cancelled), by type",
    ["status", "panel_type"],
    registry=REGISTRY,
)
TURNS = Counter(
    "ask_panel_turns_total",
    "Expert turns committed (outcome=spoken) or recorded as failed (outcome=failed)",
    ["outcome"],
    registry=REGISTRY,
)

# ---- limits and budgets ---------------------------------------------------------------------------
RATE_LIMITED = Counter(
    "ask_panel_rate_limited_total",
    "Requests refused (429) by a rate limit, by limit (request, panel_create, stream_open) and scope (tenant, token)",
    ["limit", "scope"],
    registry=REGISTRY,
)
BUDGET_REFUSALS = Counter(
    "ask_panel_budget_refusals_total",
    "Panel work refused or stopped by a budget: a tenant's (period=day, month) on create and execute or in a "
    "run, or a panel's own (period=panel); a run stopped at a step boundary, failed (budget_exceeded) or "
    "completed degraded",
    ["period"],
    registry=REGISTRY,
)

# ---- model calls -----------------------------------------------------------------------------------
LLM_CALLS = Counter(
    "ask_panel_llm_calls_total",
    "Model calls (each with its retries) by provider, model and outcome (ok, error)",
    ["provider", "model", "outcome"],
    registry=REGISTRY,
)
LLM_DURATION = Histogram(
    "ask_panel_llm_call_duration_seconds",
    "Duration of a model call until its last token, retries included, by provider and model",
    ["provider", "model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0),
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "ask_panel_llm_tokens_total",
    "Tokens used by model calls, by provider, model and direction (input, output)",
    ["provider", "model", "direction"],
    registry=REGISTRY,
)
LLM_RETRIES = Counter(
    "ask_panel_llm_retries_total",
    "Model call attempts retried after a retryable failure (429, 5xx, timeout, cut stream)",
    ["provider", "model"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "ask_panel_llm_cost_usd_total",
    "Estimated cost of model calls in US dollars, by provider and model",
    ["provider", "model"],
    registry=REGISTRY,
)

# ---- streams ---------------------------------------------------------------------------------------
STREAMS_OPEN = Gauge(
    "ask_panel_streams_open",
    "Open event streams by transport (sse_watch: GET on the fast path, sse_post: POST /stream, websocket)",
    ["transport"],
    registry=REGISTRY,
)
STREAM_TRANSPORTS = ("sse_watch", "sse_post", "websocket")
for _transport in STREAM_TRANSPORTS:
    STREAMS_OPEN.labels(_transport)
SEND_TIMEOUTS = Counter(
    "ask_panel_stream_send_timeouts_total",
    "Streams closed because the client stopped reading (a send blocked past the send timeout), by transport",
    ["transport"],
    registry=REGISTRY,
)

# ---- fan-out between processes ---------------------------------------------------------------------
WAKEUPS = Counter(
    "ask_panel_bridge_wakeups_total",
    "Wake-ups from other processes received by the bridge, by outcome (delivered, ignored, failed)",
    ["outcome"],
    registry=REGISTRY,
)
DELTA_BATCHES = Counter(
    "ask_panel_delta_batches_total",
    "Text-delta batches for watchers in other processes, by outcome (forwarded, dropped: outbox full)",
    ["outcome"],
    registry=REGISTRY,
)
GROUP_COMMITS = Counter(
    "ask_panel_group_commit_batches_total",
    "SQLite group-commit transactions (each holds one or more panels' checkpoints)",
    registry=REGISTRY,
)
GROUP_COMMIT_CHECKPOINTS = Counter(
    "ask_panel_group_commit_checkpoints_total",
    "Checkpoints written by SQLite group commits",
    registry=REGISTRY,
)

# ---- job queue (procrastinate) -----------------------------------------------------------------------
JOBS_RETRIED = Counter(
    "ask_panel_worker_jobs_retried_total",
    "Panel jobs retried because their worker stopped sending heartbeats",
    registry=REGISTRY,
)
PANELS_REDEFERRED = Counter(
    "ask_panel_worker_panels_redeferred_total",
    "Unfinished panels that had no job and were deferred again",
    registry=REGISTRY,
)

# ---- labels ----------------------------------------------------------------------------------------
_MAX_LABEL_VALUES = 50
_seen: dict[str, set[str]] = {}
_seen_lock = threading.Lock()


def bounded(kind: str, value: str | None) -> str:
    """`value` as a label, or "other" once `kind` has had 50 distinct values (models named by tenants)."""
    text = value or "unknown"
    seen = _seen.get(kind)
    if seen is not None and text in seen:
        return text
    with _seen_lock:
        seen = _seen.setdefault(kind, set())
        if text in seen:
            return text
        if len(seen) >= _MAX_LABEL_VALUES:
            return "other"
        seen.add(text)
        return text


# ---- hot paths: cheap instruments read at scrape time ----------------------------------------------
class FastHistogram:
    """A histogram for the event loop's hot paths: no lock, one bisect (about 0.2 µs an observation).

    Observed from the event loop's thread only; read at scrape time (a torn read costs one sample).
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self) -> HistogramMetricFamily:
        cumulative: list[tuple[str, float]] = []
        total = 0
        for bound, count in zip(self.bounds, self.counts, strict=False):
            total += count
            cumulative.append((repr(float(bound)), total))
        total += self.counts[-1]
        cumulative.append(("+Inf", total))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], cumulative, self.sum)
        return family


FANOUT_LAG = FastHistogram(
    "ask_panel_stream_fanout_lag_seconds",
    "From an event's commit to its write on a stream (the oldest event of each write; an upper bound)",
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


# ---- readings of the process's objects --------------------------------------------------------------
Reading = tuple[str, tuple[str, ...], float]
"""(metric name, label values, value): one sample a tracked object reports."""

# name -> (type, help, label names). Values of every tracked object are summed per label values.
PULLED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ask_panel_hub_deliveries_total": ("counter", "Events handed to local subscribers (event x subscriber)", ()),
    "ask_panel_stream_subscribers_dropped_total": (
        "counter",
        "Subscribers dropped by the hub, by reason (buffer_overflow: a full buffer; the client resumes)",
        ("reason",),
    ),
    "ask_panel_panels_running": ("gauge", "Panel runs in progress in this process", ()),
    "ask_panel_draining": ("gauge", "1 while this process drains (after SIGTERM), else 0", ()),
    "ask_panel_db_pool_connections": (
        "gauge",
        "Database connections of this process's pool, by state (in_use, idle, overflow)",
        ("state",),
    ),
    "ask_panel_db_pool_size": ("gauge", "The database pool's configured size", ()),
    "ask_panel_jobs": ("gauge", "Panel jobs in the queue by status (todo, doing), read at scrape time", ("status",)),
    "ask_panel_jobs_stalled": ("gauge", "Running panel jobs whose worker sent no heartbeat lately", ()),
}


Reader = Callable[[Any], Iterable[Reading]]
Refresh = Callable[[Any], Awaitable[None]]


class _Tracked(Collector):
    """Reports the readings of every tracked object that is still alive, summed per sample."""

    def __init__(self) -> None:
        self.owners: weakref.WeakKeyDictionary[Any, tuple[Reader, Refresh | None]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def add(self, owner: Any, reader: Reader, refresh: Refresh | None) -> None:
        with self._lock:
            self.owners[owner] = (reader, refresh)

    def remove(self, owner: Any) -> None:
        with self._lock:
            self.owners.pop(owner, None)

    def items(self) -> list[tuple[Any, tuple[Reader, Refresh | None]]]:
        with self._lock:
            return list(self.owners.items())

    def collect(self) -> Iterator[Metric]:
        totals: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in PULLED}
        for owner, (reader, _refresh) in self.items():
            for name, labels, value in reader(owner):
                samples = totals[name]
                samples[labels] = samples.get(labels, 0.0) + value
        for name, samples in totals.items():
            kind, documentation, labelnames = PULLED[name]
            family: CounterMetricFamily | GaugeMetricFamily
            if kind == "counter":
                family = CounterMetricFamily(name.removesuffix("_total"), documentation, labels=labelnames)
            else:
                family = GaugeMetricFamily(name, documentation, labels=labelnames)
            for labels, value in samples.items():
                family.add_metric(list(labels), value)
            yield family
        yield FANOUT_LAG.family()

    def describe(self) -> Iterator[Metric]:
        return iter(())


_TRACKED = _Tracked()
REGISTRY.register(_TRACKED)


def track(owner: Any, reader: Reader, refresh: Refresh | None = None) -> Callable[[], None]:
    """Report `reader(owner)` at every scrape (after `await refresh(owner)`, for readings that need a query).

    `reader` and `refresh` take the owner as argument (pass `Class.method`, not a bound method):
    the owner is held weakly, so a container that goes away stops being reported. Returns the
    function that stops reporting it at once.
    """
    _TRACKED.add(owner, reader, refresh)
    return lambda: _TRACKED.remove(owner)


async def render(timeout_s: float = 5.0) -> bytes:
    """The registry in Prometheus' text format, after the readings that need a query are refreshed."""
    refreshing = [refresh(owner) for owner, (_reader, refresh) in _TRACKED.items() if refresh is not None]
    if refreshing:
        try:
            async with asyncio.timeout(timeout_s):
                results = await asyncio.gather(*refreshing, return_exceptions=True)
        except TimeoutError:
            results = [TimeoutError("metrics refresh timed out")]
        for result in results:
            if isinstance(result, BaseException):
                log.warning("a metrics reading could not be refreshed: %s", result)
    return generate_latest(REGISTRY)
