"""Loa's exceptions: one root, one class per way a request can go wrong.

    LoaError
    ├── NotFound                 a row asked for does not exist
    ├── Conflict                 the request clashes with what is stored (duplicate code, state)
    │   └── NoApprover           approval is needed and nobody approves (`reason` "no_approver")
    ├── InvalidInput             input is malformed or breaks a rule
    │   ├── ImportRejected       a CSV import has bad rows (nothing is written)
    │   ├── UnreadableTime       a typed time cannot be read (`reason` "unreadable")
    │   ├── PastTime             a typed time has already passed (`reason` "past")
    │   ├── NoticeTooLong        a notice is longer than the AI step reads (`reason` "too_long")
    │   ├── NoticeTooComplex     the AI step missed its deadline (`reason` "too_slow")
    │   └── AttachmentRejected   a file's type, size or count breaks a limit (`reason`)
    ├── CodeRejected             an invite / registration code is unknown, used or expired
    │   └── TooManyAttempts      too many wrong codes: none is read until `until`
    ├── NotAllowed               the caller may not do this
    ├── LinkRefused              a signed link (ack, file, dashboard) does not open (`reason`)
    └── TransportError           a transport (Telegram, ...) refused or failed a send
        ├── RateLimited          the provider asked us to wait `retry_after` seconds
        ├── TemporaryFailure     worth retrying: 5xx, timeout, connection error
        │   └── NoAnswer         no answer came (timeout, connection lost): it may still arrive
        ├── ChatMigrated         the chat moved to `new_chat_ref`; resend there
        └── PermanentFailure     final: blocked, kicked, chat not found, no rights
            └── MessageRejected  final for this message only: the chat stays active

The API maps these in one exception handler, the bot in one error router.
"""

from __future__ import annotations


class LoaError(Exception):
    """Raised for any failure Loa knows how to explain."""

    def __init__(self, message: str = "", **detail: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(LoaError):
    """Raised when a row asked for does not exist."""


class Conflict(LoaError):
    """Raised when a request clashes with what is stored."""


class NoApprover(Conflict):
    """Raised when a notice needs approval and its ward has no active approver."""

    reason = "no_approver"


class InvalidInput(LoaError):
    """Raised when input is malformed or breaks a rule."""


class ImportRejected(InvalidInput):
    """Raised when an import has bad rows; `detail["errors"]` lists them."""


class UnreadableTime(InvalidInput):
    """Raised when a typed time cannot be read."""

    reason = "unreadable"


class NoticeTooLong(InvalidInput):
    """Raised when a notice is longer than `Settings.ai.max_notice_chars`; `detail["limit"]`
    and `detail["length"]` say by how much."""

    reason = "too_long"


class NoticeTooComplex(InvalidInput):
    """Raised when the AI step's own work misses `Settings.ai.step_deadline_seconds`."""

    reason = "too_slow"


class PastTime(InvalidInput):
    """Raised when a typed time has passed; `detail["at"]` is when (`"next_year"` too)."""

    reason = "past"


class CodeRejected(LoaError):
    """Raised when an invite or registration code is unknown, used or expired."""


class TooManyAttempts(CodeRejected):
    """Raised when a person or group typed too many wrong codes; `detail["until"]`."""


class NotAllowed(LoaError):
    """Raised when the caller may not do this."""


class LinkRefused(LoaError):
    """Raised when a signed link (`broadcasts.links`, the dashboard's) does not open: `reason` is
    "invalid" (malformed, tampered, another kind), "expired", "withdrawn" (its notice
    was recalled or cancelled, or its chat no longer receives notices), or "stale" (a
    press without its page's check: another site's form, or no cookie)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or f"link {reason}", reason=reason)
        self.reason = reason


class TransportError(LoaError):
    """Raised when a transport refused or failed a send."""


class RateLimited(TransportError):
    """Raised when the provider asks to wait `retry_after` seconds."""

    def __init__(self, message: str = "", *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporaryFailure(TransportError):
    """Raised when a send failed in a way worth retrying."""


class NoAnswer(TemporaryFailure):
    """Raised when a send got no answer: the provider may still have taken the message."""


class ChatMigrated(TransportError):
    """Raised when the chat moved to `new_chat_ref`."""

    def __init__(self, message: str = "", *, new_chat_ref: str) -> None:
        super().__init__(message)
        self.new_chat_ref = new_chat_ref


class PermanentFailure(TransportError):
    """Raised when a send can never succeed for this chat."""


class MessageRejected(PermanentFailure):
    """Raised when the provider refuses this message (not the chat): the channel stays."""


class AttachmentRejected(InvalidInput):
    """Raised when a file cannot go with a notice; `reason` is "type", "too_big",
    "too_many", "empty" or "not_draft", `detail` has the limit."""

    def __init__(self, message: str, *, reason: str, **detail: object) -> None:
        super().__init__(message, reason=reason, **detail)
        self.reason = reason
