"""The file methods over real aiogram: what Telegram refuses, the sandbox refuses, with
Telegram's words (sendPhoto, sendDocument, sendVoice, sendMediaGroup, getFile, downloads)."""

from __future__ import annotations

import io

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge
from aiogram.methods import SendMediaGroup
from aiogram.types import (
    BufferedInputFile,
    InputMediaDocument,
    InputMediaPhoto,
)

from sandbox.telegram.client import SandboxClient, SandboxError
from sandbox.telegram.media import MAX_DOWNLOAD, MAX_PHOTO, MAX_UPLOAD
from sandbox.telegram.server import SandboxServer
from tests.sandbox.conftest import LAN, OTHER, MakeBot, keyboard, started

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
PDF = b"%PDF-1.4\n" + b"x" * 64


def png(name: str = "a.png") -> BufferedInputFile:
    return BufferedInputFile(PNG, name)


async def test_a_photo_with_caption_and_button_then_its_file_id(
    client: SandboxClient, bot: Bot
) -> None:
    await started(client, bot)
    sent = await bot.send_photo(
        LAN["id"], png(), caption="<b>Cúp điện</b>", parse_mode="HTML", reply_markup=keyboard("x")
    )
    assert sent.caption == "Cúp điện" and sent.caption_entities
    assert sent.photo and sent.reply_markup is not None
    again = await bot.send_photo(LAN["id"], sent.photo[-1].file_id)
    assert again.photo and again.photo[-1].file_id == sent.photo[-1].file_id
    (first, second) = await client.messages(bot.token, LAN["id"])
    assert first["media"] == "photo" and first["plain_text"] == "Cúp điện"
    assert second["plain_text"] == ""


async def test_captions_are_at_most_1024_characters_after_parsing(
    client: SandboxClient, bot: Bot
) -> None:
    await started(client, bot)
    fits = "<b>" + "a" * 1024 + "</b>"  # 1031 characters sent, 1024 shown
    await bot.send_document(
        LAN["id"], BufferedInputFile(PDF, "a.pdf"), caption=fits, parse_mode="HTML"
    )
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(LAN["id"], BufferedInputFile(PDF, "a.pdf"), caption="a" * 1025)
    assert len(await client.messages(bot.token, LAN["id"])) == 1


async def test_a_file_id_is_only_good_for_the_bot_that_got_it(
    client: SandboxClient, bot: Bot, make_bot: MakeBot
) -> None:
    await started(client, bot)
    other = make_bot(OTHER)
    await started(client, other)
    sent = await bot.send_document(LAN["id"], BufferedInputFile(PDF, "cong-van.pdf"))
    assert sent.document is not None and sent.document.mime_type == "application/pdf"
    file_id = sent.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await other.send_document(LAN["id"], file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await other.get_file(file_id)
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(LAN["id"], file_id)


async def test_uploads_are_checked_like_telegram_checks_them(
    client: SandboxClient, bot: Bot
) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(LAN["id"], BufferedInputFile(PDF, "not-a-photo.png"))
    with pytest.raises(TelegramBadRequest, match="photo is too big"):
        await bot.send_photo(LAN["id"], BufferedInputFile(PNG + b"0" * MAX_PHOTO, "big.png"))
    with pytest.raises(TelegramEntityTooLarge):
        await bot.send_document(LAN["id"], BufferedInputFile(b"0" * (MAX_UPLOAD + 1), "x.pdf"))
    assert await client.messages(bot.token, LAN["id"]) == []


async def test_albums_take_2_to_10_photos_or_documents_and_no_keyboard(
    client: SandboxClient, bot: Bot
) -> None:
    await started(client, bot)
    chat = LAN["id"]
    sent = await bot.send_media_group(
        chat, [InputMediaPhoto(media=png(f"{i}.png")) for i in range(3)]
    )
    assert len(sent) == 3 and len({m.media_group_id for m in sent}) == 1
    with pytest.raises(TelegramBadRequest, match="too many messages to send as an album"):
        await bot.send_media_group(chat, [InputMediaPhoto(media=png()) for _ in range(11)])
    with pytest.raises(TelegramBadRequest, match="media group must have 2-10 items"):
        await bot.send_media_group(chat, [InputMediaPhoto(media=png())])
    with pytest.raises(TelegramBadRequest, match="document can't be mixed with other media types"):
        await bot.send_media_group(
            chat,
            [
                InputMediaPhoto(media=png()),
                InputMediaDocument(media=BufferedInputFile(PDF, "a.pdf")),
            ],
        )
    with pytest.raises(TelegramBadRequest, match="takes no reply_markup"):
        method = SendMediaGroup(
            chat_id=chat, media=[InputMediaPhoto(media=png()) for _ in range(2)]
        )
        await bot.session.make_request(bot, _WithMarkup(method))
    assert len(await client.messages(bot.token, chat)) == 3


class _WithMarkup:
    """sendMediaGroup with a reply_markup, as a hand-written client could send it."""

    def __init__(self, method: SendMediaGroup) -> None:
        self._method = method
        self.__api_method__ = method.__api_method__
        self.__returning__ = method.__returning__

    def model_dump(self, **kwargs: object) -> dict[str, object]:
        return {**self._method.model_dump(**kwargs), "reply_markup": '{"inline_keyboard":[]}'}

    def build_response(self, data: object, bot: Bot) -> object:
        return self._method.build_response(data, bot)


async def test_people_send_files_and_bots_download_them(
    client: SandboxClient, bot: Bot, sandbox: SandboxServer
) -> None:
    sent = await client.private_media(
        bot.token,
        LAN,
        [{"kind": "photo", "data": PNG}, {"kind": "photo", "data": PNG + b"1"}],
        caption="Ảnh công văn",
    )
    assert sent["media_group_id"] is not None
    updates = await bot.get_updates(timeout=1)
    assert [u.message.media_group_id for u in updates if u.message] == [sent["media_group_id"]] * 2
    first = updates[0].message
    assert first is not None and first.caption == "Ảnh công văn" and first.photo
    buffer = io.BytesIO()
    await bot.download(first.photo[-1].file_id, destination=buffer)
    assert buffer.getvalue() == PNG
    file = await bot.get_file(first.photo[-1].file_id)
    assert file.file_path is not None
    assert await client.download(bot.token, file.file_path) == PNG
    with pytest.raises(SandboxError):
        await client.download(OTHER, file.file_path)  # another bot's path is not found
    record = sandbox.world.files.by_id[first.photo[-1].file_id]
    record.data = b"0" * (MAX_DOWNLOAD + 1)  # as if 20 MB had come: no need to upload them
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(record.file_id)


async def test_voice_notes_go_alone_not_in_albums(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    ogg = BufferedInputFile(b"OggS" + bytes(100), "ghi-am.ogg")
    sent = await bot.send_voice(LAN["id"], ogg, caption="Loa phường")
    assert sent.voice is not None and sent.caption == "Loa phường"
    voice_id = sent.voice.file_id
    raw = (
        '[{"type":"voice","media":"' + voice_id + '"},{"type":"voice","media":"' + voice_id + '"}]'
    )
    with pytest.raises(TelegramBadRequest, match='type "voice" is unsupported'):
        await bot.session.make_request(bot, _RawAlbum(LAN["id"], raw))
    assert len(await client.messages(bot.token, LAN["id"])) == 1


class _RawAlbum:
    """sendMediaGroup with the media JSON as written by hand (aiogram has no voice item)."""

    __api_method__ = "sendMediaGroup"

    def __init__(self, chat_id: int, media: str) -> None:
        self._fields = {"chat_id": chat_id, "media": media}
        self.__returning__ = SendMediaGroup.__returning__

    def model_dump(self, **kwargs: object) -> dict[str, object]:
        return dict(self._fields)

    def build_response(self, data: object, bot: Bot) -> object:
        raise AssertionError("the sandbox should have refused this album")
