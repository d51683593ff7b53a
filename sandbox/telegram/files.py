"""The files bots and people have sent: bytes, kind, owner, the ``file_path`` to download.

A ``file_id`` belongs to the bot that received it (by upload, or in an update from a
person), as on Telegram, where another bot's ``file_id`` is "wrong file identifier/HTTP
URL specified". Ids are opaque and new for every upload (no deduplication by content).
"""

from __future__ import annotations

import hashlib
import itertools

_EXTENSIONS = {"photo": ".jpg", "voice": ".oga", "document": ""}
_FOLDERS = {"photo": "photos", "voice": "voice", "document": "documents"}


class FileRecord:
    __slots__ = ("file_id", "unique_id", "owner", "kind", "data", "file_name", "mime_type", "path")

    def __init__(
        self,
        *,
        file_id: str,
        unique_id: str,
        owner: str,
        kind: str,
        data: bytes,
        file_name: str,
        mime_type: str,
        path: str,
    ) -> None:
        self.file_id = file_id
        self.unique_id = unique_id
        self.owner = owner  # the token of the bot this file_id is valid for
        self.kind = kind  # "photo", "document" or "voice"
        self.data = data
        self.file_name = file_name
        self.mime_type = mime_type
        self.path = path

    @property
    def size(self) -> int:
        return len(self.data)

    def telegram(self) -> dict[str, object]:
        """The PhotoSize / Document / Voice object a Message carries."""
        base: dict[str, object] = {
            "file_id": self.file_id,
            "file_unique_id": self.unique_id,
            "file_size": self.size,
        }
        if self.kind == "photo":
            return {**base, "width": 800, "height": 600}
        if self.kind == "voice":
            return {**base, "duration": 1, "mime_type": self.mime_type or "audio/ogg"}
        out = {**base, "file_name": self.file_name or "file"}
        if self.mime_type:
            out["mime_type"] = self.mime_type
        return out


class FileStore:
    """Every file of one world, by file_id and by download path."""

    def __init__(self) -> None:
        self.by_id: dict[str, FileRecord] = {}
        self.by_path: dict[str, FileRecord] = {}
        self._serial = itertools.count(1)

    def add(
        self, *, owner: str, kind: str, data: bytes, file_name: str = "", mime_type: str = ""
    ) -> FileRecord:
        n = next(self._serial)
        digest = hashlib.sha256(f"{owner}|{n}".encode()).hexdigest()
        file_id = f"{kind[:2].upper()}{n}_{digest[:24]}"
        suffix = _EXTENSIONS[kind]
        if kind == "document" and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1][:8]
        record = FileRecord(
            file_id=file_id,
            unique_id=f"U{n}{digest[24:32]}",
            owner=owner,
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            path=f"{_FOLDERS[kind]}/file_{n}{suffix}",
        )
        self.by_id[file_id] = record
        self.by_path[record.path] = record
        return record
