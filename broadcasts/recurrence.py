"""Recurring notices: an RFC 5545 RRULE (python-dateutil) read in the ward's time zone.

A notice's `rrule` is stored as two lines, the first occurrence and the rule:

    DTSTART;TZID=Asia/Ho_Chi_Minh:20261203T180000
    RRULE:FREQ=WEEKLY;BYDAY=TH;UNTIL=20261231T165959Z

The rule is expanded from a *local* start, so «every Thursday 18:00» stays 18:00 on the
ward's clock; UNTIL is UTC, as RFC 5545 requires with a zoned start.

How a recurring notice lives (see `broadcasts.notices.dispatch_notice`):

- Scheduling stores the rule and sets `scheduled_at` to the first occurrence.
- Firing occurrence k (k = `Notice.occurrences`, the count fired so far) is one
  conditional UPDATE on the notice (still scheduled, still at k, due) plus the insert of
  its `notice_occurrence` row (primary key (notice_id, k)): two schedulers or a double
  fire match the UPDATE once, and the primary key refuses a second row regardless. The
  occurrence gets its own deliveries (`Delivery.occurrence = k`) and so its own
  acknowledgements (`Acknowledgement.occurrence`, taken from the delivery pressed).
- While occurrences are left, the same UPDATE keeps the notice `scheduled` with
  `scheduled_at` = the next occurrence: the scheduler plans it like any scheduled notice,
  cancelling is the ordinary cancel of a scheduled notice (which also stops what the
  current occurrence has not sent), and completion, which only closes `dispatching`
  notices, leaves it alone. The last occurrence turns it `dispatching`, then `done`.
- After an outage, only the latest occurrence due is sent, once (numbered k like any
  other); the ones before it are skipped, since a week-old «garbage day is tonight» helps
  nobody. A restart loses nothing: the due notice is still `scheduled` in the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from broadcasts.errors import InvalidInput
from broadcasts.i18n import translations
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.timeparse import fold, wall_time

MIN_GAP = timedelta(hours=1)  # occurrences closer than this are refused
MAX_COUNT = 500
NOW_SLACK = timedelta(minutes=2)
MAX_SPAN = timedelta(days=5 * 366)  # UNTIL at most about five years ahead
_CHECKED = 60  # occurrences looked at for the gap check

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ALLOWED_FREQ = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")


@dataclass(frozen=True, slots=True)
class Repeat:
    """A checked rule: the text to store, the first occurrence (UTC) and the rule."""

    text: str
    first: datetime
    rule: rrule


def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


def _fields(line: str) -> dict[str, str]:
    parts = [p for p in line.split(";") if p.strip()]
    fields: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise InvalidInput(f"cannot read the rule part {part!r}", reason="bad_rrule")
        fields[key.strip().upper()] = value.strip().upper()
    return fields


def _rule_line(text: str) -> str:
    """The RRULE line of `text` ("RRULE:" optional); other RFC 5545 lines are refused."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    rules = [ln for ln in lines if not ln.upper().startswith("DTSTART")]
    if len(rules) != 1:
        raise InvalidInput("give exactly one RRULE line", reason="bad_rrule")
    line = rules[0]
    if line.upper().startswith("RRULE:"):
        line = line[6:]
    if ":" in line:
        raise InvalidInput("only an RRULE is accepted (no EXDATE or RDATE)", reason="bad_rrule")
    return line.strip()


def _parse(line: str, start: datetime) -> rrule:
    try:
        rule = rrulestr(line, dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise InvalidInput(f"the repeat rule cannot be read: {exc}", reason="bad_rrule") from exc
    if not isinstance(rule, rrule):
        raise InvalidInput("give exactly one RRULE", reason="bad_rrule")
    return rule


def check_rule(
    text: str,
    *,
    start: datetime,
    now: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Repeat:
    """Validate `text` (an RRULE, "RRULE:" optional) from `start` (aware; the first time
    asked for, read on the ward's clock) and give the rule to store.

    Refused with `InvalidInput` (`reason`): unreadable (`bad_rrule`), more often than
    hourly (`rrule_too_frequent`), COUNT or UNTIL out of bounds (`rrule_bounds`), and no
    occurrence from now on (`rrule_no_future`)."""
    if start.tzinfo is None:
        raise InvalidInput("the first time needs a timezone")
    tz = _zone(timezone)
    now = now or datetime.now(UTC)
    line = _rule_line(text)
    fields = _fields(line)
    freq = fields.get("FREQ")
    if freq in ("SECONDLY", "MINUTELY"):
        raise InvalidInput("a notice may repeat at most once an hour", reason="rrule_too_frequent")
    if freq not in _ALLOWED_FREQ:
        raise InvalidInput("the rule needs FREQ (HOURLY to YEARLY)", reason="bad_rrule")
    if "COUNT" in fields and "UNTIL" in fields:
        raise InvalidInput("give COUNT or UNTIL, not both", reason="rrule_bounds")
    if "COUNT" in fields:
        if not fields["COUNT"].isdigit() or not 1 <= int(fields["COUNT"]) <= MAX_COUNT:
            raise InvalidInput(f"COUNT must be 1 to {MAX_COUNT}", reason="rrule_bounds")
    if "UNTIL" in fields and not fields["UNTIL"].endswith("Z"):
        # A date or a floating time: read it on the ward's clock, through the end of that day.
        fields["UNTIL"] = _utc_until(fields["UNTIL"], tz)
        line = ";".join(f"{k}={v}" for k, v in fields.items())
    # On the minute: «every week at this time» pressed at 15:47:21 repeats at 15:47.
    local = start.astimezone(tz).replace(second=0, microsecond=0)
    rule = _parse(line, local)
    until = _until(fields)
    if until is not None:
        if until < start:
            raise InvalidInput("UNTIL is before the first time", reason="rrule_bounds")
        if until - now > MAX_SPAN:
            raise InvalidInput("UNTIL is more than five years ahead", reason="rrule_bounds")
    # «Now» is a few moments ago by the time it is checked: the first occurrence may be.
    first = rule.after(max(local, now - NOW_SLACK) - timedelta(seconds=1), inc=True)
    if first is None:
        raise InvalidInput("the rule has no occurrence from now on", reason="rrule_no_future")
    seen: list[datetime] = []
    for at in rule:
        seen.append(at)
        if len(seen) >= _CHECKED:
            break
    for earlier, later in zip(seen, seen[1:], strict=False):
        if later - earlier < MIN_GAP:
            raise InvalidInput(
                "a notice may repeat at most once an hour", reason="rrule_too_frequent"
            )
    stored = f"DTSTART;TZID={timezone}:{first.strftime('%Y%m%dT%H%M%S')}\nRRULE:{line}"
    return Repeat(text=stored, first=first.astimezone(UTC), rule=_parse(line, first))


def _utc_until(value: str, tz: ZoneInfo) -> str:
    try:
        if "T" in value:
            local = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        else:
            day = datetime.strptime(value, "%Y%m%d").date()
            local = datetime.combine(day, time(23, 59, 59), tzinfo=tz)
    except ValueError as exc:
        raise InvalidInput(f"cannot read UNTIL {value!r}", reason="bad_rrule") from exc
    return local.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _until(fields: dict[str, str]) -> datetime | None:
    value = fields.get("UNTIL")
    if value is None:
        return None
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def load_rule(stored: str, *, timezone: str = DEFAULT_TIMEZONE) -> rrule:
    """The rule of a stored `Notice.rrule` (as `check_rule` wrote it)."""
    head, _, body = stored.partition("\n")
    zone_name, _, stamp = head.removeprefix("DTSTART;TZID=").partition(":")
    start = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=_zone(zone_name or timezone))
    return _parse(body.removeprefix("RRULE:"), start)


def next_after(stored: str, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after` (UTC), or None when the rule has ended."""
    found = load_rule(stored).after(after)
    return found.astimezone(UTC) if found is not None else None


def latest_due(stored: str, now: datetime) -> datetime | None:
    """The latest occurrence at or before `now` (UTC): the one an overdue fire sends."""
    found = load_rule(stored).before(now, inc=True)
    return found.astimezone(UTC) if found is not None else None


# -- what a person reads -------------------------------------------------------------


def _clock(local: datetime) -> str:
    return f"{local.hour:02d}:{local.minute:02d}"


def describe(stored: str, *, locale: str = "vi", timezone: str = DEFAULT_TIMEZONE) -> str:
    """A short line for screens: «Thứ Năm hằng tuần, 18:00, đến 31/12/2026»."""
    catalog = translations(locale)
    _ = catalog.gettext
    body = stored.partition("\n")[2]
    start = load_rule(stored, timezone=timezone)[0].astimezone(_zone(timezone))
    fields = _fields(body.removeprefix("RRULE:"))
    freq, interval = fields.get("FREQ", ""), int(fields.get("INTERVAL", "1") or 1)
    names = (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )
    days = [
        names[_DAYS.index(d[-2:])]
        for d in fields.get("BYDAY", "").split(",")
        if d[-2:] in _DAYS and not d[:-2]
    ]
    simple = set(fields) <= {
        *("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST"),
        *("BYHOUR", "BYMINUTE", "BYSECOND"),  # the clock, read from the first occurrence
    }
    if not simple:
        what = _("On a custom schedule")
    elif freq == "WEEKLY" and interval == 1:
        what = _("Every {weekday}").format(weekday=", ".join(days or [names[start.weekday()]]))
    elif freq == "WEEKLY":
        what = catalog.ngettext(
            "Every {count} week on {weekday}", "Every {count} weeks on {weekday}", interval
        ).format(count=interval, weekday=", ".join(days or [names[start.weekday()]]))
    elif freq == "MONTHLY" and interval == 1:
        day = fields.get("BYMONTHDAY", str(start.day))
        what = _("On day {day} of every month").format(day=day)
    elif freq == "DAILY" and interval == 1:
        what = _("Every day")
    elif freq == "HOURLY" and interval == 1:
        what = _("Every hour")
    else:
        what = _("On a custom schedule")
    parts = [what[:1].upper() + what[1:]]
    if freq != "HOURLY":
        parts.append(_clock(start))
    if "COUNT" in fields:
        count = int(fields["COUNT"])
        parts.append(catalog.ngettext("{count} time", "{count} times", count).format(count=count))
    until = _until(fields)
    if until is not None:
        end = until.astimezone(_zone(timezone)).strftime("%d/%m/%Y")
        parts.append(_("until {date}").format(date=end))
    return ", ".join(parts)


# -- what an official types --------------------------------------------------------

_WEEKLY = re.compile(r"\b(?:hang|moi)\s+tuan\b")
_MONTHLY = re.compile(r"\b(?:hang|moi)\s+thang\b")
_DAILY = re.compile(r"\b(?:hang|moi)\s+ngay\b")
_EVERY = re.compile(r"\bmoi\b")
_MONTH_DAY = re.compile(r"\bngay\s+(?P<day>\d{1,2})\b(?!\s*[/.-])")
_UNTIL = re.compile(
    r"\b(?:den|toi)\s+(?:het\s+)?(?:ngay\s+)?(?P<d>\d{1,2})\s*[/.-]\s*(?P<mo>\d{1,2})"
    r"(?:\s*[/.-]\s*(?P<y>\d{4}))?"
)
_WEEKDAY_WORD = re.compile(r"\b(?:thu\s+(?:hai|ba|tu|nam|sau|bay|[2-7])|t[2-7]|chu\s+nhat|cn)\b")


def is_repeat_text(text: str) -> bool:
    """Whether `text` asks for a repeat («hằng tuần», «mỗi thứ Bảy», «hằng tháng»)."""
    plain = fold(text)
    return bool(_WEEKLY.search(plain) or _MONTHLY.search(plain) or _DAILY.search(plain)) or bool(
        _EVERY.search(plain) and _WEEKDAY_WORD.search(plain)
    )


def read_repeat(
    text: str, *, now: datetime | None = None, timezone: str = DEFAULT_TIMEZONE
) -> Repeat:
    """A repeat as an official types it: «thứ Năm hằng tuần 18h», «mỗi thứ Bảy 7h30 đến
    31/12», «ngày 1 hằng tháng 8h», «hằng ngày 6h». Unreadable: `UnreadableTime`."""
    tz = _zone(timezone)
    now = now or datetime.now(UTC)
    today = now.astimezone(tz).date()
    plain = fold(text)
    until: date | None = None
    m = _UNTIL.search(plain)
    if m:
        year = int(m["y"]) if m["y"] else today.year
        try:
            until = date(year, int(m["mo"]), int(m["d"]))
        except ValueError as exc:
            raise InvalidInput("not a real date", reason="unreadable") from exc
        if until < today and not m["y"]:
            until = until.replace(year=year + 1)
        plain = plain[: m.start()] + " " + plain[m.end() :]
    month_day: int | None = None
    if _MONTHLY.search(plain):
        freq = "MONTHLY"
        plain = _MONTHLY.sub(" ", plain)
        found = _MONTH_DAY.search(plain)
        if found is None:
            raise InvalidInput("which day of the month?", reason="unreadable")
        month_day = int(found["day"])
        if not 1 <= month_day <= 31:
            raise InvalidInput("not a day of the month", reason="unreadable")
        plain = plain[: found.start()] + " " + plain[found.end() :]
    elif _DAILY.search(plain):
        freq, plain = "DAILY", _DAILY.sub(" ", plain)
    else:
        freq, plain = "WEEKLY", _EVERY.sub(" ", _WEEKLY.sub(" ", plain))
    clock = wall_time(plain)
    parts = [f"FREQ={freq}"]
    if freq == "WEEKLY":
        day = clock.weekday if clock.weekday is not None else today.weekday()
        parts.append(f"BYDAY={_DAYS[day]}")
    elif clock.weekday is not None:
        raise InvalidInput("a weekday with a daily or monthly repeat", reason="unreadable")
    if month_day is not None:
        parts.append(f"BYMONTHDAY={month_day}")
    if until is not None:
        parts.append(f"UNTIL={until.strftime('%Y%m%d')}")
    start = datetime.combine(today, clock.at, tzinfo=tz)
    if start <= now:  # today's time has passed: the rule starts tomorrow
        start = datetime.combine(today + timedelta(days=1), clock.at, tzinfo=tz)
    return check_rule(";".join(parts), start=start, now=now, timezone=timezone)


# The repeats the bot offers as one press, from the moment it is confirmed: its weekday,
# day of the month and time come from that first occurrence.
QUICK_REPEATS = {"weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY"}


def quick_month_day(*, now: datetime | None = None, timezone: str = DEFAULT_TIMEZONE) -> int | None:
    """Today's day of the month, when every month has it (1–28): «hằng tháng ngày 5»."""
    day = (now or datetime.now(UTC)).astimezone(_zone(timezone)).day
    return day if day <= 28 else None
