"""Tables for spreadsheets: one `Sheet` (columns and rows), written as CSV or as XLSX.

Both formats come from the same `Sheet`, so a report has the same columns in both. The
difference is what each format can say:

* CSV (for Excel): UTF-8 with a BOM, CRLF lines; a cell that starts with = + - @ (or a
  tab or CR) gets a leading apostrophe, or Excel would run it as a formula (CSV
  injection); times are written on the ward's clock as `YYYY-MM-DD HH:MM:SS`, which
  Excel reads as a date.
* XLSX (openpyxl, write-only): every text is written as a string cell, never a formula
  (openpyxl makes a formula of any text starting with "="; the cell's type is set back
  to string), and risky ones carry Excel's quote prefix so that editing the cell keeps it
  text; times are real dates (the ward's clock, naive, with a number format); numbers
  and booleans are typed cells; a bold header row, panes frozen under it, a filter on
  it, and column widths from the longest value of each column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

Value = str | int | float | bool | datetime | None

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# The ward's convention (dd/mm/yyyy), with the time.
DATE_FORMAT = "dd/mm/yyyy hh:mm:ss"
_RISKY = ("=", "+", "-", "@", "\t", "\r")
_MIN_WIDTH, _MAX_WIDTH = 8, 60


@dataclass(frozen=True, slots=True)
class Sheet:
    """A titled table: the header's column names and the rows, all of one width."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Value]]


def is_risky(value: str) -> bool:
    """Whether a spreadsheet would read this text as a formula."""
    return value[:1] in _RISKY


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    """The ward's wall-clock time, naive (spreadsheets have no time zones)."""
    return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value


def _csv_cell(value: Value, zone: ZoneInfo) -> object:
    if isinstance(value, datetime):
        return _local(value, zone).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and is_risky(value):
        return "'" + value
    return "" if value is None else value


def to_csv(sheet: Sheet, *, zone: ZoneInfo) -> str:
    """The sheet as CSV for Excel (see the module docstring)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(sheet.header)
    for row in sheet.rows:
        writer.writerow([_csv_cell(v, zone) for v in row])
    return out.getvalue()


def _shown_length(value: Value) -> int:
    if isinstance(value, datetime):
        return len(DATE_FORMAT)
    if value is None:
        return 0
    return max((len(line) for line in str(value).splitlines()), default=0)


def column_widths(sheet: Sheet) -> list[float]:
    """Each column as wide as its longest value or header (within bounds), plus a margin."""
    widths = [len(name) for name in sheet.header]
    for row in sheet.rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], _shown_length(value))
    return [min(_MAX_WIDTH, max(_MIN_WIDTH, w + 2)) for w in widths]


def to_xlsx(sheet: Sheet, *, zone: ZoneInfo) -> bytes:
    """The sheet as an XLSX workbook of one worksheet (see the module docstring)."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(title=sheet.title[:31])  # Excel's limit for a sheet's name
    for i, width in enumerate(column_widths(sheet), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    last = get_column_letter(max(1, len(sheet.header)))
    ws.auto_filter.ref = f"A1:{last}{len(sheet.rows) + 1}"
    bold = Font(bold=True)
    header = []
    for name in sheet.header:
        cell = _text_cell(ws, name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in sheet.rows:
        ws.append([_xlsx_cell(ws, v, zone) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(ws: WriteOnlyWorksheet, value: str) -> Cell:
    cell = WriteOnlyCell(ws, value=value)
    # openpyxl turns any text starting with "=" into a formula: a text stays a text.
    cell.data_type = "s"
    if is_risky(value):
        cell.quotePrefix = True  # and stays one when someone edits it in Excel
    return cell


def _xlsx_cell(ws: WriteOnlyWorksheet, value: Value, zone: ZoneInfo) -> Cell | Value:
    if isinstance(value, str):
        return _text_cell(ws, value)
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=_local(value, zone))
        cell.number_format = DATE_FORMAT
        return cell
    return value
