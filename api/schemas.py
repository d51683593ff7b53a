"""Request and response shapes that belong to the API alone (the domain's live in
`broadcasts/`): the `{data, count}` list wrapper and the small bodies of single actions."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from broadcasts.apikeys import ApiKeyPublic
from broadcasts.health import DeliveringHealth, PartHealth

T = TypeVar("T")


class Listing(BaseModel, Generic[T]):
    """One page of a list, and how many rows match in all."""

    data: list[T]
    count: int = Field(description="rows matching the filters, over all pages")


class BotHealth(BaseModel):
    """Whether this process's bot receives updates from Telegram."""

    mode: Literal["polling", "webhook"]
    receiving: bool = Field(
        description="false while getUpdates keeps failing (409: a webhook is set or another "
        "process polls with the token) or while the webhook is not set"
    )
    last_update_age_seconds: float | None = Field(
        description="seconds since the last update arrived; null if none since start"
    )
    error: str | None = Field(default=None, description="why it is not receiving")


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "database": "ok",
                    "up": True,
                    "receiving": {"state": "ok", "age_seconds": 4.2, "processes": 1},
                    "delivering": {
                        "state": "ok",
                        "age_seconds": 1.5,
                        "processes": 2,
                        "oldest_due_age_seconds": 0.0,
                    },
                    "bot": {
                        "mode": "polling",
                        "receiving": True,
                        "last_update_age_seconds": 12.5,
                        "error": None,
                    },
                }
            ]
        }
    )

    status: Literal["ok", "degraded"] = Field(
        description="degraded: the API and the database answer, but a part is stale (workers "
        "or bot fronts that beat before stopped beating) or this process's bot is not "
        "receiving; a required part down answers 503 instead"
    )
    database: str
    up: bool = Field(default=True, description="the API answers and the database too")
    receiving: PartHealth = Field(
        description="bot fronts receiving updates (their heartbeats; not required)"
    )
    delivering: DeliveringHealth = Field(
        description="delivery workers (their heartbeats); required: 503 when deliveries "
        "have waited longer than LOA_HEALTH__STALE_SECONDS and no worker beats"
    )
    bot: BotHealth | None = Field(
        default=None, description="null when no bot receives updates in this process"
    )


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


class OfficialUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "approver"}]})

    role: Literal["official", "approver"]


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
                    "command": "/dangky@loa_benthanh_bot K7M2QX9P",
                    "instructions": "Add @loa_benthanh_bot to the group, then send in the "
                    "group (in the forum topic that should get notices, if the group has "
                    "topics): /dangky@loa_benthanh_bot K7M2QX9P",
                }
            ]
        }
    )

    code: str
    area_code: str
    area_name: str
    expires_at: datetime
    command: str = Field(
        description="what to send: an official `/start CODE` to the bot; a leader "
        "`/dangky@<bot> CODE` in the group (naming the bot, as Telegram's privacy mode needs)"
    )
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
                    "ward_code": "BT",
                    "created_at": "2026-01-05T02:30:00Z",
                    "last_used_at": None,
                    "revoked_at": None,
                    "key": "loa_k3x9q2ab_8Hq…",
                }
            ]
        }
    )

    key: str = Field(description="the key itself; shown this once, store it now")


class BotCreate(BaseModel):
    """A ward's bot: its token (from @BotFather, or Zalo Bot Creator with "transport":
    "zalo") and the ward it serves (none: city-wide)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"transport": "telegram", "token": "7100123456:AAE-example", "ward": "BT"}]
        }
    )

    transport: Literal["telegram", "zalo"] = "telegram"
    token: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00\s]+$")
    ward: str | None = Field(default=None, min_length=1, max_length=64)


class BotTokenRotate(BaseModel):
    """The bot's new token, after @BotFather's /revoke."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "7100123456:AAF-new"}]})

    token: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00\s]+$")
