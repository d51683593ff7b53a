"""One settings object for every Loa process, read from the environment and `.env`.

Keys are prefixed `LOA_`; nested groups use `__` (for example `LOA_TELEGRAM__TOKEN`).
Every key is listed, with a comment, in `.env.example`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broadcasts.ai import AISettings


def _blank_is_none(value: object) -> object:
    # `.env.example` lists every key, so an unset secret arrives as an empty string.
    return None if value == "" else value


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

    _blank_token = field_validator("token", "webhook_url", "webhook_secret", mode="before")(
        _blank_is_none
    )


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    bootstrap_key: SecretStr | None = None

    _blank_key = field_validator("bootstrap_key", mode="before")(_blank_is_none)


class DeliverySettings(BaseModel):
    per_bot_per_second: float = 30.0
    per_group_per_minute: float = 20.0
    per_chat_per_second: float = 1.0
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    send_timeout_seconds: float = 15.0
    lease_seconds: float = 60.0
    batch_size: int = 200
    poll_interval_seconds: float = 0.5
    concurrency: int = 200


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOA_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = "sqlite+aiosqlite:///./loa.db"
    redis_url: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    log_level: str = "INFO"

    _blank_redis = field_validator("redis_url", mode="before")(_blank_is_none)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    ai: AISettings = Field(default_factory=AISettings)


@lru_cache
def get_settings() -> Settings:
    return Settings()
