"""The web app: its page at `/` and its files (ES modules, CSS) under a content-fingerprinted path.

The files ship in the package (`api/webapp/`), with no build step. The page is served with
`Cache-Control: no-cache` and names its files under `/assets/<fingerprint>/`, a hash of every
file's content, so those are cached for a year as immutable: a changed file gets a new path.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEBAPP_DIR = Path(__file__).resolve().parent.parent / "webapp"
ASSETS_PLACEHOLDER = "{{ASSETS}}"
IMMUTABLE = "public, max-age=31536000, immutable"
# Everything the page loads comes from this origin; no inline script or style, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# No-sniff, X-Frame-Options and the referrer policy are on every response (`api/security_headers.py`).
PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY}


def fingerprint(directory: Path) -> str:
    """A short hash of every file's path and content under `directory`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class ImmutableFiles(StaticFiles):
    """Static files under a fingerprinted path: cached for good."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


def install(app: FastAPI, directory: Path = WEBAPP_DIR) -> None:
    """Serve the web app at `/` and its files at `/assets/<fingerprint>/`."""
    assets = f"/assets/{fingerprint(directory)}"
    page = (directory / "index.html").read_text(encoding="utf-8").replace(ASSETS_PLACEHOLDER, assets)

    async def index(_request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers=PAGE_HEADERS)

    app.add_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(assets, ImmutableFiles(directory=directory), name="webapp-assets")
