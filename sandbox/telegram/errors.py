"""Telegram-shaped Bot API errors raised by the sandbox's method implementations.

Every failure a method can produce is an :class:`ApiError`; the HTTP layer turns it into
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with the
HTTP status set to the error code, exactly like api.telegram.org.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error: HTTP status/error_code, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class ControlError(Exception):
    """A mistake in a control-API request; answered as 400 {"error": "..."}."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def bad_request(detail: str, parameters: dict[str, Any] | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}", parameters)


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def conflict(detail: str) -> ApiError:
    return ApiError(409, f"Conflict: {detail}")


UNAUTHORIZED = ApiError(401, "Unauthorized")
NOT_FOUND = ApiError(404, "Not Found")

# Telegram's own wording (after "Bad Request: " / "Conflict: "), as bots report it.
CHAT_NOT_FOUND = "chat not found"
TEXT_EMPTY = "message text is empty"
TEXT_TOO_LONG = "message is too long"
MARKUP_TOO_LONG = "reply markup is too long"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
TOPIC_CLOSED = "TOPIC_CLOSED"
THREAD_NOT_FOUND = "message thread not found"
REPLY_NOT_FOUND = "message to be replied not found"
NO_RIGHTS_TEXT = "not enough rights to send text messages to the chat"
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
TERMINATED = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
