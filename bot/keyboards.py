"""Inline keyboards and their typed callback data.

Telegram takes at most `MAX_CALLBACK_DATA_BYTES` of callback data and about 100 buttons
per keyboard (`_checked` holds every keyboard to both).
Wizard buttons carry the notice id (`n`) and the screen number (`v`, see `bot.wizard`),
and their prefix names the step (rv review, tr areas, wh when, cf confirm); the action
comes first, so that "rv:targets" starts the data of the review's
«Chọn nơi nhận» whatever the notice. A quick time under the time prompt carries its Unix
time (`at`, before `n` and `v`). Notice buttons (status message, /thongbao) carry
the notice id, and a confirmed new time its Unix time, so that they need no FSM state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.texts import cut, locale_name
from broadcasts.picker import Picker, PickerItem
from broadcasts.transports.telegram_wire import (
    ACK_PREFIX,
    ACK_SEPARATOR,
    MAX_CALLBACK_DATA_BYTES,
)

MAX_BUTTONS = 100
LABEL_LENGTH = 60


class ReviewCb(CallbackData, prefix="rv"):
    action: str  # targets / edit / mask / confirm / urgent / cancel
    locale: str = ""
    n: int = 0
    v: int = 0


class TreeCb(CallbackData, prefix="tr"):
    action: str  # toggle / open / back / page / clear / done / cancel
    area_id: int = 0  # the page number for "page"
    n: int = 0
    v: int = 0


class WhenCb(CallbackData, prefix="wh"):
    action: str  # now / later / at (a quick time) / weekly / monthly (from now) / cancel
    at: int = 0  # Unix time of a quick time, for "at"
    n: int = 0
    v: int = 0


class ConfirmCb(CallbackData, prefix="cf"):
    action: str  # send / when / cancel
    n: int = 0
    v: int = 0


class NoticeCb(CallbackData, prefix="nt"):
    # cancel / retime / remind (ask) · drop / move / nudge (confirmed) · keep (changed mind)
    action: str
    n: int
    at: int = 0  # Unix time of the new schedule, for "move"


class DeadlineCb(CallbackData, prefix="dl"):
    action: str  # m (minutes after sending) / by (a Unix time) / none
    value: int = 0
    n: int = 0
    v: int = 0


class AckListCb(CallbackData, prefix="al"):
    """«📋 Xem danh sách»: page `p` of who acknowledged notice `n` (`edit`: turn the page
    of the list message itself)."""

    n: int
    p: int = 0
    edit: bool = False


class ApprovalCb(CallbackData, prefix="ap"):
    action: str  # ok / fix / no (an approver decides) · edit (the writer edits, sends again)
    n: int


class AckCb(CallbackData, prefix=ACK_PREFIX, sep=ACK_SEPARATOR):
    """The button the delivery engine draws; its format is `telegram_wire`'s, read back here."""

    delivery_id: int


def _checked(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """A bug, never a user's doing, if this raises: the picker pages its areas, and the
    callback data holds only short ids."""
    buttons = [b for row in markup.inline_keyboard for b in row]
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"{len(buttons)} buttons on one keyboard (Telegram takes {MAX_BUTTONS})")
    for b in buttons:
        if b.callback_data and len(b.callback_data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(
                f"callback data over {MAX_CALLBACK_DATA_BYTES} bytes: {b.callback_data}"
            )
    return markup


def review_keyboard(
    *,
    locales: Sequence[str],
    has_private: bool,
    has_flags: bool,
    n: int,
    v: int,
    urgent: bool = False,
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if not has_flags:
        kb.button(
            text=_("➡️ Choose who receives it"), callback_data=ReviewCb(action="targets", n=n, v=v)
        )
    else:
        kb.button(
            text=_("✔️ I checked the facts"), callback_data=ReviewCb(action="confirm", n=n, v=v)
        )
    for locale in locales:
        kb.button(
            text=_("✏️ Edit the {language} text").format(language=locale_name(locale)),
            callback_data=ReviewCb(action="edit", locale=locale, n=n, v=v),
        )
    if has_private:
        kb.button(
            text=_("🔒 Mask phone and ID numbers"), callback_data=ReviewCb(action="mask", n=n, v=v)
        )
    kb.button(
        text=_("Remove the urgent mark") if urgent else _("🚨 Mark as urgent"),
        callback_data=ReviewCb(action="urgent", n=n, v=v),
    )
    kb.button(text=_("❌ Cancel"), callback_data=ReviewCb(action="cancel", n=n, v=v))
    kb.adjust(1)
    return _checked(kb.as_markup())


def _mark(item: PickerItem) -> str:
    return "✅" if item.selected else ("☑️" if item.covered else "▫️")


def _groups(count: int) -> str:
    return ngettext("{count} group", "{count} groups", count).format(count=count)


def picker_keyboard(picker: Picker, *, n: int, v: int) -> InlineKeyboardMarkup:
    """One page of the picker: whole ward and opened khu phố first, then the page's areas."""
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []

    def add(text: str, action: str, area_id: int = 0) -> None:
        kb.button(
            text=cut(text, LABEL_LENGTH),
            callback_data=TreeCb(action=action, area_id=area_id, n=n, v=v),
        )

    ward = picker.ward
    add(
        f"{_mark(ward)} " + _("📢 Whole ward · {groups}").format(groups=_groups(ward.groups)),
        "toggle",
        ward.id,
    )
    sizes.append(1)
    if picker.opened is not None:
        kp = picker.opened
        add(
            f"{_mark(kp)} "
            + _("📢 All of {name} · {groups}").format(name=kp.name, groups=_groups(kp.groups)),
            "toggle",
            kp.id,
        )
        sizes.append(1)
    for item in picker.items:
        where = f" ({item.parent_name})" if picker.query and item.parent_name else ""
        add(f"{_mark(item)} {item.name}{where} · {_groups(item.groups)}", "toggle", item.id)
        if item.has_children and not picker.query:
            add(_("Open ›"), "open", item.id)
            sizes.append(2)
        else:
            sizes.append(1)
    turns = []
    if picker.page > 0:
        turns.append((_("‹ Previous page"), picker.page - 1))
    if picker.page + 1 < picker.pages:
        turns.append((_("Next page ›"), picker.page + 1))
    for label, page in turns:
        add(label, "page", page)
    if turns:
        sizes.append(len(turns))
    if picker.opened is not None:
        add(_("‹ Back"), "back")
        sizes.append(1)
    if picker.query:
        add(_("✖️ Clear the search"), "clear")
        sizes.append(1)
    add(_("➡️ Done, continue"), "done")
    add(_("❌ Cancel"), "cancel")
    sizes.append(2)
    kb.adjust(*sizes)
    return _checked(kb.as_markup())


def when_keyboard(*, n: int, v: int, month_day: int | None = None) -> InlineKeyboardMarkup:
    """Now, later, or repeating from now: weekly at this time, monthly on this day (offered
    when every month has the day, `month_day`)."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🚀 Send now"), callback_data=WhenCb(action="now", n=n, v=v))
    kb.button(text=_("⏰ Schedule"), callback_data=WhenCb(action="later", n=n, v=v))
    kb.button(text=_("🔁 Every week at this time"), callback_data=WhenCb(action="weekly", n=n, v=v))
    if month_day is not None:
        kb.button(
            text=_("🔁 Every month on day {day}").format(day=month_day),
            callback_data=WhenCb(action="monthly", n=n, v=v),
        )
    kb.button(text=_("❌ Cancel"), callback_data=WhenCb(action="cancel", n=n, v=v))
    kb.adjust(2, 2 if month_day is not None else 1, 1)
    return _checked(kb.as_markup())


def quick_time_label(key: str) -> str:
    labels = {
        "this_morning": _("This morning 7:00"),
        "tonight": _("Tonight 19:00"),
        "tomorrow_morning": _("Tomorrow morning 7:00"),
        "tomorrow_evening": _("Tomorrow evening 19:00"),
    }
    return labels.get(key, key)


def time_keyboard(
    quick: Sequence[tuple[str, datetime]], *, n: int, v: int
) -> InlineKeyboardMarkup | None:
    """Under the time prompt: the quick times still ahead, two a row."""
    if not quick:
        return None
    kb = InlineKeyboardBuilder()
    for key, at in quick:
        kb.button(
            text=quick_time_label(key),
            callback_data=WhenCb(action="at", n=n, v=v, at=int(at.timestamp())),
        )
    kb.adjust(2)
    return _checked(kb.as_markup())


def confirm_keyboard(*, scheduled: bool, n: int, v: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    label = _("✅ Schedule it") if scheduled else _("✅ Send")
    kb.button(text=label, callback_data=ConfirmCb(action="send", n=n, v=v))
    kb.button(text=_("🕑 Change the time"), callback_data=ConfirmCb(action="when", n=n, v=v))
    kb.button(text=_("❌ Cancel"), callback_data=ConfirmCb(action="cancel", n=n, v=v))
    kb.adjust(1, 2)
    return _checked(kb.as_markup())


def notice_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    """Under a scheduled notice's status (live message or /thongbao)."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("❌ Cancel the notice"), callback_data=NoticeCb(action="cancel", n=notice_id))
    kb.button(text=_("🕑 Change the time"), callback_data=NoticeCb(action="retime", n=notice_id))
    kb.adjust(2)
    return _checked(kb.as_markup())


def drop_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("❌ Yes, cancel it"), callback_data=NoticeCb(action="drop", n=notice_id))
    kb.button(text=_("↩️ No, keep it"), callback_data=NoticeCb(action="keep", n=notice_id))
    kb.adjust(2)
    return _checked(kb.as_markup())


def move_keyboard(notice_id: int, at: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✅ Yes, change it"), callback_data=NoticeCb(action="move", n=notice_id, at=at)
    )
    kb.button(text=_("↩️ Keep the old time"), callback_data=NoticeCb(action="keep", n=notice_id))
    kb.adjust(2)
    return _checked(kb.as_markup())


class AmendCb(CallbackData, prefix="am"):
    """A sent notice's «✏️ Đính chính» / «🗑 Thu hồi» (fix / recall: ask), their
    confirmations (fixok / rcok) and «↩️ Không» (no)."""

    action: str
    n: int


def amend_keyboard(notice_id: int, *, correct: bool = True) -> InlineKeyboardMarkup:
    """Under a sent notice's status (live message or /thongbao)."""
    kb = InlineKeyboardBuilder()
    if correct:
        kb.button(text=_("✏️ Correct"), callback_data=AmendCb(action="fix", n=notice_id))
    kb.button(text=_("🗑 Recall"), callback_data=AmendCb(action="recall", n=notice_id))
    kb.adjust(2)
    return _checked(kb.as_markup())


def remind_keyboard(
    notice_id: int, *, remind: bool = True, full_list: bool = False
) -> InlineKeyboardMarkup | None:
    """Under a sent notice's status: «🔔 Nhắc» while some groups have not acknowledged it,
    «📋 Xem danh sách» when the status could show only counts per area."""
    if not remind and not full_list:
        return None
    kb = InlineKeyboardBuilder()
    if remind:
        kb.button(
            text=_("🔔 Remind the groups that have not acknowledged"),
            callback_data=NoticeCb(action="remind", n=notice_id),
        )
    if full_list:
        kb.button(text=_("📋 See the list"), callback_data=AckListCb(n=notice_id))
    kb.adjust(1)
    return _checked(kb.as_markup())


def list_keyboard(notice_id: int, page: int, pages: int) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    kb = InlineKeyboardBuilder()
    if page > 0:
        kb.button(
            text=_("‹ Previous page"), callback_data=AckListCb(n=notice_id, p=page - 1, edit=True)
        )
    if page + 1 < pages:
        kb.button(
            text=_("Next page ›"), callback_data=AckListCb(n=notice_id, p=page + 1, edit=True)
        )
    kb.adjust(2)
    return _checked(kb.as_markup())


def _yes_no(yes: tuple[str, CallbackData], no: tuple[str, CallbackData]) -> InlineKeyboardMarkup:
    """A question's two answers side by side: do it, or leave it."""
    kb = InlineKeyboardBuilder()
    for text, data in (yes, no):
        kb.button(text=text, callback_data=data)
    kb.adjust(2)
    return _checked(kb.as_markup())


def recall_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    return _yes_no(
        (_("🗑 Yes, recall it"), AmendCb(action="rcok", n=notice_id)),
        (_("↩️ No, leave it"), AmendCb(action="no", n=notice_id)),
    )


def nudge_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    return _yes_no(
        (_("🔔 Yes, remind them"), NoticeCb(action="nudge", n=notice_id)),
        (_("↩️ Not now"), NoticeCb(action="keep", n=notice_id)),
    )


def correction_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    return _yes_no(
        (_("✅ Send the correction"), AmendCb(action="fixok", n=notice_id)),
        (_("↩️ No, leave it"), AmendCb(action="no", n=notice_id)),
    )


def with_deadline_buttons(
    markup: InlineKeyboardMarkup,
    choices: Sequence[tuple[str, str, int, bool]],
    *,
    n: int,
    v: int,
) -> InlineKeyboardMarkup:
    """The confirm keyboard with a row of quick «Đã nhận» deadlines: (label, action,
    value, chosen) each; the chosen one is ticked."""
    kb = InlineKeyboardBuilder.from_markup(markup)
    row = InlineKeyboardBuilder()
    for label, action, value, chosen in choices:
        row.button(
            text=("✓ " if chosen else "") + label,
            callback_data=DeadlineCb(action=action, value=value, n=n, v=v),
        )
    kb.attach(row.adjust(len(choices)))
    return _checked(kb.as_markup())


def joined(*markups: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The rows of several keyboards under one message, in order (None: no keyboard)."""
    rows = [row for markup in markups if markup is not None for row in markup.inline_keyboard]
    return _checked(InlineKeyboardMarkup(inline_keyboard=rows)) if rows else None


def approval_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    """Under an approver's request: approve, ask for changes, reject."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Approve"), callback_data=ApprovalCb(action="ok", n=notice_id))
    kb.button(text=_("✏️ Ask for changes"), callback_data=ApprovalCb(action="fix", n=notice_id))
    kb.button(text=_("❌ Reject"), callback_data=ApprovalCb(action="no", n=notice_id))
    kb.adjust(1, 2)
    return _checked(kb.as_markup())


def resend_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    """Under a notice an approver sent back: edit it and send it to approval again."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✏️ Edit and send again"), callback_data=ApprovalCb(action="edit", n=notice_id))
    return _checked(kb.as_markup())
