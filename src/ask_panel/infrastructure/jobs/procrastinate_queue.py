"""The procrastinate job queue: the `run_panel` task, the executor that defers it, and worker upkeep.

A panel is one job, locked by its id (never two runs at once) and queued once (queueing lock).
Worker liveness comes from procrastinate's heartbeats: a job whose worker stopped beating is
retried, and the next run resumes the panel from its last checkpoint under a new attempt (which
fences out the old one if it was only slow). Panels left queued or in progress without a job
(a lost defer, a worker stopped mid-run) are deferred again by the reconciler.

A worker paused (SIGSTOP, a long GC or VM pause) past `stalled_after_s` comes back to jobs that were
retried meanwhile: its runs stop at the attempt fence or finish the panel, and procrastinate then
fails to record the end of a job another worker (or its own second fetch) already ended, in a task
nobody awaits. `quiet_taken_over_jobs` turns that into one plain line instead of a traceback. A worker
paused that long may also have been unregistered by another worker starting up: `SupervisedWorker`
(worker_supervisor.py) registers it anew, and the runs it then stops (its jobs are others' by then)
end in one line each, not in a CancelledError traceback (`quiet_aborted_jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate.connector import BaseConnector
from procrastinate.types import JSONDict
from procrastinate.worker import Worker
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.infrastructure.db.engine import Database
from ask_panel.observability import metrics, tracing

log = logging.getLogger(__name__)

TASK_NAME = "ask_panel.run_panel"
QUEUE = "panels"

RunPanel = Callable[[TenantId, PanelId], Awaitable[None]]


def conninfo(database_url: str) -> str:
    """A libpq connection string from the service's SQLAlchemy URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def build_app(
    database_url: str, run_panel: RunPanel | None = None, *, connector: BaseConnector | None = None
) -> procrastinate.App:
    """The job queue on the service's PostgreSQL database (`connector`: another one, e.g. in memory for tests)."""
    app = procrastinate.App(connector=connector or procrastinate.PsycopgConnector(conninfo=conninfo(database_url)))

    async def run_panel_job(tenant_id: str, panel_id: str, trace: dict[str, str] | None = None) -> None:
        """`trace`: the W3C trace context of the request that queued the panel (absent when not tracing)."""
        if run_panel is None:
            raise RuntimeError("this process only defers panels; it does not run them")
        with tracing.continued(trace):
            await run_panel(TenantId.from_string(tenant_id), PanelId.from_string(panel_id))

    app.task(name=TASK_NAME, queue=QUEUE)(run_panel_job)
    return app


async def defer(app: procrastinate.App, tenant: TenantId, panel_id: PanelId) -> None:
    task = app.configure_task(TASK_NAME, lock=str(panel_id), queueing_lock=str(panel_id))
    carrier = tracing.carrier()  # the queuing request's trace continues in the worker
    args: JSONDict = {"tenant_id": str(tenant), "panel_id": str(panel_id)}
    if carrier:
        trace: JSONDict = {}
        trace.update(carrier)
        args["trace"] = trace
    with contextlib.suppress(procrastinate_errors.AlreadyEnqueued):
        await task.defer_async(**args)


class ProcrastinateExecutor:
    """PanelExecutor for API nodes: a queued panel becomes a job for whichever worker takes it."""

    def __init__(self, app: procrastinate.App) -> None:
        self._app = app

    async def submit(self, tenant: TenantId, panel_id: PanelId) -> None:
        await defer(self._app, tenant, panel_id)

    async def stop(self, panel_id: PanelId) -> None:
        """The run is in a worker: it stops on the `panel_cancelled` wake-up (and is fenced anyway)."""


def _taken_over(exception: BaseException | None) -> bool:
    """The end of a job could not be recorded because the job was retried elsewhere and ended meanwhile."""
    return (
        isinstance(exception, procrastinate_errors.ConnectorException)
        and exception.__cause__ is not None
        and "Job was not found" in str(exception.__cause__)
    )


def quiet_taken_over_jobs(loop: asyncio.AbstractEventLoop) -> None:
    """Install, on the worker's loop, a handler that logs a taken-over job's end in one line."""
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if _taken_over(context.get("exception")):
            future = context.get("future")
            name = future.get_name() if isinstance(future, asyncio.Task) else "a job"
            log.info("%s was taken over while this worker was paused; another run ended it", name)
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


def new_worker(app: procrastinate.App, *, concurrency: int, heartbeat_s: float, stalled_after_s: float) -> Worker:
    """A procrastinate worker on the panels queue (signals are the process's; stopping takes 1 s at most)."""
    return Worker(
        app=app,
        queues=[QUEUE],
        concurrency=concurrency,
        install_signal_handlers=False,
        update_heartbeat_interval=heartbeat_s,
        stalled_worker_timeout=stalled_after_s,
        shutdown_graceful_timeout=1.0,
        delete_jobs="successful",
    )


async def worker_registered(app: procrastinate.App, worker_id: int) -> bool:
    """Whether this worker's row is still in `procrastinate_workers` (another worker prunes stalled ones)."""
    row = await app.connector.execute_query_one_async(
        "SELECT EXISTS (SELECT 1 FROM procrastinate_workers WHERE id = %(worker_id)s) AS present",
        worker_id=worker_id,
    )
    return bool(row["present"])


class _AbortedWithoutTraceback(logging.Filter):
    """A job procrastinate cancels when its worker stops ends as "Aborted": the line says so, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            record.exc_info = None
            record.exc_text = None
        return True


_ABORTED_WITHOUT_TRACEBACK = _AbortedWithoutTraceback()


def quiet_aborted_jobs() -> None:
    """Install the filter on procrastinate's job-outcome logger (once; idempotent)."""
    logging.getLogger("procrastinate.worker").addFilter(_ABORTED_WITHOUT_TRACEBACK)


class WorkerUpkeep:
    """Retries jobs of dead workers and re-defers orphaned panels, every `interval_s`."""

    def __init__(
        self, app: procrastinate.App, database: Database, *, stalled_after_s: float, interval_s: float
    ) -> None:
        self._app = app
        self._db = database
        self._stalled_after = stalled_after_s
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="worker-upkeep")

    async def _loop(self) -> None:
        while True:
            try:
                await self.retry_stalled()
                await self.redefer_orphans()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker upkeep failed")
            await asyncio.sleep(self._interval)

    async def retry_stalled(self) -> None:
        stalled = await self._app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=self._stalled_after)
        for job in stalled:
            try:
                await self._app.job_manager.retry_job(job)
                metrics.JOBS_RETRIED.inc()
                log.warning("job %s (panel %s) lost its worker; retrying", job.id, job.lock)
            except Exception as exc:
                log.info("job %s was retried elsewhere: %s", job.id, exc)

    async def redefer_orphans(self) -> None:
        query = text(
            "SELECT p.tenant_id, p.panel_id FROM panels p WHERE p.status IN ('queued', 'in_progress') "
            "AND p.updated_at < now() - make_interval(secs => :grace) "
            "AND (p.heartbeat_at IS NULL OR p.heartbeat_at < now() - make_interval(secs => :grace)) AND NOT EXISTS ("
            "SELECT 1 FROM procrastinate_jobs j WHERE j.lock = p.panel_id AND j.status IN ('todo', 'doing'))"
        )
        async with self._db.system_connection() as conn:
            rows = (await conn.execute(query, {"grace": self._stalled_after})).all()
        for tenant, panel in rows:
            await defer(self._app, TenantId.from_string(tenant), PanelId.from_string(panel))
            metrics.PANELS_REDEFERRED.inc()
            log.warning("panel %s had no job; deferred again", panel)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class QueueReadings:
    """The queue's depth by status and its stalled jobs, read before each metrics scrape."""

    def __init__(self, app: procrastinate.App, *, stalled_after_s: float) -> None:
        self._app = app
        self._stalled_after = stalled_after_s
        self.by_status: dict[str, int] = {"todo": 0, "doing": 0}
        self.stalled = 0

    async def refresh(self) -> None:
        rows = await self._app.connector.execute_query_all_async(
            "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs "
            "WHERE queue_name = %(queue)s AND status IN ('todo', 'doing') GROUP BY status",
            queue=QUEUE,
        )
        counts = {"todo": 0, "doing": 0}
        counts.update({row["status"]: int(row["n"]) for row in rows})
        self.by_status = counts
        stalled = await self._app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=self._stalled_after)
        self.stalled = len(list(stalled))

    def readings(self) -> Iterator[tuple[str, tuple[str, ...], float]]:
        for status, count in self.by_status.items():
            yield "ask_panel_jobs", (status,), float(count)
        yield "ask_panel_jobs_stalled", (), float(self.stalled)


async def apply_schema(app: procrastinate.App) -> bool:
    """Create procrastinate's tables and functions if this database does not have them yet (True: created)."""
    async with app.open_async():
        connector = app.connector
        exists = await connector.execute_query_one_async(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
        )
        if exists["present"]:
            return False
        await app.schema_manager.apply_schema_async()
        return True
