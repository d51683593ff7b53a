"""`ZaloFront`: one Zalo bot's answers to the events it receives.

A handler reads the text, makes one domain call and answers in the chat, in that order:
the domain's change is committed before the person is told. Zalo shows a group bot only
the messages that @mention it or quote-reply it, so in a group the mention is stripped
and the rest read like a private message; outside a command or an acknowledgement, a
group is not answered (people talk to each other there), a private chat gets the greeting.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo import texts
from broadcasts.attempts import CodeAttempts
from broadcasts.channels import deactivate_channel_by_chat, register_channel, registered_channel
from broadcasts.db import session_scope
from broadcasts.errors import CodeRejected, RateLimited, TransportError
from broadcasts.invites import used_invite
from broadcasts.models import Area
from broadcasts.reply_acks import ReplyVerdict, is_ack_reply, record_reply_ack
from broadcasts.transports.base import OutgoingMessage, Transport
from broadcasts.transports.zalo_wire import TEXT_EVENT, ZaloMessage, ZaloUpdate

log = logging.getLogger(__name__)
TRANSPORT = "zalo"
# Told of each acknowledgement recorded (its notice id): the official's status message
# shows it, as it shows a press of the Telegram button.
AckHook = Callable[[int], Awaitable[None]]


class AccountPacer(Protocol):
    def account_turn(self, account_id: int) -> AbstractAsyncContextManager[None]: ...


class ZaloFront:
    """The bot of one Zalo account (`account_id`, named `account_name` on Zalo)."""

    def __init__(
        self,
        *,
        account_id: int,
        account_name: str,
        transport: Transport,
        sessionmaker: async_sessionmaker[AsyncSession],
        attempts: CodeAttempts,
        limits: AccountPacer | None = None,
        locale: str = "vi",
        on_ack: AckHook | None = None,
    ) -> None:
        self.account_id = account_id
        self.account_name = account_name
        self.transport = transport
        self.sessionmaker = sessionmaker
        self.attempts = attempts
        self.limits = limits
        self.locale = locale
        self.on_ack = on_ack

    async def handle(self, update: ZaloUpdate) -> None:
        message = update.message
        if update.event_name != TEXT_EVENT or message.text is None:
            if message.quote is not None and message.chat.chat_type == "GROUP":
                await self.acknowledge(message)  # a sticker quoting the notice counts too
            return
        text = message.text
        if message.chat.chat_type == "GROUP":
            text = texts.without_mention(text, self.account_name)
        code = texts.register_code(text)
        if code is not None:
            await self.register(message, code)
        elif texts.is_unregister(text):
            await self.unregister(message)
        elif message.quote is not None or is_ack_reply(text):
            await self.acknowledge(message)
        elif message.chat.chat_type == "PRIVATE":
            await self.answer(message, texts.greeting(self.locale))

    async def register(self, message: ZaloMessage, code: str) -> None:
        if not code:
            await self.answer(message, texts.code_missing(self.locale))
            return
        chat_ref, person = message.chat.id, message.from_.id
        keys = (f"zalo:chat:{chat_ref}", f"zalo:user:{person}")
        try:
            async with self.attempts.guard(*keys):
                answer = await self._redeem(message, code)
        except CodeRejected as exc:
            answer = texts.code_refused(self.locale, exc)
        await self.answer(message, answer)

    async def _redeem(self, message: ZaloMessage, code: str) -> str:
        chat_ref = message.chat.id
        async with session_scope(self.sessionmaker) as session:
            try:
                channel = await register_channel(
                    session=session,
                    code=code,
                    bot_id=self.account_id,
                    chat_ref=chat_ref,
                    title=message.from_.name if message.chat.chat_type == "PRIVATE" else "",
                    transport=TRANSPORT,
                    actor=f"zalo:{message.from_.id}",
                )
            except CodeRejected as exc:
                if exc.detail.get("reason") != "used":
                    raise
                invite = await used_invite(session=session, code=code, used_by=f"zalo:{chat_ref}")
                if invite is None:
                    raise
                area = await session.get(Area, invite.area_id)
                return texts.already_registered(self.locale, area.name if area else "")
            area = await session.get(Area, channel.area_id)
            return texts.registered(self.locale, area.name if area else "")

    async def unregister(self, message: ZaloMessage) -> None:
        async with session_scope(self.sessionmaker) as session:
            known = await registered_channel(
                session=session, bot_id=self.account_id, chat_ref=message.chat.id
            )
            if known is not None and known[0].active:
                await deactivate_channel_by_chat(
                    session=session,
                    bot_id=self.account_id,
                    chat_ref=message.chat.id,
                    reason=f"unsubscribed by zalo:{message.from_.id} (HUY DK)",
                )
                answer = texts.unregistered(self.locale)
            else:
                answer = texts.not_registered(self.locale)
        await self.answer(message, answer)

    async def acknowledge(self, message: ZaloMessage) -> None:
        async with session_scope(self.sessionmaker) as session:
            result = await record_reply_ack(
                session=session,
                bot_id=self.account_id,
                chat_ref=message.chat.id,
                person_ref=message.from_.id,
                person_name=message.from_.name,
                quoted_ref=message.quote.message_id if message.quote else None,
            )
        if result.verdict is ReplyVerdict.recorded:
            await self.answer(message, texts.ack_recorded(self.locale))
            if self.on_ack is not None and result.notice_id is not None:
                try:
                    await self.on_ack(result.notice_id)
                except Exception:  # the ack is stored; the status catches up on its next draw
                    log.exception("zalo bot %s: status refresh failed", self.account_id)
        elif result.verdict is ReplyVerdict.repeated:
            await self.answer(message, texts.ack_repeated(self.locale))
        elif result.verdict is ReplyVerdict.no_notice:
            await self.answer(message, texts.no_notice(self.locale))
        elif message.chat.chat_type == "PRIVATE":  # «1» from a chat that never registered
            await self.answer(message, texts.greeting(self.locale))

    async def answer(self, message: ZaloMessage, text: str) -> None:
        """Send `text` to the message's chat, under the bot's account limit; a refusal is
        logged, never raised (the change it reports is already stored)."""
        turn = self.limits.account_turn(self.account_id) if self.limits else nullcontext()
        try:
            async with turn:
                await self.transport.send(OutgoingMessage(chat_ref=message.chat.id, text=text))
        except RateLimited as exc:
            log.warning("zalo bot %s: answer dropped, quota: %s", self.account_id, exc.message)
        except TransportError as exc:
            log.warning("zalo bot %s: answer not sent: %s", self.account_id, exc.message)
