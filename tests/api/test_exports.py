"""Spreadsheet exports: the report and the acknowledgements as CSV and XLSX, read back
with csv and openpyxl (cells, types, dates, frozen panes, formulas that stay text)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.exports import XLSX_MEDIA_TYPE
from broadcasts.models import Acknowledgement, Delivery, DeliveryStatus, NoticeOccurrence
from tests.api.conftest import assert_problem
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree

S = DeliveryStatus
HOSTILE_AREA = '=HYPERLINK("http://evil.example/x","Khu phố 1")'
HOSTILE_NAMES = ('=HYPERLINK("http://evil.example","Bấm")', "@SUM(1+1)", "-2+3", "+84 909")
AT = datetime(2026, 3, 11, 7, 20, 5, tzinfo=UTC)  # 14:20:05 in Ho Chi Minh City


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """A notice fired twice (occurrences 0 and 1) to KP1 (renamed to a formula) and KP2;
    occurrence 0 acknowledged by four people with formula-like names, occurrence 1 by one."""
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        areas["BT-KP1"].name = HOSTILE_AREA
        chans = await add_channels(
            session, await add_bot(session), [areas["BT-KP1"], areas["BT-KP2"]]
        )
        notice, first = await add_notice(session, areas["BT"], chans, [S.sent, S.sent])
        notice.rrule = "FREQ=WEEKLY"
        notice.occurrences = 2
        nid = notice.id or 0
        second = [
            Delivery(
                notice_id=nid,
                channel_id=c.id or 0,
                bot_id=c.bot_id,
                occurrence=1,
                status=S.sent,
                attempts=1,
                sent_at=AT,
            )
            for c in chans
        ]
        session.add_all(second)
        session.add_all(
            NoticeOccurrence(notice_id=nid, occurrence=k, due_at=AT, fired_at=AT) for k in (0, 1)
        )
        await session.flush()
        for i, name in enumerate(HOSTILE_NAMES):
            session.add(
                Acknowledgement(
                    notice_id=nid,
                    channel_id=first[i % 2].channel_id,
                    occurrence=0,
                    delivery_id=first[i % 2].id,
                    person_ref=f"p{i}",
                    person_name=name,
                    created_at=AT.replace(minute=21 + i),
                )
            )
        session.add(
            Acknowledgement(
                notice_id=nid,
                channel_id=second[1].channel_id,
                occurrence=1,
                delivery_id=second[1].id,
                person_ref="p9",
                person_name="Bác Tư",
                by_leader=True,
                method="api",
                created_at=AT,
            )
        )
        return {"notice": nid}


def _sheet(response: httpx.Response) -> Worksheet:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    return sheet


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_the_report_as_xlsx_has_the_csv_columns_typed_and_frozen(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    base = f"/notices/{ids['notice']}/report"
    rows = _csv(await admin.get(base + ".csv"))
    response = await admin.get(base + ".xlsx")
    assert f"notice-{ids['notice']}-report.xlsx" in response.headers["content-disposition"]
    sheet = _sheet(response)
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert [[("" if v is None else str(v)) for v in row] for row in cells[1:]] == [
        [v.removeprefix("'") for v in row] for row in rows[1:]
    ]
    assert cells[0] == rows[0] and cells[0][0] == "area_code" and cells[-1][0] == "TOTAL"
    assert sheet.freeze_panes == "A2"
    assert all(c.font.b for c in sheet[1])
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(rows[0]))}{len(rows)}"
    kp1 = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "BT-KP1")
    assert kp1[1].value == HOSTILE_AREA and kp1[1].data_type == "s" and kp1[1].quotePrefix
    assert (kp1[3].value, kp1[3].data_type) == (2, "n")  # targeted: both occurrences
    assert sheet.column_dimensions["B"].width >= len(HOSTILE_AREA)
    # The CSV neutralises the same cell with an apostrophe; nothing in either is a formula.
    assert any(r[1] == "'" + HOSTILE_AREA for r in rows)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


async def test_acknowledgements_export_per_notice_and_per_occurrence(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    base = f"/notices/{ids['notice']}/acknowledgements"
    listed = (await admin.get(base)).json()
    rows = _csv(await admin.get(base + ".csv"))
    assert rows[0] == [
        "occurrence",
        "area_code",
        "area_name",
        "chat_title",
        "person_name",
        "person_ref",
        "by_leader",
        "method",
        "via",
        "acknowledged_at",
    ]
    assert len(rows) - 1 == listed["count"] == 5
    # Oldest first; each formula-like name gets the apostrophe in CSV (a phone number too).
    assert [r[4] for r in rows[1:]] == ["Bác Tư", *("'" + n for n in HOSTILE_NAMES)]
    first = rows[1]  # oldest: occurrence 1's, at AT exactly
    assert (first[0], first[6], first[7], first[9]) == ("1", "true", "api", "2026-03-11 14:20:05")

    sheet = _sheet(await admin.get(base + ".xlsx"))
    assert sheet.freeze_panes == "A2"
    body = list(sheet.iter_rows(min_row=2))
    assert len(body) == 5
    names = {row[4].value: row[4] for row in body}
    for name in HOSTILE_NAMES:
        cell = names[name]  # the name exactly as typed, a plain text cell
        assert cell.data_type == "s", name
    at = body[0][9]
    assert at.value == datetime(2026, 3, 11, 14, 20, 5)  # the ward's clock, naive
    assert at.is_date and "yy" in at.number_format
    assert (body[0][0].value, body[0][6].value) == (1, True)
    assert body[0][6].data_type == "b"

    one = _sheet(await admin.get(base + ".xlsx", params={"occurrence": 0}))
    assert {row[0].value for row in one.iter_rows(min_row=2)} == {0}
    assert one.max_row - 1 == 4
    only = _csv(await admin.get(base + ".csv", params={"occurrence": 1}))
    assert [r[4] for r in only[1:]] == ["Bác Tư"]
    none = _csv(await admin.get(base + ".csv", params={"occurrence": 7}))
    assert none == [rows[0]]  # a header, no rows
    assert_problem(await admin.get(base + ".xlsx", params={"occurrence": -1}), 422)
    assert_problem(await admin.get("/notices/999999/acknowledgements.xlsx"), 404, "999999")
