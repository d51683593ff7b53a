"""Inline keyboards and their typed callback data (short prefixes: callback_data ≤ 64 bytes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from broadcasts.areas import AreaNode
from broadcasts.transports.telegram_wire import ACK_PREFIX, ACK_SEPARATOR


class ReviewCb(CallbackData, prefix="rv"):
    action: str  # targets / edit / mask / confirm / cancel
    locale: str = ""


class TreeCb(CallbackData, prefix="tr"):
    action: str  # toggle / open / back / done / cancel
    area_id: int = 0


class WhenCb(CallbackData, prefix="wh"):
    action: str  # now / later / cancel


class ConfirmCb(CallbackData, prefix="cf"):
    action: str  # send / cancel


class AckCb(CallbackData, prefix=ACK_PREFIX, sep=ACK_SEPARATOR):
    """The button the delivery engine draws; its format is `telegram_wire`'s, read back here."""

    delivery_id: int


def review_keyboard(
    *, locales: Sequence[str], has_private: bool, has_flags: bool
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if not has_flags:
        kb.button(text=_("➡️ Choose areas"), callback_data=ReviewCb(action="targets"))
    else:
        kb.button(text=_("✔️ I checked the facts"), callback_data=ReviewCb(action="confirm"))
    for locale in locales:
        kb.button(
            text=_("✏️ Edit ({locale})").format(locale=locale),
            callback_data=ReviewCb(action="edit", locale=locale),
        )
    if has_private:
        kb.button(text=_("🔒 Mask personal data"), callback_data=ReviewCb(action="mask"))
    kb.button(text=_("❌ Cancel"), callback_data=ReviewCb(action="cancel"))
    kb.adjust(1, *([2] * ((len(locales) + 1) // 2)), 1, 1)
    return kb.as_markup()


def tree_keyboard(
    *,
    nodes: Iterable[AreaNode],
    selected: set[int],
    parent: AreaNode | None,
    counts: dict[int, int],
) -> InlineKeyboardMarkup:
    """One level of the ward's tree: tap a name to toggle it, › to open its children."""
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    for node in nodes:
        mark = "✅" if node.id in selected else "▫️"
        label = f"{mark} {node.name} ({counts.get(node.id, 0)})"
        kb.button(text=label, callback_data=TreeCb(action="toggle", area_id=node.id))
        if node.children:
            kb.button(text="›", callback_data=TreeCb(action="open", area_id=node.id))
            sizes.append(2)
        else:
            sizes.append(1)
    if parent is not None:
        kb.button(text=_("‹ Back"), callback_data=TreeCb(action="back", area_id=parent.id))
        sizes.append(1)
    kb.button(text=_("➡️ Continue"), callback_data=TreeCb(action="done"))
    kb.button(text=_("❌ Cancel"), callback_data=TreeCb(action="cancel"))
    sizes.append(2)
    kb.adjust(*sizes)
    return kb.as_markup()


def when_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🚀 Send now"), callback_data=WhenCb(action="now"))
    kb.button(text=_("⏰ Schedule"), callback_data=WhenCb(action="later"))
    kb.button(text=_("❌ Cancel"), callback_data=WhenCb(action="cancel"))
    kb.adjust(2, 1)
    return kb.as_markup()


def confirm_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Confirm"), callback_data=ConfirmCb(action="send"))
    kb.button(text=_("❌ Cancel"), callback_data=ConfirmCb(action="cancel"))
    kb.adjust(2)
    return kb.as_markup()
