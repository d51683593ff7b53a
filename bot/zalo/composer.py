"""`ZaloComposer`: a ward official composes a notice in a private Zalo chat, by numbered
text menus (Zalo has no buttons, callbacks or edits).

The steps are the Telegram wizard's (`bot.handlers.compose`), over the same domain calls
(`broadcasts.compose`): the text → the AI step's review (renditions, warnings, facts to
check, edit, mask, urgent) → the areas from the ward's tree (`broadcasts.picker`, a
numbered page) → now, a typed time or a repeat (`broadcasts.compose.read_when`) → the
confirmation with the «Đã nhận» deadline (`confirm_notice`: the ward's approval rules) →
later «TT» for the counts per khu phố. Only the screens differ (`bot.zalo.screens`).

The wizard lives in the database (`broadcasts.chat_wizards`), so a restart resumes it,
and expires after `LOA_ZALO__WIZARD_TIMEOUT_MINUTES`. Every reply is read against the
numbers the last screen showed (kept with the wizard); «0» drops the draft at every
step; anything else gets a polite re-prompt with the same choices. Each reply makes its
domain change and commits before the answer is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ack_texts import QUICK_DEADLINE_HOUR, deadline_choice_line, deadline_choices
from bot.handlers.errors import explain
from bot.texts import withdrawal_text
from bot.views import repeat_of
from bot.wizard import Wizard, picked, warnings_of
from bot.zalo import screens
from broadcasts.chat_wizards import (
    WizardState,
    clear_wizard,
    has_wizard,
    load_wizard,
    save_wizard,
)
from broadcasts.compose import (
    choose_targets,
    confirm_notice,
    confirm_renditions,
    edit_rendition,
    has_private_data,
    mask_draft,
    prepare_draft,
    read_when,
    target_summary,
    toggle_urgent,
    unchecked_locales,
)
from broadcasts.db import session_scope
from broadcasts.deadlines import NO_DEADLINE, by_minutes, by_time
from broadcasts.errors import InvalidInput, LoaError, NoApprover, NotFound, PastTime
from broadcasts.models import Approval, Official, utcnow
from broadcasts.notices import (
    get_notice,
    notice_progress,
    recent_notices,
    renditions_of,
    withdraw_notice,
)
from broadcasts.picker import area_picker
from broadcasts.policy import get_policy, is_approver
from broadcasts.recurrence import QUICK_REPEATS, quick_month_day
from broadcasts.reminders import notice_acks_by_area
from broadcasts.reply_acks import folded
from broadcasts.settings import Settings
from broadcasts.timeparse import next_local_hour, parse_deadline

# A Zalo screen holds far more than a keyboard: 15 areas a page stay well within 2,000.
PAGE_SIZE = 15
# Shorter than this, a message from an idle official is not taken for a notice.
MIN_NOTICE_CHARS = 20
STATUS_NOTICES = 3

_NUMBERS = re.compile(r"^\d+(?: \d+)*$")
_OPEN = re.compile(r"^(?:m|mo) ?(\d+)$")
_STATUS = re.compile(r"^(?:tt|tinh trang|trang thai)(?: (\d+))?$")
_CANCEL_NOTICE = re.compile(r"^huy (?:tb |thong bao )?(\d+)$")
_DONE = ("xong", "ok", "tiep", "tiep tuc", "x")
_ALL = ("tat ca", "ca phuong", "all")
_NEXT = ("s", "sau", "trang sau")
_PREVIOUS = ("t", "truoc", "trang truoc")
_BACK = ("q", "quay lai")
_CANCEL = ("0", "huy", "/huy", "cancel")

Plan = Callable[[int, datetime], None]


@dataclass(slots=True)
class _Turn:
    """One message of an official, as every step reads it: the session it is answered in,
    who wrote it, in which chat, its text and its folded form (`word`)."""

    session: AsyncSession
    official: Official
    chat_ref: str
    text: str = ""
    word: str = ""


class ZaloWizard(Wizard):
    """The Telegram wizard's data, and what the last screen numbered."""

    options: list[str] = Field(default_factory=list)  # the keys of choices 1, 2, …
    items: list[int] = Field(default_factory=list)  # the picker page's areas 1, 2, …


class ZaloComposer:
    """The compose flow of one Zalo bot's officials."""

    def __init__(
        self,
        *,
        account_id: int,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        i18n: I18n,
    ) -> None:
        self.account_id = account_id
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.i18n = i18n
        # The scheduler's, once the runtime has one.
        self.plan: Plan = lambda _id, _at: None
        self.unplan: Callable[[int], None] = lambda _id: None

    @property
    def timezone(self) -> str:
        return self.settings.timezone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def timeout(self) -> timedelta:
        return timedelta(minutes=self.settings.zalo.wizard_timeout_minutes)

    async def has_wizard(self, chat_ref: str) -> bool:
        async with session_scope(self.sessionmaker) as session:
            return await has_wizard(session=session, bot_id=self.account_id, chat_ref=chat_ref)

    def help_text(self, official: Official) -> str:
        with self.i18n.context(), self.i18n.use_locale(official.locale):
            return screens.official_help(official.name)

    async def reply(self, official: Official, chat_ref: str, text: str) -> list[str]:
        """The answers to one message of `official` in their private chat."""
        with self.i18n.context(), self.i18n.use_locale(official.locale):
            async with session_scope(self.sessionmaker) as session:
                turn = _Turn(session, official, chat_ref, text, folded(text))
                try:
                    return await self._reply(turn)
                except LoaError as exc:
                    await session.rollback()
                    return await self._after_error(turn, exc)

    async def _after_error(self, turn: _Turn, error: LoaError) -> list[str]:
        """Why it did not work, over the step the official is at (nothing changed)."""
        hint = self._explain(error)
        state = await self._load(turn)
        if state is None or state.expired:
            return [hint]
        wizard = ZaloWizard.model_validate(state.data)
        return await self._redraw(turn, wizard, state.step, hint)

    def _explain(self, error: LoaError) -> str:
        if isinstance(error, NoApprover):
            return _(
                "This ward's notices must be approved by a ward leader before they go out, "
                "but no leader has been given the approver role in Loa yet. Please ask the "
                "person in charge of Loa at the ward to assign one, then type 1 again."
            )
        return screens.plain(explain(error))

    async def _load(self, turn: _Turn) -> WizardState | None:
        return await load_wizard(
            session=turn.session,
            bot_id=self.account_id,
            chat_ref=turn.chat_ref,
            timeout=self.timeout,
        )

    async def _reply(self, turn: _Turn) -> list[str]:
        state = await self._load(turn)
        told: list[str] = []
        if state is not None and state.expired:
            wizard = ZaloWizard.model_validate(state.data)
            await self._withdraw(turn, wizard.notice_id)
            minutes = self.settings.zalo.wizard_timeout_minutes
            told.append(screens.expired_text(wizard.notice_id, minutes))
            state = None
        if state is None:
            return told + await self._idle(turn)
        wizard = ZaloWizard.model_validate(state.data)
        if not turn.text.strip():  # a photo or a sticker: the same step again, with why
            hint = _("Loa reads only typed text here. Please type one of the choices:")
            return await self._redraw(turn, wizard, state.step, hint)
        if turn.word in _CANCEL:
            await self._withdraw(turn, wizard.notice_id)
            await clear_wizard(session=turn.session, bot_id=self.account_id, chat_ref=turn.chat_ref)
            await turn.session.commit()
            return [screens.dropped_text(wizard.notice_id)]
        step = getattr(self, f"_at_{state.step}")
        answers: list[str] = await step(turn, wizard)
        return answers

    async def _redraw(self, turn: _Turn, wizard: ZaloWizard, step: str, hint: str) -> list[str]:
        """The step the official is at, again, under `hint`."""
        if step == "targets":
            return await self._picker(turn, wizard, hint)
        if step == "when":
            return await self._when(turn, wizard, hint=hint)
        if step == "time":
            return [screens.time_prompt(timezone=self.timezone, hint=hint)]
        if step == "confirm":
            return await self._confirm(turn, wizard, hint)
        if step == "edit":
            return [f"{hint}\n{screens.edit_prompt(wizard.edit_locale)}"]
        return await self._review(turn, wizard, hint=hint)

    # -- idle: a new notice, or the status ---------------------------------------------

    async def _idle(self, turn: _Turn) -> list[str]:
        status = _STATUS.match(turn.word)
        if status is not None:
            return [await self._status(turn, int(status[1] or 0))]
        cancel = _CANCEL_NOTICE.match(turn.word)
        if cancel is not None:
            return [await self._cancel(turn, int(cancel[1]))]
        if turn.word in _CANCEL:
            return [_("There is no notice being written right now.")]
        if len(turn.text.strip()) < MIN_NOTICE_CHARS:
            return [screens.official_help(turn.official.name)]
        draft = await prepare_draft(
            session=turn.session,
            ward_id=turn.official.ward_id,
            official_id=turn.official.id,
            text=turn.text,
            ai=self.settings.ai,
            actor=f"official:{turn.official.id}:{turn.official.name}",
        )
        wizard = ZaloWizard(notice_id=draft.notice.id or 0, warnings=warnings_of(draft))
        return await self._review(turn, wizard, renditions=True)

    async def _cancel(self, turn: _Turn, notice_id: int) -> str:
        """«HUY 5»: the official's own notice, if it has not gone out, is cancelled."""
        notice = await get_notice(session=turn.session, notice_id=notice_id)
        if notice.official_id != turn.official.id:
            raise NotFound(f"notice {notice_id} does not exist", notice_id=notice_id)
        outcome = await withdraw_notice(
            session=turn.session,
            ward_id=turn.official.ward_id,
            notice_id=notice_id,
            actor=f"zalo:{turn.official.user_ref}",
        )
        await turn.session.commit()
        if outcome.cancelled:
            self.unplan(notice_id)
        return screens.plain(withdrawal_text(outcome, timezone=self.timezone))

    async def _status(self, turn: _Turn, notice_id: int) -> str:
        notices = await recent_notices(
            session=turn.session, official_id=turn.official.id or 0, limit=STATUS_NOTICES
        )
        if notice_id:
            notices = [n for n in notices if n.id == notice_id] or [
                n
                for n in await recent_notices(
                    session=turn.session, official_id=turn.official.id or 0, limit=100
                )
                if n.id == notice_id
            ]
        blocks = []
        for notice in notices:
            progress = await notice_progress(session=turn.session, notice_id=notice.id or 0)
            acks = None
            if progress.total:
                acks = await notice_acks_by_area(session=turn.session, notice_id=notice.id or 0)
            blocks.append(screens.status_lines(notice, progress, acks, timezone=self.timezone))
        return screens.status_screen(blocks)

    # -- review ------------------------------------------------------------------------

    async def _review(
        self,
        turn: _Turn,
        wizard: ZaloWizard,
        *,
        renditions: bool = False,
        hint: str = "",
    ) -> list[str]:
        notice = await get_notice(session=turn.session, notice_id=wizard.notice_id)
        by_locale = await renditions_of(session=turn.session, notice_id=wizard.notice_id)
        ordered = sorted(by_locale.values(), key=lambda r: (r.locale != "vi", r.locale))
        options = screens.review_options(
            locales=[r.locale for r in ordered],
            has_private=has_private_data([w.code for w in wizard.warnings]),
            has_flags=any(r.findings and not r.confirmed for r in ordered),
            urgent=notice.urgent,
        )
        wizard = wizard.model_copy(update={"options": [key for key, _label in options]})
        await self._save(turn, "review", wizard)
        answers = []
        if renditions:
            vi_text = by_locale["vi"].text if "vi" in by_locale else None
            answers = [
                screens.rendition_screen(r)
                for r in ordered
                if r.locale == "vi" or r.text != vi_text
            ]
        answers.append(
            screens.review_screen(
                notice_id=wizard.notice_id,
                warnings=[(w.code, w.detail, w.locale) for w in wizard.warnings],
                renditions=ordered,
                urgent=notice.urgent,
                options=options,
                hint=hint,
            )
        )
        return answers

    async def _at_review(self, turn: _Turn, wizard: ZaloWizard) -> list[str]:
        key = _chosen(wizard.options, turn.word)
        if key is None:
            return await self._review(turn, wizard, hint=screens.not_understood(turn.text))
        if key == "targets":
            if await unchecked_locales(session=turn.session, notice_id=wizard.notice_id):
                hint = _("Please check the facts marked ❗ first.")
                return await self._review(turn, wizard, hint=hint)
            wizard = wizard.model_copy(update={"view": 0, "page": 0, "query": ""})
            return await self._picker(turn, wizard)
        if key == "checked":
            await confirm_renditions(session=turn.session, notice_id=wizard.notice_id)
            return await self._review(turn, wizard)
        if key == "mask":
            draft = await mask_draft(
                session=turn.session, notice_id=wizard.notice_id, ai=self.settings.ai
            )
            wizard = wizard.model_copy(update={"warnings": warnings_of(draft)})
            return await self._review(turn, wizard, renditions=True)
        if key == "urgent":
            notice = await toggle_urgent(session=turn.session, notice_id=wizard.notice_id)
            hint = _("🚨 Marked as urgent.") if notice.urgent else _("Urgent mark removed.")
            return await self._review(turn, wizard, hint=hint)
        locale = key.split(":", 1)[1]  # "edit:<locale>"
        wizard = wizard.model_copy(update={"edit_locale": locale, "options": []})
        await self._save(turn, "edit", wizard)
        return [screens.edit_prompt(locale)]

    async def _at_edit(self, turn: _Turn, wizard: ZaloWizard) -> list[str]:
        await edit_rendition(
            session=turn.session,
            notice_id=wizard.notice_id,
            locale=wizard.edit_locale,
            text=turn.text,
        )
        return await self._review(turn, wizard, renditions=True)

    # -- targets -----------------------------------------------------------------------

    async def _picker(
        self,
        turn: _Turn,
        wizard: ZaloWizard,
        hint: str = "",
    ) -> list[str]:
        picker = await area_picker(
            session=turn.session,
            ward_id=turn.official.ward_id,
            selected=wizard.selected,
            view=wizard.view,
            page=wizard.page,
            query=wizard.query,
            page_size=PAGE_SIZE,
        )
        wizard = wizard.model_copy(
            update={"items": [item.id for item in picker.items], "page": picker.page}
        )
        await self._save(turn, "targets", wizard)
        return [screens.picker_screen(picker, hint=hint)]

    async def _at_targets(self, turn: _Turn, wizard: ZaloWizard) -> list[str]:
        opened = _OPEN.match(turn.word)
        if turn.word in _DONE:
            if not wizard.selected:
                hint = _("No khu phố or tổ is chosen yet.")
                return await self._picker(turn, wizard, hint)
            await choose_targets(
                session=turn.session, notice_id=wizard.notice_id, area_ids=wizard.selected
            )
            return await self._when(turn, wizard)
        if turn.word in _ALL:
            wizard = picked(wizard, action="toggle", area_id=turn.official.ward_id)
        elif turn.word in _NEXT:
            wizard = picked(wizard, action="page", area_id=wizard.page + 1)
        elif turn.word in _PREVIOUS:
            wizard = picked(wizard, action="page", area_id=wizard.page - 1)
        elif turn.word in _BACK:
            wizard = picked(wizard, action="clear" if wizard.query else "back", area_id=0)
        elif opened is not None:
            number = int(opened[1])
            if not 1 <= number <= len(wizard.items):
                hint = screens.no_such_number(number)
                return await self._picker(turn, wizard, hint)
            wizard = picked(wizard, action="open", area_id=wizard.items[number - 1])
            wizard = wizard.model_copy(update={"query": ""})
        elif _NUMBERS.match(turn.word):
            numbers = [int(n) for n in turn.word.split()]
            wrong = next((n for n in numbers if not 1 <= n <= len(wizard.items)), None)
            if wrong is not None:
                hint = screens.no_such_number(wrong)
                return await self._picker(turn, wizard, hint)
            for number in dict.fromkeys(numbers):
                wizard = picked(wizard, action="toggle", area_id=wizard.items[number - 1])
        else:  # a name: search the tree, as on Telegram
            wizard = wizard.model_copy(update={"query": turn.text.strip(), "page": 0, "view": 0})
        return await self._picker(turn, wizard)

    # -- when --------------------------------------------------------------------------

    async def _when(
        self,
        turn: _Turn,
        wizard: ZaloWizard,
        *,
        hint: str = "",
    ) -> list[str]:
        target = await target_summary(session=turn.session, notice_id=wizard.notice_id)
        options = screens.when_options(quick_month_day(timezone=self.timezone))
        wizard = wizard.model_copy(update={"options": [key for key, _label in options]})
        await self._save(turn, "when", wizard)
        return [screens.when_screen(target, options=options, timezone=self.timezone, hint=hint)]

    async def _at_when(self, turn: _Turn, wizard: ZaloWizard) -> list[str]:
        key = _chosen(wizard.options, turn.word)
        if key == "now":
            wizard = wizard.model_copy(update={"at": None, "rrule": None})
            return await self._confirm(turn, wizard)
        if key in QUICK_REPEATS:
            wizard = wizard.model_copy(update={"at": None, "rrule": QUICK_REPEATS[key]})
            return await self._confirm(turn, wizard)
        if key == "later":
            await self._save(turn, "time", wizard)
            return [screens.time_prompt(timezone=self.timezone)]
        if _NUMBERS.match(turn.word):  # a number that is not a choice
            return await self._when(turn, wizard, hint=screens.not_understood(turn.text))
        return await self._typed_time(turn, wizard, step="when")

    async def _at_time(self, turn: _Turn, wizard: ZaloWizard) -> list[str]:
        return await self._typed_time(turn, wizard, step="time")

    async def _typed_time(self, turn: _Turn, wizard: ZaloWizard, *, step: str) -> list[str]:
        try:
            when = read_when(turn.text, timezone=self.timezone)
        except InvalidInput as exc:
            hint = screens.time_error(exc, turn.text, timezone=self.timezone)
            if step == "when":
                return await self._when(turn, wizard, hint=hint)
            return [screens.time_prompt(timezone=self.timezone, hint=hint)]
        wizard = wizard.model_copy(update={"at": when.at, "rrule": when.rrule})
        return await self._confirm(turn, wizard)

    # -- confirm -----------------------------------------------------------------------

    async def _confirm(
        self,
        turn: _Turn,
        wizard: ZaloWizard,
        hint: str = "",
    ) -> list[str]:
        summary = await target_summary(session=turn.session, notice_id=wizard.notice_id)
        start = wizard.at or utcnow()
        by = next_local_hour(start, QUICK_DEADLINE_HOUR, timezone=self.timezone)
        tomorrow = by.astimezone(self.zone).date() > start.astimezone(self.zone).date()
        deadlines = [
            (
                f"deadline:{action}:{value}",
                screens.deadline_label(action, QUICK_DEADLINE_HOUR, tomorrow=tomorrow),
            )
            for _label, action, value, chosen in deadline_choices(
                wizard.deadline, start=start, timezone=self.timezone
            )
            if not chosen
        ]
        options = screens.confirm_options(scheduled=wizard.at is not None, deadlines=deadlines)
        wizard = wizard.model_copy(update={"options": [key for key, _label in options]})
        await self._save(turn, "confirm", wizard)
        notice = await get_notice(session=turn.session, notice_id=wizard.notice_id)
        warnings = [
            "⚠️ " + screens.plain(screens.zalo_warning(w.code, w.detail, w.locale))
            for w in wizard.warnings
        ]
        if notice.urgent:
            warnings.insert(
                0, _("🚨 URGENT: the groups will see this notice marked urgent, and it goes first.")
            )
        question = screens.confirm_question(
            summary,
            at=wizard.at,
            repeat=repeat_of(wizard, timezone=self.timezone),
            timezone=self.timezone,
        )
        return [
            screens.confirm_screen(
                question=question,
                deadline_line=screens.plain(
                    deadline_choice_line(wizard.deadline, start=start, timezone=self.timezone)
                ),
                approval_line=await self._approval_line(turn, urgent=notice.urgent),
                warnings=warnings,
                options=[(key, label) for key, label in options],
                hint=hint,
            )
        ]

    async def _approval_line(self, turn: _Turn, *, urgent: bool) -> str:
        policy = await get_policy(session=turn.session, ward_id=turn.official.ward_id)
        if not policy.needs_approval or is_approver(turn.official, turn.official.ward_id):
            return ""
        if urgent and policy.urgent_skips_approval:
            return _("🚨 Urgent: it goes out without waiting for approval; the leaders are told.")
        return _("📨 The ward's leaders approve it before it goes out.")

    async def _at_confirm(self, turn: _Turn, wizard: ZaloWizard) -> list[str]:
        key = _chosen(wizard.options, turn.word)
        if key == "send":
            return await self._send(turn, wizard)
        if key == "when":
            return await self._when(turn, wizard)
        if key is not None and key.startswith("deadline:"):
            _prefix, action, number = key.split(":")
            if action == "m":
                choice = by_minutes(int(number))
            elif action == "by":
                choice = by_time(datetime.fromtimestamp(int(number), UTC))
            else:
                choice = NO_DEADLINE
            wizard = wizard.model_copy(update={"deadline": choice})
            return await self._confirm(turn, wizard)
        if key is None and not _NUMBERS.match(turn.word):  # «trong 2 giờ», «trước 17h»
            try:
                value = parse_deadline(
                    turn.text, start=wizard.at or utcnow(), timezone=self.timezone
                )
            except PastTime:
                hint = _(
                    "The deadline must come after the notice is sent. Please choose a later one."
                )
                return await self._confirm(turn, wizard, hint)
            except InvalidInput:
                pass
            else:
                choice = by_minutes(value) if isinstance(value, int) else by_time(value)
                wizard = wizard.model_copy(update={"deadline": choice})
                return await self._confirm(turn, wizard)
        return await self._confirm(turn, wizard, hint=screens.not_understood(turn.text))

    async def _send(self, turn: _Turn, wizard: ZaloWizard) -> list[str]:
        try:
            notice = await confirm_notice(
                session=turn.session,
                notice_id=wizard.notice_id,
                at=wizard.at,
                rrule=wizard.rrule,
                deadline=wizard.deadline,
                deadline_setting=self.settings.notices.ack_deadline_minutes,
                actor=f"zalo:{turn.official.user_ref}",
            )
        except InvalidInput as exc:
            if exc.detail.get("reason") != "time_passed":
                raise
            await turn.session.rollback()
            hint = _("The chosen time has passed. Please choose another.")
            return await self._when(turn, wizard, hint=hint)
        summary = await target_summary(session=turn.session, notice_id=wizard.notice_id)
        await clear_wizard(session=turn.session, bot_id=self.account_id, chat_ref=turn.chat_ref)
        await turn.session.commit()
        if notice.approval != Approval.pending:
            self.plan(wizard.notice_id, notice.scheduled_at or utcnow())
        told = screens.sent_text(
            notice, now=wizard.at is None, groups=summary.groups, timezone=self.timezone
        )
        return [told]

    # -- helpers -----------------------------------------------------------------------

    async def _save(self, turn: _Turn, step: str, wizard: ZaloWizard) -> None:
        await save_wizard(
            session=turn.session,
            bot_id=self.account_id,
            chat_ref=turn.chat_ref,
            step=step,
            data=wizard.model_dump(mode="json"),
        )
        await turn.session.commit()

    async def _withdraw(self, turn: _Turn, notice_id: int) -> None:
        await withdraw_notice(
            session=turn.session,
            ward_id=turn.official.ward_id,
            notice_id=notice_id,
            actor=f"zalo:{turn.official.user_ref}",
        )


def _chosen(options: list[str], word: str) -> str | None:
    """The key of the numbered choice typed, None if it is not one of them."""
    if not word.isdigit():
        return None
    number = int(word)
    return options[number - 1] if 1 <= number <= len(options) else None
