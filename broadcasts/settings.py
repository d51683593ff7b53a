"""One settings object for every Loa process, read from the environment and `.env`.

Keys are prefixed `LOA_`; nested groups use `__` (for example `LOA_TELEGRAM__TOKEN`,
`LOA_AI__BASE_URL`). Every key is listed, with a comment, in `.env.example`, and
`tests/test_settings.py` checks that the two lists match. `loa run`, `loa bot`,
`loa worker`, `loa api` and `loa prepare` all read this one tree, so one `.env` in the
working directory configures them all.

`DEFAULT_TIMEZONE` is the one place the ward's time zone is named: code that has no
settings at hand takes it as a keyword default, everything else reads `Settings.timezone`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broadcasts.i18n import DEFAULT_LOCALE, LOCALES_DIR

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


def _blank_is_none(value: object) -> object:
    # `.env.example` lists every key, so an unset secret arrives as an empty string.
    return None if isinstance(value, str) and not value.strip() else value


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    api_base: str = "https://api.telegram.org"
    poll_timeout_seconds: int = 25
    # How updates arrive: the bot asks for them (getUpdates), or Telegram posts them to
    # the API at `webhook_url` + "/telegram/webhook/<bot account id>".
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    # Sent by Telegram in X-Telegram-Bot-Api-Secret-Token; required in webhook mode.
    webhook_secret: SecretStr | None = None
    # Updates one bot process handles at once, polled or posted (then the next getUpdates
    # waits for room). Presses of Đã nhận mostly wait for their batch's commit, so this is
    # high; what protects the database pool is `session_concurrency`.
    update_concurrency: int = Field(default=256, ge=1)
    # Updates holding a database session at once: below the pool (SQLite's 15, PostgreSQL's
    # 30 with overflow), so that the delivery worker and the scheduler still get theirs.
    # Đã nhận presses take no turn here: they are written by the press batch.
    session_concurrency: int = Field(default=10, ge=1)
    # Đã nhận presses written in one transaction at most (broadcasts.ack_batch).
    press_batch: int = Field(default=500, ge=1, le=2000)

    _blank_token = field_validator("token", "webhook_url", "webhook_secret", mode="before")(
        _blank_is_none
    )


class ZaloSettings(BaseModel):
    """The Zalo Bot API (`broadcasts.transports.zalo_wire` says what it documents)."""

    api_base: str = "https://bot-api.zaloplatforms.com"
    # Zalo publishes no quota figures: a slow default; a 429 pauses the bot a minute.
    per_bot_per_second: float = Field(default=2.0, ge=0)
    quota_retry_seconds: float = Field(default=60.0, gt=0)
    poll_timeout_seconds: int = Field(default=30, ge=1, le=60)
    # How events arrive: Loa asks (getUpdates), or Zalo posts them to the API at
    # `webhook_url` + "/zalo/webhook/<bot account id>" with `webhook_secret`.
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # An official composing on Zalo (numbered menus) who does not answer for this long
    # finds the draft dropped: nothing half-chosen waits for ever.
    wizard_timeout_minutes: int = Field(default=60, ge=1, le=24 * 60)

    _blank = field_validator("webhook_url", "webhook_secret", mode="before")(_blank_is_none)


class ApiSettings(BaseModel):
    # A refused bootstrap key must not be printed in the startup error.
    model_config = ConfigDict(hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = 8000
    bootstrap_key: SecretStr | None = None
    # Largest request body, in bytes, checked before authentication and parsing: most
    # routes, notice texts (POST /notices/prepare, up to 20,000 characters), CSV imports.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_notice_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_import_bytes: int = Field(default=11 * 1024 * 1024, ge=1024)
    # Failed authentications allowed per client address / per key prefix in the window;
    # past them, 429 with Retry-After until the window has room.
    auth_failures_per_address: int = Field(default=20, ge=1)
    auth_failures_per_key: int = Field(default=10, ge=1)
    auth_failure_window_seconds: int = Field(default=300, ge=1)
    # The address residents reach this API at (https://loa.example.vn): with it, every
    # delivery carries a signed acknowledgement link (<public_url>/a/<token>) and Zalo
    # chats get files as signed download links (<public_url>/f/<token>); /baocao's
    # dashboard links start with it too. Without it, none.
    public_url: str | None = None
    # How long those links work after the delivery is sent.
    link_lifetime_days: float = Field(default=7.0, gt=0, le=366)
    # Signs the dashboard's links and session cookies; shared by the bot and the API
    # processes. Empty: `LOA_SECRET_KEY` signs them (and without either, no dashboard).
    session_secret: SecretStr | None = None

    _blank_key = field_validator("bootstrap_key", "public_url", "session_secret", mode="before")(
        _blank_is_none
    )

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be an http(s) address such as https://loa.example.vn")
        return value

    @field_validator("bootstrap_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked when the settings are read, so a weak key stops every process at start.
        from broadcasts.apikeys import bootstrap_key_weakness

        weakness = None if value is None else bootstrap_key_weakness(value.get_secret_value())
        if weakness is not None:
            raise ValueError(f"the bootstrap key is too weak: {weakness}")
        return value


class DeliverySettings(BaseModel):
    per_bot_per_second: float = 30.0
    per_group_per_minute: float = 20.0
    per_chat_per_second: float = 1.0
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    send_timeout_seconds: float = 15.0
    # A worker renews the leases of what it holds every heartbeat; a lease is three
    # heartbeats long, so a dead worker's deliveries are taken over within about 6.5 s
    # and a live one may miss two beats (see delivery/heartbeat.py).
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    lease_seconds: float = Field(default=6.0, gt=0)
    batch_size: int = 200
    poll_interval_seconds: float = 0.5
    concurrency: int = 200


class AttachmentSettings(BaseModel):
    """Files sent with notices: where Loa keeps them (by sha256, so any transport can send
    them again) and how many and how big they may be. Telegram lets a bot download at most
    20 MB and upload photos up to 10 MB, other files up to 50 MB."""

    dir: Path = Path("loa-attachments")
    max_files: int = Field(default=10, ge=1, le=50)
    max_photo_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # How long the bot waits for the rest of an album (its photos come as separate updates).
    album_gather_seconds: float = Field(default=1.0, gt=0, le=30)


class NoticeSettings(BaseModel):
    """Defaults for notices; a ward's policy (`WardPolicy`) overrides them."""

    # Minutes after sending by which groups should press «Đã nhận»; at the deadline the
    # silent groups get one reminder and the official a summary. None: no deadline
    # unless the official picks one (a deadline nobody asked for would remind groups
    # of every notice).
    ack_deadline_minutes: int | None = Field(default=None, ge=5, le=7 * 24 * 60)

    _blank = field_validator("ack_deadline_minutes", mode="before")(_blank_is_none)


class CapSettings(BaseModel):
    """Common Alerting Protocol 1.2: how Loa names itself in the alerts it exports, and
    whether a ward's feed of sent notices is public (`broadcasts.cap`)."""

    # The domain Loa's alerts come from: senders are «<ward code>@<domain>», identifiers
    # «<domain>:notice:<id>» (CAP wants both globally unique).
    sender_domain: str = Field(
        default="loa.local", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9.\-]+$"
    )
    # The Atom feed of each ward's sent notices (and their CAP files) answers without a
    # key, as alert aggregators expect; false: those routes answer 404.
    public_feed: bool = True
    # How long an exported alert stays current when the notice has no deadline.
    expires_hours: int = Field(default=72, ge=1, le=24 * 365)
    # The most notices one feed lists, newest first.
    feed_size: int = Field(default=50, ge=1, le=500)


class CodeSettings(BaseModel):
    """How many wrong invite / registration codes a person or a group may type before
    Loa stops reading codes from them for a while (the real code too)."""

    max_attempts: int = 5
    window_seconds: float = 900.0
    cooloff_seconds: float = 900.0


class AISettings(BaseModel):
    """How the AI step runs. Without `base_url` (or with `enabled=False`) it stays offline."""

    enabled: bool = True
    base_url: str | None = None
    api_key: SecretStr = SecretStr("not-needed")
    model: str = "gpt-4o-mini"
    timeout_seconds: float = 20.0
    max_retries: int = 2
    summary_max_chars: int = 500
    # The length budget of the text a group receives (`broadcasts.ai.budget`, whose
    # defaults these are): min(sent_max_chars, max(sent_min_chars, sent_ratio × original)).
    sent_max_chars: int = Field(default=600, gt=0)
    sent_min_chars: int = Field(default=350, gt=0)
    sent_ratio: float = Field(default=0.75, gt=0, le=1)
    # The longest notice the AI step reads (characters), and how long its own work may take.
    max_notice_chars: int = 10_000
    step_deadline_seconds: float = 10.0

    _blank_url = field_validator("base_url", mode="before")(_blank_is_none)

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_placeholder(cls, value: object) -> object:
        # OpenAI-compatible servers without authentication still want some key.
        if value is None or (isinstance(value, str) and not value.strip()):
            return "not-needed"
        return value

    @field_validator("summary_max_chars")
    @classmethod
    def _sane_limit(cls, value: int) -> int:
        if value < 80:
            raise ValueError("summary_max_chars must be at least 80")
        return value

    @field_validator("max_notice_chars")
    @classmethod
    def _room_for_a_notice(cls, value: int) -> int:
        if value < 500:
            raise ValueError("max_notice_chars must be at least 500")
        return value

    @field_validator("step_deadline_seconds")
    @classmethod
    def _positive_deadline(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("step_deadline_seconds must be positive")
        return value

    @field_validator("max_retries")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("max_retries must not be negative")
        return value

    @model_validator(mode="after")
    def _budget_in_order(self) -> AISettings:
        if self.sent_min_chars > self.sent_max_chars:
            raise ValueError("sent_min_chars must not exceed sent_max_chars")
        return self

    @property
    def remote(self) -> bool:
        """True when an external endpoint may be called."""
        return self.enabled and self.base_url is not None


class MetricsSettings(BaseModel):
    """Who may read `/metrics`: with `token`, a client sending `Authorization: Bearer
    <token>`; without it, only a client on this machine (127.0.0.1 or ::1, and not through
    a proxy that says it forwards someone else)."""

    token: SecretStr | None = None

    _blank = field_validator("token", mode="before")(_blank_is_none)


class HealthSettings(BaseModel):
    """Heartbeats that `/health` reads (`broadcasts.health`): every worker and every bot
    front receiving updates writes one every `beat_seconds`; a part whose latest beat is
    older than `stale_seconds` is stale."""

    beat_seconds: float = Field(default=10.0, gt=0)
    stale_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _beats_within_window(self) -> HealthSettings:
        if self.stale_seconds < 2 * self.beat_seconds:
            raise ValueError("stale_seconds must be at least twice beat_seconds")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOA_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        # Errors name the key and the reason, never the value: it may be a secret.
        hide_input_in_errors=True,
    )

    database_url: str = "sqlite+aiosqlite:///./loa.db"
    redis_url: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    default_locale: str = DEFAULT_LOCALE
    log_level: str = "INFO"
    # Fernet key that encrypts bot tokens at rest (`loa run` refuses to start without it
    # once a bot is stored).
    secret_key: SecretStr | None = None

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    zalo: ZaloSettings = Field(default_factory=ZaloSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    ai: AISettings = Field(default_factory=AISettings)
    codes: CodeSettings = Field(default_factory=CodeSettings)
    attachments: AttachmentSettings = Field(default_factory=AttachmentSettings)
    notices: NoticeSettings = Field(default_factory=NoticeSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    cap: CapSettings = Field(default_factory=CapSettings)

    _blank_redis = field_validator("redis_url", "secret_key", mode="before")(_blank_is_none)

    @property
    def transport_rates(self) -> dict[str, float]:
        """Account send rates of the platforms slower than `delivery.per_bot_per_second`."""
        return {"zalo": self.zalo.per_bot_per_second}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. {DEFAULT_TIMEZONE})") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _has_catalog(cls, value: str) -> str:
        known = sorted(p.name for p in LOCALES_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
        if value not in known:
            raise ValueError(f"no catalog for locale {value!r} (one of {', '.join(known)})")
        return value
