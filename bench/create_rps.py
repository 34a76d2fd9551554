"""Benchmark: panel-creation requests per second on SQLite and PostgreSQL, beside a bare FastAPI endpoint.

    .venv/bin/python -m bench.create_rps [--seconds 10] [--connections 32]

Each server runs alone as a subprocess (`ask-panel serve`, one process, auth none) and is loaded by
`wrk` (Debian package) on 127.0.0.1 with the same POST; the bare endpoint parses the same body with
Pydantic and returns a similar JSON. The client shares the 2 cores with the server: compare ratios,
not absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx2

from ask_panel.infrastructure.db.migrate import upgrade
from bench.common import machine, stamp

BODY = (
    '{"query": "What is our FDA 510(k) strategy for this device?", "panel_type": "structured", '
    '"agent_ids": ["fda_expert", "clinical_expert"]}'
)
LUA = f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Tenant-ID"] = "11111111-1111-1111-1111-111111111111"
"""
BIN = Path(sys.executable).parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str) -> None:
    for _ in range(300):
        try:
            if httpx2.get(url, timeout=1).status_code < 500:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def run_wrk(port: int, seconds: int, connections: int, script: Path) -> tuple[float, str]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/api/v1/panels",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, f"p99 {p99.group(1) if p99 else '?'}, non-2xx {non2xx.group(1) if non2xx else 0}"


def measure(
    name: str, command: list[str], env: dict[str, str], port: int, args: argparse.Namespace, script: Path
) -> float:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/openapi.json")
        run_wrk(port, 2, args.connections, script)  # warm-up
        rps, detail = run_wrk(port, args.seconds, args.connections, script)
    finally:
        process.terminate()
        process.wait(timeout=20)
    print(f"| {name} | {rps:,.0f} | {detail} |")
    return rps


def postgres_url() -> str | None:
    import psycopg

    admin = os.environ.get("ASK_PANEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"ask_panel_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="askpanel-rps-"))
    script = tmp / "post.lua"
    script.write_text(LUA)
    sqlite = f"sqlite+aiosqlite:///{tmp / 'rps.db'}"
    upgrade(sqlite)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ASK_PANEL_")}
    base_env |= {"ASK_PANEL_AUTH_MODE": "none"}
    print(f"### Panel creation, requests per second — {stamp()} — {machine()}")
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, one server process each, loopback\n")
    print("| server | requests/s | latency / errors |")
    print("|---|---|---|")
    port = free_port()
    bare = measure(
        "bare FastAPI endpoint (Pydantic body, JSON reply)",
        [str(BIN / "uvicorn"), "bench.bare_app:app", "--port", str(port), "--log-level", "warning"],
        base_env,
        port,
        args,
        script,
    )
    port = free_port()
    lite = measure(
        "Ask Panel on SQLite",
        [str(BIN / "ask-panel"), "--log-level", "WARNING", "serve", "--port", str(port), "--no-migrate"],
        base_env | {"ASK_PANEL_DATABASE_URL": sqlite},
        port,
        args,
        script,
    )
    pg = postgres_url()
    pg_rps = None
    if pg:
        port = free_port()
        pg_rps = measure(
            "Ask Panel on PostgreSQL",
            [str(BIN / "ask-panel"), "--log-level", "WARNING", "serve", "--port", str(port), "--no-migrate"],
            base_env | {"ASK_PANEL_DATABASE_URL": pg},
            port,
            args,
            script,
        )
    print(
        f"\nRatio to the bare endpoint: SQLite {lite / bare:.2f}"
        + (f", PostgreSQL {pg_rps / bare:.2f}" if pg_rps else ", PostgreSQL not reachable")
    )


if __name__ == "__main__":
    main()
