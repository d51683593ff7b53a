"""Webhook mode: Telegram posts each update of a bot to `/telegram/webhook/{bot_id}`.

Every request must carry the secret token given to setWebhook in
`X-Telegram-Bot-Api-Secret-Token` (compared in constant time); without it nothing is read.
The answer comes as soon as the update is handed over: handling goes on in the background.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from api.errors import problem_responses
from api.params import IdPath
from broadcasts.errors import InvalidInput

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/webhook/{bot_id}"


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
