"""Screens of the compose wizard that are shown more than once: review and the area tree."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import review_keyboard, tree_keyboard
from bot.texts import rendition_block, review_footer
from broadcasts.areas import AreaNode, area_tree
from broadcasts.compose import channel_counts
from broadcasts.models import Area
from broadcasts.notices import get_notice, renditions_of
from broadcasts.transports.telegram import TelegramTransport


async def show_review(
    message: Message, *, session: AsyncSession, notice_id: int, data: dict[str, Any]
) -> None:
    """Every rendition as it will be sent, then the warnings and the choices."""
    renditions = await renditions_of(session=session, notice_id=notice_id)
    ordered = sorted(renditions.values(), key=lambda r: (r.locale != "vi", r.locale))
    for r in ordered:
        block = rendition_block(r)
        limit = TelegramTransport.capabilities.max_text
        if len(block) > limit:
            block = block[: limit - 1] + "…"
        await message.answer(block, parse_mode="HTML")
    warnings = [tuple(w) for w in data.get("warnings", [])]
    has_private = any(w[0] in ("private_phone", "private_id_number") for w in warnings)
    has_flags = any(r.findings and not r.confirmed for r in ordered)
    await message.answer(
        review_footer(warnings=warnings, renditions=ordered),
        parse_mode="HTML",
        reply_markup=review_keyboard(
            locales=[r.locale for r in ordered], has_private=has_private, has_flags=has_flags
        ),
    )


def _index(nodes: list[AreaNode]) -> tuple[dict[int, AreaNode], dict[int, int]]:
    by_id: dict[int, AreaNode] = {}
    parent: dict[int, int] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        by_id[node.id] = node
        for child in node.children:
            parent[child.id] = node.id
            stack.append(child)
    return by_id, parent


async def show_tree(
    message: Message, *, session: AsyncSession, notice_id: int, data: dict[str, Any], edit: bool
) -> None:
    notice = await get_notice(session=session, notice_id=notice_id)
    ward = await session.get(Area, notice.ward_id)
    assert ward is not None
    roots = await area_tree(session=session, root_code=ward.code)
    by_id, parent = _index(roots)
    view = by_id.get(int(data.get("view") or 0))
    counts = await channel_counts(session=session, ward_id=notice.ward_id)
    if view is None or view.id == ward.id:
        nodes, up = roots + list(roots[0].children if roots else []), None
    else:
        nodes, up = [view, *view.children], by_id.get(parent.get(view.id, 0))
    text = _(
        "Choose the areas that should receive the notice. Tap a name to select it, "
        "› to see the groups inside."
    )
    markup = tree_keyboard(
        nodes=nodes, selected=set(data.get("selected", [])), parent=up, counts=counts
    )
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)
