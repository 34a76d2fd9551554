"""Benchmark: commit-to-client latency when the panel runs in another process (PostgreSQL).

    .venv/bin/python -m bench.cross_process [--panels 3]

On a scratch PostgreSQL database: one `ask-panel worker` runs the panels and one
`ask-panel serve --no-worker` serves the streams, so every event crosses processes as a wake-up
(`NOTIFY` in the committing transaction, or Redis pub/sub) followed by one read of the log on the
API node. The same panels are also measured with `ask-panel serve` alone (panel and streams in one
process, same database) as the baseline. Latency = the client's receive time minus the event's
`created_at` (set in the committing transaction, before the commit): an upper bound, as in
bench/streaming.py. Loopback only; the client, two servers and PostgreSQL share the 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx2
import psycopg

from ask_panel.cli.migrate import migrate
from ask_panel.config import Settings
from bench.common import machine, percentile, stamp
from bench.streaming import Api, CommitTimes, close_all, free_port, open_stream, raise_nofile

BIN = Path(sys.executable).parent / "ask-panel"
ADMIN = os.environ.get("ASK_PANEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("ASK_PANEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def scratch_postgres() -> tuple[str, str]:
    name = f"ask_panel_xproc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    migrate(Settings(database_url=url, auth_mode="none"))
    return name, url


def drop(name: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN), "--log-level", "WARNING", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_ready(port: int) -> None:
    for _ in range(300):
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the API node never became ready")


async def measure(port: int, url: str, subscribers: int, panels: int) -> list[float]:
    api = Api(port)
    commits = CommitTimes(url)
    latencies: list[float] = []
    try:
        for i in range(panels):
            panel_id = await api.create(seed=100 + i)
            streams = [await open_stream(port, panel_id) for _ in range(subscribers)]
            await api.execute(panel_id)
            await asyncio.wait_for(asyncio.gather(*(s.done for s in streams)), 120)
            created = await commits.of(panel_id)
            latencies += [(t - created[seq]) * 1000 for s in streams for seq, t in s.events]
            close_all(streams)
    finally:
        await api.client.aclose()
        await commits.aclose()
    return latencies


async def scenario(label: str, url: str, env: dict[str, str], args: argparse.Namespace, *, split: bool) -> list[str]:
    port = free_port()
    worker = start(["worker"], env) if split else None
    api = start(["serve", "--port", str(port), "--no-migrate", *(["--no-worker"] if split else [])], env)
    rows = []
    try:
        await asyncio.to_thread(wait_ready, port)
        for subscribers in (1, 100):
            values = await measure(port, url, subscribers, args.panels)
            rows.append(
                f"| {label} | {subscribers} | {args.panels} | {percentile(values, 50):.1f} | "
                f"{percentile(values, 99):.1f} | {max(values):.1f} | {len(values):,} |"
            )
            print(rows[-1], flush=True)
    finally:
        for process in (api, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)
    return rows


async def main(args: argparse.Namespace, name: str, url: str) -> None:
    raise_nofile()
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
    base |= {"ASK_PANEL_DATABASE_URL": url, "ASK_PANEL_AUTH_MODE": "none", "ASK_PANEL_SIMULATED_TOKEN_DELAY_MS": "8"}
    lines = [
        f"### Streaming across processes (PostgreSQL) — {stamp()} — {machine()}",
        "",
        "| setup | subscribers | panels | p50 ms | p99 ms | max ms | deliveries |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    try:
        lines += await scenario(
            "one process (baseline)", url, base | {"ASK_PANEL_FANOUT": "postgres"}, args, split=False
        )
        lines += await scenario(
            "worker + API node, NOTIFY", url, base | {"ASK_PANEL_FANOUT": "postgres"}, args, split=True
        )
        lines += await scenario(
            "worker + API node, Redis",
            url,
            base | {"ASK_PANEL_FANOUT": "redis", "ASK_PANEL_REDIS_URL": REDIS},
            args,
            split=True,
        )
    finally:
        drop(name)
    out = Path(__file__).parent / "results" / "cross_process.md"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--panels", type=int, default=3)
    database, database_url = scratch_postgres()  # migrations run their own event loop: before ours
    asyncio.run(main(parser.parse_args(), database, database_url))
