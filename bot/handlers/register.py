"""Group chats: a leader registers the group for an area; removal deactivates it.

Telegram's privacy mode (on by default) shows a bot only the commands that name it, so
every instruction gives the form `/dangky@<bot> MÃ`; the bare `/dangky MÃ` and the
English `/register` work too when they reach the bot. A registration sent from a forum
topic makes notices go to that topic. A group where the bot may not post is not
registered: the leader is told (in the group if the bot still can, else privately) and
the code stays unused.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import (
    IS_MEMBER,
    IS_NOT_MEMBER,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
)
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    ChatMemberUpdated,
    Message,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import Screen
from bot.services import Services
from broadcasts.channels import (
    REGISTER_COMMANDS,
    deactivate_channel_by_chat,
    note_refused_registration,
    register_channel,
    registered_channel,
    registration_command,
)
from broadcasts.errors import CodeRejected
from broadcasts.invites import used_invite
from broadcasts.models import Area, Channel

log = logging.getLogger(__name__)


async def how_to_register(bot: Bot) -> str:
    """`/dangky@<this bot> MÃ`, with the bot's real username."""
    return registration_command(username=(await bot.me()).username, code=_("CODE"))


async def may_post(bot: Bot, chat_id: int) -> bool:
    """Whether the bot may send messages in the group, as Telegram reports it."""
    member = await bot.get_chat_member(chat_id, bot.id)
    if isinstance(member, ChatMemberRestricted):
        return member.is_member and member.can_send_messages
    if isinstance(member, ChatMemberLeft | ChatMemberBanned):
        return False
    if isinstance(member, ChatMemberMember):  # a plain member posts if members may
        permissions = (await bot.get_chat(chat_id)).permissions
        return permissions is None or permissions.can_send_messages is not False
    return True  # the owner or an administrator


def topic_of(message: Message) -> str | None:
    # Replies in a plain supergroup carry a message_thread_id too: only a forum topic counts.
    return str(message.message_thread_id) if message.is_topic_message else None


async def reply(message: Message, services: Services, text: str) -> None:
    """Answer in the group (in the message's forum topic), through the paced outbox."""
    thread = message.message_thread_id if message.is_topic_message else None
    await services.outbox.send(message.chat.id, Screen.plain(text), thread_id=thread)


async def tell_leader(message: Message, services: Services, text: str) -> None:
    """Answer in the group; if the bot may not post there, write to the leader privately
    (Telegram allows that only if the leader has started a chat with the bot)."""
    try:
        await reply(message, services, text)
        return
    except TelegramAPIError as exc:
        log.info("could not answer in chat %s: %s", message.chat.id, exc)
    if message.from_user is None:
        return
    try:
        await services.outbox.send(message.from_user.id, Screen.plain(text))
    except TelegramAPIError as exc:
        log.warning("could not tell the leader of chat %s: %s", message.chat.id, exc)


async def register(
    message: Message, command: CommandObject, session: AsyncSession, services: Services, bot: Bot
) -> None:
    if not command.args:
        text = _("Please send the code too, like this: {command}")
        await reply(message, services, text.format(command=await how_to_register(bot)))
    elif not await may_post(bot, message.chat.id):
        await refuse(message, session, services, bot)
    elif (known := await _registration(message, session, services)) and (
        not await is_group_admin(bot, message)
    ):
        await refuse_reregistration(message, session, services, known[1].name)
    else:
        await register_here(message, command.args.strip(), session, services)


async def _registration(
    message: Message, session: AsyncSession, services: Services
) -> tuple[Channel, Area] | None:
    chat_ref = str(message.chat.id)
    return await registered_channel(
        session=session, bot_id=services.bot_account_id, chat_ref=chat_ref
    )


async def is_group_admin(bot: Bot, message: Message) -> bool:
    """Whether the sender is the group's owner or an administrator (getChatMember); an
    anonymous administrator writes as the group itself."""
    if message.sender_chat is not None:
        return message.sender_chat.id == message.chat.id
    if message.from_user is None:
        return False
    member = await bot.get_chat_member(message.chat.id, message.from_user.id)
    return isinstance(member, ChatMemberOwner | ChatMemberAdministrator)


async def refuse_reregistration(
    message: Message, session: AsyncSession, services: Services, area: str
) -> None:
    who = message.from_user.id if message.from_user else "?"
    await note_refused_registration(
        session=session,
        chat_ref=str(message.chat.id),
        title=message.chat.title or "",
        reason="registered already; only a group administrator may register it again",
        actor=f"telegram:{who}",
        action="channel.reregister_refused",
    )
    await session.commit()
    text = _(
        "This group already receives the ward's notices for {area}. Only the group's owner "
        "or an administrator of the group can register it again with another code."
    )
    await reply(message, services, text.format(area=area))


async def register_here(
    message: Message, code: str, session: AsyncSession, services: Services
) -> None:
    user = message.from_user.id if message.from_user else None
    keys = [f"telegram:chat:{message.chat.id}"] + ([f"telegram:user:{user}"] if user else [])
    async with services.attempts.guard(*keys):
        channel = await redeem(session, message, code, services.bot_account_id)
    if isinstance(channel, str):  # the same code again: nothing changed
        await reply(message, services, channel)
        return
    area = await session.get(Area, channel.area_id)
    await session.commit()  # stored before the leader is told so
    await reply(message, services, registered_text(area.name if area else "", channel.topic_ref))


async def redeem(session: AsyncSession, message: Message, code: str, bot_id: int) -> Channel | str:
    """The group's channel for the code, or, when this group already used this very code,
    what to tell it; any other refusal is raised for the error router."""
    chat_ref = str(message.chat.id)
    user = message.from_user.id if message.from_user else None
    try:
        return await register_channel(
            session=session,
            code=code,
            bot_id=bot_id,
            chat_ref=chat_ref,
            title=message.chat.title or "",
            topic_ref=topic_of(message),
            actor=f"telegram:{user}" if user else "",
            leader_ref=str(user) if user else None,
            leader_name=message.from_user.full_name if message.from_user else "",
        )
    except CodeRejected as exc:
        invite = None
        if exc.detail.get("reason") == "used":
            invite = await used_invite(session=session, code=code, used_by=f"telegram:{chat_ref}")
        if invite is None:
            raise
    area = await session.get(Area, invite.area_id)
    return _("This group is already registered for {area}.").format(area=area.name if area else "")


def registered_text(area: str, topic_ref: str | None) -> str:
    text = _(
        "✅ Registered: this group will receive the ward's notices for {area}. Whenever a "
        "notice arrives, the group leader presses «✅ Received» so that the ward knows."
    ).format(area=area)
    return text + ("\n" + _("Notices will arrive in this topic.") if topic_ref else "")


async def refuse(message: Message, session: AsyncSession, services: Services, bot: Bot) -> None:
    await note_refused_registration(
        session=session,
        chat_ref=str(message.chat.id),
        title=message.chat.title or "",
        reason="the bot may not send messages in this group",
    )
    await session.commit()
    await tell_leader(
        message,
        services,
        _(
            "Loa may not send messages in this group, so the group is not registered yet. "
            "Please allow Loa to send messages (or make it an administrator) in the group "
            "settings, then send again: {command}"
        ).format(command=await how_to_register(bot)),
    )


async def removed(event: ChatMemberUpdated, session: AsyncSession, services: Services) -> None:
    who = event.from_user.full_name if event.from_user else "?"
    await deactivate_channel_by_chat(
        session=session,
        bot_id=services.bot_account_id,
        chat_ref=str(event.chat.id),
        reason=f"bot removed from the group by {who}",
    )


async def added(event: ChatMemberUpdated, services: Services, bot: Bot) -> None:
    text = _(
        "Hello! I am Loa, the ward's loudspeaker: I bring the ward's notices to this group. "
        "The group leader, please send {command} (the code from the ward) so that the group "
        "starts receiving notices."
    ).format(command=await how_to_register(bot))
    if event.chat.is_forum:
        text += "\n" + _("Send it in the topic where notices should arrive.")
    try:
        await services.outbox.send(event.chat.id, Screen.plain(text))
    except TelegramAPIError as exc:  # a courtesy: the General topic may be closed
        log.info("no greeting in chat %s: %s", event.chat.id, exc)


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({"group", "supergroup"}))
    # Command() checks an @mention against the bot's own username (getMe, cached).
    router.message.register(register, Command(*REGISTER_COMMANDS, ignore_case=True))
    router.my_chat_member.register(removed, ChatMemberUpdatedFilter(IS_MEMBER >> IS_NOT_MEMBER))
    router.my_chat_member.register(
        added,
        ChatMemberUpdatedFilter(IS_NOT_MEMBER >> IS_MEMBER),
        F.chat.type.in_({"group", "supergroup"}),
    )
    return router
