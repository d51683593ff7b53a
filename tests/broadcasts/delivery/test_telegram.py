"""The Telegram transport against the sandbox: plain text, the button, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from broadcasts.errors import (
    ChatMigrated,
    MessageRejected,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from broadcasts.transports.base import OutgoingMessage
from broadcasts.transports.telegram import TelegramTransports, ack_keyboard
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import make_groups, new_token


@pytest.fixture
async def registry(sandbox: SandboxServer) -> AsyncIterator[tuple[TelegramTransports, list[str]]]:
    tokens = [new_token(), new_token()]

    async def token_for(account_id: int) -> str:
        return tokens[account_id - 1]

    transports = TelegramTransports(api_base=sandbox.url, token_for=token_for, timeout=1)
    try:
        yield transports, tokens
    finally:
        await transports.close()


async def test_plain_text_and_ack_button(
    tg: SandboxClient, registry: tuple[TelegramTransports, list[str]]
) -> None:
    transports, tokens = registry
    (chat,) = await make_groups(tg, tokens[0], 1)
    transport = await transports.transport_for(1)
    assert await transports.transport_for(1) is transport  # one Bot per token
    text = "Họp tổ <b>19h</b> & mang theo <CCCD>"
    sent = await transport.send(OutgoingMessage(str(chat), text, ack_ref="123456"))
    plain = await transport.send(OutgoingMessage(str(chat), "phần 1"))

    first, second = await tg.messages(tokens[0], chat)
    assert first["text"] == text and first["parse_mode"] is None  # never parsed as markup
    assert first["reply_markup"] == {
        "inline_keyboard": [[{"text": "✅ Đã nhận", "callback_data": "ack:123456"}]]
    }
    assert sent.message_ref == str(first["message_id"])
    assert second.get("reply_markup") is None and plain.message_ref == str(second["message_id"])


def test_callback_data_must_fit_64_bytes() -> None:
    ack_keyboard("9" * 60, "ok")
    with pytest.raises(ValueError):
        ack_keyboard("9" * 61, "ok")


@pytest.mark.parametrize(
    ("kind", "error", "reason"),
    [
        ("429", RateLimited, "rate limited: retry after 3s"),
        ("5xx", TemporaryFailure, "server error: Bad Gateway"),
        ("403", PermanentFailure, "forbidden: bot was blocked by the user"),
        ("400_not_found", PermanentFailure, "bad request: chat not found"),
        ("migrate", ChatMigrated, None),
        ("delay", TemporaryFailure, None),
    ],
)
async def test_errors_map_to_the_domain(
    tg: SandboxClient,
    registry: tuple[TelegramTransports, list[str]],
    kind: str,
    error: type[Exception],
    reason: str | None,
) -> None:
    transports, tokens = registry
    chat, other = await make_groups(tg, tokens[0], 2)
    await tg.add_fault(
        kind,
        token=tokens[0],
        chat_id=chat,
        retry_after=3,  # type: ignore[arg-type]
        delay=1.5 if kind == "delay" else None,
    )
    transport = await transports.transport_for(1)
    with pytest.raises(error) as caught:
        await transport.send(OutgoingMessage(str(chat), "Thông báo"))
    if reason is not None:
        assert str(caught.value) == reason
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
    tg: SandboxClient, registry: tuple[TelegramTransports, list[str]]
) -> None:
    transports, tokens = registry
    (chat,) = await make_groups(tg, tokens[0], 1)
    transport = await transports.transport_for(1)
    with pytest.raises(PermanentFailure) as caught:
        await transport.send(OutgoingMessage(str(chat), "x" * 5000))
    assert isinstance(caught.value, MessageRejected)


async def test_unreachable_server_is_temporary() -> None:
    async def token_for(account_id: int) -> str:
        return "1:unreachable"

    transports = TelegramTransports(api_base="http://127.0.0.1:9", token_for=token_for, timeout=1)
    try:
        transport = await transports.transport_for(1)
        with pytest.raises(TemporaryFailure, match="network error"):
            await transport.send(OutgoingMessage("-1", "Thông báo"))
    finally:
        await transports.close()
