"""Benchmark: live streaming against a real server, push (EventHub) and the seed's polling side by side.

    .venv/bin/python -m bench.streaming [--quick] [--profile | --memory-profile | --gc-profile]

Everything runs on 127.0.0.1 and stops by itself. The product's code is copied first (src/ to a
temporary directory, put first on PYTHONPATH) so that edits made meanwhile do not change it halfway;
`--live-source` skips the copy. The product is started as it ships
(`ask-panel serve --no-migrate` on a migrated scratch SQLite database, ASK_PANEL_AUTH_MODE=none);
the polling design is `bench/polling_server.py`, its own uvicorn process reading the same database.
The client is this process: one uvloop event loop that parses SSE straight off raw sockets
(an asyncio.Protocol per stream, no task per stream), so it can hold 10,000 streams.

Measured:
1. commit-to-client latency with 1, 100 and 1,000 subscribers on one panel;
2. execute-to-`panel_started` at a watcher that is already connected;
3. idle streams one process holds, and the server's memory per stream;
4. deliveries (event x subscriber) per server CPU-second during a fan-out;
5. the same numbers for the polling design, plus DB queries per idle subscriber per minute.

Diagnostics (not part of the measured run): `--profile` runs only the fan-out with the push server's main
thread under cProfile for the fan-out window; `--memory-profile` opens idle streams under tracemalloc and
prints what each one holds; `--gc-profile` times the server's cyclic garbage collections (a forced full
collection with 0..10,000 idle streams, and the collections during a fan-out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx2

from ask_panel.bootstrap import bootstrap
from ask_panel.config import Settings
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.status import PanelType
from bench.common import machine, percentile, scratch_sqlite, stamp

HOST = "127.0.0.1"  # loopback only, always
TENANT = "11111111-1111-1111-1111-111111111111"
TENANT_ID = TenantId.from_string(TENANT)
AGENTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]
QUERY = "What is our FDA 510(k) strategy for this device?"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "streaming.md"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_STREAMS = 20_000
TERMINAL_TYPES = (b"panel_complete", b"panel_cancelled")
PHASES = random.Random(20_000)  # the polling subscribers' phases, reproducibly


# ---- processes -------------------------------------------------------------------------------------
def raise_nofile() -> int:
    """Raise this process's open-file soft limit to the hard limit; servers started later inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def product_version() -> str:
    """The commit measured, and whether the product's files differ from it (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "pyproject.toml"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {head}" + (f" with uncommitted changes to {len(dirty)} product file(s)" if dirty else "")


def run_on_snapshot(argv: list[str]) -> None:
    """Re-run this benchmark on a copy of the product's code taken now (never returns).

    Other people edit the product while it runs; with PYTHONPATH pointing at the copy, this process
    and every server it starts import the same code from start to end.
    """
    snapshot = Path(tempfile.mkdtemp(prefix="askpanel-src-")) / "src"
    shutil.copytree(ROOT / "src", snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ)
    env.update(
        BENCH_PRODUCT_SNAPSHOT=str(snapshot),
        BENCH_PRODUCT_VERSION=product_version() + f" (its src/ copied at {stamp()} and run from the copy)",
        PYTHONPATH=os.pathsep.join(p for p in (str(snapshot), os.environ.get("PYTHONPATH", "")) if p),
    )
    os.execve(sys.executable, [sys.executable, "-m", "bench.streaming", *argv], env)


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ServerProcess:
    """A server subprocess; its CPU time and RSS are read from /proc (all its threads)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, workdir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self.log_path = workdir / f"{name}-{port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx2.AsyncClient(base_url=f"http://{HOST}:{self.port}", timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    break
                with contextlib.suppress(httpx2.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the process, all threads."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime

    def cpu_seconds(self) -> float:
        return sum(self.cpu_split())

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def event_loop(self) -> str:
        """uvloop when its extension is mapped into the process, else the standard asyncio loop."""
        maps = Path(f"/proc/{self.pid}/maps").read_text()
        return "uvloop" if "/uvloop/" in maps else "the standard asyncio loop"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def server_env(database_url: str, token_delay_ms: float) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ASK_PANEL_DATABASE_URL=database_url,
        ASK_PANEL_AUTH_MODE="none",
        ASK_PANEL_ENVIRONMENT="development",
        ASK_PANEL_LLM_PROVIDER="simulated",
        ASK_PANEL_SIMULATED_TOKEN_DELAY_MS=str(token_delay_ms),
        ASK_PANEL_MAX_STREAMS=str(MAX_STREAMS),
        ASK_PANEL_MAX_STREAMS_PER_TENANT=str(MAX_STREAMS),
        ASK_PANEL_MAX_CONCURRENT_PANELS="256",
    )
    return env


# Runs `ask-panel` (ask_panel.cli.main) in-process after optional instrumentation, for the diagnostic modes
# only: BENCH_PROFILE profiles the main thread between SIGUSR1 and
# SIGUSR2 (cProfile); BENCH_TRACEMALLOC snapshots Python allocations at SIGUSR1 and SIGUSR2 and writes the
# difference; BENCH_GC times the cyclic garbage collector's collections and, at SIGUSR2, writes what it saw
# since the last signal (SIGUSR1 also times a forced full collection). The measured runs start the
# `ask-panel` script itself.
LAUNCHER = r"""
import os, signal, sys
path = os.environ.get("BENCH_PROFILE")
if path:
    import cProfile
    prof = cProfile.Profile()
    def _stop(*_):
        prof.disable()
        prof.dump_stats(path)
    signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
    signal.signal(signal.SIGUSR2, _stop)
trace = os.environ.get("BENCH_TRACEMALLOC")
if trace:
    import tracemalloc
    tracemalloc.start(1)
    shots = []
    def _take(*_):
        shots.append(tracemalloc.take_snapshot())
        if len(shots) == 2:
            with open(trace, "w") as out:
                for key in ("filename", "lineno"):
                    for stat in shots[1].compare_to(shots[0], key)[:40]:
                        out.write(f"{key}\t{stat.size_diff}\t{stat.count_diff}\t{stat.traceback}\n")
    signal.signal(signal.SIGUSR1, _take)
    signal.signal(signal.SIGUSR2, _take)
gc_log = os.environ.get("BENCH_GC")
if gc_log:
    import gc, json, time
    seen = {"count": [0, 0, 0], "total": 0.0, "longest": [0.0, 0.0, 0.0], "start": 0.0}
    def _watch(phase, info):
        if phase == "start":
            seen["start"] = time.perf_counter()
        else:
            took, gen = time.perf_counter() - seen["start"], info["generation"]
            seen["count"][gen] += 1
            seen["total"] += took
            seen["longest"][gen] = max(seen["longest"][gen], took)
    def _report(forced):
        line = {"tracked": len(gc.get_objects()), "natural": {k: seen[k] for k in ("count", "total", "longest")}}
        if forced:
            began = time.perf_counter()
            gc.collect()
            line["forced_full_s"] = time.perf_counter() - began
        seen.update(count=[0, 0, 0], total=0.0, longest=[0.0, 0.0, 0.0])
        with open(gc_log, "a") as out:
            out.write(json.dumps(line) + "\n")
    gc.callbacks.append(_watch)
    signal.signal(signal.SIGUSR1, lambda *_: _report(True))
    signal.signal(signal.SIGUSR2, lambda *_: _report(False))
from ask_panel.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def push_server(
    database_url: str, token_delay_ms: float, workdir: Path, *, diagnostics: dict[str, str] | None = None
) -> ServerProcess:
    port = free_port()
    args = ["--log-level", "WARNING", "serve", "--host", HOST, "--port", str(port), "--no-migrate"]
    env = server_env(database_url, token_delay_ms)
    if diagnostics is None:
        argv = [str(Path(sys.executable).parent / "ask-panel"), *args]
    else:
        argv = [sys.executable, "-c", LAUNCHER, *args]
        env.update(diagnostics)
    return ServerProcess("push", argv, env, port, workdir)


def polling_server(database_url: str, workdir: Path, *, uvloop: bool) -> ServerProcess:
    """The polling design on uvicorn with the same event loop as the push server, for a fair comparison."""
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "bench.polling_server:app", "--loop", "uvloop" if uvloop else "asyncio",
        "--host", HOST, "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return ServerProcess("polling", argv, server_env(database_url, 0), port, workdir)


# ---- the SSE client --------------------------------------------------------------------------------
class SseStream(asyncio.Protocol):
    """One GET text/event-stream on a raw socket: HTTP/1.1 head, chunked body, SSE frames.

    Records (seq, event type, receive time) per event frame; the receive time is `time.time()` taken
    once per socket read. Done at a terminal event or when the connection ends.
    """

    def __init__(self, request: bytes, panel_id: str, record: bool) -> None:
        loop = asyncio.get_running_loop()
        self.panel_id = panel_id
        self.record = record
        self.opened: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
        self.first_event: asyncio.Future[tuple[str, float]] = loop.create_future()
        self.events: list[tuple[int, float]] = []
        self.count = 0
        self.bytes = 0
        self.lost = False
        self.transport: asyncio.Transport | None = None
        self._request = request
        self._raw = bytearray()
        self._text = bytearray()
        self._in_head = True
        self._chunked = True
        self._need = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = not self.done.done()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"stream closed before its head ({exc})"))
        if not self.done.done():
            self.done.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.bytes += len(data)
        raw = self._raw
        raw += data
        if self._in_head:
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(raw[:end]).decode("latin-1")
            del raw[: end + 4]
            status = int(head.split(" ", 2)[1])
            if status != 200:
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(f"HTTP {status}: {bytes(raw[:300])!r}"))
                self.close()
                return
            self._chunked = "transfer-encoding: chunked" in head.lower()
            self._in_head = False
            self.opened.set_result(None)
        if self._chunked:
            while True:
                if self._need < 0:
                    eol = raw.find(b"\r\n")
                    if eol < 0:
                        break
                    size = int(bytes(raw[:eol]).split(b";")[0], 16)
                    del raw[: eol + 2]
                    if size == 0:
                        break
                    self._need = size
                if len(raw) < self._need + 2:
                    break
                self._text += bytes(raw[: self._need]).replace(b"\r\n", b"\n")
                del raw[: self._need + 2]
                self._need = -1
        else:
            self._text += bytes(raw).replace(b"\r\n", b"\n")
            raw.clear()
        self._frames(now)

    def _frames(self, now: float) -> None:
        text = self._text
        start = 0
        while True:
            end = text.find(b"\n\n", start)
            if end < 0:
                break
            if text.startswith(b"id: ", start):
                nl = text.find(b"\n", start)
                seq = int(text[start + 4 : nl])
                etype = b""
                if text.startswith(b"event: ", nl + 1):
                    etype = bytes(text[nl + 8 : text.find(b"\n", nl + 1)])
                self.count += 1
                if self.record:
                    self.events.append((seq, now))
                if not self.first_event.done():
                    self.first_event.set_result((etype.decode(), now))
                if etype in TERMINAL_TYPES or (etype == b"error" and b'"terminal":true' in text[start:end]):
                    if not self.done.done():
                        self.done.set_result(None)
                    self.close()
            start = end + 2
        del text[:start]


async def open_stream(port: int, panel_id: str, *, record: bool = True, timeout_s: float = 60.0) -> SseStream:
    request = (
        f"GET /api/v1/panels/{panel_id}/stream HTTP/1.1\r\nHost: {HOST}:{port}\r\nX-Tenant-ID: {TENANT}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    _, stream = await loop.create_connection(lambda: SseStream(request, panel_id, record), HOST, port)
    try:
        await asyncio.wait_for(stream.opened, timeout_s)
    except BaseException:
        stream.close()
        raise
    return stream


async def open_many(
    port: int,
    panel_ids: Sequence[str],
    *,
    record: bool = True,
    parallel: int = 200,
    timeout_s: float = 120.0,
    spread_s: float = 0.0,
) -> list[SseStream]:
    """Open streams, `parallel` connecting at a time; with `spread_s`, stream i starts at i/n of it."""
    gate = asyncio.Semaphore(parallel)

    async def one(i: int, pid: str) -> SseStream:
        if spread_s:
            await asyncio.sleep(spread_s * i / len(panel_ids))
        async with gate:
            return await open_stream(port, pid, record=record, timeout_s=timeout_s)

    results = await asyncio.gather(*(one(i, pid) for i, pid in enumerate(panel_ids)), return_exceptions=True)
    streams = [r for r in results if isinstance(r, SseStream)]
    errors = [r for r in results if not isinstance(r, SseStream)]
    if errors:
        for s in streams:
            s.close()
        raise RuntimeError(f"{len(errors)} of {len(panel_ids)} streams failed to open, e.g. {errors[0]!r}")
    return streams


def close_all(streams: Sequence[SseStream]) -> None:
    for s in streams:
        s.close()


# ---- the control plane (httpx2) --------------------------------------------------------------------
class Api:
    def __init__(self, port: int) -> None:
        self.client = httpx2.AsyncClient(
            base_url=f"http://{HOST}:{port}",
            headers={"X-Tenant-ID": TENANT},
            timeout=60.0,
            limits=httpx2.Limits(max_connections=20, max_keepalive_connections=20),
        )

    async def create(self, *, rounds: int = 2, seed: int = 0) -> str:
        response = await self.client.post(
            "/api/v1/panels",
            json={
                "query": QUERY,
                "panel_type": "structured",
                "agent_ids": AGENTS,
                "configuration": {"max_rounds": rounds, "consensus_threshold": 1.0, "seed": seed},
            },
        )
        response.raise_for_status()
        panel_id: str = response.json()["panel_id"]
        return panel_id

    async def create_many(self, count: int, *, rounds: int = 2, seed0: int = 0) -> list[str]:
        return [await self.create(rounds=rounds, seed=seed0 + i) for i in range(count)]

    async def execute(self, panel_id: str) -> None:
        (await self.client.post(f"/api/v1/panels/{panel_id}/execute")).raise_for_status()

    async def cancel(self, panel_id: str) -> None:
        response = await self.client.delete(f"/api/v1/panels/{panel_id}")
        if response.status_code not in (204, 409):
            response.raise_for_status()

    async def aclose(self) -> None:
        await self.client.aclose()


class CommitTimes:
    """Each event's `created_at`, read back through the product's repository after a run."""

    def __init__(self, database_url: str) -> None:
        self.container = bootstrap(Settings(database_url=database_url, auth_mode="none", run_worker=False))

    async def of(self, panel_id: str) -> dict[int, float]:
        async with self.container.uow(TENANT_ID) as uow:
            events = await uow.events.read(PanelId.from_string(panel_id), after=0)
        return {e.seq: e.created_at.timestamp() for e in events}

    async def aclose(self) -> None:
        await self.container.stop()


# ---- measurements ----------------------------------------------------------------------------------
@dataclass
class Run:
    label: str
    subscribers: int
    panels: int
    latencies_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # per event: the first subscriber's latency
    spread_ms: list[float] = field(default_factory=list)  # per event: last minus first subscriber
    deliveries: int = 0
    expected: int = 0
    lost_streams: int = 0
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    runner_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    server_sys_s: float = 0.0
    bytes: int = 0

    def add(self, other: Run) -> None:
        self.latencies_ms += other.latencies_ms
        self.first_ms += other.first_ms
        self.spread_ms += other.spread_ms
        self.deliveries += other.deliveries
        self.expected += other.expected
        self.lost_streams += other.lost_streams
        self.wall_s += other.wall_s
        self.server_cpu_s += other.server_cpu_s
        self.runner_cpu_s += other.runner_cpu_s
        self.client_cpu_s += other.client_cpu_s
        self.server_sys_s += other.server_sys_s
        self.bytes += other.bytes
        self.panels += other.panels


async def run_panels(
    label: str,
    api: Api,
    times: CommitTimes,
    stream_port: int,
    measured: ServerProcess,
    runner: ServerProcess,
    panel_ids: list[str],
    subscribers: int,
    timeout_s: float = 300.0,
    on_start: Callable[[], object] | None = None,
    on_end: Callable[[], object] | None = None,
    polling: bool = False,
) -> Run:
    """Connect `subscribers` streams to each panel, execute them all, wait for every terminal event.

    With `polling`, the streams open spread over one poll interval and the executes wait a random
    fraction of it, so the subscribers' poll phases are uniform relative to the commits (as with real
    clients), not locked to the benchmark's own timing.
    """
    streams = await open_many(
        stream_port, [pid for pid in panel_ids for _ in range(subscribers)], spread_s=1.0 if polling else 0.0
    )
    await asyncio.sleep(0.3 + (PHASES.uniform(0.0, 1.0) if polling else 0.0))
    if on_start is not None:
        on_start()
    sys0 = measured.cpu_split()[1]
    cpu0, rcpu0, ccpu0, t0 = measured.cpu_seconds(), runner.cpu_seconds(), client_cpu_seconds(), time.time()
    await asyncio.gather(*(api.execute(pid) for pid in panel_ids))
    try:
        await asyncio.wait_for(asyncio.gather(*(s.done for s in streams)), timeout_s)
    finally:
        t1, cpu1, rcpu1, ccpu1 = time.time(), measured.cpu_seconds(), runner.cpu_seconds(), client_cpu_seconds()
        sys1 = measured.cpu_split()[1]
        if on_end is not None:
            on_end()
        close_all(streams)
    run = Run(label, subscribers, len(panel_ids), wall_s=t1 - t0, server_cpu_s=cpu1 - cpu0)
    run.runner_cpu_s = rcpu1 - rcpu0
    run.client_cpu_s = ccpu1 - ccpu0
    run.server_sys_s = sys1 - sys0
    run.bytes = sum(s.bytes for s in streams)
    committed = {pid: await times.of(pid) for pid in panel_ids}
    per_event: dict[tuple[str, int], list[float]] = {}
    for s in streams:
        commit = committed[s.panel_id]
        run.lost_streams += s.lost
        for seq, received in s.events:
            latency = (received - commit[seq]) * 1000
            run.latencies_ms.append(latency)
            per_event.setdefault((s.panel_id, seq), []).append(latency)
        run.deliveries += len(s.events)
    run.expected = sum(len(c) for c in committed.values()) * subscribers
    for samples in per_event.values():
        run.first_ms.append(min(samples))
        run.spread_ms.append(max(samples) - min(samples))
    return run


async def latency_runs(
    label: str,
    api: Api,
    times: CommitTimes,
    stream_port: int,
    measured: ServerProcess,
    runner: ServerProcess,
    plan: Sequence[tuple[int, int]],
    polling: bool = False,
) -> list[Run]:
    """For each (subscribers, repetitions): that many panels one after another, all subscribers on it."""
    runs = []
    for subscribers, repetitions in plan:
        total = Run(label, subscribers, 0)
        for i in range(repetitions):
            (panel_id,) = await api.create_many(1, seed0=1000 + i)
            total.add(
                await run_panels(
                    label, api, times, stream_port, measured, runner, [panel_id], subscribers, polling=polling
                )
            )
            await asyncio.sleep(0.5)
        runs.append(total)
        log(f"  {label} latency, {subscribers} subscribers: {fmt_latency(total.latencies_ms)}")
    return runs


@dataclass
class ExecuteResult:
    to_started_ms: list[float]
    post_ms: list[float]


async def execute_to_started(api: Api, port: int, repetitions: int) -> ExecuteResult:
    """A watcher on a draft panel; POST execute; time until the watcher reads `panel_started`."""
    panel_ids = await api.create_many(repetitions, rounds=1)
    result = ExecuteResult([], [])
    for pid in panel_ids:
        stream = await open_stream(port, pid)
        await asyncio.sleep(0.02)
        t0 = time.time()
        await api.execute(pid)
        t_post = time.time()
        etype, received = await asyncio.wait_for(stream.first_event, 30)
        if etype != "panel_started":
            raise RuntimeError(f"first event was {etype}, not panel_started")
        result.to_started_ms.append((received - t0) * 1000)
        result.post_ms.append((t_post - t0) * 1000)
        await api.cancel(pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stream.done, 30)
        stream.close()
    return result


@dataclass
class IdleRow:
    streams: int
    open_s: float
    server_rss_mib: float
    kib_per_stream: float
    open_cpu_ms: float
    idle_cpu_pct: float
    hold_s: float
    queries_per_sub_min: float | None


@dataclass
class IdleResult:
    rows: list[IdleRow]
    baseline_mib: float
    after_close_mib: float
    failure: str | None = None


async def idle_streams(
    server: ServerProcess,
    panel_ids: list[str],
    steps: Sequence[int],
    hold_s: Callable[[int], float],
    stats: Callable[[], Any] | None = None,
) -> IdleResult:
    """Open idle streams in steps on draft panels; the server's RSS growth per stream, its idle CPU."""
    warm = await open_many(server.port, panel_ids[:20], record=False)
    await asyncio.sleep(0.5)
    close_all(warm)
    await asyncio.sleep(2.0)
    base = server.rss_kib()
    result = IdleResult([], base / 1024, 0.0)
    streams: list[SseStream] = []
    try:
        for k in steps:
            t, c = time.time(), server.cpu_seconds()
            try:
                more = [panel_ids[i % len(panel_ids)] for i in range(len(streams), k)]
                streams += await open_many(server.port, more, record=False, timeout_s=180.0)
            except Exception as exc:
                result.failure = f"at {k} streams: {exc}"
                log(f"  {server.name} idle: failed {result.failure}")
                break
            open_s = time.time() - t
            open_cpu_ms = (server.cpu_seconds() - c) * 1000 / max(1, len(more))
            await asyncio.sleep(2.0)
            rss = server.rss_kib()
            hold = hold_s(k)
            q0 = await stats() if stats else None
            c0, w0 = server.cpu_seconds(), time.time()
            await asyncio.sleep(hold)
            c1, w1 = server.cpu_seconds(), time.time()
            q1 = await stats() if stats else None
            queries = None if q0 is None or q1 is None else (q1 - q0) / k / (w1 - w0) * 60
            alive = sum(not s.done.done() for s in streams)
            if alive != k:
                result.failure = f"at {k} streams: {k - alive} streams ended while idle"
            row = IdleRow(
                k, open_s, rss / 1024, (rss - base) / k, open_cpu_ms,
                (c1 - c0) / (w1 - w0) * 100, w1 - w0, queries,
            )  # fmt: skip
            result.rows.append(row)
            log(
                f"  {server.name} idle: {k} streams, opened in {open_s:.1f} s, server RSS {rss / 1024:.0f} MiB "
                f"({row.kib_per_stream:.1f} KiB/stream), idle CPU {row.idle_cpu_pct:.1f}%"
                + (f", {queries:.1f} queries/subscriber/min" if queries is not None else "")
            )
    finally:
        close_all(streams)
    await asyncio.sleep(3.0)
    result.after_close_mib = server.rss_kib() / 1024
    return result


async def commit_portion(panels: int, token_delay_ms: float) -> list[float]:
    """In-process, same Container as the server: `created_at` to the moment the hub is told (the commit)."""
    url = await asyncio.to_thread(scratch_sqlite)  # migrations run their own event loop
    container = bootstrap(
        Settings(
            environment="test",
            database_url=url,
            auth_mode="none",
            simulated_token_delay_ms=token_delay_ms,
        )
    )
    samples: list[float] = []
    publish = container.hub.publish

    async def timed(panel_id: Any, events: Any) -> None:
        now = time.time()
        samples.extend((now - e.created_at.timestamp()) * 1000 for e in events)
        await publish(panel_id, events)

    container.hub.publish = timed  # type: ignore[method-assign]
    await container.start()
    from ask_panel.application.panels import CreatePanel

    try:
        for seed in range(panels):
            created = await container.panels.create(
                TENANT_ID,
                CreatePanel(
                    query=QUERY,
                    panel_type=PanelType.STRUCTURED,
                    agent_ids=AGENTS,
                    configuration={"max_rounds": 2, "consensus_threshold": 1.0, "seed": 1000 + seed},
                ),
            )
            await container.panels.execute(TENANT_ID, created.panel.panel_id)
            await asyncio.wait_for(container.pool.running[created.panel.panel_id], 120)
    finally:
        await container.stop()
    return samples


# ---- output ----------------------------------------------------------------------------------------
def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fmt_latency(values: list[float]) -> str:
    if not values:
        return "no samples"
    return f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms, n={len(values)}"


def ms(value: float) -> str:
    return "n/a" if value != value else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def per_cpu(deliveries: int, cpu_s: float) -> str:
    return "n/a" if cpu_s <= 0 else f"{deliveries / cpu_s:,.0f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


@dataclass
class Results:
    quick: bool
    token_delay_ms: float
    nofile: int
    commit_ms: list[float]
    push_latency: list[Run]
    poll_latency: list[Run]
    execute: ExecuteResult
    push_idle: IdleResult
    poll_idle: IdleResult
    push_fanout: Run
    push_fanout_base: Run
    poll_fanout: Run
    fanout_shape: tuple[int, int]
    fanout_rates: list[float]
    push_loop: str
    product: str
    run_time_s: float = 0.0


def latency_table(runs: list[Run], design: str) -> list[str]:
    lines = []
    for r in runs:
        spread = ms(percentile(r.spread_ms, 50)) if r.subscribers > 1 else "-"
        lines.append(
            f"| {design} | {r.subscribers:,} | {r.panels} | {ms(percentile(r.latencies_ms, 50))} | "
            f"{ms(percentile(r.latencies_ms, 99))} | {ms(max(r.latencies_ms, default=float('nan')))} | "
            f"{ms(percentile(r.first_ms, 50))} | {spread} | {r.deliveries:,}/{r.expected:,} | "
            f"{per_cpu(r.deliveries, r.server_cpu_s)} | {r.client_cpu_s:.2f} |"
        )
    return lines


def idle_table(result: IdleResult, design: str) -> list[str]:
    lines = []
    for row in result.rows:
        queries = "0 (push)" if row.queries_per_sub_min is None else f"{row.queries_per_sub_min:.1f}"
        lines.append(
            f"| {design} | {row.streams:,} | {row.open_s:.1f} | {row.server_rss_mib:.0f} | {row.kib_per_stream:.1f} | "
            f"{row.open_cpu_ms:.2f} | {row.idle_cpu_pct:.1f} | {queries} |"
        )
    return lines


def render(r: Results) -> str:
    p1000 = next((x for x in r.push_latency if x.subscribers == 1000), r.push_latency[-1])
    exec_p99 = percentile(r.execute.to_started_ms, 99)
    top_idle = r.push_idle.rows[-1] if r.push_idle.rows else None
    net_cpu = r.push_fanout.server_cpu_s - r.push_fanout_base.server_cpu_s
    net_deliveries = r.push_fanout.deliveries - r.push_fanout_base.deliveries
    net_rate = net_deliveries / net_cpu if net_cpu > 0 else float("nan")
    gross_rate = r.push_fanout.deliveries / r.push_fanout.server_cpu_s if r.push_fanout.server_cpu_s else float("nan")
    poll_rate = r.poll_fanout.deliveries / r.poll_fanout.server_cpu_s if r.poll_fanout.server_cpu_s else float("nan")
    panels, subs = r.fanout_shape
    out: list[str] = []
    add = out.append
    add(f"## Streaming: push (EventHub) and polling side by side — {stamp()}")
    add("")
    flags = " --quick" if r.quick else ""
    add(f"Machine: {machine()}. Product: {r.product}. Run: `python -m bench.streaming{flags}`, {r.run_time_s:.0f} s.")
    add("")
    add(
        "Setup: the real server, `ask-panel serve --no-migrate` (uvicorn with httptools, one process, running "
        f"on {r.push_loop}; the polling server is given the same loop) on a "
        "migrated scratch SQLite database (WAL), `ASK_PANEL_AUTH_MODE=none`, simulated provider at "
        f"{r.token_delay_ms:g} ms/token, structured panels of 3 experts (2 rounds, 14 events, unless noted). "
        "The polling design is `bench/polling_server.py`: its own uvicorn process reading the same database "
        "through the product's repository once a second per subscriber and sending the same frames from a "
        "response of the same shape as the product's (the request's task sends, one task watches for the "
        "disconnect); the push server runs the panels in both cases. The client is one "
        "uvloop process parsing SSE off raw sockets (one asyncio.Protocol per stream). Everything is on "
        f"127.0.0.1; open-file limit {r.nofile:,} (client and servers). **Client and server share the 2 cores**: "
        "the client's own parsing competes with the server, and its read delays are part of every latency below."
    )
    add("")
    add("### Against the aims")
    add("")
    add("| aim | target | measured | |")
    add("|---|---|---|---|")
    add(
        f"| commit-to-client p99, 1,000 subscribers | < 25 ms | {ms(percentile(p1000.latencies_ms, 99))} ms "
        f"(upper bound) | {verdict(percentile(p1000.latencies_ms, 99) < 25)} |"
    )
    add(
        f"| execute → `panel_started` at a watcher | < 20 ms | p50 {ms(percentile(r.execute.to_started_ms, 50))} ms, "
        f"p99 {ms(exec_p99)} ms | {verdict(exec_p99 < 20)} |"
    )
    if top_idle is not None:
        ok = top_idle.streams >= 10_000 and top_idle.kib_per_stream < 20 and r.push_idle.failure is None
        add(
            f"| idle streams in one process | 10,000 at < 20 KiB each | {top_idle.streams:,} at "
            f"{top_idle.kib_per_stream:.1f} KiB each | {verdict(ok)} |"
        )
    add(
        f"| deliveries per server CPU-second | 30,000 (naive ≈ 8,000) | {net_rate:,.0f} fan-out only; "
        f"{gross_rate:,.0f} with the panels' own work | {verdict(net_rate >= 30_000)} (fan-out only) |"
    )
    add("")
    add("### 1. Commit-to-client latency")
    add("")
    add(
        "Latency of one delivery = the client's receive time (`time.time()` when the socket read that carried "
        "the frame is processed) minus the event's `created_at` read back from the database afterwards. "
        "`created_at` is taken in the repository's `save`, inside the transaction, just before the UPDATE and "
        "INSERT and the COMMIT, so every figure is an **upper bound** on commit-to-client latency (it includes "
        "the commit). Same machine, same wall clock for server and client. Every event of every panel counts "
        "(not only `expert_speaking`); panels run one after another, all subscribers on the one panel."
    )
    add("")
    add(
        "| design | subscribers | panels | p50 ms | p99 ms | max ms | first subscriber p50 ms | "
        "fan-out spread p50 ms | deliveries | deliveries / server CPU-s | client CPU s |"
    )
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    out.extend(latency_table(r.push_latency, "push"))
    out.extend(latency_table(r.poll_latency, "polling 1 s"))
    add("")
    add(
        f"How much of the bound is the commit itself (measured in-process with the same Container: `created_at` "
        f"to the moment the hub is called, i.e. UPDATE + INSERT + COMMIT through the group-commit writer): "
        f"p50 {ms(percentile(r.commit_ms, 50))} ms, p99 {ms(percentile(r.commit_ms, 99))} ms "
        f"(n={len(r.commit_ms)}). *First subscriber* is the per-event minimum (commit + wake-up + one write + "
        "client read); *fan-out spread* is the per-event gap between the first and the last subscriber to "
        "receive it: the time the server takes to write one event to every stream. Deliveries per server "
        "CPU-second here include the panel's own work on the push server (see section 4 for the fan-out "
        "alone); for polling it is the polling server's CPU (the push server runs the panels)."
    )
    add("")
    add("### 2. Execute → `panel_started` at a connected watcher")
    add("")
    add(
        "A GET stream is opened on a draft panel (the subscription exists once the response head arrives), then "
        "`POST /execute`; the time runs from just before the POST to the watcher's receipt of `panel_started` "
        "(two write transactions: the queueing, then the run's claim, then the publish). The panel is "
        "cancelled before the next repetition."
    )
    add("")
    ex = r.execute
    add("| measure | p50 ms | p99 ms | max ms | mean ms | n |")
    add("|---|---|---|---|---|---|")
    for name, values in (
        ("execute → `panel_started` at the watcher", ex.to_started_ms),
        ("`POST /execute` round trip", ex.post_ms),
    ):
        add(
            f"| {name} | {ms(percentile(values, 50))} | {ms(percentile(values, 99))} | {ms(max(values))} | "
            f"{ms(statistics.fmean(values))} | {len(values)} |"
        )
    add("")
    add("### 3. Idle streams and memory per stream")
    add("")
    add(
        "Idle GET streams on 50 draft panels, opened in steps (200 connecting at a time) on a freshly started "
        "server; RSS from `/proc/<pid>/status` 2 s after each step, growth measured from the RSS after a "
        "warm-up of 20 streams. Idle CPU is the server's CPU time over a hold at each step divided by wall "
        "time (heartbeats every 15 s are included when the hold reaches them). Open s is the step's wall time "
        "to get every new stream's response head; open CPU is the server's CPU time during the step per "
        "stream opened (for push it includes the subscription's replay read: the panel and its events; the "
        "polling server sends the head before its first query)."
    )
    add("")
    add(
        "| design | streams | open s | server RSS MiB | server KiB/stream | open CPU ms/stream | idle CPU % "
        "| queries / subscriber / min |"
    )
    add("|---|---|---|---|---|---|---|---|")
    out.extend(idle_table(r.push_idle, "push"))
    out.extend(idle_table(r.poll_idle, "polling 1 s"))
    add("")
    for name, idle in (("push", r.push_idle), ("polling", r.poll_idle)):
        note = f"{name}: RSS {idle.baseline_mib:.0f} MiB before, {idle.after_close_mib:.0f} MiB 3 s after closing all"
        if idle.failure:
            note += f"; **stopped {idle.failure}**"
        add(f"- {note}.")
    add(
        "- Push: 0 queries per idle subscriber per minute by construction (one replay read at connect, then a "
        "parked future; the idle CPU column is the evidence). Polling: 60 by design; the measured figure falls "
        "below 60 only when the polling server cannot keep up."
    )
    add("")
    add("### 4. Deliveries per server CPU-second")
    add("")
    add(
        f"{panels} structured panels (3 rounds, same seeds in every run) executed together, {subs:,} subscribers on "
        f"each ({panels * subs:,} streams); the window runs from the executes to the last subscriber's terminal "
        "event; server CPU = utime + stime of the server process from `/proc/<pid>/stat` (all threads; on "
        "loopback the system part includes the receiving side's TCP work done in the sender's context). "
        "*Fan-out only* subtracts a baseline run of the same panels with one subscriber each (the panels' own "
        "work: LLM simulation, strategy, commits). Polling streams open spread over one second and the panels "
        "start at a random phase, so the poll phases are uniform. "
        f"The push rows sum {len(r.fanout_rates)} repetition(s); fan-out only per repetition: "
        + ", ".join(f"{x:,.0f}" for x in r.fanout_rates)
        + " deliveries per CPU-second."
    )
    add("")
    add(
        "| run | streams | deliveries | bytes / delivery | wall s | server CPU s (of it system) "
        "| deliveries / server CPU-s | client CPU s | latency p50 / p99 / max ms |"
    )
    add("|---|---|---|---|---|---|---|---|---|")
    reps = f" (x{len(r.fanout_rates)})" if len(r.fanout_rates) > 1 else ""
    for name, run in (
        (f"push, baseline (1 subscriber per panel){reps}", r.push_fanout_base),
        (f"push{reps}", r.push_fanout),
        ("polling 1 s (polling server's CPU)", r.poll_fanout),
    ):
        add(
            f"| {name} | {run.subscribers * panels:,} | {run.deliveries:,}/{run.expected:,} | "
            f"{run.bytes / max(1, run.deliveries):,.0f} | {run.wall_s:.1f} | "
            f"{run.server_cpu_s:.2f} ({run.server_sys_s:.2f}) | {per_cpu(run.deliveries, run.server_cpu_s)} | "
            f"{run.client_cpu_s:.2f} | {ms(percentile(run.latencies_ms, 50))} / "
            f"{ms(percentile(run.latencies_ms, 99))} / {ms(max(run.latencies_ms, default=float('nan')))} |"
        )
    add(
        f"| push, fan-out only (minus baseline) | | {net_deliveries:,} | | | {net_cpu:.2f} | "
        f"{per_cpu(net_deliveries, net_cpu)} | | |"
    )
    add("")
    add("### 5. Push against polling")
    add("")
    poll1000 = next((x for x in r.poll_latency if x.subscribers == 1000), r.poll_latency[-1])
    ptop = r.poll_idle.rows[-1] if r.poll_idle.rows else None
    add("| | push (EventHub) | polling once a second |")
    add("|---|---|---|")
    add(
        f"| latency p50 / p99, 1,000 subscribers | {ms(percentile(p1000.latencies_ms, 50))} / "
        f"{ms(percentile(p1000.latencies_ms, 99))} ms | {ms(percentile(poll1000.latencies_ms, 50))} / "
        f"{ms(percentile(poll1000.latencies_ms, 99))} ms |"
    )
    add(f"| deliveries / server CPU-s | {net_rate:,.0f} (fan-out only), {gross_rate:,.0f} (all) | {poll_rate:,.0f} |")
    if top_idle is not None and ptop is not None:
        add(
            f"| idle streams held, KiB each | {top_idle.streams:,}, {top_idle.kib_per_stream:.1f} | "
            f"{ptop.streams:,}, {ptop.kib_per_stream:.1f} |"
        )
        add(f"| idle CPU at that count | {top_idle.idle_cpu_pct:.1f} % | {ptop.idle_cpu_pct:.1f} % |")
        pq = "n/a" if ptop.queries_per_sub_min is None else f"{ptop.queries_per_sub_min:.1f}"
        add(f"| DB queries / idle subscriber / min | 0 | 60 by design; {pq} measured |")
    add("")
    return "\n".join(out)


# ---- the run ---------------------------------------------------------------------------------------
async def push_only(workdir: Path, delay: float, fanout: tuple[int, int], reps: int, steps: list[int]) -> None:
    """Only the push server's fan-out CPU and its idle-stream memory (sections 3 and 4), printed, not written.

    For before/after comparisons of changes on the streaming path, run alternately on the two trees.
    """
    url = await asyncio.to_thread(scratch_sqlite)
    times = CommitTimes(url)
    push = push_server(url, delay, workdir)
    push.start()
    try:
        await push.wait_ready()
        api = Api(push.port)
        try:
            (warm,) = await api.create_many(1, seed0=7)
            await run_panels("warm", api, times, push.port, push, push, [warm], 10)
            rates: list[float] = []
            for _ in range(reps):
                base_ids = await api.create_many(fanout[0], rounds=3, seed0=500)
                base = await run_panels("base", api, times, push.port, push, push, base_ids, 1)
                fan_ids = await api.create_many(fanout[0], rounds=3, seed0=500)
                fan = await run_panels("push", api, times, push.port, push, push, fan_ids, fanout[1])
                rates.append((fan.deliveries - base.deliveries) / max(1e-9, fan.server_cpu_s - base.server_cpu_s))
                log(
                    f"  {fan.deliveries:,} deliveries, server CPU {fan.server_cpu_s:.2f} s "
                    f"(baseline {base.server_cpu_s:.2f} s): {rates[-1]:,.0f} per fan-out CPU-s"
                )
            log(f"fan-out: median {statistics.median(rates):,.0f} deliveries per fan-out CPU-s over {reps} runs")
            draft_ids = await api.create_many(50, seed0=9000)
        finally:
            await api.aclose()
    finally:
        push.stop()
    push2 = push_server(url, delay, workdir)
    push2.start()
    try:
        await push2.wait_ready()
        await idle_streams(push2, draft_ids, steps, lambda k: 5.0)
    finally:
        push2.stop()
    await times.aclose()


async def main(args: argparse.Namespace) -> Results | None:
    started = time.time()
    product = os.environ.get("BENCH_PRODUCT_VERSION") or product_version() + ", the live source tree"
    nofile = raise_nofile()
    workdir = Path(tempfile.mkdtemp(prefix="askpanel-streaming-"))
    quick = args.quick
    delay = args.token_delay_ms
    log(f"streaming benchmark ({'quick' if quick else 'full'}); logs in {workdir}; open files {nofile}")
    if quick:
        push_plan = [(1, 3), (100, 2), (1000, 1)]
        poll_plan = [(1, 2), (100, 1), (1000, 1)]
        exec_reps, steps = 30, [100, 500, 1000]
        fanout, fanout_reps = (5, 100), 1
    else:
        push_plan = [(1, 10), (100, 4), (1000, 3)]
        poll_plan = [(1, 8), (100, 2), (1000, 2)]
        exec_reps, steps = 200, [1000, 2500, 5000, 10_000]
        fanout, fanout_reps = (5, 400), 3

    if args.profile:
        await profile_fanout(workdir, delay, fanout)
        return None
    if args.memory_profile:
        await memory_profile(workdir, delay, steps[-1] if quick else 2000)
        return None
    if args.gc_profile:
        await gc_profile(workdir, delay, steps, fanout)
        return None
    if args.push_only:
        await push_only(workdir, delay, fanout, fanout_reps, steps)
        return None

    log("commit portion (in-process) ...")
    commit_ms = await commit_portion(3 if quick else 8, delay)

    url = await asyncio.to_thread(scratch_sqlite)
    times = CommitTimes(url)
    push = push_server(url, delay, workdir)
    poll: ServerProcess | None = None
    push.start()
    try:
        await push.wait_ready()
        push_loop = push.event_loop()
        log(f"push server runs on {push_loop}")
        poll = polling_server(url, workdir, uvloop=push_loop == "uvloop")  # the same loop, for fairness
        api = Api(push.port)
        try:
            # warm-up: code paths, caches, the first connection
            (warm,) = await api.create_many(1, seed0=7)
            await run_panels("warm", api, times, push.port, push, push, [warm], 10)

            log("push: commit-to-client latency ...")
            push_latency = await latency_runs("push", api, times, push.port, push, push, push_plan)
            log("push: execute → panel_started ...")
            execute = await execute_to_started(api, push.port, exec_reps)
            log(f"  {fmt_latency(execute.to_started_ms)}")
            slowest = sorted(enumerate(execute.to_started_ms), key=lambda iv: -iv[1])[:5]
            log("  slowest (repetition, ms): " + ", ".join(f"({i}, {v:.1f})" for i, v in slowest))

            log("push: fan-out throughput ...")
            push_base = Run("base", 1, 0)
            push_fanout = Run("push", fanout[1], 0)
            fanout_rates: list[float] = []
            for _ in range(fanout_reps):
                base_ids = await api.create_many(fanout[0], rounds=3, seed0=500)
                base = await run_panels("base", api, times, push.port, push, push, base_ids, 1)
                fan_ids = await api.create_many(fanout[0], rounds=3, seed0=500)
                fan = await run_panels("push", api, times, push.port, push, push, fan_ids, fanout[1])
                push_base.add(base)
                push_fanout.add(fan)
                fanout_rates.append(
                    (fan.deliveries - base.deliveries) / max(1e-9, fan.server_cpu_s - base.server_cpu_s)
                )
                log(
                    f"  {fan.deliveries:,} deliveries, server CPU {fan.server_cpu_s:.2f} s "
                    f"(baseline {base.server_cpu_s:.2f} s): {fanout_rates[-1]:,.0f} per fan-out CPU-s"
                )

            poll.start()
            await poll.wait_ready()
            log("polling: commit-to-client latency ...")
            poll_latency = await latency_runs("polling", api, times, poll.port, poll, push, poll_plan, polling=True)
            log("polling: fan-out throughput ...")
            fan_ids = await api.create_many(fanout[0], rounds=3, seed0=500)
            poll_fanout = await run_panels(
                "polling", api, times, poll.port, poll, push, fan_ids, fanout[1], polling=True
            )
            log(f"  {poll_fanout.deliveries:,} deliveries, polling server CPU {poll_fanout.server_cpu_s:.2f} s")
            draft_ids = await api.create_many(50, seed0=9000)
        finally:
            await api.aclose()
    finally:
        if poll is not None:
            poll.stop()
        push.stop()

    def hold(k: int) -> float:
        return (5.0 if quick else 16.0) if k == steps[-1] else (3.0 if quick else 5.0)

    log("push: idle streams (fresh server) ...")
    push2 = push_server(url, delay, workdir)
    push2.start()
    try:
        await push2.wait_ready()
        push_idle = await idle_streams(push2, draft_ids, steps, hold)
    finally:
        push2.stop()

    log("polling: idle streams (fresh server) ...")
    poll2 = polling_server(url, workdir, uvloop=push_loop == "uvloop")
    poll2.start()
    try:
        await poll2.wait_ready()
        async with httpx2.AsyncClient(base_url=f"http://{HOST}:{poll2.port}", timeout=120.0) as stats_client:

            async def stats() -> int:
                queries: int = (await stats_client.get("/stats")).json()["queries"]
                return queries

            poll_idle = await idle_streams(poll2, draft_ids, steps, hold, stats)
    finally:
        poll2.stop()
    await times.aclose()

    return Results(
        quick=quick,
        token_delay_ms=delay,
        nofile=nofile,
        commit_ms=commit_ms,
        push_latency=push_latency,
        poll_latency=poll_latency,
        execute=execute,
        push_idle=push_idle,
        poll_idle=poll_idle,
        push_fanout=push_fanout,
        push_fanout_base=push_base,
        poll_fanout=poll_fanout,
        fanout_shape=fanout,
        fanout_rates=fanout_rates,
        push_loop=push_loop,
        product=product,
        run_time_s=time.time() - started,
    )


async def gc_profile(workdir: Path, delay: float, steps: Sequence[int], fanout: tuple[int, int]) -> None:
    """The cyclic GC in the push server: a full collection's pause with K idle streams, and the
    collections that happen by themselves during a fan-out."""
    url = await asyncio.to_thread(scratch_sqlite)
    out = workdir / "gc.jsonl"
    server = push_server(url, delay, workdir, diagnostics={"BENCH_GC": str(out)})
    times = CommitTimes(url)
    server.start()

    async def signal_and_read(sig: signal.Signals, *, already_sent: bool = False) -> dict[str, Any]:
        """The server's next report; with `already_sent`, the last one of a window signalled by hooks."""
        before = len(out.read_text().splitlines()) if out.exists() else 0
        if already_sent:
            await asyncio.sleep(1.0)
            line: dict[str, Any] = json.loads(out.read_text().splitlines()[-1])
            return line
        os.kill(server.pid, sig)
        for _ in range(1200):
            lines = out.read_text().splitlines() if out.exists() else []
            if len(lines) > before:
                line = json.loads(lines[-1])
                return line
            await asyncio.sleep(0.05)
        raise RuntimeError("the server wrote no GC report")

    held: list[SseStream] = []
    try:
        await server.wait_ready()
        api = Api(server.port)
        try:
            drafts = await api.create_many(50, seed0=9000)
            print("forced full collection (gc.collect()) in the push server, with K idle streams open:")
            for k in [0, *steps]:
                if k > len(held):
                    held += await open_many(server.port, [drafts[i % 50] for i in range(len(held), k)], record=False)
                    await asyncio.sleep(2.0)
                line = await signal_and_read(signal.SIGUSR1)
                print(
                    f"  {k:>6,} streams: {line['tracked']:>10,} tracked objects, full collection "
                    f"{line['forced_full_s'] * 1000:,.0f} ms"
                )
            close_all(held)
            held = []
            await asyncio.sleep(2.0)
            ids = await api.create_many(fanout[0], rounds=3, seed0=500)
            # The reports bracket the same window as the CPU time: from the executes to the last terminal event.
            run = await run_panels(
                "gc", api, times, server.port, server, server, ids, fanout[1],
                on_start=lambda: os.kill(server.pid, signal.SIGUSR2),
                on_end=lambda: os.kill(server.pid, signal.SIGUSR2),
            )  # fmt: skip
            line = await signal_and_read(signal.SIGUSR2, already_sent=True)
        finally:
            await api.aclose()
    finally:
        close_all(held)
        server.stop()
        await times.aclose()
    natural = line["natural"]
    print(
        f"fan-out of {fanout[0]} panels x {fanout[1]} subscribers: server CPU {run.server_cpu_s:.2f} s, of it "
        f"{natural['total']:.2f} s in {sum(natural['count'])} collections (by generation {natural['count']}; "
        f"longest {', '.join(f'{x * 1000:.0f}' for x in natural['longest'])} ms); latency p99 "
        f"{percentile(run.latencies_ms, 99):.1f} ms, max {max(run.latencies_ms):.1f} ms"
    )


def profile_groups(path: Path) -> list[tuple[str, float]]:
    """Own time (tottime) of a cProfile dump, summed by package or by kind of built-in."""
    groups: dict[str, float] = {}
    packages = (
        "sse_starlette", "anyio", "starlette", "fastapi", "uvicorn", "httptools", "sqlalchemy", "aiosqlite",
        "ask_panel/api", "ask_panel/application", "ask_panel/domain", "ask_panel/infrastructure", "uvloop",
        "asyncio", "selectors",
    )  # fmt: skip
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        group = next((p for p in packages if p in filename), "")
        if not group:
            if filename != "~":
                group = "other Python"
            elif "poll" in name:
                group = "waiting in epoll (idle)"
            elif "send" in name or "write" in name:
                group = "socket send/write (syscall)"
            else:
                group = "other built-ins"
        groups[group] = groups.get(group, 0.0) + tottime
    return sorted(groups.items(), key=lambda kv: -kv[1])


async def profile_fanout(workdir: Path, delay: float, fanout: tuple[int, int]) -> None:
    """The push fan-out with the server's main thread under cProfile, the fan-out window only."""
    url = await asyncio.to_thread(scratch_sqlite)
    times = CommitTimes(url)
    out = workdir / "push.prof"
    server = push_server(url, delay, workdir, diagnostics={"BENCH_PROFILE": str(out)})
    server.start()
    try:
        await server.wait_ready()
        loop_name = server.event_loop()
        api = Api(server.port)
        try:
            (warm,) = await api.create_many(1, seed0=7)
            await run_panels("warm", api, times, server.port, server, server, [warm], 10)
            ids = await api.create_many(fanout[0], rounds=3, seed0=500)
            run = await run_panels(
                "profile", api, times, server.port, server, server, ids, fanout[1],
                on_start=lambda: os.kill(server.pid, signal.SIGUSR1),
                on_end=lambda: os.kill(server.pid, signal.SIGUSR2),
            )  # fmt: skip
            await asyncio.sleep(2.0)
        finally:
            await api.aclose()
    finally:
        server.stop()
        await times.aclose()
    print(
        f"profiled fan-out (server on {loop_name}): {fanout[0]} panels x {fanout[1]} "
        f"subscribers, {run.deliveries:,} deliveries, server CPU {run.server_cpu_s:.2f} s under cProfile; {out}"
    )
    groups = profile_groups(out)
    total = sum(t for _, t in groups)
    print("\nown time by package (main thread, fan-out window):")
    for name, seconds in groups:
        print(f"  {seconds:7.3f} s {seconds / total * 100:5.1f} %  {name}")
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)


async def memory_profile(workdir: Path, delay: float, streams: int) -> None:
    """tracemalloc of the push server across opening `streams` idle streams: what one idle stream holds."""
    url = await asyncio.to_thread(scratch_sqlite)
    out = workdir / "tracemalloc.txt"
    server = push_server(url, delay, workdir, diagnostics={"BENCH_TRACEMALLOC": str(out)})
    server.start()
    try:
        await server.wait_ready()
        api = Api(server.port)
        try:
            ids = await api.create_many(50, seed0=9000)
        finally:
            await api.aclose()
        warm = await open_many(server.port, ids[:20], record=False)
        await asyncio.sleep(0.5)
        close_all(warm)
        await asyncio.sleep(1.0)
        os.kill(server.pid, signal.SIGUSR1)
        await asyncio.sleep(1.0)
        rss0 = server.rss_kib()
        held = await open_many(server.port, [ids[i % len(ids)] for i in range(streams)], record=False)
        await asyncio.sleep(2.0)
        rss1 = server.rss_kib()
        os.kill(server.pid, signal.SIGUSR2)
        for _ in range(600):
            if out.exists() and out.stat().st_size > 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        close_all(held)
    finally:
        server.stop()
    print(f"{streams} idle streams: server RSS +{(rss1 - rss0) / streams:.1f} KiB/stream (under tracemalloc)")
    total = 0
    rows = []
    for line in out.read_text().splitlines():
        key, size_text, count_text, where = line.split("\t")
        if key == "filename":
            total += int(size_text)
        rows.append((key, int(size_text), int(count_text), where))
    print(f"traced Python allocations: +{total / streams / 1024:.1f} KiB/stream (top 40 files)")
    for key in ("filename", "lineno"):
        print(f"\nby {key}: KiB/stream, objects/stream, where")
        for k, size, count, where in rows:
            if k == key:
                print(f"  {size / streams / 1024:6.2f}  {count / streams:6.1f}  {where}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a reduced run (up to 1,000 idle streams)")
    parser.add_argument("--token-delay-ms", type=float, default=8.0, help="simulated provider delay per token")
    parser.add_argument("--profile", action="store_true", help="cProfile the push server during the fan-out only")
    parser.add_argument("--memory-profile", action="store_true", help="tracemalloc the push server's idle streams")
    parser.add_argument("--gc-profile", action="store_true", help="time the push server's garbage collections")
    parser.add_argument(
        "--push-only", action="store_true", help="only the push fan-out CPU and idle-stream memory (before/after runs)"
    )
    parser.add_argument(
        "--live-source", action="store_true", help="import the product from src/ as it is edited (no snapshot)"
    )
    cli = parser.parse_args()
    if not cli.live_source and not os.environ.get("BENCH_PRODUCT_SNAPSHOT"):
        run_on_snapshot(sys.argv[1:])
    try:
        import uvloop
    except ImportError:
        results = asyncio.run(main(cli))
    else:
        results = uvloop.run(main(cli))
    if results is not None:
        text = render(results)
        print(text)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text + "\n")
        log(f"written to {RESULTS}")
    if os.environ.get("BENCH_PRODUCT_SNAPSHOT"):
        shutil.rmtree(Path(os.environ["BENCH_PRODUCT_SNAPSHOT"]).parent, ignore_errors=True)
