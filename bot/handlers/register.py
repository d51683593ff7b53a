"""Group chats: a leader registers the group for an area; removal deactivates it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import (
    IS_MEMBER,
    IS_NOT_MEMBER,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
)
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import Services
from broadcasts.channels import deactivate_channel_by_chat, register_channel
from broadcasts.models import Area


async def register(
    message: Message, command: CommandObject, session: AsyncSession, services: Services
) -> None:
    if not command.args:
        await message.answer(_("Please send the registration code too, like this: /register CODE"))
        return
    channel = await register_channel(
        session=session,
        code=command.args,
        bot_id=services.bot_account_id,
        chat_ref=str(message.chat.id),
        title=message.chat.title or "",
    )
    area = await session.get(Area, channel.area_id)
    await session.commit()  # stored before the leader is told so
    await message.answer(
        _(
            "✅ This group now receives the ward's notices for {area}. When a notice arrives, "
            "please press “Đã nhận” to confirm you have seen it."
        ).format(area=area.name if area else "")
    )


async def removed(event: ChatMemberUpdated, session: AsyncSession, services: Services) -> None:
    who = event.from_user.full_name if event.from_user else "?"
    await deactivate_channel_by_chat(
        session=session,
        bot_id=services.bot_account_id,
        chat_ref=str(event.chat.id),
        reason=f"bot removed from the group by {who}",
    )


async def added(event: ChatMemberUpdated) -> None:
    await event.answer(
        _(
            "Hello! I carry the ward's notices. The group leader should now send "
            "/register CODE with the code from the ward."
        )
    )


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({"group", "supergroup"}))
    router.message.register(register, Command("register", "dangky"))
    router.my_chat_member.register(removed, ChatMemberUpdatedFilter(IS_MEMBER >> IS_NOT_MEMBER))
    router.my_chat_member.register(
        added,
        ChatMemberUpdatedFilter(IS_NOT_MEMBER >> IS_MEMBER),
        F.chat.type.in_({"group", "supergroup"}),
    )
    return router
