"""What a message may contain: length after parsing, HTML, keyboards, edits that change."""

from __future__ import annotations

import html

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from sandbox.telegram.client import SandboxClient
from tests.sandbox.conftest import LAN, TOKEN, FakeClock, keyboard, started


def grid(count: int, per_row: int = 10) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=f"Khu phố {i}", callback_data=f"kp:{i}") for i in range(count)
    ]
    rows = [buttons[i : i + per_row] for i in range(0, count, per_row)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def test_text_length_is_counted_after_parsing(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(LAN["id"], "   ")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(LAN["id"], "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(LAN["id"], "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(LAN["id"], "<b>" + "x" * 4097 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):  # 2 UTF-16 units each
        await bot.send_message(LAN["id"], "😀" * 2049)
    assert (await bot.send_message(LAN["id"], "ư" * 4096)).text == "ư" * 4096
    # markup does not count: 4096 characters of text inside tags is fine
    tagged = "<b>" + "y" * 4000 + "</b><i>" + "z" * 96 + "</i>"
    assert len(tagged) > 4096
    assert (await bot.send_message(LAN["id"], tagged, parse_mode="HTML")).text
    clock.advance(1)
    assert await bot.send_message(LAN["id"], "😀" * 2048)


async def test_escaped_notice_of_3925_characters_is_accepted(
    client: SandboxClient, bot: Bot
) -> None:
    await started(client, bot)
    line = 'Cắt điện & nước "khu phố 3" <7h-9h>, bà con lưu ý; Điện lực Sài Gòn & UBND phường.\n'
    text = (line * 50)[:3925]
    assert len(text) == 3925 and "&" in text and '"' in text
    source = f"<b>{html.escape(text[:20])}</b>{html.escape(text[20:])}"
    assert len(source) > 4096  # the HTML source is longer than Telegram's limit
    sent = await bot.send_message(LAN["id"], source, parse_mode="HTML")
    assert sent.text == text
    assert sent.entities and sent.entities[0].type == "bold"


@pytest.mark.parametrize(
    "text",
    [
        "<b>unclosed",
        "<foo>unknown</foo>",
        "<br>",
        "<b><i>crossed</b></i>",
        "stray </b>",
        "fish & chips",
        "&bogus; entity",
        "&apos;named entities other than the four&apos;",
        "a&nbsp;b",
        "a < b",
        "<span>plain span</span>",
    ],
)
async def test_html_cant_parse_entities(client: SandboxClient, bot: Bot, text: str) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match="Bad Request: can't parse entities: "):
        await bot.send_message(LAN["id"], text, parse_mode="HTML")


async def test_html_error_names_the_tag(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "foo" at byte offset 3'):
        await bot.send_message(LAN["id"], "ab <foo>x</foo>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='end tag corresponding to start tag "b"'):
        await bot.send_message(LAN["id"], "<b>bold", parse_mode="HTML")


async def test_html_entities_reported(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    msg = await bot.send_message(
        LAN["id"],
        '<b>Cắt điện</b> 😀 <a href="https://evn.vn?a=1&amp;b=2">EVN</a> &lt;3 &#9889;'
        '<pre><code class="language-text">x</code></pre><tg-spoiler>s</tg-spoiler>'
        "<blockquote expandable>q</blockquote> &quot;&#x27;&amp;&gt;",
        parse_mode="HTML",
    )
    assert msg.text == "Cắt điện 😀 EVN <3 ⚡xsq \"'&>"
    kinds = [(e.type, e.offset, e.length) for e in msg.entities or []]
    # 😀 is two UTF-16 code units, so EVN starts at offset 12
    assert kinds == [
        ("bold", 0, 8),
        ("text_link", 12, 3),
        ("pre", 20, 1),
        ("spoiler", 21, 1),
        ("expandable_blockquote", 22, 1),
    ]
    assert msg.entities and msg.entities[1].url == "https://evn.vn?a=1&b=2"
    assert msg.entities[2].language == "text"


@pytest.mark.parametrize("mode", ["MarkdownV2", "Markdown"])
async def test_markdown_is_refused_not_passed_through(
    client: SandboxClient, bot: Bot, mode: str
) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match="unsupported parse_mode"):
        await bot.send_message(LAN["id"], "*bold*", parse_mode=mode)


async def test_keyboard_of_at_most_100_buttons(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match="Bad Request: reply markup is too long"):
        await bot.send_message(LAN["id"], "124 buttons", reply_markup=grid(124))
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.send_message(LAN["id"], "101 in one column", reply_markup=grid(101, per_row=1))
    sent = await bot.send_message(LAN["id"], "100 in rows of 12", reply_markup=grid(100, 12))
    assert sent.reply_markup is not None
    assert sum(len(r) for r in sent.reply_markup.inline_keyboard) == 100
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.edit_message_reply_markup(
            chat_id=LAN["id"], message_id=sent.message_id, reply_markup=grid(101)
        )
    assert len(await client.messages(TOKEN, LAN["id"])) == 1


async def test_callback_data_is_1_to_64_bytes(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    for data in ("d" * 65, "đ" * 33):  # 65 bytes; 66 bytes in 33 characters
        with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
            await bot.send_message(LAN["id"], "x", reply_markup=keyboard(data))
    empty = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="")]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(LAN["id"], "x", reply_markup=empty)
    assert await bot.send_message(LAN["id"], "x", reply_markup=keyboard("d" * 64))
    assert await bot.send_message(LAN["id"], "x", reply_markup=keyboard("đ" * 32))


async def test_edit_message_text(client: SandboxClient, bot: Bot, clock: FakeClock) -> None:
    await started(client, bot)
    sent = await bot.send_message(LAN["id"], "v1", reply_markup=keyboard("a"))
    edited = await bot.edit_message_text(
        "v2", chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("a")
    )
    assert isinstance(edited, Message) and edited.text == "v2" and edited.edit_date
    # same text but without the keyboard is a change: the keyboard goes away
    await bot.edit_message_text("v2", chat_id=LAN["id"], message_id=sent.message_id)
    clock.advance(1)
    await bot.edit_message_reply_markup(
        chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("b")
    )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=LAN["id"], message_id=12345)
    (msg,) = await client.messages(TOKEN, LAN["id"])
    assert msg["text"] == "v2"
    assert msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"
    assert [e["text"] for e in msg["edits"]] == ["v1", "v2", "v2"]
    assert msg["edits"][0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert (await client.stats(TOKEN))["edited"] == 3
    assert await bot.delete_message(LAN["id"], sent.message_id)
    assert await client.messages(TOKEN, LAN["id"]) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(LAN["id"], sent.message_id)


NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


async def test_an_edit_that_changes_nothing_is_refused(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    await started(client, bot)
    sent = await bot.send_message(
        LAN["id"], "<b>Đã nhận</b> 3/5", parse_mode="HTML", reply_markup=keyboard("a")
    )
    same = [
        # the same text, entities and keyboard, however written
        dict(text="<b>Đã nhận</b> 3/5", parse_mode="HTML", reply_markup=keyboard("a")),
        dict(text="<strong>Đã nhận</strong> 3/5", parse_mode="HTML", reply_markup=keyboard("a")),
    ]
    for fields in same:
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.edit_message_text(chat_id=LAN["id"], message_id=sent.message_id, **fields)  # type: ignore[arg-type]
        assert exc.value.message == NOT_MODIFIED
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("a")
        )
    # not modified consumed no quota: three real edits still fit in the burst
    await bot.edit_message_text(
        "Đã nhận 3/5", chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("a")
    )  # entities changed
    await bot.edit_message_text("Đã nhận 3/5", chat_id=LAN["id"], message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=LAN["id"], message_id=sent.message_id)
    (msg,) = await client.messages(TOKEN, LAN["id"])
    assert len(msg["edits"]) == 2
