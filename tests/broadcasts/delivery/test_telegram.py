"""The Telegram transport against the sandbox: plain text, the button, error mapping, and
the acknowledge button's wire format that the bot reads back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from broadcasts.errors import (
    ChatMigrated,
    MessageRejected,
    NoAnswer,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from broadcasts.i18n import ack_label
from broadcasts.transports.base import OutgoingMessage
from broadcasts.transports.registry import Account, AccountTransports, TransportOptions
from broadcasts.transports.telegram import TelegramTransport, ack_keyboard
from broadcasts.transports.telegram_wire import (
    TELEGRAM_CAPABILITIES,
    encode_ack_data,
    parse_ack_data,
)
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import make_groups, new_token


def _registry(api_base: str, tokens: list[str]) -> AccountTransports:
    async def lookup(account_id: int) -> Account:
        return Account(id=account_id, transport="telegram", token=tokens[account_id - 1])

    return AccountTransports(
        accounts=lookup, options=TransportOptions(telegram_api_base=api_base, timeout=1)
    )


@pytest.fixture
async def registry(sandbox: SandboxServer) -> AsyncIterator[tuple[AccountTransports, list[str]]]:
    tokens = [new_token(), new_token()]
    transports = _registry(sandbox.url, tokens)
    try:
        yield transports, tokens
    finally:
        await transports.close()


async def test_plain_text_and_ack_button(
    tg: SandboxClient, registry: tuple[AccountTransports, list[str]]
) -> None:
    transports, tokens = registry
    (chat,) = await make_groups(tg, tokens[0], 1)
    transport = await transports.transport_for(1)
    assert await transports.transport_for(1) is transport  # one Bot per token
    assert transport.capabilities is TelegramTransport.capabilities is TELEGRAM_CAPABILITIES
    text = "Họp tổ <b>19h</b> & mang theo <CCCD>"
    sent = await transport.send(
        OutgoingMessage(str(chat), text, ack_delivery_id=123456, ack_label=ack_label("vi"))
    )
    plain = await transport.send(OutgoingMessage(str(chat), "phần 1"))

    first, second = await tg.messages(tokens[0], chat)
    assert first["text"] == text and first["parse_mode"] is None  # never parsed as markup
    assert first["reply_markup"] == {
        "inline_keyboard": [[{"text": "✅ Đã nhận", "callback_data": "ack:123456"}]]
    }
    assert sent.message_ref == str(first["message_id"])
    assert second.get("reply_markup") is None and plain.message_ref == str(second["message_id"])


def test_callback_data_must_fit_64_bytes() -> None:
    ack_keyboard(int("9" * 60), "ok")
    with pytest.raises(ValueError):
        ack_keyboard(int("9" * 61), "ok")


def test_ack_data_round_trips_and_rejects_anything_else() -> None:
    assert encode_ack_data(123456) == "ack:123456"
    assert parse_ack_data(encode_ack_data(123456)) == 123456
    for data in ("ack:", "ack:0", "ack:-3", "ack:12a", "ack:١٢", "rv:12", "ack12", "ack:1:2"):
        assert parse_ack_data(data) is None, data
    with pytest.raises(ValueError):
        encode_ack_data(0)


def test_the_button_label_follows_the_chat_language() -> None:
    assert ack_label("vi") == "✅ Đã nhận"
    assert ack_label("en") == "✅ Received"
    assert ack_label("km") == "✅ Đã nhận"  # no catalog: Vietnamese, the default


@pytest.mark.parametrize(
    ("kind", "error", "reason"),
    [
        ("429", RateLimited, "rate limited: retry after 3s"),
        ("5xx", TemporaryFailure, "server error: Bad Gateway"),
        ("403", PermanentFailure, "forbidden: bot was blocked by the user"),
        ("400_not_found", PermanentFailure, "bad request: chat not found"),
        ("migrate", ChatMigrated, None),
        ("delay", NoAnswer, None),  # no answer in time: the message may still arrive
    ],
)
async def test_errors_map_to_the_domain(
    tg: SandboxClient,
    registry: tuple[AccountTransports, list[str]],
    kind: str,
    error: type[Exception],
    reason: str | None,
) -> None:
    transports, tokens = registry
    chat, other = await make_groups(tg, tokens[0], 2)
    await tg.add_fault(
        kind,  # type: ignore[arg-type]
        token=tokens[0],
        chat_id=chat,
        retry_after=3,
        delay=1.5 if kind == "delay" else None,
    )
    transport = await transports.transport_for(1)
    with pytest.raises(error) as caught:
        await transport.send(OutgoingMessage(str(chat), "Thông báo"))
    if reason is not None:
        assert str(caught.value) == reason
    if kind == "5xx":
        assert not isinstance(caught.value, NoAnswer)  # answered: it did not arrive
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 3
    if isinstance(caught.value, PermanentFailure):
        assert not isinstance(caught.value, MessageRejected)
    if isinstance(caught.value, ChatMigrated):
        new_chat = int(caught.value.new_chat_ref)
        assert new_chat < -1000000000000
        await transport.send(OutgoingMessage(caught.value.new_chat_ref, "Thông báo"))
        assert len(await tg.messages(tokens[0], new_chat)) == 1
    # Only that chat was hit.
    await transport.send(OutgoingMessage(str(other), "Thông báo"))


async def test_message_level_400_does_not_blame_the_chat(
    tg: SandboxClient, registry: tuple[AccountTransports, list[str]]
) -> None:
    transports, tokens = registry
    (chat,) = await make_groups(tg, tokens[0], 1)
    transport = await transports.transport_for(1)
    with pytest.raises(PermanentFailure) as caught:
        await transport.send(OutgoingMessage(str(chat), "x" * 5000))
    assert isinstance(caught.value, MessageRejected)


async def test_unreachable_server_is_temporary_and_may_have_arrived() -> None:
    transports = _registry("http://127.0.0.1:9", ["1:unreachable"])
    try:
        transport = await transports.transport_for(1)
        with pytest.raises(NoAnswer, match="network error"):
            await transport.send(OutgoingMessage("-1", "Thông báo"))
    finally:
        await transports.close()
