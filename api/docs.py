"""Swagger UI (`/docs`) and ReDoc (`/redoc`) served with their assets from this server.

Admins paste keys into the docs page, so it loads no script from a CDN: the JavaScript,
CSS and icon come from the `fastapi-offline` package's files, served under
`/docs/static/`. Returns each page's Content-Security-Policy for the headers middleware.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.guard import docs_csp, inline_script_hashes

STATIC_PREFIX = "/docs/static"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI, *, title: str) -> dict[str, str]:
    """Add /docs, /redoc and their static files to `app` (built with docs_url=None and
    redoc_url=None); the result maps each page's path to its CSP."""
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} — API",
        swagger_js_url=f"{STATIC_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC_PREFIX}/favicon.png",
    )
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{title} — API",
        redoc_js_url=f"{STATIC_PREFIX}/redoc.standalone.js",
        redoc_favicon_url=f"{STATIC_PREFIX}/favicon.png",
        with_google_fonts=False,
    )
    swagger_html = bytes(swagger.body).decode()
    redoc_html = bytes(redoc.body).decode()

    app.mount(STATIC_PREFIX, StaticFiles(directory=assets_dir()), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_html)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc_html)

    return {
        "/docs": docs_csp(inline_script_hashes(swagger_html)),
        "/redoc": docs_csp(inline_script_hashes(redoc_html)),
    }
