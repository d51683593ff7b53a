"""`ZaloFront`: one Zalo bot's answers to the events it receives.

A handler reads the text, makes one domain call and answers in the chat, in that order:
the domain's change is committed before the person is told. Zalo shows a group bot only
the messages that @mention it or quote-reply it, so in a group the mention is stripped
and the rest read like a private message; outside a command or an acknowledgement, a
group is not answered (people talk to each other there), a private chat gets the greeting.

A ward official (an `Official` on the "zalo" transport, of this bot's ward: «DK <mã>» or
«/start <mã>» with an official's invite code makes one) writing in a private chat is
handed to the composer (`bot.zalo.composer`): while a notice is being written every
message goes to it; otherwise the commands above come first, then the composer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.zalo import texts
from bot.zalo.composer import ZaloComposer
from broadcasts.attempts import CodeAttempts
from broadcasts.channels import deactivate_channel_by_chat, register_channel, registered_channel
from broadcasts.db import session_scope
from broadcasts.errors import CodeRejected, RateLimited, TransportError
from broadcasts.invites import normalize_invite_code, used_invite
from broadcasts.models import Area, BotAccount, Invite, InviteKind, Official
from broadcasts.officials import get_official_by_user, register_official
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
        composer: ZaloComposer | None = None,
    ) -> None:
        self.account_id = account_id
        self.account_name = account_name
        self.transport = transport
        self.sessionmaker = sessionmaker
        self.attempts = attempts
        self.limits = limits
        self.locale = locale
        self.on_ack = on_ack
        self.composer = composer
        self._ward_id: int | None = None

    async def handle(self, update: ZaloUpdate) -> None:
        message = update.message
        if update.event_name != TEXT_EVENT or message.text is None:
            official = await self.official_of(message)
            if official is not None and self.composer is not None:
                if await self.composer.has_wizard(message.chat.id):
                    await self.compose(message, official, "")  # the step again, with why
                    return
            if message.quote is not None and message.chat.chat_type == "GROUP":
                await self.acknowledge(message)  # a sticker quoting the notice counts too
            return
        text = message.text
        if message.chat.chat_type == "GROUP":
            text = texts.without_mention(text, self.account_name)
        official = await self.official_of(message)
        if official is not None and self.composer is not None:
            if await self.composer.has_wizard(message.chat.id):
                await self.compose(message, official, text)
                return
        code = texts.register_code(text)
        if code is None and message.chat.chat_type == "PRIVATE":
            code = texts.official_code(text)
        if code is not None:
            await self.register(message, code)
        elif texts.is_unregister(text):
            await self.unregister(message)
        elif message.quote is not None or is_ack_reply(text):
            await self.acknowledge(message, official)
        elif official is not None and self.composer is not None:
            await self.compose(message, official, text)
        elif message.chat.chat_type == "PRIVATE":
            await self.answer(message, texts.greeting(self.locale))

    async def official_of(self, message: ZaloMessage) -> Official | None:
        """The active official of this bot's ward writing in a private chat, if any."""
        if message.chat.chat_type != "PRIVATE":
            return None
        async with session_scope(self.sessionmaker) as session:
            official = await get_official_by_user(
                session=session, transport=TRANSPORT, user_ref=message.from_.id
            )
            if official is None or official.ward_id != await self._ward(session):
                return None
            session.expunge(official)
            return official

    async def _ward(self, session: AsyncSession) -> int | None:
        if self._ward_id is None:
            account = await session.get(BotAccount, self.account_id)
            self._ward_id = account.ward_id if account is not None else None
        return self._ward_id

    async def compose(self, message: ZaloMessage, official: Official, text: str) -> None:
        assert self.composer is not None
        for answer in await self.composer.reply(official, message.chat.id, text):
            await self.answer(message, answer)

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
            if message.chat.chat_type == "PRIVATE" and await _is_official_code(session, code):
                return await self._redeem_official(session, message, code)
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

    async def _redeem_official(self, session: AsyncSession, message: ZaloMessage, code: str) -> str:
        """An official's invite code typed in a private chat: the person becomes (or
        stays) an official of the code's ward, on Zalo, as `/start CODE` does on Telegram."""
        person = message.from_.id
        try:
            official = await register_official(
                session=session,
                code=code,
                transport=TRANSPORT,
                user_ref=person,
                name=message.from_.name,
                ward_id=await self._ward(session),
            )
        except CodeRejected as exc:
            used = await used_invite(session=session, code=code, used_by=f"{TRANSPORT}:{person}")
            if exc.detail.get("reason") != "used" or used is None:
                raise
            return texts.official_already(self.locale)
        return texts.official_welcome(self.locale, official.name)

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

    async def acknowledge(self, message: ZaloMessage, official: Official | None = None) -> None:
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
        elif official is not None and self.composer is not None:  # «1» to an idle composer
            await self.answer(message, self.composer.help_text(official))
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


async def _is_official_code(session: AsyncSession, code: str) -> bool:
    kind = await session.scalar(
        select(col(Invite.kind)).where(col(Invite.code) == normalize_invite_code(code))
    )
    return kind == InviteKind.official
