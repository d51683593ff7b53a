"""Request and response shapes that belong to the API alone (the domain's live in
`broadcasts/`): the `{data, count}` list wrapper and the small bodies of single actions."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from broadcasts.apikeys import ApiKeyPublic

T = TypeVar("T")


class Listing(BaseModel, Generic[T]):
    """One page of a list, and how many rows match in all."""

    data: list[T]
    count: int = Field(description="rows matching the filters, over all pages")


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "database": "ok"}]})

    status: str
    database: str


class Deactivate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "group closed"}]})

    reason: str = Field(min_length=1, max_length=500)


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"locale": "en"}]})

    locale: str = Field(min_length=2, max_length=10)


class RegistrationCodeRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"area_code": "BT-KP3", "ttl_hours": 72}]}
    )

    area_code: str = Field(min_length=1, max_length=64)
    ttl_hours: float = Field(default=72, gt=0, le=720)
    note: str = Field(default="", max_length=200)


class OfficialInviteRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ward_code": "BT", "ttl_hours": 72, "note": "Chị Lan, văn phòng UBND"}]
        }
    )

    ward_code: str = Field(min_length=1, max_length=64)
    ttl_hours: float = Field(default=72, gt=0, le=720)
    note: str = Field(default="", max_length=200)


class IssuedCode(BaseModel):
    """A one-time code to hand to a person, and what they should do with it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "K7M2QX9P",
                    "area_code": "BT-KP3",
                    "area_name": "Khu phố 3",
                    "expires_at": "2026-01-08T02:30:00Z",
                    "instructions": "Add the bot to the group and send /register K7M2QX9P",
                }
            ]
        }
    )

    code: str
    area_code: str
    area_name: str
    expires_at: datetime
    instructions: str


class ApiKeyCreated(ApiKeyPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "name": "reporting dashboard",
                    "prefix": "k3x9q2ab",
                    "scopes": ["reports"],
                    "created_at": "2026-01-05T02:30:00Z",
                    "last_used_at": None,
                    "revoked_at": None,
                    "key": "loa_k3x9q2ab_8Hq…",
                }
            ]
        }
    )

    key: str = Field(description="the key itself; shown this once, store it now")
