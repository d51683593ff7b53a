"""Editing and deleting as strictly as Telegram: the 48-hour delete window, a deleted
message gone for edits too, captions, and the Telegram transport's mapping of it all."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from broadcasts.errors import MessageRejected, RateLimited
from broadcasts.transports.base import OutgoingMessage, SentMessage
from broadcasts.transports.telegram import TelegramTransport
from sandbox.telegram.client import SandboxClient, SandboxError
from tests.sandbox.conftest import LAN, TOKEN, FakeClock, started


async def test_delete_only_within_48_hours_and_a_deleted_message_is_gone(
    client: SandboxClient, bot: Bot
) -> None:
    await started(client, bot)
    old = await bot.send_message(LAN["id"], "old")
    new = await bot.send_message(LAN["id"], "new")
    assert await client.age(TOKEN, LAN["id"], 47 * 3600, message_id=old.message_id) == [
        old.message_id
    ]
    await client.age(TOKEN, LAN["id"], 3600 + 1, message_id=old.message_id)  # 48 h and 1 s
    with pytest.raises(TelegramBadRequest, match="message can't be deleted for everyone"):
        await bot.delete_message(LAN["id"], old.message_id)
    assert await bot.delete_message(LAN["id"], new.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("again", chat_id=LAN["id"], message_id=new.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(LAN["id"], new.message_id)
    [kept] = await client.messages(TOKEN, LAN["id"])
    assert kept["message_id"] == old.message_id  # the refused delete changed nothing
    with pytest.raises(SandboxError, match="no such message"):
        await client.age(TOKEN, LAN["id"], 10, message_id=new.message_id)


async def test_a_text_message_has_no_caption_to_edit(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    sent = await bot.send_message(LAN["id"], "text")
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=LAN["id"], message_id=sent.message_id, caption="x")


async def test_the_transport_edits_keeps_the_button_and_maps_refusals(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    await started(client, bot)
    transport = _Paced(bot, clock)
    out = OutgoingMessage(chat_ref=str(LAN["id"]), text="v1", ack_delivery_id=7, ack_label="OK")
    sent = await transport.send(out)
    await transport.edit(sent.message_ref, OutgoingMessage(**{**_fields(out), "text": "v2"}))
    # The same content again is "message is not modified": done, not an error.
    await transport.edit(sent.message_ref, OutgoingMessage(**{**_fields(out), "text": "v2"}))
    [msg] = await client.messages(TOKEN, LAN["id"])
    assert msg["text"] == "v2" and len(msg["edits"]) == 1
    assert msg["reply_markup"] == msg["edits"][0]["reply_markup"]  # the button stayed
    reply = await transport.send(
        OutgoingMessage(chat_ref=str(LAN["id"]), text="answer", reply_to=sent.message_ref)
    )
    await transport.delete(str(LAN["id"]), sent.message_ref)
    with pytest.raises(MessageRejected, match="message to edit not found"):
        await transport.edit(sent.message_ref, out)
    with pytest.raises(MessageRejected, match="message to delete not found"):
        await transport.delete(str(LAN["id"]), sent.message_ref)
    # A reply to a message deleted meanwhile still goes out.
    late = await transport.send(
        OutgoingMessage(chat_ref=str(LAN["id"]), text="late", reply_to=sent.message_ref)
    )
    messages = {m["message_id"]: m for m in await client.messages(TOKEN, LAN["id"])}
    assert messages[int(reply.message_ref)]["reply_to_message_id"] == int(sent.message_ref)
    assert messages[int(late.message_ref)]["reply_to_message_id"] is None
    await client.add_fault("429", token=TOKEN, method="deleteMessage", retry_after=3)
    with pytest.raises(RateLimited) as limited:
        await transport.delete(str(LAN["id"]), reply.message_ref)
    assert limited.value.retry_after == 3


class _Paced(TelegramTransport):
    """Each call a few seconds after the last on the sandbox's clock: one private chat
    takes about one message a second, edits included, as on Telegram."""

    def __init__(self, bot: Bot, clock: FakeClock) -> None:
        super().__init__(bot)
        self._clock = clock

    async def send(self, message: OutgoingMessage) -> SentMessage:
        self._clock.advance(5)
        return await super().send(message)

    async def edit(self, message_ref: str, message: OutgoingMessage) -> None:
        self._clock.advance(5)
        await super().edit(message_ref, message)

    async def delete(self, chat_ref: str, message_ref: str) -> None:
        self._clock.advance(5)
        await super().delete(chat_ref, message_ref)


def _fields(message: OutgoingMessage) -> dict[str, object]:
    return {name: getattr(message, name) for name in message.__dataclass_fields__}
