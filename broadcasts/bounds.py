"""The ranges every stored value must fit, so that input beyond them is refused as invalid
(422) instead of failing in the database (SQLite stores 64-bit integers; PostgreSQL's
`integer` id columns hold 32 bits; neither stores a NUL character in text)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1  # PostgreSQL `integer` (serial) primary keys
MAX_OFFSET = 2**31 - 1  # more rows than any table will have; SQLite and PostgreSQL take it

DbId = Annotated[int, Field(ge=1, le=MAX_ID, description="a row id")]
