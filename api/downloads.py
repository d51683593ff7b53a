"""Spreadsheet downloads: a `Sheet` as the CSV or XLSX response of an export route.

The path's suffix picks the format (`report.csv`, `report.xlsx`), as `report.csv` always
did: a link a person clicks or pastes into Excel carries its format, with no header to
set. Times are written on the configured ward clock (`LOA_TIMEZONE`).
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi.responses import Response

from broadcasts.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Sheet, to_csv, to_xlsx
from broadcasts.settings import Settings

Format = Literal["csv", "xlsx"]


def sheet_response(sheet: Sheet, fmt: Format, *, filename: str, settings: Settings) -> Response:
    """The sheet as an attachment named `filename`.`fmt`."""
    zone = ZoneInfo(settings.timezone)
    if fmt == "xlsx":
        body, media_type = to_xlsx(sheet, zone=zone), XLSX_MEDIA_TYPE
    else:
        body, media_type = to_csv(sheet, zone=zone).encode("utf-8"), CSV_MEDIA_TYPE
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def xlsx_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of an XLSX download."""
    return {
        200: {
            "description": description,
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
