"""Benchmark: what each fault does to clients, and how long recovery takes (docs/deployment.md).

    .venv/bin/python -m bench.faults [--outage-s 15] [--only redis-stall,...]

Real processes on 127.0.0.1 with the default settings (reconcile every 2 s, Redis probed every
2 s, header timeout 10 s, ...), a scratch PostgreSQL database, Redis on 6379, and the fault suite's
TCP proxy (`tests/faults/proxy.py`) in front of PostgreSQL or Redis. Scenarios:

- redis-stall: worker + API node over a proxied Redis; 10 watched panels; the proxy stalls for
  `--outage-s` (as SIGSTOP would). Commit-to-client latency of the events committed meanwhile, and
  how long /readyz takes to be 200 again once Redis flows.
- redis-down-from-start: the same, with Redis refused from the start to the end.
- postgres-down: `serve` (embedded executor) over a proxied PostgreSQL that refuses connections for
  `--outage-s` while 10 panels run: what requests get meanwhile, how long after the database is back
  the service answers 200, and how long until every panel has completed (none may fail).
- postgres-stall: the same with the proxy stalled: how long a request waits for its 503.
- pool: 60 concurrent executes on a pool of one connection (0.5 s pool timeout): completion.
- slowloris: 3,000 connections that never finish their headers: how long until the server has
  closed them all, and /healthz latency meanwhile.

Latency = the client's receive time minus the event's `created_at` (set in the committing
transaction): an upper bound. Everything shares the machine's cores (2 here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
from tests.faults.proxy import FaultProxy

from bench.common import machine, percentile, stamp
from bench.cross_process import REDIS, drop, scratch_postgres
from bench.streaming import Api, CommitTimes, close_all, free_port, open_stream, raise_nofile

BIN = Path(sys.executable).parent / "ask-panel"
PANELS = 10


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN), "--log-level", "WARNING", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(*processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_status(port: int, path: str, status: int = 200, timeout_s: float = 120) -> float:
    """Seconds until GET `path` answers `status`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}{path}", headers=TENANT, timeout=60).status_code == status:
                return time.monotonic() - began
        except httpx2.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{path} never answered {status}")


TENANT = {"X-Tenant-ID": "11111111-1111-1111-1111-111111111111"}


@contextlib.contextmanager
def proxy_to(port: int) -> Iterator[FaultProxy]:
    proxy = FaultProxy("127.0.0.1", port)
    try:
        yield proxy
    finally:
        proxy.close()


def via(url: str, proxy: FaultProxy, port: int) -> str:
    return url.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}")


async def watched_panels(
    port: int, url: str, during: Callable[[], None], after: Callable[[], None], *, outage_s: float
) -> tuple[list[float], list[float], int]:
    """Run PANELS watched panels; `during()` starts the fault 1 s in, `after()` ends it `outage_s` later.

    Returns the latencies (ms) of events committed during the fault and after it, and how many
    streams ended with their panel.
    """
    api = Api(port)
    commits = CommitTimes(url)
    try:
        ids = [await api.create(rounds=2, seed=i) for i in range(PANELS)]
        streams = [await open_stream(port, panel_id) for panel_id in ids]
        for panel_id in ids:
            await api.execute(panel_id)
        await asyncio.sleep(1)
        during()
        fault_began = time.time()
        await asyncio.sleep(outage_s)
        after()
        fault_ended = time.time()
        await asyncio.wait_for(asyncio.gather(*(s.done for s in streams), return_exceptions=True), 180)
        inside: list[float] = []
        later: list[float] = []
        for panel_id, stream in zip(ids, streams, strict=True):
            created = await commits.of(panel_id)
            for seq, received in stream.events:
                value = (received - created[seq]) * 1000
                (inside if fault_began <= created[seq] <= fault_ended else later).append(value)
        ended = sum(1 for s in streams if s.done.done())
        close_all(streams)
        return inside, later, ended
    finally:
        await api.aclose()
        await commits.aclose()


def latency_row(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | 0 | - | - | - |"
    return (
        f"| {label} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 99):.0f} | {max(values):.0f} |"
    )


async def redis_scenario(url: str, base: dict[str, str], outage_s: float, *, from_start: bool) -> list[str]:
    redis_port = int(REDIS.rsplit(":", 1)[1].split("/")[0])
    rows: list[str] = []
    with proxy_to(redis_port) as proxy:
        if from_start:
            proxy.refuse()
        env = base | {"ASK_PANEL_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0"}
        port = free_port()
        worker = start(["worker"], env)
        api = start(["serve", "--port", str(port), "--no-migrate", "--no-worker"], env)
        try:
            await asyncio.to_thread(wait_status, port, "/healthz")
            ready: list[float] = []
            threads: list[threading.Thread] = []

            def fault() -> None:
                if not from_start:
                    proxy.stall()

            def recover() -> None:
                proxy.pass_through()
                thread = threading.Thread(target=lambda: ready.append(wait_status(port, "/readyz")))
                thread.start()
                threads.append(thread)

            inside, later, ended = await watched_panels(port, url, fault, recover, outage_s=outage_s)
            for thread in threads:
                await asyncio.to_thread(thread.join)
            back = ready[0] if ready else float("nan")
            label = "Redis refused from the start" if from_start else f"Redis stalled {outage_s:g} s"
            rows.append(latency_row(f"{label}: events committed during the fault", inside))
            rows.append(latency_row(f"{label}: events committed after it", later))
            rows.append(f"| {label}: streams ended with their panel | {ended}/{PANELS} | | | |")
            rows.append(f"| {label}: /readyz 200 again after the fault (s) | {back:.1f} | | | |")
        finally:
            stop(api, worker)
    return rows


async def postgres_scenario(url: str, base: dict[str, str], outage_s: float, *, stall: bool) -> list[str]:
    pg_port = 5432
    rows: list[str] = []
    with proxy_to(pg_port) as proxy:
        proxied = via(url, proxy, pg_port)
        port = free_port()
        api = start(["serve", "--port", str(port), "--no-migrate"], base | {"ASK_PANEL_DATABASE_URL": proxied})
        try:
            await asyncio.to_thread(wait_status, port, "/readyz")
            client = httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=TENANT, timeout=120)
            ids = []
            for i in range(PANELS):
                created = await client.post(
                    "/api/v1/panels",
                    json={
                        "query": "What is our FDA 510(k) strategy?",
                        "panel_type": "structured",
                        "agent_ids": ["fda_expert", "clinical_expert", "reimbursement_expert"],
                        "configuration": {"max_rounds": 3, "consensus_threshold": 1.0, "seed": i},
                    },
                )
                ids.append(created.json()["panel_id"])
                await client.post(f"/api/v1/panels/{ids[-1]}/execute")
            await asyncio.sleep(1)
            (proxy.stall if stall else proxy.refuse)()
            began = time.monotonic()
            answers: list[tuple[int, float]] = []
            while time.monotonic() - began < outage_s:
                sent = time.monotonic()
                response = await client.get("/api/v1/panels")
                answers.append((response.status_code, time.monotonic() - sent))
            proxy.pass_through()
            back_at = time.monotonic()
            answered = await asyncio.to_thread(wait_status, port, "/api/v1/panels")
            statuses: list[str] = []
            while True:
                statuses = [(await client.get(f"/api/v1/panels/{p}")).json()["status"] for p in ids]
                if all(s in ("completed", "failed", "cancelled") for s in statuses):
                    break
                await asyncio.sleep(0.2)
            all_done = time.monotonic() - back_at
            await client.aclose()
            label = f"PostgreSQL {'stalled' if stall else 'refused'} {outage_s:g} s"
            codes = sorted({code for code, _ in answers})
            waits = [w * 1000 for _, w in answers]
            rows.append(
                f"| {label}: requests meanwhile ({len(answers)}) | status {codes} | "
                f"{statistics.median(waits):.0f} | {percentile(waits, 99):.0f} | {max(waits):.0f} |"
            )
            rows.append(f"| {label}: 200 again after the database is back (s) | {answered:.1f} | | | |")
            rows.append(
                f"| {label}: every panel ended, after the database is back (s) | {all_done:.1f} "
                f"({statuses.count('completed')}/{PANELS} completed) | | | |"
            )
        finally:
            stop(api)
    return rows


async def pool_scenario(url: str, base: dict[str, str]) -> list[str]:
    port = free_port()
    env = base | {
        "ASK_PANEL_DB_POOL_SIZE": "1",
        "ASK_PANEL_DB_MAX_OVERFLOW": "0",
        "ASK_PANEL_DB_POOL_TIMEOUT_S": "0.5",
    }
    api = start(["serve", "--port", str(port), "--no-migrate"], env)
    try:
        await asyncio.to_thread(wait_status, port, "/readyz")
        client = httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=TENANT, timeout=120)
        body = {"query": "What is our FDA 510(k) strategy?", "panel_type": "open"}

        async def retried(method: str, path: str, **kwargs: object) -> httpx2.Response:
            while True:
                response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
                if response.status_code != 503:
                    return response
                await asyncio.sleep(float(response.headers.get("retry-after", "1")) / 10)

        ids = [(await retried("POST", "/api/v1/panels", json=body)).json()["panel_id"] for _ in range(60)]
        began = time.monotonic()
        codes = await asyncio.gather(*(client.post(f"/api/v1/panels/{p}/execute") for p in ids))
        busy = sum(1 for r in codes if r.status_code == 503)
        refused = [p for p, r in zip(ids, codes, strict=True) if r.status_code == 503]
        await asyncio.gather(*(retried("POST", f"/api/v1/panels/{p}/execute") for p in refused))
        while True:
            statuses = [(await retried("GET", f"/api/v1/panels/{p}")).json()["status"] for p in ids]
            if all(s in ("completed", "failed", "cancelled") for s in statuses):
                break
            await asyncio.sleep(0.5)
        took = time.monotonic() - began
        await client.aclose()
        return [
            f"| 60 executes on one connection: executes answered 503 first | {busy} | | | |",
            f"| 60 executes on one connection: all ended (s) | {took:.1f} "
            f"({statuses.count('completed')}/60 completed, {statuses.count('failed')} failed) | | | |",
        ]
    finally:
        stop(api)


async def slowloris_scenario(url: str, base: dict[str, str], connections: int = 3000) -> list[str]:
    port = free_port()
    api = start(["serve", "--port", str(port), "--no-migrate"], base)
    try:
        await asyncio.to_thread(wait_status, port, "/healthz")
        sockets = []
        began = time.monotonic()
        for _ in range(connections):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            sock.setblocking(False)
            sockets.append(sock)
        health: list[float] = []
        open_ = set(range(connections))
        while open_ and time.monotonic() - began < 120:
            sent = time.monotonic()
            httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
            health.append((time.monotonic() - sent) * 1000)
            for index in list(open_):
                try:
                    if not sockets[index].recv(4096):
                        open_.discard(index)
                except BlockingIOError:
                    continue
                except OSError:
                    open_.discard(index)
            await asyncio.sleep(0.2)
        took = time.monotonic() - began
        for sock in sockets:
            sock.close()
        return [
            f"| {connections} slowloris connections: all closed by the server (s) | {took:.1f} "
            f"({connections - len(open_)}/{connections}) | | | |",
            latency_row("/healthz meanwhile (ms)", health),
        ]
    finally:
        stop(api)


async def main(args: argparse.Namespace, name: str, url: str) -> None:
    raise_nofile()
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
    base |= {"ASK_PANEL_DATABASE_URL": url, "ASK_PANEL_AUTH_MODE": "none", "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": "8"}
    only = set(args.only.split(",")) if args.only else None
    lines = [
        f"### Faults and recovery — {stamp()} — {machine()}",
        "",
        "| what | n / value | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    scenarios = {
        "redis-stall": lambda: redis_scenario(url, base, args.outage_s, from_start=False),
        "redis-down-from-start": lambda: redis_scenario(url, base, args.outage_s, from_start=True),
        "postgres-down": lambda: postgres_scenario(url, base, args.outage_s, stall=False),
        "postgres-stall": lambda: postgres_scenario(url, base, args.outage_s, stall=True),
        "pool": lambda: pool_scenario(url, base),
        "slowloris": lambda: slowloris_scenario(url, base),
    }
    try:
        for key, scenario in scenarios.items():
            if only is None or key in only:
                rows = await scenario()
                print("\n".join(rows), flush=True)
                lines += rows
    finally:
        drop(name)
    out = Path(__file__).parent / "results" / "faults.md"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-s", type=float, default=15.0)
    parser.add_argument("--only", default="")
    database, database_url = scratch_postgres()  # migrates: before the event loop starts
    asyncio.run(main(parser.parse_args(), database, database_url))
