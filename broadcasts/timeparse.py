"""Reading a time an official types, in the ward's time zone, into an aware UTC datetime."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from broadcasts.errors import InvalidInput
from broadcasts.settings import DEFAULT_TIMEZONE

_TIME = r"(?P<h>\d{1,2})\s*(?:[:hg]|giờ)\s*(?P<m>\d{2})?(?::(?P<s>\d{2}))?"
_DATE = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<mo>\d{1,2})(?:\s*[/.-]\s*(?P<y>\d{2,4}))?"
_PATTERNS = [
    re.compile(rf"^\s*{_TIME}\s*(?:,|ngày)?\s*(?:{_DATE})?\s*$", re.IGNORECASE),
    re.compile(rf"^\s*{_DATE}\s*(?:,|lúc)?\s*{_TIME}\s*$", re.IGNORECASE),
]


def parse_local_time(
    text: str, *, now: datetime | None = None, timezone: str = DEFAULT_TIMEZONE
) -> datetime:
    """Accepts "07:30", "7h30", "07:30 28/11", "28/11/2026 07:30", "14:05:30".

    A time without a date means its next occurrence. The result must be in the future.
    `timezone` is the zone the official means (`Settings.timezone`).
    """
    tz = ZoneInfo(timezone)
    now = (now or datetime.now(UTC)).astimezone(tz)
    for pattern in _PATTERNS:
        m = pattern.match(text)
        if m:
            break
    else:
        raise InvalidInput(f"cannot read a time from {text!r}")
    try:
        hour, minute, second = int(m["h"]), int(m["m"] or 0), int(m["s"] or 0)
        if m["d"]:
            year = int(m["y"]) if m["y"] else now.year
            year = year + 2000 if year < 100 else year
            at = datetime(year, int(m["mo"]), int(m["d"]), hour, minute, second, tzinfo=tz)
            if not m["y"] and at < now - timedelta(days=1):
                at = at.replace(year=year + 1)
        else:
            at = now.replace(hour=hour, minute=minute, second=second, microsecond=0)
            if at <= now:
                at += timedelta(days=1)
    except ValueError as exc:
        raise InvalidInput(f"not a real date or time: {text!r}") from exc
    if at <= now:
        raise InvalidInput("the time is in the past")
    return at.astimezone(UTC)
