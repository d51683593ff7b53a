"""From an official's text to a reviewed draft: the AI step, renditions, edits, masking.

The bot's compose wizard (and the API's prepare route) call these; each is one domain
step the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.ai import (
    AISettings,
    Finding,
    Preparation,
    check_facts,
    check_length,
    mask_private,
    prepare_notice,
)
from broadcasts.ai.models import Warning
from broadcasts.approval import hold_for_approval
from broadcasts.areas import natural_key, subtree_condition, subtree_paths
from broadcasts.deadlines import set_ack_deadline
from broadcasts.errors import Conflict, InvalidInput
from broadcasts.models import Area, Channel, Notice, NoticeStatus, NoticeTarget, Rendition, utcnow
from broadcasts.notices import (
    RenditionInput,
    create_notice,
    get_notice,
    renditions_of,
    save_renditions,
    schedule_notice,
    set_status_message,
    set_targets,
    target_channels,
)
from broadcasts.recurrence import check_rule, is_repeat_text, read_repeat
from broadcasts.timeparse import parse_local_time


@dataclass(slots=True)
class Draft:
    notice: Notice
    preparation: Preparation


def review_warnings(preparation: Preparation) -> list[Warning]:
    """The warnings an official reviews, on every front. "AI is off" is how the ward set
    Loa up, not news: each rendition already names its source, and what it changes (no
    translation) has its own warning."""
    return [w for w in preparation.warnings if w.code != "ai_disabled"]


def has_private_data(codes: Sequence[str]) -> bool:
    """Whether the review offers to mask private phone or ID numbers."""
    return any(code in ("private_phone", "private_id_number") for code in codes)


@dataclass(frozen=True, slots=True)
class When:
    at: datetime  # the (first) time, UTC
    rrule: str | None = None  # repeating from `at`


def read_when(typed: str, *, timezone: str, now: datetime | None = None) -> When:
    """The time an official typed: one time («17h30 mai», «7h30 5/12») or a repeat
    («thứ Năm hằng tuần 18h»: its first time and its rule). Unreadable or past:
    `InvalidInput` (`UnreadableTime`, `PastTime`), said per kind by each front."""
    if is_repeat_text(typed):
        repeat = read_repeat(typed, now=now, timezone=timezone)
        return When(at=repeat.first, rrule=repeat.text)
    return When(at=parse_local_time(typed, now=now, timezone=timezone))


def finding_dict(f: Finding) -> dict[str, object]:
    return {"code": f.code, "value": f.value, "locale": f.locale}


async def ward_locales(*, session: AsyncSession, ward_id: int) -> list[str]:
    """Vietnamese first, then every other locale an active channel of the ward reads."""
    ward = await session.get(Area, ward_id)
    if ward is None:
        return ["vi"]
    rows = await session.scalars(
        select(col(Channel.locale))
        .join(Area, col(Area.id) == col(Channel.area_id))
        .where(col(Channel.active), subtree_condition(ward.path))
        .distinct()
    )
    others = sorted({loc for loc in rows if loc and loc != "vi"})
    return ["vi", *others]


async def prepare_draft(
    *,
    session: AsyncSession,
    ward_id: int,
    official_id: int | None,
    text: str,
    ai: AISettings,
    notice_id: int | None = None,
    locales: Sequence[str] | None = None,
    actor: str | None = None,
) -> Draft:
    """Run the AI step and store the draft with one rendition per locale.

    The locales default to those the ward's channels read (Vietnamese always first).
    """
    text = text.strip()
    if not text:
        raise InvalidInput("a notice needs some text")
    check_length(text, ai)  # before anything is stored: `NoticeTooLong`
    wanted = (
        ["vi", *[loc for loc in (locales or []) if loc != "vi"]]
        if locales
        else (await ward_locales(session=session, ward_id=ward_id))
    )
    prep = await prepare_notice(text, wanted, settings=ai)
    if notice_id is None:
        notice = await create_notice(
            session=session,
            ward_id=ward_id,
            official_id=official_id,
            text=text,
            title=prep.title,
            urgent=prep.urgent,
        )
        if actor is not None:  # the bot's compose (the API's route records its own)
            await audit.record(
                session=session, actor=actor, action="notice.compose", subject=f"notice:{notice.id}"
            )
    else:
        # Prepared again (masked): the urgency stays as it is, the official may have set it.
        notice = await get_notice(session=session, notice_id=notice_id)
        notice.text, notice.title = text, prep.title[:300]
        session.add(notice)
    assert notice.id is not None
    await save_renditions(
        session=session,
        notice_id=notice.id,
        renditions=[
            RenditionInput(
                locale=r.locale,
                text=r.text,
                source=r.source,
                findings=[finding_dict(f) for f in r.findings],
            )
            for r in prep.renditions.values()
        ],
    )
    return Draft(notice=notice, preparation=prep)


async def mask_draft(*, session: AsyncSession, notice_id: int, ai: AISettings) -> Draft:
    """Mask private ID and phone numbers in the source, then prepare again."""
    notice = await get_notice(session=session, notice_id=notice_id)
    return await prepare_draft(
        session=session,
        ward_id=notice.ward_id,
        official_id=notice.official_id,
        text=mask_private(notice.text),
        ai=ai,
        notice_id=notice_id,
    )


async def edit_rendition(
    *, session: AsyncSession, notice_id: int, locale: str, text: str
) -> Rendition:
    """The official's own text replaces a rendition; the fact guard checks it too."""
    notice = await get_notice(session=session, notice_id=notice_id)
    existing = await renditions_of(session=session, notice_id=notice_id)
    if locale not in existing:
        raise InvalidInput(f"the notice has no {locale} rendition")
    findings = [finding_dict(f) for f in check_facts(notice.text, text, locale)]
    inputs = [
        RenditionInput(
            locale=r.locale,
            text=r.text,
            source=r.source,
            findings=r.findings,
            confirmed=r.confirmed,
        )
        for r in existing.values()
        if r.locale != locale
    ]
    inputs.append(RenditionInput(locale=locale, text=text, source="edited", findings=findings))
    saved = await save_renditions(session=session, notice_id=notice_id, renditions=inputs)
    return next(r for r in saved if r.locale == locale)


async def confirm_renditions(*, session: AsyncSession, notice_id: int) -> None:
    """The official has checked the flagged facts and takes responsibility for them."""
    for r in (await renditions_of(session=session, notice_id=notice_id)).values():
        if r.findings and not r.confirmed:
            r.confirmed = True
            session.add(r)
    await session.flush()


async def unchecked_locales(*, session: AsyncSession, notice_id: int) -> list[str]:
    """Renditions with flagged facts the official has not checked yet."""
    renditions = await renditions_of(session=session, notice_id=notice_id)
    return sorted(r.locale for r in renditions.values() if r.findings and not r.confirmed)


@dataclass(frozen=True, slots=True)
class TargetSummary:
    names: list[str]  # the target areas (an area inside another left out), in code order
    groups: int  # active group chats that will receive the notice


async def target_summary(*, session: AsyncSession, notice_id: int) -> TargetSummary:
    area_ids = list(
        await session.scalars(
            select(col(NoticeTarget.area_id)).where(col(NoticeTarget.notice_id) == notice_id)
        )
    )
    paths = await subtree_paths(session=session, area_ids=area_ids)
    areas = list(await session.scalars(select(Area).where(col(Area.path).in_(paths))))
    parent_ids = {a.parent_id for a in areas if a.parent_id is not None}
    parents = {
        a.id: a for a in await session.scalars(select(Area).where(col(Area.id).in_(parent_ids)))
    }
    notice = await get_notice(session=session, notice_id=notice_id)
    names = []
    for area in sorted(areas, key=lambda a: natural_key(a.code)):
        parent = parents.get(area.parent_id or 0)
        inside = parent is not None and parent.id != notice.ward_id
        names.append(f"{area.name} ({parent.name})" if inside and parent else area.name)
    channels = await target_channels(session=session, notice_id=notice_id)
    return TargetSummary(names=names, groups=len(channels))


async def choose_targets(
    *, session: AsyncSession, notice_id: int, area_ids: Sequence[int]
) -> TargetSummary:
    """The areas the notice goes to (inside its ward), and who that reaches."""
    await set_targets(session=session, notice_id=notice_id, area_ids=area_ids)
    return await target_summary(session=session, notice_id=notice_id)


async def send_off(
    *,
    session: AsyncSession,
    notice_id: int,
    at: datetime | None,
    status_chat_ref: str | None = None,
    status_message_ref: str | None = None,
    actor: str = "",
    rrule: str | None = None,
) -> Notice:
    """Schedule the notice (for now when `at` is None; repeating by `rrule`), with the
    message that shows its progress to the official (none from the API). A time that
    passed while the official looked is refused (`reason="time_passed"`): the notice
    would go out at once instead. In a ward that needs approval it waits for an approver
    instead (`broadcasts.approval`), its time and repeat kept for the approval."""
    if at is not None and at <= utcnow():
        raise InvalidInput("the chosen time has passed", reason="time_passed")
    repeat = check_rule(rrule, start=at or utcnow()) if rrule else None
    if await hold_for_approval(session=session, notice_id=notice_id, at=at, actor=actor):
        # Waits for the ward's approvers (`Notice.approval == "pending"`): not scheduled.
        held = await get_notice(session=session, notice_id=notice_id)
        held.rrule = repeat.text if repeat is not None else None
        session.add(held)
        await _follow_on(session, notice_id, status_chat_ref, status_message_ref)
        return await get_notice(session=session, notice_id=notice_id)
    notice = await schedule_notice(session=session, notice_id=notice_id, at=at, rrule=rrule)
    await audit.record(
        session=session,
        actor=actor,
        action="notice.schedule",
        subject=f"notice:{notice_id}",
        at=at,
        now=at is None,
        rrule=notice.rrule,
    )
    await _follow_on(session, notice_id, status_chat_ref, status_message_ref)
    return notice


async def confirm_notice(
    *,
    session: AsyncSession,
    notice_id: int,
    at: datetime | None,
    rrule: str | None,
    deadline: str,
    deadline_setting: int | None,
    actor: str,
    status_chat_ref: str | None = None,
    status_message_ref: str | None = None,
) -> Notice:
    """The official's «Gửi»: scheduled (or held for approval, `send_off`) with its
    «Đã nhận» deadline (`deadline`: the wizard's choice, "" for the ward's default).
    The caller commits, then plans the notice unless it waits for approval."""
    notice = await send_off(
        session=session,
        notice_id=notice_id,
        at=at,
        status_chat_ref=status_chat_ref,
        status_message_ref=status_message_ref,
        actor=actor,
        rrule=rrule,
    )
    await set_ack_deadline(
        session=session, notice=notice, choice=deadline, setting=deadline_setting
    )
    return notice


async def _follow_on(
    session: AsyncSession, notice_id: int, chat_ref: str | None, message_ref: str | None
) -> None:
    """Remember the official's status message (none for a notice sent from the API)."""
    if chat_ref is not None and message_ref is not None:
        await set_status_message(
            session=session, notice_id=notice_id, chat_ref=chat_ref, message_ref=message_ref
        )


async def channel_counts(*, session: AsyncSession, ward_id: int) -> dict[int, int]:
    """Active channels under each area of the ward (its subtree included)."""
    ward = await session.get(Area, ward_id)
    if ward is None:
        return {}
    areas = list(await session.scalars(select(Area).where(subtree_condition(ward.path))))
    rows = await session.execute(
        select(col(Channel.area_id), func.count())
        .where(col(Channel.active), col(Channel.area_id).in_([a.id for a in areas]))
        .group_by(col(Channel.area_id))
    )
    own = {a: n for a, n in rows.all()}
    by_path = {a.path: a for a in areas}
    counts: dict[int, int] = {}
    for area in areas:
        n = own.get(area.id or 0, 0)
        if not n:
            continue
        # Credit every ancestor inside the ward (paths are code prefixes ending in "/").
        parts = area.path.rstrip("/").split("/")
        for i in range(len(parts), 0, -1):
            ancestor = by_path.get("/".join(parts[:i]) + "/")
            if ancestor is None:
                break
            counts[ancestor.id or 0] = counts.get(ancestor.id or 0, 0) + n
    return counts


async def set_urgent(*, session: AsyncSession, notice_id: int, urgent: bool) -> Notice:
    """The official's word on urgency: turn the detected flag on or off before it goes out
    (urgent notices go first and carry «🚨 KHẨN»)."""
    notice = await get_notice(session=session, notice_id=notice_id)
    if notice.status not in (NoticeStatus.draft, NoticeStatus.scheduled):
        raise Conflict(f"notice {notice_id} is {notice.status.value} and can no longer change")
    notice.urgent = urgent
    session.add(notice)
    await session.flush()
    return notice


async def toggle_urgent(*, session: AsyncSession, notice_id: int) -> Notice:
    """Turn the urgent mark on if it is off, off if it is on (see `set_urgent`)."""
    notice = await get_notice(session=session, notice_id=notice_id)
    return await set_urgent(session=session, notice_id=notice_id, urgent=not notice.urgent)
