"""The Bot API endpoint: ``/bot{token}/{method}`` over GET or POST, like api.telegram.org.

Bodies may be application/x-www-form-urlencoded (what aiogram sends when there are no
files), multipart/form-data or JSON; query-string parameters are merged in. The hot path
does no logging, decodes urlencoded bodies with yarl's C unquoter and parses multipart
bodies with a small splitter rather than aiohttp's streaming reader. Answers are
``{"ok": true, "result": ...}`` or Telegram-shaped errors with the HTTP status equal to
``error_code``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from yarl import URL

from .errors import NOT_FOUND, UNAUTHORIZED, ApiError, bad_request
from .methods import METHODS
from .state import World

_MULTIPART_NAME = re.compile(rb'\bname="([^"]*)"')
_MULTIPART_FILENAME = re.compile(rb'\bfilename="([^"]*)"')
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def respond(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=_dumps(payload).encode("utf-8"),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def parse_urlencoded(body: bytes) -> dict[str, str]:
    """Fields of a urlencoded body. yarl's C unquoter is ~20x faster than urllib's parse_qsl
    on percent-encoded Vietnamese text, which dominated the cost of a sendMessage."""
    return dict(URL.build(query_string=body.decode("utf-8"), encoded=True).query)


class Upload(bytes):
    """A file part of a multipart body: its bytes and the file name the client gave."""

    filename: str

    def __new__(cls, data: bytes, filename: str = "") -> Upload:
        self = super().__new__(cls, data)
        self.filename = filename
        return self


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Fields of a multipart/form-data body (file parts are kept as bytes)."""
    _, _, boundary = content_type.partition("boundary=")
    boundary = boundary.split(";", 1)[0].strip().strip('"')
    if not boundary:
        raise bad_request("multipart body without a boundary")
    params: dict[str, Any] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.partition(b"\r\n\r\n")
        m = _MULTIPART_NAME.search(head) if sep else None
        if m is None:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = m.group(1).decode("utf-8")
        if b"filename=" in head:
            found = _MULTIPART_FILENAME.search(head)
            params[name] = Upload(data, found.group(1).decode("utf-8") if found else "")
        else:
            params[name] = data.decode("utf-8")
    return params


async def read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query) if request.query_string else {}
    if not request.body_exists:
        return params
    body = await request.read()
    if not body:
        return params
    content_type = request.headers.get("Content-Type", "")
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_urlencoded(body))
        elif content_type.startswith("multipart/form-data"):
            params.update(parse_multipart(body, content_type))
        else:
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise bad_request("JSON body must be an object")
            params.update(decoded)
    except (UnicodeDecodeError, ValueError):
        raise bad_request("can't parse request body") from None
    return params


def _chat_filter(params: dict[str, Any]) -> Any:
    value = params.get("chat_id")
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


class BotApi:
    """aiohttp handler for every Bot API request."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def handle(self, request: web.Request) -> web.Response:
        world = self.world
        match = request.match_info
        bot = world.bot(match["token"])
        if bot is None:
            return respond(UNAUTHORIZED.payload(), 401)
        name = match["method"].lower()
        fn = METHODS.get(name)
        params: dict[str, Any] = {}
        try:
            if fn is None:
                raise NOT_FOUND
            params = await read_params(request)
            if world.faults.active:
                await world.faults.apply(world, bot, name, _chat_filter(params))
            result = await fn(world, bot, params)
        except ApiError as e:
            if world.bots.get(bot.token) is bot:
                bot.stats.error(e.code, _chat_filter(params))
            return respond(e.payload(), e.code)
        return respond({"ok": True, "result": result})

    async def download(self, request: web.Request) -> web.Response:
        """A file's bytes at the ``file_path`` getFile gave this bot, as Telegram serves it."""
        bot = self.world.bot(request.match_info["token"])
        record = self.world.files.by_path.get(request.match_info["path"])
        if bot is None or record is None or record.owner != bot.token:
            return respond(NOT_FOUND.payload(), 404)
        return web.Response(body=record.data, content_type="application/octet-stream")


def setup(app: web.Application, world: World) -> None:
    api = BotApi(world)
    app.router.add_route("*", "/bot{token}/{method}", api.handle)
    app.router.add_get("/file/bot{token}/{path:.+}", api.download)
