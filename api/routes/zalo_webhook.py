"""Zalo's webhook: each event of a Zalo bot is posted to `/zalo/webhook/{bot_id}`.

The request must carry the secret given to setWebhook in `X-Bot-Api-Secret-Token`,
compared in constant time; without it nothing is read (401 missing, 403 wrong). An event
posted twice (Zalo says to expect it) is answered `duplicate: true` and handled once.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from api.errors import problem_responses
from api.params import IdPath
from broadcasts.errors import InvalidInput
from broadcasts.transports.zalo_wire import SECRET_HEADER

PATH = "/zalo/webhook/{bot_id}"


def zalo_webhook_path(bot_id: int) -> str:
    return PATH.format(bot_id=bot_id)


class ZaloReceiver(Protocol):
    """One Zalo bot's intake (the bot package provides it)."""

    @property
    def secret(self) -> str: ...

    async def receive(self, payload: dict[str, Any]) -> bool:
        """Handle an event; False if it was handled before (a duplicate)."""
        ...


class ZaloWebhookAnswer(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "duplicate": False}]})

    ok: bool = True
    duplicate: bool


router = APIRouter(tags=["zalo"])


async def verified_zalo_receiver(bot_id: IdPath, request: Request) -> ZaloReceiver:
    receivers: Mapping[int, ZaloReceiver] = getattr(request.app.state, "zalo_webhooks", {})
    receiver = receivers.get(bot_id)
    if receiver is None:
        raise HTTPException(404, f"Zalo bot {bot_id} does not receive events here")
    presented = request.headers.get(SECRET_HEADER)
    if not presented:
        raise HTTPException(401, f"the {SECRET_HEADER} header is missing")
    if not hmac.compare_digest(presented.encode(), receiver.secret.encode()):
        raise HTTPException(403, f"the {SECRET_HEADER} header does not match")
    return receiver


@router.post(
    PATH,
    summary="An event from Zalo (webhook mode)",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "A Zalo Bot API event: {ok, result: {event_name, message}}",
        }
    },
)
async def zalo_webhook(
    request: Request, receiver: Annotated[ZaloReceiver, Depends(verified_zalo_receiver)]
) -> ZaloWebhookAnswer:
    try:
        payload = await request.json()
    except ValueError as exc:
        raise InvalidInput("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("the body is not a JSON object")
    return ZaloWebhookAnswer(duplicate=not await receiver.receive(payload))
