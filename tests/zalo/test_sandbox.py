"""The Zalo sandbox is as strict as Zalo's documentation, and the transport and client
read it right: one event per getUpdates, no update_id, no getUpdates under a webhook,
2,000 characters, no buttons or edits, groups only for bots that may join them and only
mentions / quote-replies seen there, 429 «Quota exceeded»."""

from __future__ import annotations

import aiohttp
import pytest

from broadcasts.errors import (
    MessageRejected,
    NoAnswer,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from broadcasts.transports.base import OutgoingMessage
from broadcasts.transports.registry import Account, AccountTransports, TransportOptions
from broadcasts.transports.zalo import ZaloTransport
from broadcasts.transports.zalo_client import ZaloApiError, ZaloClient
from broadcasts.transports.zalo_wire import ZALO_CAPABILITIES
from sandbox.zalo import ZaloControl, ZaloSandbox
from sandbox.zalo.state import ControlError
from tests.zalo.conftest import CHIN, LAN, new_zalo_token


async def _call(url: str, token: str, method: str, body: dict[str, object]) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/bot{token}/{method}", json=body) as response:
            return response.status, await response.json()


async def test_get_updates_hands_out_one_event_without_update_id(
    zalo: ZaloSandbox, zc: ZaloControl
) -> None:
    token = new_zalo_token()
    await zc.add_bot(token, "bot.loa")
    await zc.say(token, LAN, "xin chào")
    await zc.say(token, LAN, "DK AB12CD34")
    async with aiohttp.ClientSession() as session:
        client = ZaloClient(token, session=session, api_base=zalo.url)
        first = await client.get_update(timeout=1)
        second = await client.get_update(timeout=1)
        none = await client.get_update(timeout=1)  # 408 «Request timeout»: nothing came
    assert first is not None and second is not None and none is None
    assert (first.message.text, second.message.text) == ("xin chào", "DK AB12CD34")
    assert first.message.chat.id == LAN["id"] and first.message.chat.chat_type == "PRIVATE"
    status, raw = await _call(zalo.url, token, "getUpdates", {"timeout": "0"})
    assert (status, raw["ok"], raw["error_code"]) == (408, False, 408)
    await zc.say(token, LAN, "1")
    status, raw = await _call(zalo.url, token, "getUpdates", {"timeout": "1"})
    assert status == 200 and "update_id" not in raw["result"] and isinstance(raw["result"], dict)


async def test_get_updates_is_refused_while_a_webhook_is_set(
    zalo: ZaloSandbox, zc: ZaloControl
) -> None:
    token = new_zalo_token()
    await zc.add_bot(token, "bot.loa")
    async with aiohttp.ClientSession() as session:
        client = ZaloClient(token, session=session, api_base=zalo.url)
        with pytest.raises(ZaloApiError) as short:
            await client.set_webhook("https://loa.example/zalo/webhook/1", "short")
        assert short.value.code == 400  # the secret is 8 to 256 characters
        with pytest.raises(ZaloApiError):
            await client.set_webhook("http://loa.example/hook", "long-enough-secret")  # not https
        info = await client.set_webhook("https://loa.example/zalo/webhook/1", "s3cret-token")
        assert info.url == "https://loa.example/zalo/webhook/1"
        with pytest.raises(ZaloApiError) as conflict:
            await client.get_update(timeout=1)
        assert conflict.value.code == 409
        await client.delete_webhook()
        assert (await client.get_webhook_info()).url == ""
        assert await client.get_update(timeout=0) is None


async def test_unknown_token_methods_and_telegram_ideas_are_refused(
    zalo: ZaloSandbox, zc: ZaloControl
) -> None:
    token = new_zalo_token()
    await zc.add_bot(token, "bot.loa")
    chat = await zc.say(token, LAN, "xin chào")
    assert (await _call(zalo.url, "1:nobody", "getMe", {}))[0] == 401
    status, raw = await _call(zalo.url, token, "editMessageText", {"chat_id": chat, "text": "x"})
    assert (status, raw["ok"]) == (404, False)
    keyboard = {"inline_keyboard": [[{"text": "✅ Đã nhận", "callback_data": "ack:1"}]]}
    status, raw = await _call(
        zalo.url, token, "sendMessage", {"chat_id": chat, "text": "x", "reply_markup": keyboard}
    )
    assert status == 400 and raw["description"]
    status, raw = await _call(zalo.url, token, "sendMessage", {"chat_id": chat, "text": ""})
    assert status == 400
    assert await zc.messages(token, chat) == []  # nothing refused reached the chat


async def test_transport_sends_plain_text_and_photo_and_refuses_edits(
    zalo: ZaloSandbox, zc: ZaloControl
) -> None:
    token = new_zalo_token()
    await zc.add_bot(token, "bot.loa")
    chat = await zc.say(token, LAN, "xin chào")
    registry = _registry(zalo.url, token)
    try:
        transport = await registry.transport_for(1)
        assert isinstance(transport, ZaloTransport)
        assert transport.capabilities is ZALO_CAPABILITIES
        assert not ZALO_CAPABILITIES.has_buttons and not ZALO_CAPABILITIES.can_edit
        assert ZALO_CAPABILITIES.max_text == 2000 and ZALO_CAPABILITIES.markups == ("plain",)
        text = "Họp tổ <b>19h</b> & mang theo CCCD"
        sent = await transport.send(OutgoingMessage(chat, text, ack_delivery_id=5))
        exactly = await transport.send(OutgoingMessage(chat, "x" * 2000))
        with pytest.raises(MessageRejected):
            await transport.send(OutgoingMessage(chat, "x" * 2001))
        with pytest.raises(MessageRejected):
            await transport.edit(sent.message_ref, OutgoingMessage(chat, "sửa"))
        with pytest.raises(MessageRejected):
            await transport.delete(chat, sent.message_ref)
        received = await zc.messages(token, chat)
        assert [m["text"] for m in received] == [text, "x" * 2000]  # as is: no markup
        assert [m["message_id"] for m in received] == [sent.message_ref, exactly.message_ref]
    finally:
        await registry.close()


def _registry(url: str, token: str, quota_retry: float = 60.0) -> AccountTransports:
    async def lookup(account_id: int) -> Account:
        return Account(id=account_id, transport="zalo", token=token)

    return AccountTransports(
        accounts=lookup,
        options=TransportOptions(zalo_api_base=url, timeout=2, zalo_quota_retry=quota_retry),
    )


async def test_errors_are_classified_like_telegrams(zalo: ZaloSandbox, zc: ZaloControl) -> None:
    token = new_zalo_token()
    await zc.add_bot(token, "bot.loa")
    lan = await zc.say(token, LAN, "xin chào")
    chin = await zc.say(token, CHIN, "chào")
    registry = _registry(zalo.url, token, quota_retry=7.5)
    try:
        transport = await registry.transport_for(1)
        await zc.set_quota(token, 0)
        with pytest.raises(RateLimited) as quota:
            await transport.send(OutgoingMessage(lan, "một"))
        assert quota.value.retry_after == 7.5  # Zalo gives no wait: the configured one
        await zc.set_quota(token, None)
        await zc.fail_next(token, 502)
        with pytest.raises(TemporaryFailure):
            await transport.send(OutgoingMessage(lan, "hai"))
        await zc.block(token, chin)
        with pytest.raises(PermanentFailure) as blocked:
            await transport.send(OutgoingMessage(chin, "ba"))
        assert not isinstance(blocked.value, MessageRejected)  # the chat is gone
        with pytest.raises(PermanentFailure):
            await transport.send(OutgoingMessage("no-such-chat", "bốn"))
        assert (await transport.send(OutgoingMessage(lan, "năm"))).message_ref
        stats = await zc.stats(token)
        assert stats["rejected_429"] == 1 and stats["errors"] == {"502": 1}
        assert [m["text"] for m in await zc.messages(token, lan)] == ["năm"]
    finally:
        await registry.close()


async def test_no_answer_is_noanswer() -> None:
    registry = _registry("http://127.0.0.1:9", new_zalo_token())  # nothing listens there
    try:
        transport = await registry.transport_for(1)
        with pytest.raises(NoAnswer):
            await transport.send(OutgoingMessage("abc", "xin chào"))
    finally:
        await registry.close()


async def test_groups_only_for_bots_that_may_join_and_only_mentions_seen(
    zalo: ZaloSandbox, zc: ZaloControl
) -> None:
    private_only, grouped = new_zalo_token(), new_zalo_token()
    await zc.add_bot(private_only, "bot.rieng")
    await zc.add_bot(grouped, "bot.loa", can_join_groups=True)
    with pytest.raises(ControlError):
        await zc.add_group(private_only, "Nhóm Khu phố 1")
    group = await zc.add_group(grouped, "Nhóm Khu phố 1")
    assert not await zc.group_say(grouped, group, LAN, "mọi người ơi, mai họp")
    assert await zc.group_say(grouped, group, LAN, "@bot.loa DK AB12CD34")
    async with aiohttp.ClientSession() as session:
        client = ZaloClient(grouped, session=session, api_base=zalo.url)
        sent = await client.send_message(group, "Thông báo")
        assert await zc.group_say(grouped, group, CHIN, "1", quote=sent.message_id)
        seen = [await client.get_update(timeout=1) for _ in range(2)]
        assert await client.get_update(timeout=0) is None  # the plain message never came
    assert [u.message.text for u in seen if u] == ["@bot.loa DK AB12CD34", "1"]
    assert seen[1] is not None and seen[1].message.quote is not None
    assert seen[1].message.quote.message_id == sent.message_id
    assert seen[1].message.chat.chat_type == "GROUP"
