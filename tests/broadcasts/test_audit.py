"""The audit log keeps JSON-safe details and lists newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.audit import list_events, record
from broadcasts.models import AreaLevel


async def test_record_and_list(session: AsyncSession) -> None:
    await record(
        session=session,
        actor="api-key:1:ops",
        action="area.create",
        subject="area:BT",
        level=AreaLevel.ward,
        at=datetime(2026, 1, 1, tzinfo=UTC),
        codes={"B", "A"},
    )
    await record(session=session, actor="api-key:1:ops", action="area.import", created=3)
    rows, count = await list_events(session=session)
    assert count == 2 and rows[0].action == "area.import"
    only, _ = await list_events(session=session, subject="area:BT")
    assert only[0].detail["level"] == "ward"
    assert only[0].detail["at"] == "2026-01-01T00:00:00+00:00"
    assert sorted(only[0].detail["codes"]) == ["A", "B"]
