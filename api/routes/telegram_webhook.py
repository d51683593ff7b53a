"""Webhook mode: Telegram posts each update of a bot to `/telegram/webhook/{bot_id}`.

Every request must carry the secret token given to setWebhook in
`X-Telegram-Bot-Api-Secret-Token` (compared in constant time); without it nothing is read.
The answer comes as soon as the update is handed over: handling goes on in the background.

`WebhookShortcut` takes the posts that check out (a bot of this process, its secret, a JSON
object within the cap that its receiver takes) ahead of FastAPI's routing, dependencies and
response model: in an acknowledgement storm every press is one post, and that machinery
cost about a third of the process's CPU (README, "Acknowledgement storm"). Whatever it does
not take (no or a wrong secret, a body too large, not JSON or not an update) goes on to the
route below as it came, and the route gives the errors their answers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem_responses
from api.guard import replayed
from api.params import IdPath
from broadcasts.errors import InvalidInput

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/webhook/{bot_id}"
MAX_BYTES = 1024 * 1024  # a Telegram update is far smaller
_PATH = re.compile(r"/telegram/webhook/([1-9][0-9]{0,17})")
_SECRET_KEY = SECRET_HEADER.lower().encode()


def webhook_path(bot_id: int) -> str:
    """Where a bot's updates are posted, below the API's public base URL."""
    return PATH.format(bot_id=bot_id)


class UpdateReceiver(Protocol):
    """One bot's update intake (the bot package provides it; the API only routes to it)."""

    @property
    def secret(self) -> str: ...

    async def receive(self, payload: dict[str, Any]) -> bool:
        """Take an update; False if it was taken before (a redelivery)."""
        ...


class WebhookAnswer(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "duplicate": False}]})

    ok: bool = True
    duplicate: bool


router = APIRouter(tags=["telegram"])


def _receivers(request: Request) -> Mapping[int, UpdateReceiver]:
    receivers: Mapping[int, UpdateReceiver] = request.app.state.webhooks
    return receivers


async def verified_receiver(bot_id: IdPath, request: Request) -> UpdateReceiver:
    """The bot's receiver, if the request carries its secret token; else 401/403/404."""
    receiver = _receivers(request).get(bot_id)
    if receiver is None:
        raise HTTPException(404, f"bot {bot_id} does not receive updates here")
    presented = request.headers.get(SECRET_HEADER)
    if not presented:
        raise HTTPException(401, f"the {SECRET_HEADER} header is missing")
    if not secrets.compare_digest(presented.encode(), receiver.secret.encode()):
        raise HTTPException(403, f"the {SECRET_HEADER} header does not match")
    return receiver


@router.post(
    PATH,
    summary="An update from Telegram (webhook mode)",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "A Telegram Update object",
        }
    },
)
async def webhook(
    request: Request, receiver: Annotated[UpdateReceiver, Depends(verified_receiver)]
) -> WebhookAnswer:
    try:
        payload = await request.json()  # read only once the secret checked out
    except ValueError as exc:
        raise InvalidInput("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("the body is not a JSON object")
    return WebhookAnswer(duplicate=not await receiver.receive(payload))


def _answer(duplicate: bool) -> bytes:
    return WebhookAnswer(duplicate=duplicate).model_dump_json().encode()


_ANSWERS = {duplicate: _answer(duplicate) for duplicate in (False, True)}


class WebhookShortcut:
    """ASGI middleware: a webhook post that checks out goes to its receiver here (see the
    module docstring); the route answers the same for it, and everything else."""

    def __init__(self, app: ASGIApp, *, receivers: Mapping[int, UpdateReceiver]) -> None:
        self.app = app
        self.receivers = receivers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        receiver = self.receivers.get(int(match[1])) if match else None
        if receiver is None or scope["method"] != "POST" or not _has_secret(scope, receiver):
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive, MAX_BYTES)
        payload = _json_object(body) if not more and len(body) <= MAX_BYTES else None
        if payload is None:
            await self.app(scope, replayed(body, receive, more=more), send)
            return
        try:
            taken = await receiver.receive(payload)
        except InvalidInput:  # not an update: nothing was taken, and the route says why
            await self.app(scope, replayed(body, receive, more=more), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": _ANSWERS[not taken]})


def _has_secret(scope: Scope, receiver: UpdateReceiver) -> bool:
    presented = next((v for k, v in scope["headers"] if k == _SECRET_KEY), b"")
    return bool(presented) and secrets.compare_digest(presented, receiver.secret.encode())


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, or its first `limit` bytes and a little more; True if more is to come."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more and size <= limit:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: let the route see it
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), more


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None
