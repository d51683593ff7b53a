"""Database tables (SQLModel) and the enums they use.

Table classes carry ids and foreign keys; the API's create/update/public families live
beside the functions that use them (`areas.py`, `channels.py`, ...). Times are stored in
UTC; chat ids are strings so that no transport's id type leaks into the domain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from broadcasts.tokens import SealedToken, token_hash


def utcnow() -> datetime:
    return datetime.now(UTC)


class AreaLevel(StrEnum):
    city = "city"
    ward = "ward"  # phường / xã / đặc khu
    neighbourhood = "neighbourhood"  # khu phố / ấp / thôn
    group = "group"  # tổ dân phố / tổ nhân dân


LEVEL_ORDER = [AreaLevel.city, AreaLevel.ward, AreaLevel.neighbourhood, AreaLevel.group]


class NoticeStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    dispatching = "dispatching"
    done = "done"
    cancelled = "cancelled"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


FINAL_DELIVERY = (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.cancelled)


class DeliveryKind(StrEnum):
    """What a delivery row asks the engine to do in one channel.

    `notice` sends the notice itself (one per channel and occurrence); the others follow a
    sent `notice` delivery (`Delivery.parent_id`), one row per channel and `round`:
    `reminder` sends a short reminder with the acknowledge button, `correction` edits the
    sent message in place (or replies «Đính chính» where it cannot), `recall` deletes it
    (or posts that it was recalled where it cannot). Reports count `notice` rows only.
    """

    notice = "notice"
    reminder = "reminder"
    correction = "correction"
    recall = "recall"


class Approval(StrEnum):
    """Where a notice stands with the ward's approvers ("" on Notice: none needed)."""

    pending = "pending"
    approved = "approved"
    changes = "changes"  # the approver asked for changes: back to the official
    rejected = "rejected"
    skipped = "skipped"  # urgent, sent without waiting; the approvers were told


class AttachmentKind(StrEnum):
    photo = "photo"
    document = "document"
    voice = "voice"


class InviteKind(StrEnum):
    official = "official"
    channel = "channel"


class Area(SQLModel, table=True):
    __tablename__ = "area"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(default="", max_length=40)  # the local word: "khu phố", "ấp", "tổ dân phố"
    level: AreaLevel
    parent_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    # Codes from the root down, "/"-joined and "/"-ended: subtree = path LIKE 'x/%'.
    path: str = Field(index=True, max_length=1000)
    # Who answers for the area (the khu phố head): told in a private chat when its groups
    # have not acknowledged by a notice's deadline, if they have started the bot.
    contact_name: str = Field(default="", max_length=200)
    contact_ref: str | None = Field(default=None, max_length=64)  # their user id on the bot
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class BotAccount(SQLModel, table=True):
    """A transport account (one Telegram bot token); the engine limits each one apart."""

    __tablename__ = "bot_account"
    id: int | None = Field(default=None, primary_key=True)
    transport: str = Field(default="telegram", max_length=20)
    # Encrypted at rest (`broadcasts.tokens`); found by `token_hash`, set on every write.
    token: str = Field(sa_column=Column(SealedToken(), nullable=False, unique=True))
    token_hash: str = Field(default="", unique=True, max_length=64)
    username: str | None = Field(default=None, max_length=100)
    ward_id: int | None = Field(default=None, foreign_key="area.id")
    # A disabled bot is not served and sends nothing; its channels keep their rows.
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


@event.listens_for(BotAccount, "before_insert")
@event.listens_for(BotAccount, "before_update")
def _hash_token(_mapper: object, _connection: object, account: BotAccount) -> None:
    account.token_hash = token_hash(account.token)


class Channel(SQLModel, table=True):
    __tablename__ = "channel"
    __table_args__ = (UniqueConstraint("bot_id", "chat_ref", name="uq_channel_bot_chat"),)
    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    bot_id: int = Field(foreign_key="bot_account.id", index=True)
    transport: str = Field(default="telegram", max_length=20)
    chat_ref: str = Field(max_length=64)
    # The forum topic the group registered from (Telegram's message_thread_id); notices
    # go there. None: the chat's main thread (General, in a forum).
    topic_ref: str | None = Field(default=None, max_length=64)
    title: str = Field(default="", max_length=255)
    locale: str = Field(default="vi", max_length=10)
    active: bool = Field(default=True)
    inactive_reason: str | None = Field(default=None, max_length=500)
    # The person who registered the group (its tổ trưởng): their presses count as the
    # leader's («tổ trưởng đã nhận»), anyone else's as a member's.
    leader_ref: str | None = Field(default=None, max_length=64)
    leader_name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Official(SQLModel, table=True):
    __tablename__ = "official"
    __table_args__ = (UniqueConstraint("transport", "user_ref", name="uq_official_user"),)
    id: int | None = Field(default=None, primary_key=True)
    transport: str = Field(default="telegram", max_length=20)
    user_ref: str = Field(max_length=64)
    name: str = Field(default="", max_length=200)
    ward_id: int = Field(foreign_key="area.id", index=True)
    role: str = Field(default="official", max_length=20)
    locale: str = Field(default="vi", max_length=10)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


class Invite(SQLModel, table=True):
    """A one-time code: binds an official to a ward, or a group chat to an area."""

    __tablename__ = "invite"
    id: int | None = Field(default=None, primary_key=True)
    kind: InviteKind
    code: str = Field(unique=True, index=True, max_length=32)
    area_id: int = Field(foreign_key="area.id")
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    used_by: str | None = Field(default=None, max_length=64)


class Notice(SQLModel, table=True):
    __tablename__ = "notice"
    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = Field(foreign_key="area.id", index=True)
    official_id: int | None = Field(default=None, foreign_key="official.id")
    title: str = Field(default="", max_length=300)
    text: str
    status: NoticeStatus = Field(default=NoticeStatus.draft, index=True)
    urgent: bool = Field(default=False)
    scheduled_at: datetime | None = Field(default=None, index=True)
    ack_deadline: datetime | None = None
    dispatched_at: datetime | None = None
    completed_at: datetime | None = None
    # Where the official's live status message is, so progress can edit it.
    status_chat_ref: str | None = Field(default=None, max_length=64)
    status_message_ref: str | None = Field(default=None, max_length=64)
    # Recurring: an RFC 5545 RRULE (dateutil) from `scheduled_at`, the first occurrence;
    # `occurrences` counts those fired, each with its own deliveries and acknowledgements.
    rrule: str | None = Field(default=None, max_length=500)
    occurrences: int = Field(default=0)
    # Approval ("" when none was needed); who decided, for the audit log and the report.
    approval: str = Field(default="", max_length=20)
    approved_by: int | None = Field(default=None, foreign_key="official.id")
    corrected_at: datetime | None = None
    recalled_at: datetime | None = None
    # Made through the API for its official (`official_id`) to review in the bot: asked
    # when, and when the bot showed them the review (the bot's sweep shows each once).
    review_requested_at: datetime | None = None
    review_shown_at: datetime | None = None
    # Imported from a CAP alert: «sender,identifier», so the same alert is taken once.
    cap_ref: str | None = Field(default=None, max_length=500, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class NoticeOccurrence(SQLModel, table=True):
    """One firing of a notice (the first, or one of a recurring notice's): inserting it is
    how a fire claims the occurrence, so a double fire sends once."""

    __tablename__ = "notice_occurrence"
    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    occurrence: int = Field(primary_key=True)
    due_at: datetime
    fired_at: datetime = Field(default_factory=utcnow)
    ack_deadline: datetime | None = None
    escalated_at: datetime | None = None  # the deadline's reminder and summary went out


class Attachment(SQLModel, table=True):
    """A file sent with a notice: kept by Loa (`storage_key` under the attachment store),
    so any transport can send it; `AttachmentFile` remembers each bot's own file id."""

    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    position: int = Field(default=0)  # order in an album
    kind: str = Field(max_length=12)  # an AttachmentKind
    file_name: str = Field(default="", max_length=255)
    mime_type: str = Field(default="", max_length=100)
    size: int = Field(default=0)
    sha256: str = Field(default="", max_length=64)
    storage_key: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class AttachmentFile(SQLModel, table=True):
    __tablename__ = "attachment_file"
    attachment_id: int = Field(foreign_key="attachment.id", primary_key=True)
    bot_id: int = Field(foreign_key="bot_account.id", primary_key=True)
    file_ref: str = Field(max_length=255)  # Telegram's file_id for this bot


class WardPolicy(SQLModel, table=True):
    """A ward's rules for its notices; a ward without a row has the defaults."""

    __tablename__ = "ward_policy"
    ward_id: int = Field(foreign_key="area.id", primary_key=True)
    needs_approval: bool = Field(default=False)
    urgent_skips_approval: bool = Field(default=True)
    # Minutes after sending by which groups should acknowledge; None: the setting's default.
    ack_deadline_minutes: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class NoticeTarget(SQLModel, table=True):
    __tablename__ = "notice_target"
    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    area_id: int = Field(foreign_key="area.id", primary_key=True)


class Rendition(SQLModel, table=True):
    __tablename__ = "rendition"
    __table_args__ = (UniqueConstraint("notice_id", "locale", name="uq_rendition_locale"),)
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    locale: str = Field(max_length=10)
    text: str
    source: str = Field(default="offline", max_length=10)  # ai / offline / edited / cap
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    confirmed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint(
            "notice_id", "channel_id", "occurrence", "kind", "round", name="uq_delivery_once"
        ),
        Index("ix_delivery_due", "status", "priority", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    bot_id: int = Field(foreign_key="bot_account.id")
    occurrence: int = Field(default=0)
    kind: str = Field(default=DeliveryKind.notice, max_length=12)
    round: int = Field(default=0)  # the nth reminder / correction of this channel
    # A follow-up's notice delivery, and a copy of what it needs from it at creation time:
    # the message ids it sent ("123,124") and when, so the engine needs no lookup.
    parent_id: int | None = Field(default=None, foreign_key="delivery.id")
    target_refs: str | None = Field(default=None, max_length=200)
    target_sent_at: datetime | None = None
    locale: str = Field(default="vi", max_length=10)
    priority: int = Field(default=0)  # higher goes first: urgent notices
    status: DeliveryStatus = Field(default=DeliveryStatus.pending)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    # The last claim took the row over from a worker whose lease had run out.
    lease_taken_over: bool = Field(default=False)
    provider_message_ref: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Acknowledgement(SQLModel, table=True):
    __tablename__ = "acknowledgement"
    __table_args__ = (
        UniqueConstraint("notice_id", "channel_id", "occurrence", "person_ref", name="uq_ack_once"),
    )
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    occurrence: int = Field(default=0)
    by_leader: bool = Field(default=False)  # pressed by the channel's registered leader
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    person_ref: str = Field(max_length=64)
    person_name: str = Field(default="", max_length=200)
    method: str = Field(default="button", max_length=10)  # button / api / link / reply
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(index=True, max_length=16)
    key_hash: str = Field(max_length=128)
    scopes: str = Field(default="admin", max_length=200)  # space-separated
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    # The ward the key is limited to (its subtree); None: a city key, which sees all.
    ward_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    # The key from LOA_API__BOOTSTRAP_KEY: works only while no other city admin key exists.
    bootstrap: bool = Field(default=False)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=100)
    subject: str = Field(default="", max_length=100)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    # The ward the subject lies in, so a ward key reads its own ward's events; None: city.
    ward_id: int | None = Field(default=None, foreign_key="area.id", index=True)


class CodeAttempt(SQLModel, table=True):
    """Wrong invite / registration codes typed by one person or in one group (`who`, e.g.
    "telegram:user:42"), counted over a window; `blocked_until` starts the cooling-off."""

    __tablename__ = "code_attempt"
    who: str = Field(primary_key=True, max_length=80)
    failures: int = Field(default=0)
    window_start: datetime = Field(default_factory=utcnow)
    blocked_until: datetime | None = None


class ProcessHeartbeat(SQLModel, table=True):
    """One Loa process saying it is alive and doing its part (`broadcasts.health`): a
    delivery worker ("worker"), or a bot front receiving updates ("bot")."""

    __tablename__ = "process_heartbeat"
    process_id: str = Field(primary_key=True, max_length=100)
    role: str = Field(index=True, max_length=10)
    beat_at: datetime = Field(default_factory=utcnow)


class ApprovalPrompt(SQLModel, table=True):
    """One approver asked to decide on one notice: the row is written before the request
    goes out (so a sweep never asks twice), `message_ref` once the bot has sent it, so
    that after the first decision (or a cancel) every approver's request can say so."""

    __tablename__ = "approval_prompt"
    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    official_id: int = Field(foreign_key="official.id", primary_key=True)
    chat_ref: str = Field(max_length=64)
    message_ref: str | None = Field(default=None, max_length=64)
    asked_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None  # the request shows the outcome, without buttons


class ChatWizard(SQLModel, table=True):
    """A flow in progress in a chat without buttons (a Zalo official composing): which
    step it is at and its data, kept in the database so that a restart resumes it."""

    __tablename__ = "chat_wizard"
    bot_id: int = Field(foreign_key="bot_account.id", primary_key=True)
    chat_ref: str = Field(primary_key=True, max_length=64)
    step: str = Field(max_length=20)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)
