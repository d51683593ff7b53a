"""Path parameters shared by the routes, bounded to what the database stores."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import StringConstraints

from broadcasts.bounds import MAX_ID

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
LOCALE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"  # as broadcasts.channels checks it; stored in 10
LocalePath = Annotated[str, Path(min_length=2, max_length=10, pattern=LOCALE)]
Locale = Annotated[str, StringConstraints(min_length=2, max_length=10, pattern=LOCALE)]
WardCode = Annotated[
    str, Path(min_length=1, max_length=64, description="the ward's code", examples=["BT"])
]
