"""Soak benchmark: 1,000 live streams (SSE and WebSocket) for 10 minutes while panels run, against a real server.

    .venv/bin/python -m bench.soak [--minutes 10] [--streams 1000] [--websockets 100] [--idle 100] [--quick]

Everything runs on 127.0.0.1 and stops by itself. The server is `ask-panel serve` as it ships (SQLite,
JWT auth, the simulated model) started through a launcher that adds one bench-only probe,
`GET /_bench/probe` (`?gc=1` runs a full collection first): the server's asyncio task count, open
file descriptors, RSS and tracked objects, read inside the process. The probe exists only in this
benchmark; the product has no such route.

The client (this process) holds `--streams` connections for the whole run:
- `--idle` SSE streams on draft panels that never run: they only get heartbeats, for the whole run;
- `--websockets` WebSocket followers and the rest SSE followers: each watches a running panel to its
  end, then at once opens a stream on another running panel (so streams are opened and closed all
  along, about one per follower per panel);
meanwhile a driver keeps `--concurrent` panels running (create, execute, replace each one that ends).

Samples every 30 s; at the end the driver stops, the followers finish their panels, the idle streams
are closed, and after a settling pause the server is probed again (after a full collection). The
numbers to read: RSS, tasks and descriptors before the streams open, during the run, and after they
all closed; a leak shows as growth between the early and the late samples under the same load, and
as tasks or descriptors that stay after everything closed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import websockets

from ask_panel.infrastructure.auth import mint_jwt
from bench.common import machine, scratch_sqlite, stamp
from bench.streaming import HOST, ServerProcess, SseStream, free_port, product_version, raise_nofile

RESULTS = Path(__file__).resolve().parent / "results" / "soak.md"
SECRET = "soak-bench-secret-0123456789-0123456789"
TENANTS = [f"50a40000-0000-4000-8000-00000000000{i}" for i in range(4)]  # streams per tenant stay under its limit
AGENTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]
SAMPLE_EVERY_S = 30.0
ENDED = ("completed", "failed", "cancelled")

# `ask-panel serve`, plus the bench-only probe wrapped around the app's middleware stack (outermost).
LAUNCHER = r"""
import asyncio, gc, json, os, sys
import ask_panel.api.app as application

def _rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

class Probe:
    def __init__(self, app):
        self.app = app
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/_bench/probe":
            return await self.app(scope, receive, send)
        if b"gc=1" in scope.get("query_string", b""):
            gc.collect()
        body = json.dumps({
            "tasks": len(asyncio.all_tasks()),
            "fds": len(os.listdir("/proc/self/fd")),
            "rss_kib": _rss_kib(),
            "objects": len(gc.get_objects()),
        }).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

_build = application.AskPanelAPI.build_middleware_stack
application.AskPanelAPI.build_middleware_stack = lambda self: Probe(_build(self))
from ask_panel.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def token_for(tenant: str) -> str:
    return mint_jwt(SECRET, [tenant], ttl_s=6 * 3600)


def soak_server(database_url: str, workdir: Path, token_delay_ms: float) -> ServerProcess:
    port = free_port()
    args = ["--log-level", "WARNING", "serve", "--host", HOST, "--port", str(port), "--no-migrate"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")},
        "ASK_PANEL_DATABASE_URL": database_url,
        "ASK_PANEL_ENVIRONMENT": "test",
        "ASK_PANEL_AUTH_MODE": "jwt",
        "ASK_PANEL_JWT_SECRET": SECRET,
        "ASK_PANEL_LLM_PROVIDER": "simulated",
        "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": str(token_delay_ms),
        "ASK_PANEL_MAX_CONCURRENT_PANELS": "64",
    }
    return ServerProcess("soak", [sys.executable, "-c", LAUNCHER, *args], env, port, workdir)


@dataclass
class Sample:
    at_s: float
    phase: str
    tasks: int
    fds: int
    rss_kib: int
    objects: int
    open_sse: int
    open_ws: int
    panels_done: int
    server_streams: int
    cpu_share: float


@dataclass
class Tally:
    panels_done: int = 0
    panels_failed: int = 0
    streams_opened: int = 0
    sse_events: int = 0
    ws_messages: int = 0
    stream_errors: int = 0
    errors_seen: list[str] = field(default_factory=list)
    ws_close_codes: dict[int, int] = field(default_factory=dict)
    open_sse: int = 0
    open_ws: int = 0

    def error(self, text: str) -> None:
        self.stream_errors += 1
        if len(self.errors_seen) < 5:
            self.errors_seen.append(text)


class Soak:
    def __init__(self, port: int, args: argparse.Namespace) -> None:
        self.port = port
        self.args = args
        self.base = f"http://{HOST}:{port}"
        self.tokens = {t: token_for(t) for t in TENANTS}
        self.running: dict[str, str] = {}  # panel id -> tenant
        self.tally = Tally()
        self.stop_driving = asyncio.Event()
        self.stop_following = asyncio.Event()
        self.random = random.Random(1000)

    def headers(self, tenant: str) -> dict[str, str]:
        return {"X-Tenant-ID": tenant, "Authorization": f"Bearer {self.tokens[tenant]}"}

    async def create(self, client: httpx2.AsyncClient, tenant: str, *, execute: bool) -> str:
        body = {"query": "What is our FDA 510(k) strategy for this device?", "panel_type": "structured"}
        body |= {"agent_ids": AGENTS, "configuration": {"max_rounds": 2}}
        created = await client.post("/api/v1/panels", json=body, headers=self.headers(tenant))
        created.raise_for_status()
        panel_id: str = created.json()["panel_id"]
        if execute:
            (await client.post(f"/api/v1/panels/{panel_id}/execute", headers=self.headers(tenant))).raise_for_status()
        return panel_id

    # -- the driver: keeps `concurrent` panels running ------------------------------------------------------
    async def drive(self, client: httpx2.AsyncClient) -> None:
        async def one_lane(lane: int) -> None:
            tenant = TENANTS[lane % len(TENANTS)]
            await asyncio.sleep(lane * self.args.stagger_s)  # staggered: panels end one at a time, not together
            while not self.stop_driving.is_set():
                panel_id = await self.create(client, tenant, execute=True)
                self.running[panel_id] = tenant
                try:
                    while True:
                        panel = (await client.get(f"/api/v1/panels/{panel_id}", headers=self.headers(tenant))).json()
                        if panel["status"] in ("completed", "failed", "cancelled"):
                            break
                        await asyncio.sleep(0.5)
                finally:
                    self.running.pop(panel_id, None)
                self.tally.panels_done += 1
                self.tally.panels_failed += panel["status"] != "completed"

        await asyncio.gather(*(one_lane(i) for i in range(self.args.concurrent)))

    async def a_running_panel(self) -> tuple[str, str] | None:
        while not self.stop_following.is_set():
            if self.running:
                return self.random.choice(list(self.running.items()))
            await asyncio.sleep(0.2)
        return None

    # -- followers: watch a running panel to its end, then the next one -------------------------------------
    async def sse_stream(self, panel_id: str, tenant: str) -> SseStream:
        request = (
            f"GET /api/v1/panels/{panel_id}/stream HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f"X-Tenant-ID: {tenant}\r\nAuthorization: Bearer {self.tokens[tenant]}\r\n"
            "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        _, stream = await loop.create_connection(lambda: SseStream(request, panel_id, False), HOST, self.port)
        try:
            await asyncio.wait_for(stream.opened, 60)
        except BaseException:
            stream.close()
            raise
        self.tally.streams_opened += 1
        return stream

    async def follow_sse(self) -> None:
        while (chosen := await self.a_running_panel()) is not None:
            try:
                stream = await self.sse_stream(*chosen)
            except (OSError, ConnectionError, TimeoutError) as exc:
                self.tally.error(f"SSE open: {exc!r}")
                await asyncio.sleep(1)
                continue
            self.tally.open_sse += 1
            try:
                await stream.done
            finally:
                self.tally.open_sse -= 1
                stream.close()
                self.tally.sse_events += stream.count
                if stream.lost:
                    self.tally.error("SSE stream ended before its panel")
            self.running.pop(chosen[0], None)  # it has ended: no follower attaches to it again

    async def follow_ws(self) -> None:
        while (chosen := await self.a_running_panel()) is not None:
            panel_id, tenant = chosen
            url = f"ws://{HOST}:{self.port}/api/v1/panels/{panel_id}/ws"
            try:
                async with websockets.connect(url, additional_headers=self.headers(tenant), open_timeout=60) as ws:
                    self.tally.streams_opened += 1
                    self.tally.open_ws += 1
                    try:
                        async for _message in ws:
                            self.tally.ws_messages += 1
                    except websockets.ConnectionClosed:
                        pass
                    finally:
                        self.tally.open_ws -= 1
                    self.running.pop(panel_id, None)
                    code = ws.close_code or 0
                    self.tally.ws_close_codes[code] = self.tally.ws_close_codes.get(code, 0) + 1
                    if code != 1000:
                        self.tally.error(f"WebSocket closed with {code}")
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self.tally.error(f"WebSocket: {exc!r}")
                await asyncio.sleep(1)

    # -- idle streams: drafts that never run, heartbeats only -----------------------------------------------
    async def idle_streams(self, client: httpx2.AsyncClient) -> list[SseStream]:
        drafts = [await self.create(client, tenant, execute=False) for tenant in TENANTS]
        streams = []
        for i in range(self.args.idle):
            tenant = TENANTS[i % len(TENANTS)]
            streams.append(await self.sse_stream(drafts[i % len(drafts)], tenant))
        return streams


async def probe(client: httpx2.AsyncClient, *, collect: bool = False) -> dict[str, int]:
    answer = await client.get("/_bench/probe", params={"gc": "1"} if collect else None)
    answer.raise_for_status()
    data: dict[str, int] = answer.json()
    data["streams"] = 0
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith("ask_panel_streams_open{"):
            data["streams"] += int(float(line.rsplit(" ", 1)[1]))
    return data


async def wait_until_ended(client: httpx2.AsyncClient, panel_id: str, headers: dict[str, str]) -> None:
    for _ in range(1200):
        if (await client.get(f"/api/v1/panels/{panel_id}", headers=headers)).json()["status"] in ENDED:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"panel {panel_id} did not end")


async def run(args: argparse.Namespace, database_url: str, workdir: Path) -> str:
    nofile = raise_nofile()
    server = soak_server(database_url, workdir, args.token_delay_ms)
    server.start()
    samples: list[Sample] = []
    started = time.monotonic()
    try:
        await server.wait_ready()
        limits = httpx2.Limits(max_connections=args.concurrent * 2 + 8)
        async with httpx2.AsyncClient(base_url=f"http://{HOST}:{server.port}", timeout=60, limits=limits) as client:
            soak = Soak(server.port, args)

            cpu_mark = [time.monotonic(), server.cpu_seconds()]

            async def sample(phase: str, *, collect: bool = False) -> None:
                p = await probe(client, collect=collect)
                t = soak.tally
                now, cpu = time.monotonic(), server.cpu_seconds()
                share = (cpu - cpu_mark[1]) / max(1e-9, now - cpu_mark[0])
                cpu_mark[:] = [now, cpu]
                counts = (t.open_sse, t.open_ws, t.panels_done, p["streams"], share)
                samples.append(
                    Sample(time.monotonic() - started, phase, p["tasks"], p["fds"], p["rss_kib"], p["objects"], *counts)
                )
                log(f"{phase}: {samples[-1]}")

            await sample("started, idle", collect=True)
            # One panel first, unwatched: the lazily imported code and first-use caches are loaded before "before".
            warm = await soak.create(client, TENANTS[0], execute=True)
            await wait_until_ended(client, warm, soak.headers(TENANTS[0]))
            await asyncio.sleep(2)
            await sample("before (warmed up, no stream)", collect=True)

            driver = asyncio.create_task(soak.drive(client))
            idle = await soak.idle_streams(client)
            followers_sse = args.streams - args.idle - args.websockets
            followers = [asyncio.create_task(soak.follow_sse()) for _ in range(followers_sse)]
            followers += [asyncio.create_task(soak.follow_ws()) for _ in range(args.websockets)]
            load_started = time.monotonic()
            deadline = load_started + args.minutes * 60
            next_sample = load_started + SAMPLE_EVERY_S
            while (now := time.monotonic()) < deadline:
                await asyncio.sleep(min(1.0, deadline - now))
                if time.monotonic() >= next_sample:
                    next_sample += SAMPLE_EVERY_S
                    minute = (time.monotonic() - load_started) / 60
                    await sample(f"under load, {minute:.1f} min")
            await sample("end of load (streams open)", collect=True)

            soak.stop_driving.set()
            await driver  # each lane finishes its panel
            soak.stop_following.set()
            await asyncio.wait_for(asyncio.gather(*followers), 120)
            for stream in idle:
                stream.close()
            await asyncio.sleep(10)  # the server notices the closed idle streams and lets go of them
            await sample("after (every stream closed, panels done)", collect=True)
            return render(args, samples, soak.tally, nofile, server)
    finally:
        server.stop()


def mib(kib: int) -> str:
    return f"{kib / 1024:+.1f} MiB"


def render(args: argparse.Namespace, samples: list[Sample], tally: Tally, nofile: int, server: ServerProcess) -> str:
    before = next(s for s in samples if s.phase.startswith("before"))
    after = samples[-1]
    load = [s for s in samples if s.phase.startswith("under load")]
    early = load[min(1, len(load) - 1)] if load else before
    late = load[-1] if load else after
    lines = [
        "# Soak: 1,000 streams while panels run",
        "",
        f"Measured {stamp()} on {machine()}; {product_version()}. The machine is shared with other engineers' "
        "builds and tests, so CPU-bound figures vary; memory, task and descriptor counts do not depend on it.",
        "",
        f"`python -m bench.soak --minutes {args.minutes:g} --streams {args.streams} --websockets {args.websockets} "
        f"--idle {args.idle} --concurrent {args.concurrent} --token-delay-ms {args.token_delay_ms:g} "
        f"--stagger-s {args.stagger_s:g}`: one "
        "`ask-panel serve` on SQLite with JWT auth and the simulated model on 127.0.0.1 (open-file limit "
        f"{nofile}); {args.idle} idle SSE streams on drafts, {args.streams - args.idle - args.websockets} SSE and "
        f"{args.websockets} WebSocket followers that each watch a running panel to its end and then the next; "
        f"{args.concurrent} panels (structured, 3 experts, 2 rounds) kept running, their starts staggered.",
        "",
        "| sample | at | asyncio tasks | open fds | RSS | tracked objects | streams open (server) | client's SSE / WS "
        "| panels done | server CPU since last sample |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in samples:
        lines.append(
            f"| {s.phase} | {s.at_s / 60:.1f} min | {s.tasks} | {s.fds} | {s.rss_kib / 1024:.1f} MiB | "
            f"{s.objects:,} | {s.server_streams} | {s.open_sse} / {s.open_ws} | {s.panels_done} | {s.cpu_share:.0%} |"
        )
    lines += [
        "",
        f"- Panels completed: {tally.panels_done} ({tally.panels_failed} not completed); streams opened: "
        f"{tally.streams_opened:,}; SSE events received: {tally.sse_events:,}; WebSocket messages: "
        f"{tally.ws_messages:,}; WebSocket close codes: {dict(sorted(tally.ws_close_codes.items()))}.",
        f"- Stream errors: {tally.stream_errors}"
        + (f" (e.g. {'; '.join(tally.errors_seen)})" if tally.errors_seen else ""),
        f"- RSS growth under the same load, {early.phase} to {late.phase}: {mib(late.rss_kib - early.rss_kib)}; "
        f"before to after: {mib(after.rss_kib - before.rss_kib)}.",
        f"- Tasks before / after: {before.tasks} / {after.tasks}; open descriptors before / after: "
        f"{before.fds} / {after.fds}; tracked objects before / after (after a full collection): "
        f"{before.objects:,} / {after.objects:,}.",
        f"- Server log: {server.log_path} ({len(server.log_tail().splitlines())} lines at the end).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--websockets", type=int, default=100)
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=8, help="panels kept running")
    parser.add_argument("--token-delay-ms", type=float, default=20.0)
    parser.add_argument("--stagger-s", type=float, default=4.0, help="between the first panels of two lanes")
    parser.add_argument("--quick", action="store_true", help="1 minute, 200 streams: a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    # Started in the background, a shell leaves SIGINT ignored, and the server would inherit that: restore
    # it (ServerProcess.stop sends SIGINT), and let SIGTERM stop this run the same way, server included.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.quick:
        args.minutes, args.streams, args.websockets, args.idle = 1.0, 200, 20, 60
    workdir = Path(tempfile.mkdtemp(prefix="askpanel-soak-"))
    report = asyncio.run(run(args, scratch_sqlite(), workdir))
    print(report)
    if not args.quick:
        args.output.write_text(report)
        log(f"written to {args.output}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
