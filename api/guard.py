"""ASGI middleware in front of every route: request bodies are capped before anything reads
them, and every response carries the security headers.

The body cap runs before routing, authentication and parsing, so a large body without a
key costs at most the route's limit in memory: a `Content-Length` above it is refused at
once, and a body without one (chunked) is counted while it streams and refused as soon as
it passes the limit; the rest is never read. The limit depends on the route (`BodyLimits`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyLimits:
    """The largest body, in bytes, each route accepts; `default` for routes not listed.

    `routes` are (method, path pattern, limit), a pattern being a full-match regex."""

    def __init__(self, default: int, routes: Iterable[tuple[str, str, int]] = ()) -> None:
        self.default = default
        self.routes = tuple((m, re.compile(p), n) for m, p, n in routes)

    def for_request(self, method: str, path: str) -> int:
        for route_method, pattern, limit in self.routes:
            if route_method == method and pattern.fullmatch(path):
                return limit
        return self.default


def _human(size: int) -> str:
    if size >= 2**20 and size % 2**20 == 0:
        return f"{size // 2**20} MiB"
    if size >= 2**10 and size % 2**10 == 0:
        return f"{size // 2**10} KiB"
    return f"{size} bytes"


class BodyLimitMiddleware:
    """Answers 413 (problem+json) for a body over the route's limit, before the app runs."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            await _refuse_nul(scope, receive, send, "the URL")
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_request(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        # Read the body here, counting, then replay it: at most `limit` bytes are held, and
        # the app (authentication, JSON parsing) runs only on a body within the limit.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # JSON is parsed by the framework, so NUL is refused here; a CSV import's own reader
        # refuses it with the line it is on.
        if _is_json(scope) and (b"\x00" in body or _JSON_NUL.search(body)):
            await _refuse_nul(scope, receive, send, "the body")
            return
        await self.app(scope, replayed(body, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(
            Request(scope),
            413,
            f"the request body is larger than {_human(limit)}, the most this route accepts",
            extra={"limit_bytes": limit},
            # The rest of the body is not read: the connection cannot carry another request.
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


# A JSON string escape for NUL: `\u0000` after an even number of backslashes.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def replayed(body: bytes, receive: Receive, *, more: bool = False) -> Receive:
    """`receive` for the app below, once a middleware has read `body`: that body first
    (`more` when the stream goes on), then whatever `receive` still has."""
    done = False

    async def again() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return again


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _refuse_nul(scope: Scope, receive: Receive, send: Send, where: str) -> None:
    """No stored text may hold NUL (PostgreSQL refuses it): refused here, for every field."""
    message = "NUL characters (\\u0000) are not accepted"
    response = problem(
        Request(scope),
        422,
        f"{where} contains a NUL character; {message}",
        extra={"errors": [{"field": where.removeprefix("the "), "message": message}]},
    )
    await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# --- security headers -------------------------------------------------------------------

# API answers are JSON or CSV: nothing in them may run, load or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def inline_script_hashes(html: str) -> list[str]:
    """CSP sources ('sha256-…') for the inline <script> blocks of a page."""
    bodies = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
        for b in bodies
    ]


def docs_csp(script_hashes: Iterable[str]) -> str:
    """The docs pages load their scripts, styles and the schema from this server only.

    Swagger UI and ReDoc set inline styles and ReDoc starts a worker from a blob; the one
    inline script (Swagger UI's configuration) is allowed by its hash."""
    scripts = " ".join(["'self'", *script_hashes])
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _under(path: str, prefix: str) -> bool:
    """`/dashboard` covers `/dashboard` and `/dashboard/…`, never `/dashboards`."""
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response.

    `pages` maps a path to its own Content-Security-Policy (the docs pages), and
    `page_prefixes` a path prefix to one (the signed-link and dashboard pages); paths under
    `static_prefix` may be cached, everything else is `Cache-Control: no-store`.
    Strict-Transport-Security goes out when the request came over TLS (https, as uvicorn
    reports it, behind a proxy too when its forwarded headers are trusted)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        pages: dict[str, str],
        static_prefix: str,
        page_prefixes: Iterable[tuple[str, str]] = (),
        hsts_max_age: int = 31_536_000,
    ) -> None:
        self.app = app
        self.pages = pages
        self.page_prefixes = tuple(page_prefixes)  # (path prefix, its CSP): the link pages
        self.static_prefix = static_prefix
        self.hsts = f"max-age={hsts_max_age}; includeSubDomains".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        static = path.startswith(self.static_prefix)
        csp = self.pages.get(path) or next(
            (policy for prefix, policy in self.page_prefixes if _under(path, prefix)), API_CSP
        )
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if static or k.lower() != b"cache-control"
                ]
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", csp.encode()),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                if tls:
                    headers.append((b"strict-transport-security", self.hsts))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
