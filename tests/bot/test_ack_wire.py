"""The bot reads back exactly the acknowledge button the delivery engine draws."""

from __future__ import annotations

from bot.keyboards import AckCb
from broadcasts.transports.telegram_wire import encode_ack_data, parse_ack_data


def test_ack_callback_is_the_engines_wire_format() -> None:
    data = encode_ack_data(4711)
    assert AckCb.unpack(data).delivery_id == 4711
    assert AckCb(delivery_id=4711).pack() == data
    assert parse_ack_data(AckCb(delivery_id=4711).pack()) == 4711
