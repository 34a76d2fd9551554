"""The API's documentation pages, Swagger UI at /docs and ReDoc at /redoc, with their scripts and styles
served by the service itself from the `fastapi-offline` package: they work with no internet access.

Each page's Content-Security-Policy allows only this origin (and the page's own inline script, by its
hash), so nothing is fetched from elsewhere: ReDoc's attribution logo, which its bundle loads from a
CDN, is not requested (ReDoc then leaves it out).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"
# fastapi-offline ships Swagger UI 5 and ReDoc 2 (the versions FastAPI's own pages load from a CDN).
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
# Swagger UI would otherwise load a validity badge from validator.swagger.io.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None, "persistAuthorization": True, "displayRequestDuration": True}


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def offline_only(page: HTMLResponse) -> HTMLResponse:
    """`page` with a policy that lets it load from this origin only (its inline scripts allowed by hash)."""
    body = bytes(page.body).decode()
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return page


def install(app: FastAPI) -> None:
    """/docs, /docs/oauth2-redirect, /redoc and their assets (create the app with docs_url=redoc_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return offline_only(
            get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
                swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
                swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
            )
        )

    async def oauth2_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return offline_only(
            get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.add_route("/docs", swagger_ui, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/docs/oauth2-redirect", oauth2_redirect, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/redoc", redoc, methods=["GET", "HEAD"], include_in_schema=False)
