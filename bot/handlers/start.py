"""Private chat basics: /start CODE binds an official to a ward; /help; /cancel; /lang."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.models import Official
from broadcasts.notices import cancel_notice
from broadcasts.officials import register_official, set_official_locale


async def start(
    message: Message, command: CommandObject, session: AsyncSession, official: Official | None
) -> None:
    if command.args:
        assert message.from_user is not None
        official = await register_official(
            session=session,
            code=command.args,
            user_ref=str(message.from_user.id),
            name=message.from_user.full_name,
        )
        await session.commit()  # stored before the official is told so
        await message.answer(
            _(
                "Welcome, {name}! You can now send notices for your ward.\n\n"
                "Just send me the text of a notice to begin."
            ).format(name=official.name)
        )
        return
    if official is None:
        await message.answer(
            _(
                "Hello! This bot sends the ward's notices to neighbourhood groups.\n"
                "To use it, ask the ward's administrator for an invite code, then send:\n"
                "/start CODE"
            )
        )
        return
    await message.answer(
        _("Hello {name}! Send me the text of a notice to begin.").format(name=official.name)
    )


async def help_(message: Message) -> None:
    await message.answer(
        _(
            "How to send a notice:\n"
            "1. Send me the notice's text.\n"
            "2. Check the summary and the translations.\n"
            "3. Choose the areas that should receive it.\n"
            "4. Send now or choose a time.\n\n"
            "/notices shows your recent notices and who has acknowledged them.\n"
            "/cancel stops what you are doing."
        )
    )


async def cancel(message: Message, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    await state.clear()
    notice_id = data.get("notice_id")
    if notice_id:
        await cancel_notice(session=session, notice_id=int(notice_id))
    await message.answer(_("Cancelled. Nothing was sent."))


async def language(
    message: Message, command: CommandObject, session: AsyncSession, official: Official | None
) -> None:
    choice = (command.args or "").strip().lower()
    if official is None or choice not in ("vi", "en"):
        await message.answer(_("Send /lang vi for Vietnamese or /lang en for English."))
        return
    await set_official_locale(session=session, official_id=official.id or 0, locale=choice)
    await message.answer("Đã chuyển sang tiếng Việt." if choice == "vi" else "Switched to English.")


async def unknown(message: Message, official: Official | None) -> None:
    if official is None:
        await message.answer(
            _(
                "To send notices you need an invite code from the ward's "
                "administrator. Then send: /start CODE"
            )
        )
    else:
        await message.answer(_("Please send text, or /help to see what I can do."))


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help", "trogiup"))
    router.message.register(cancel, Command("cancel", "huy"))
    router.message.register(language, Command("lang", "ngonngu"))
    return router


def make_fallback_router() -> Router:
    fallback_router = Router(name=f"{__name__}.fallback")
    fallback_router.message.filter(F.chat.type == "private")
    fallback_router.message.register(unknown)
    return fallback_router
