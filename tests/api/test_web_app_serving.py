"""The web app's files as the service serves them, and the public meta endpoint the app starts from."""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from ask_panel.api.routes.webapp import WEBAPP_DIR, fingerprint
from ask_panel.config import MEMORY_DATABASE_URL, Settings
from tests.conftest import JWT_SECRET, make_settings, serving

ROOT = Path(__file__).resolve().parents[2]
STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]""", re.MULTILINE)


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    """The app on the in-memory adapters: serving files and meta touch no storage."""
    async with serving(make_settings(MEMORY_DATABASE_URL)) as (_, client):
        yield client


async def test_the_page_is_served_at_the_root_uncached_with_a_same_origin_content_policy(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "{{ASSETS}}" not in response.text
    assert not re.search(r"""(src|href)=["']https?://""", response.text), "the page loads nothing from elsewhere"
    assert (await client.head("/")).status_code == 200


async def test_every_module_the_page_imports_is_served_from_a_fingerprinted_path_cached_for_good(
    client: httpx2.AsyncClient,
) -> None:
    page = (await client.get("/")).text
    entry_points = re.findall(r"""(?:src|href)="(/assets/[0-9a-f]{16}/[^"]+)\"""", page)
    assert {Path(p).name for p in entry_points} == {"favicon.svg", "app.css", "main.js"}
    pending, seen = list(entry_points), set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        if path.endswith(".js"):
            assert "javascript" in response.headers["content-type"]
            base = path.rsplit("/", 1)[0]
            for relative in STATIC_IMPORT.findall(response.text):
                pending.append(posixpath.normpath(posixpath.join(base, relative)))
    served = {p.split("/", 3)[3] for p in seen}
    shipped = {p.relative_to(WEBAPP_DIR).as_posix() for p in WEBAPP_DIR.rglob("*") if p.is_file()}
    assert served == shipped - {"index.html"}, "every shipped file is used, and every used file is shipped"


async def test_a_file_of_another_version_or_none_is_a_problem_not_found(client: httpx2.AsyncClient) -> None:
    for path in ("/assets/0000000000000000/js/main.js", "/assets/nothing.js", "/app.css"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_the_fingerprint_follows_every_file_s_content(tmp_path: Path) -> None:
    for name, text in {"index.html": "<p>", "js/a.js": "export const a = 1;"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    before = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == before
    (tmp_path / "js/a.js").write_text("export const a = 2;")
    assert fingerprint(tmp_path) != before


def test_the_package_ships_every_web_app_file() -> None:
    """The wheel's package-data globs (relative to src/ask_panel) cover every file of the web app."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package = ROOT / "src" / "ask_panel"
    covered = {
        p for pattern in config["tool"]["setuptools"]["package-data"]["ask_panel"] for p in package.glob(pattern)
    }
    files = {p for p in WEBAPP_DIR.rglob("*") if p.is_file()}
    assert files and files <= covered


async def test_meta_needs_no_tenant_or_token_and_tells_the_auth_mode_without_secrets(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.get("/api/v1/meta")
    assert response.status_code == 200
    meta = response.json()
    assert meta["auth_mode"] == "jwt"
    assert meta["panel_types"] == ["structured", "open", "socratic", "adversarial", "delphi"]
    assert meta["max_experts"] == 10
    assert meta["max_query_chars"] == Settings.model_fields["max_query_chars"].default
    assert JWT_SECRET not in response.text
    assert set(meta) == {
        "version",
        "auth_mode",
        "panel_types",
        "max_query_chars",
        "max_experts",
        "max_proposition_chars",
    }


async def test_meta_says_when_authentication_is_off() -> None:
    async with serving(make_settings(MEMORY_DATABASE_URL, auth_mode="none", allowed_hosts="testserver")) as (_, client):
        assert (await client.get("/api/v1/meta")).json()["auth_mode"] == "none"
