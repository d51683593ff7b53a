"""Claiming due deliveries under a lease, and the lookups a claimed delivery needs.

A claim moves due deliveries (pending and due, or sending with an expired lease) to
`sending` with `lease_owner` = the worker and `lease_expires_at` = now + lease, in one
short statement: on PostgreSQL the rows are picked with `FOR UPDATE SKIP LOCKED`, so
several workers never claim the same row; SQLite has one writer at a time, so the single
`UPDATE … WHERE id IN (SELECT …) RETURNING` is already exclusive. Rows are taken by
priority (urgent first), then id, and at most `per_account` per bot account, so that one
ward's thousand channels do not fill a batch while the other wards' bots sit idle.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

# A module import: broadcasts.message imports broadcasts.delivery.split, whose package
# imports this module; the name is looked up when a message is rendered.
from broadcasts import message as group_message
from broadcasts.delivery.split import text_length
from broadcasts.i18n import ack_reply_hint
from broadcasts.models import (
    Area,
    Attachment,
    AttachmentFile,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Rendition,
)
from broadcasts.transports.base import Markup, TransportCapabilities

_CHUNK = 1000
_D: Any = Delivery  # SQLModel columns, typed loosely for SQLAlchemy's operators
_C: Any = Channel
_N: Any = Notice
_R: Any = Rendition
_A: Any = Area
_AT: Any = Attachment
_AF: Any = AttachmentFile


@dataclass(slots=True, eq=False)
class Job:
    """One claimed delivery, as the worker carries it from claim to recorded outcome."""

    id: int
    notice_id: int
    channel_id: int
    account_id: int
    locale: str
    priority: int
    attempts: int
    sent_refs: list[str] = field(default_factory=list)
    chat_ref: str = ""
    topic_ref: str | None = None  # the channel's forum topic, if any
    new_chat_ref: str | None = None  # set when the chat migrated while sending
    started: bool = False  # a part has gone to the transport: no longer safe to release
    # What the row asks for (`DeliveryKind`); a follow-up also carries its notice
    # delivery's message ids and when they were sent (`Delivery.target_refs`).
    kind: str = "notice"
    round: int = 0
    occurrence: int = 0
    parent_id: int | None = None
    target_refs: list[str] = field(default_factory=list)
    target_sent_at: datetime | None = None
    # File ids the transport gave for files it uploaded: (attachment id, bot id, file id),
    # written with the outcome so that later sends by this bot reuse them.
    new_file_refs: list[tuple[int, int, str]] = field(default_factory=list)
    # A reminder whose group acknowledged after it was queued (found at claim time):
    # the reminder handler records it cancelled instead of sending.
    acknowledged: bool = False
    # Claimed from another worker whose lease had run out (counted in the metrics).
    taken_over: bool = False


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    chat_ref: str
    active: bool
    inactive_reason: str | None
    topic_ref: str | None = None


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One attachment of a notice, as every delivery sends it: from the store
    (`storage_key` under the attachment directory) or by a bot's own file id (`refs`,
    bot id -> file id, filled in as uploads return them)."""

    attachment_id: int
    kind: str
    file_name: str
    mime_type: str
    storage_key: str
    refs: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class NoticeTexts:
    """What every delivery of one notice sends: its renditions and what frames them.

    `sender` is the ward's name, `sent_at` when the notice went out (the date line);
    `parts_for` renders the group message once per (locale, transport format) and keeps
    it, as one notice goes to up to 50,000 channels. On a transport without buttons
    (Zalo) the last part ends with how to acknowledge by a reply, within `max_text`."""

    status: NoticeStatus
    texts: dict[str, str]
    urgent: bool = False
    sender: str = ""
    sent_at: datetime | None = None
    files: tuple[FileInfo, ...] = ()  # attachments, in album order
    title: str = ""  # for follow-ups that name the notice («Thông báo #3 «…»»)
    # The engine's plan of a delivery without links of its own (`files.plan`), by locale
    # and transport: the same for each of the notice's deliveries, so made once.
    plans: dict[tuple[str, TransportCapabilities], Any] = field(default_factory=dict)
    _parts: dict[tuple[str, int, str, bool], tuple[str, ...]] = field(default_factory=dict)

    def text_for(self, locale: str) -> str | None:
        return self.texts.get(locale) or self.texts.get("vi")

    def parts_for(
        self,
        locale: str,
        capabilities: TransportCapabilities,
        *,
        limit: int | None = None,
        reserve: int = 0,
    ) -> tuple[tuple[str, ...], Markup] | None:
        """The messages a group of `locale` receives and their markup; None: no text.
        `limit` renders for a shorter message than the transport's (a caption); `reserve`
        keeps that many characters free at the end of the last part, for lines each
        delivery adds (its signed links, `broadcasts.delivery.files.plan`)."""
        text = self.text_for(locale)
        if text is None:
            return None
        markup: Markup = "html" if "html" in capabilities.markups else "plain"
        if limit is None:
            limit = capabilities.max_text
        limit -= reserve
        key = (locale, limit, markup, capabilities.has_buttons)
        parts = self._parts.get(key)
        if parts is None:
            sent_at = self.sent_at or datetime.now(UTC)
            if sent_at.tzinfo is None:  # stored as UTC
                sent_at = sent_at.replace(tzinfo=UTC)
            shown = locale if locale in self.texts else "vi"
            hint = "" if capabilities.has_buttons else ack_reply_hint(shown)
            if hint and markup == "html":
                hint = html.escape(hint)
            room = text_length(hint) + 2 if hint else 0
            parts = (
                tuple(
                    group_message.render_group_message(
                        text=text,
                        sender=self.sender,
                        sent_at=sent_at,
                        urgent=self.urgent,
                        limit=limit - room,
                        locale=shown,
                        markup=markup,
                    )
                )
                if text.strip()
                else ()
            )
            if hint and parts:
                parts = (*parts[:-1], f"{parts[-1]}\n\n{hint}")
            self._parts[key] = parts
        return parts, markup

    def caption_for(
        self, locale: str, capabilities: TransportCapabilities, *, reserve: int = 0
    ) -> str | None:
        """The whole message as the caption of the notice's one file, if it has one file
        and the message fits a caption (`max_caption`, counted as the platform counts),
        `reserve` characters kept free at its end."""
        if len(self.files) != 1 or not capabilities.can_send_files:
            return None
        whole = self.parts_for(locale, capabilities, reserve=reserve)
        short = self.parts_for(
            locale, capabilities, limit=capabilities.max_caption, reserve=reserve
        )
        if whole is None or short is None or len(whole[0]) != 1 or short[0] != whole[0]:
            return None
        return whole[0][0]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _due(now: datetime) -> Any:
    return or_(
        and_(_D.status == DeliveryStatus.pending, _D.next_attempt_at <= now),
        and_(_D.status == DeliveryStatus.sending, _D.lease_expires_at < now),
    )


async def claim_due(
    *,
    session: AsyncSession,
    worker_id: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    per_account: int,
    skip_accounts: Collection[int] = (),
    postgres: bool,
) -> list[Job]:
    """Claim up to `limit` due deliveries for `worker_id`; the caller commits."""
    if limit <= 0:
        return []
    rank = (
        func.row_number()
        .over(partition_by=_D.bot_id, order_by=(_D.priority.desc(), _D.id))
        .label("rank")
    )
    ranked_query = select(_D.id, _D.priority, rank).where(_due(now))
    if skip_accounts:
        ranked_query = ranked_query.where(_D.bot_id.not_in(list(skip_accounts)))
    ranked = ranked_query.subquery()
    picked = (
        select(ranked.c.id)
        .where(ranked.c.rank <= per_account)
        .order_by(ranked.c.priority.desc(), ranked.c.id)
        .limit(limit)
    )
    if postgres:
        # Window functions cannot take row locks; lock the picked rows in an outer select,
        # re-checking that they are still due (another worker may have just claimed them).
        picked = (
            select(_D.id)
            .where(_D.id.in_(picked.scalar_subquery()), _due(now))
            .with_for_update(skip_locked=True)
        )
    stmt = (
        update(_D)
        .where(_D.id.in_(picked.scalar_subquery()))
        .values(
            status=DeliveryStatus.sending,
            lease_owner=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            # Read from the row before this claim: it was being sent under a lapsed lease.
            lease_taken_over=_D.status == DeliveryStatus.sending,
            updated_at=now,
        )
        .returning(
            _D.id,
            _D.notice_id,
            _D.channel_id,
            _D.bot_id,
            _D.locale,
            _D.priority,
            _D.attempts,
            _D.provider_message_ref,
            _D.kind,
            _D.round,
            _D.occurrence,
            _D.parent_id,
            _D.target_refs,
            _D.target_sent_at,
            _D.lease_taken_over,
        )
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(stmt)).all()
    jobs = [
        Job(
            id=row.id,
            notice_id=row.notice_id,
            channel_id=row.channel_id,
            account_id=row.bot_id,
            locale=row.locale,
            priority=row.priority,
            attempts=row.attempts,
            sent_refs=decode_refs(row.provider_message_ref),
            kind=row.kind,
            round=row.round,
            occurrence=row.occurrence,
            parent_id=row.parent_id,
            target_refs=decode_refs(row.target_refs),
            target_sent_at=_aware(row.target_sent_at),
            taken_over=bool(row.lease_taken_over),
        )
        for row in rows
    ]
    jobs.sort(key=lambda job: (-job.priority, job.id))
    return jobs


async def has_due(*, session: AsyncSession, before: datetime) -> bool:
    """Whether any delivery is (or will be, by `before`) pending or claimable."""
    row = await session.execute(select(_D.id).where(_due(before)).limit(1))
    return row.first() is not None


async def renew_leases(
    *,
    session: AsyncSession,
    worker_id: str,
    now: datetime,
    lease_seconds: float,
    postgres: bool = False,
) -> None:
    """Push the lease of everything this worker still holds; the caller commits."""
    held = and_(_D.lease_owner == worker_id, _D.status == DeliveryStatus.sending)
    if postgres:
        # The recorder writes this worker's finished rows at the same moment, locking them
        # one by one; a plain UPDATE would lock the rest in whatever order it scans them,
        # and the two deadlock (PostgreSQL then kills one). Rows the recorder has locked are
        # being finished, their lease cleared: skip them, and never wait for a lock.
        held = _D.id.in_(select(_D.id).where(held).with_for_update(skip_locked=True))
    await session.execute(
        update(_D)
        .where(held)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )


async def load_channels(
    *, session: AsyncSession, channel_ids: Iterable[int]
) -> dict[int, ChannelInfo]:
    ids = sorted(set(channel_ids))
    found: dict[int, ChannelInfo] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(_C.id, _C.chat_ref, _C.active, _C.inactive_reason, _C.topic_ref).where(
                _C.id.in_(chunk)
            )
        )
        for row in rows:
            found[row.id] = ChannelInfo(
                row.chat_ref, row.active, row.inactive_reason, row.topic_ref
            )
    return found


async def load_notices(
    *, session: AsyncSession, notice_ids: Iterable[int], with_texts: bool = True
) -> dict[int, NoticeTexts]:
    """Each notice's status and, when asked, its renditions' texts by locale with what
    frames them: urgency, the ward's name, when it went out."""
    ids = sorted(set(notice_ids))
    found: dict[int, NoticeTexts] = {}
    for chunk in _chunks(ids):
        if not with_texts:
            for row in await session.execute(select(_N.id, _N.status).where(_N.id.in_(chunk))):
                found[row.id] = NoticeTexts(status=NoticeStatus(row.status), texts={})
            continue
        rows = await session.execute(
            select(
                _N.id,
                _N.status,
                _N.urgent,
                _N.dispatched_at,
                _N.scheduled_at,
                _N.created_at,
                _N.title,
                _A.name,
            )
            .join(_A, _A.id == _N.ward_id, isouter=True)
            .where(_N.id.in_(chunk))
        )
        for row in rows:
            found[row.id] = NoticeTexts(
                status=NoticeStatus(row.status),
                texts={},
                urgent=bool(row.urgent),
                sender=row.name or "",
                sent_at=row.dispatched_at or row.scheduled_at or row.created_at,
                title=row.title or "",
            )
        rows = await session.execute(
            select(_R.notice_id, _R.locale, _R.text).where(_R.notice_id.in_(chunk))
        )
        for row in rows:
            if row.notice_id in found:
                found[row.notice_id].texts[row.locale] = row.text
        await _load_files(session, chunk, found)
    return found


async def _load_files(
    session: AsyncSession, notice_ids: Sequence[int], found: dict[int, NoticeTexts]
) -> None:
    """The notices' attachments and the file ids bots have for them: once per notice."""
    files: dict[int, list[FileInfo]] = {}
    by_id: dict[int, FileInfo] = {}
    rows = await session.execute(
        select(_AT.id, _AT.notice_id, _AT.kind, _AT.file_name, _AT.mime_type, _AT.storage_key)
        .where(_AT.notice_id.in_(notice_ids))
        .order_by(_AT.notice_id, _AT.position, _AT.id)
    )
    for row in rows:
        info = FileInfo(row.id, row.kind, row.file_name, row.mime_type, row.storage_key)
        files.setdefault(row.notice_id, []).append(info)
        by_id[row.id] = info
    if not by_id:
        return
    refs = await session.execute(
        select(_AF.attachment_id, _AF.bot_id, _AF.file_ref).where(
            _AF.attachment_id.in_(sorted(by_id))
        )
    )
    for row in refs:
        by_id[row.attachment_id].refs[row.bot_id] = row.file_ref
    for notice_id, infos in files.items():
        if notice_id in found:
            found[notice_id].files = tuple(infos)


# provider_message_ref holds the message ids of the parts already sent, "123,124", so that
# a retry resumes at the first part not sent. The column is 200 characters; a text long
# enough to overflow it keeps the first and last ids and counts the ones between: "1,+38,40".
_REF_COLUMN = 200


def encode_refs(refs: Sequence[str]) -> str | None:
    if not refs:
        return None
    joined = ",".join(refs)
    if len(joined) <= _REF_COLUMN or len(refs) < 3:
        return joined[:_REF_COLUMN]
    return f"{refs[0]},+{len(refs) - 2},{refs[-1]}"


def decode_refs(value: str | None) -> list[str]:
    """The refs back, one entry per part sent (elided ones as "")."""
    if not value:
        return []
    refs: list[str] = []
    for item in value.split(","):
        if item.startswith("+") and item[1:].isdigit():
            refs.extend([""] * int(item[1:]))
        else:
            refs.append(item)
    return refs
