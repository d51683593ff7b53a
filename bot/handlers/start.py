"""Private chat basics: /start CODE binds an official to a ward; /help; /cancel; /lang."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import Screen
from bot.services import Services
from bot.texts import unchanged_text, withdrawal_text
from bot.views import plain
from bot.wizard import At, Retime, Retiming, Wizard, load
from broadcasts.errors import CodeRejected
from broadcasts.invites import used_invite
from broadcasts.models import Official
from broadcasts.notices import withdraw_latest
from broadcasts.officials import register_official, set_official_locale


def stranger_text() -> str:
    return _(
        "Hello! This is Loa, the ward's channel for sending notices to the groups of its "
        "khu phố and tổ dân phố. Ward officials need an invite code (ask the ward office), "
        "then send: /start CODE"
    )


async def welcome(
    message: Message, command: CommandObject, session: AsyncSession, services: Services
) -> None:
    """/start CODE: the invite binds this Telegram user to the ward as an official."""
    assert message.from_user is not None
    async with services.attempts.guard(f"telegram:user:{message.from_user.id}"):
        official = await redeem(session, message, command.args or "", services.ward_id)
    if isinstance(official, str):  # the same code again: nothing changed
        await services.outbox.send(message.chat.id, plain(official))
        return
    await session.commit()  # stored before the official is told so
    text = _(
        "Welcome, {name}! From now on you can send the ward's notices here. Paste the "
        "notice's text and send it: Loa summarises it, you choose the khu phố/tổ and send."
    )
    await services.outbox.send(message.chat.id, plain(text.format(name=official.name)))


async def redeem(
    session: AsyncSession, message: Message, code: str, ward_id: int | None
) -> Official | str:
    """The official the code makes of the sender, or, when the sender already used this
    very code, what to tell them; any other refusal is raised for the error router."""
    assert message.from_user is not None
    user_ref = str(message.from_user.id)
    try:
        return await register_official(
            session=session,
            code=code,
            user_ref=user_ref,
            name=message.from_user.full_name,
            ward_id=ward_id,
        )
    except CodeRejected as exc:
        if exc.detail.get("reason") != "used" or not await used_invite(
            session=session, code=code, used_by=f"telegram:{user_ref}"
        ):
            raise
    return _("You are registered already: just send the text of a notice here.")


async def start(message: Message, official: Official | None, services: Services) -> None:
    if official is None:
        text = stranger_text()
    else:
        text = _("Hello {name}! Paste the text of a notice here to begin.")
        text = text.format(name=official.name)
    await services.outbox.send(message.chat.id, plain(text))


async def help_(message: Message, services: Services) -> None:
    text = _(
        "How to send a notice:\n"
        "1. Paste the notice's text and send it.\n"
        "2. Check what the groups will receive.\n"
        "3. Choose the khu phố / tổ that should receive it.\n"
        "4. Send now or choose a time.\n\n"
        "/notices – your latest notices, how many groups pressed «Đã nhận», and "
        "cancelling or moving a scheduled one.\n"
        "/cancel – drop the notice you are writing, or cancel the one you just scheduled.\n"
        "/report – a link to the ward's dashboard: every notice and who has received it."
    )
    await services.outbox.send(message.chat.id, plain(text))


async def cancel(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    official: Official | None,
    services: Services,
) -> None:
    """/huy tells what it did: nothing to cancel, draft dropped, schedule cancelled, or
    too late (sent or going out) and what to do instead."""
    wizard = await load(state, Wizard)
    notice_id = wizard.notice_id if wizard is not None else None
    outcome = await withdraw_latest(session=session, official=official, notice_id=notice_id)
    await session.commit()
    await state.clear()
    if outcome is not None and outcome.cancelled:
        services.unplan(outcome.notice_id)
        await services.refresh_status({outcome.notice_id})
    text = withdrawal_text(outcome, timezone=services.settings.timezone)
    await services.outbox.send(message.chat.id, plain(text))


async def stop_retiming(
    message: Message, retime: Retime, state: FSMContext, services: Services
) -> None:
    await state.clear()
    await services.outbox.send(message.chat.id, Screen(unchanged_text(retime.notice_id)))


async def language(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    official: Official | None,
    services: Services,
) -> None:
    choice = (command.args or "").strip().lower()
    if official is None or choice not in ("vi", "en"):
        text = _("Send /lang vi for Vietnamese or /lang en for English.")
    else:
        await set_official_locale(session=session, official_id=official.id or 0, locale=choice)
        await session.commit()
        text = "Đã chuyển sang tiếng Việt." if choice == "vi" else "Switched to English."
    await services.outbox.send(message.chat.id, plain(text))


async def unknown(message: Message, official: Official | None, services: Services) -> None:
    if official is None:
        text = stranger_text()
    elif (message.text or "").startswith("/"):
        text = _("There is no such command. Send /help to see the commands.")
    elif message.text is None:
        text = _("Loa cannot send photos or files yet. Please type or paste the notice's text.")
    else:
        text = _("Please send text, or /help to see what I can do.")
    await services.outbox.send(message.chat.id, plain(text))


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(welcome, CommandStart(magic=F.args))
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help", "trogiup"))
    router.message.register(
        stop_retiming,
        Command("cancel", "huy"),
        At(Retiming.when_text, model=Retime, key="retime"),
    )
    router.message.register(cancel, Command("cancel", "huy"))
    router.message.register(language, Command("lang", "ngonngu"))
    return router


def make_fallback_router() -> Router:
    fallback_router = Router(name=f"{__name__}.fallback")
    fallback_router.message.filter(F.chat.type == "private")
    fallback_router.message.register(unknown)
    return fallback_router
