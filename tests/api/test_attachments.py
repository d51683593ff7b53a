"""Files of a notice through the API: upload (multipart, admin), list, refusals as
problem+json, the route's own body cap, and nothing kept when a file is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.db import session_scope
from broadcasts.settings import ApiSettings, AttachmentSettings, Settings
from tests.api.conftest import ADMIN_KEY, BASE_URL, assert_problem
from tests.api.factories import seed_tree

PDF = b"%PDF-1.4\n" + b"1" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


@pytest.fixture
async def client(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with session_scope(sessionmaker) as session:
        await seed_tree(session)
    settings = Settings(
        database_url=database_url,
        api=ApiSettings(bootstrap_key=SecretStr(ADMIN_KEY)),
        attachments=AttachmentSettings(
            dir=tmp_path / "files", max_files=2, max_file_bytes=4096, max_photo_bytes=8192
        ),
    )
    app = create_app(sessionmaker=sessionmaker, settings=settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ) as c,
    ):
        yield c


async def draft(client: httpx.AsyncClient) -> int:
    text = "Thông báo: họp tổ dân phố lúc 19 giờ thứ Sáu, ngày 04/12/2026 tại nhà văn hóa."
    r = await client.post("/notices/prepare", json={"ward_code": "BT", "text": text})
    assert r.status_code == 201, r.text
    return int(r.json()["notice_id"])


async def test_upload_and_list_the_files_of_a_draft(client: httpx.AsyncClient) -> None:
    notice_id = await draft(client)
    r = await client.post(
        f"/notices/{notice_id}/attachments",
        files={"file": ("cong-van.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "document" and body["size"] == len(PDF) and body["position"] == 0
    r = await client.post(
        f"/notices/{notice_id}/attachments",
        files={"file": ("anh.png", PNG, "image/png")},
    )
    assert r.status_code == 201 and r.json()["kind"] == "photo"
    listed = (await client.get(f"/notices/{notice_id}/attachments")).json()
    assert listed["count"] == 2
    assert [a["file_name"] for a in listed["data"]] == ["cong-van.pdf", "anh.png"]
    third = await client.post(
        f"/notices/{notice_id}/attachments", files={"file": ("b.png", PNG, "image/png")}
    )
    assert_problem(third, 422, "at most 2 files")


async def test_wrong_or_too_big_files_are_refused_and_nothing_is_kept(
    client: httpx.AsyncClient,
) -> None:
    notice_id = await draft(client)
    wrong = await client.post(
        f"/notices/{notice_id}/attachments",
        files={"file": ("setup.exe", b"MZ" + PDF, "application/x-msdownload")},
    )
    assert_problem(wrong, 422, "not accepted")
    big = await client.post(
        f"/notices/{notice_id}/attachments",
        files={"file": ("to.pdf", PDF * 3, "application/pdf")},
    )
    assert_problem(big, 422, "at most 4096 bytes")
    huge = await client.post(
        f"/notices/{notice_id}/attachments",
        files={"file": ("huge.pdf", PDF * 3000, "application/pdf")},
    )
    assert_problem(huge, 413)  # over the route's body cap, refused before it is read
    assert (await client.get(f"/notices/{notice_id}/attachments")).json()["count"] == 0
    missing = await client.get("/notices/999999/attachments")
    assert_problem(missing, 404)
