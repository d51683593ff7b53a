"""Who may open the dashboard: signed links for officials, sessions for everyone.

An official asks the bot (`/baocao`) and gets a link holding a signed token (their id and
ward), valid for `LINK_SECONDS`. An admin signs in once with an API key. Either way the
browser then holds a session cookie: a signed value naming the official or the key and
carrying the session's CSRF token; nothing is stored on the server. Every request looks
the official or key up again, so a deactivated official or a revoked key stops at once.

The signing secret is `LOA_API__SESSION_SECRET`, else `LOA_SECRET_KEY`: the bot (which
signs links) and the API (which reads them) must share it. itsdangerous does the signing;
its timestamps give the expiries.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.apikeys import has_scope
from broadcasts.errors import LinkRefused, LoaError
from broadcasts.models import ApiKey, Official
from broadcasts.settings import Settings
from broadcasts.tenancy import Tenant, tenant_for_ward

LINK_SECONDS = 24 * 3600
SESSION_SECONDS = 12 * 3600
_LINK_SALT = "loa.dashboard.link"
_SESSION_SALT = "loa.dashboard.session"

Kind = Literal["official", "key"]


class DashboardUnavailable(LoaError):
    """Raised when no secret is configured to sign dashboard links and sessions."""


def signing_secret(settings: Settings) -> str:
    secret = settings.api.session_secret or settings.secret_key
    if secret is None:
        raise DashboardUnavailable(
            "set LOA_API__SESSION_SECRET (or LOA_SECRET_KEY) to use the dashboard"
        )
    return secret.get_secret_value()


def _serializer(
    secret: str, salt: str, issued_at: datetime | None = None
) -> URLSafeTimedSerializer:
    if issued_at is None:
        return URLSafeTimedSerializer(secret, salt=salt)
    stamp = int(issued_at.timestamp())

    class Dated(TimestampSigner):  # a link dated by its caller (a test's clock)
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(secret, salt=salt, signer=Dated)


def link_token(*, secret: str, official: Official, issued_at: datetime | None = None) -> str:
    """The signed token of an official's dashboard link (valid `LINK_SECONDS`)."""
    return str(
        _serializer(secret, _LINK_SALT, issued_at).dumps({"o": official.id, "w": official.ward_id})
    )


def dashboard_link(*, public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/dashboard/open?t={token}"


def read_link(*, secret: str, token: str) -> int:
    """The official id in a link token; `LinkRefused` ("expired" or "invalid") if not."""
    try:
        data = _serializer(secret, _LINK_SALT).loads(token, max_age=LINK_SECONDS)
    except SignatureExpired as exc:
        raise LinkRefused("expired", "this dashboard link has expired") from exc
    except BadSignature as exc:
        raise LinkRefused("invalid", "this dashboard link is not valid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("o"), int):
        raise LinkRefused("invalid", "this dashboard link is not valid")
    return int(data["o"])


@dataclass(frozen=True, slots=True)
class SessionData:
    kind: Kind
    subject_id: int
    csrf: str


def session_value(*, secret: str, kind: Kind, subject_id: int) -> str:
    """A new session's cookie value, with a fresh CSRF token in it."""
    payload = {"k": kind, "i": subject_id, "c": secrets.token_urlsafe(24)}
    return str(_serializer(secret, _SESSION_SALT).dumps(payload))


def read_session(*, secret: str, value: str) -> SessionData | None:
    """The session in a cookie value; None when it is forged, altered or too old."""
    try:
        data = _serializer(secret, _SESSION_SALT).loads(value, max_age=SESSION_SECONDS)
    except BadSignature:  # SignatureExpired is one
        return None
    if (
        not isinstance(data, dict)
        or data.get("k") not in ("official", "key")
        or not isinstance(data.get("i"), int)
        or not isinstance(data.get("c"), str)
    ):
        return None
    return SessionData(kind=data["k"], subject_id=data["i"], csrf=data["c"])


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a dashboard session and what they may see and do."""

    kind: Kind
    subject_id: int
    name: str
    locale: str
    tenant: Tenant
    csrf: str
    may_remind: bool

    @property
    def actor(self) -> str:
        """How the audit log names them (as the bot and the API do)."""
        return f"dashboard:{self.kind}:{self.subject_id}:{self.name}"


async def viewer_of(
    *, session: AsyncSession, data: SessionData, settings: Settings
) -> Viewer | None:
    """The session's viewer; None when the official or key no longer may come in."""
    if data.kind == "official":
        official = await session.get(Official, data.subject_id)
        if official is None or not official.active:
            return None
        tenant = await tenant_for_ward(session=session, ward_id=official.ward_id)
        return Viewer(
            "official", data.subject_id, official.name, official.locale, tenant, data.csrf, True
        )
    key = await session.get(ApiKey, data.subject_id)
    bootstrap_off = key is not None and key.bootstrap and settings.api.bootstrap_key is None
    if key is None or key.revoked_at is not None or bootstrap_off:
        return None
    if not has_scope(key, "reports"):
        return None
    tenant = await tenant_for_ward(session=session, ward_id=key.ward_id)
    return Viewer(
        "key",
        data.subject_id,
        key.name,
        settings.default_locale,
        tenant,
        data.csrf,
        has_scope(key, "admin"),
    )


def official_link(*, settings: Settings, official: Official) -> str | None:
    """The dashboard link `/baocao` gives an official; None when the dashboard has no
    public address or nothing to sign with."""
    public = settings.api.public_url
    if public is None:
        return None
    try:
        secret = signing_secret(settings)
    except DashboardUnavailable:
        return None
    return dashboard_link(public_url=public, token=link_token(secret=secret, official=official))
