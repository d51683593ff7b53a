"""Telegram's facts that the engine and the bot both read: its limits and the ack button's data.

The acknowledge button under a delivered notice carries `ack:<delivery id>` as callback
data. The engine's transport draws it and the bot's `AckCb` reads it back; both take the
format from here, so they cannot drift apart. This module imports nothing of aiogram, so the
API and the AI step can read the limits too.
"""

from __future__ import annotations

from broadcasts.transports.base import TransportCapabilities

TELEGRAM_CAPABILITIES = TransportCapabilities(
    max_text=4096,  # UTF-16 code units, after entity parsing
    max_caption=1024,
    can_edit=True,
    can_delete=True,
    has_buttons=True,
    markups=("html", "plain"),
    delete_window_seconds=48 * 3600,  # deleteMessage: "sent less than 48 hours ago"
    can_send_files=True,
    max_album=10,  # sendMediaGroup: 2-10 items
    max_file_bytes=50 * 1024 * 1024,  # uploads through the cloud Bot API
)
MAX_CALLBACK_DATA_BYTES = 64

ACK_PREFIX = "ack"
ACK_SEPARATOR = ":"


def encode_ack_data(delivery_id: int) -> str:
    """The acknowledge button's callback data for `delivery_id`."""
    if delivery_id <= 0:
        raise ValueError(f"not a delivery id: {delivery_id}")
    data = f"{ACK_PREFIX}{ACK_SEPARATOR}{delivery_id}"
    if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_DATA_BYTES} bytes: {data!r}")
    return data


def parse_ack_data(data: str) -> int | None:
    """The delivery id in an acknowledge button's callback data; None if it is not one."""
    prefix, sep, rest = data.partition(ACK_SEPARATOR)
    if prefix != ACK_PREFIX or not sep or not rest.isascii() or not rest.isdigit():
        return None
    delivery_id = int(rest)
    return delivery_id if delivery_id > 0 else None
