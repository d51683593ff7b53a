"""405 answers list every method the path has (`Allow`), as the OpenAPI document names
them, not only those of the first route that matched the path. Integer path parameters
match digits only, so `/notices/prepare` is not read as a notice id."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.errors import problem

_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _parameter(integers: set[str]) -> Callable[[re.Match[str]], str]:
    """A path parameter's pattern: digits for an integer (a `:int` route), else a segment."""

    def pattern(match: re.Match[str]) -> str:
        return "[0-9]+" if match.group(1) in integers else "[^/]+"

    return pattern


def install_method_not_allowed(app: FastAPI) -> None:
    @cache
    def paths() -> list[tuple[re.Pattern[str], frozenset[str]]]:
        table: list[tuple[re.Pattern[str], frozenset[str]]] = []
        for template, operations in app.openapi().get("paths", {}).items():
            integers = {
                p["name"]
                for op in operations.values()
                for p in op.get("parameters", [])
                if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"
            }
            pattern = re.sub(r"\\\{([^}]+)\\\}", _parameter(integers), re.escape(template))
            methods = {m.upper() for m in operations if m in _HTTP_METHODS}
            if "GET" in methods:
                methods.add("HEAD")
            table.append((re.compile(pattern), frozenset(methods)))
        return table

    def allowed(path: str) -> list[str]:
        # A fixed path (/areas/tree) is its own resource, not an instance of /areas/{code}.
        matching = [(p, names) for p, names in paths() if p.fullmatch(path)]
        fixed = [names for p, names in matching if "[" not in p.pattern]
        methods: set[str] = set()
        for names in fixed or [names for _, names in matching]:
            methods |= names
        return sorted(methods)

    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        allow = ", ".join(allowed(request.url.path)) or str(
            getattr(exc, "headers", {}).get("Allow", "")
        )
        detail = f"{request.method} is not allowed here; use {allow}"
        return problem(request, 405, detail, headers={"Allow": allow})

    app.add_exception_handler(405, method_not_allowed)
