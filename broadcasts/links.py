"""Signed, expiring links of one delivery: `/a/<token>` acknowledges its notice, `/f/<token>`
downloads one of its files.

A token is 33 bytes in URL-safe base64 without padding, always 44 characters:

    kind (1) · delivery id (8) · attachment id (4, 0 for an ack) · expiry, unix s (4) · MAC (16)

the MAC being HMAC-SHA256 over the first 17 bytes, cut to 128 bits, under a key derived
from `LOA_SECRET_KEY` for links only (`broadcasts.tokens.signing_keys`). Written with the
standard library's `hmac` rather than itsdangerous on purpose: a token of fixed length
lets the engine keep room for the link line in a 2,000-character Zalo message before it
renders the notice once for thousands of deliveries (`LinkMaker.url_length`); itsdangerous'
tokens grow with their payload and timestamp. Comparison is constant-time.

The same keys sign the two small values of the acknowledgement page (`person_cookie`,
`page_check`): a long-lived cookie that names a browser, and the page's CSRF check,
bound to the link and the cookie, so a POST from another site cannot acknowledge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from broadcasts.errors import LinkRefused
from broadcasts.settings import Settings
from broadcasts.tokens import has_token_key, signing_keys

_LAYOUT = struct.Struct(">BQII")
_MAC_BYTES = 16
TOKEN_CHARS = 44  # base64 of 33 bytes
ACK_PATH = "/a/"
FILE_PATH = "/f/"
_PERSON_BYTES = 12
_TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_CHARS}}}")  # 33 bytes: no padding bits


class LinkKind(IntEnum):
    ack = 1
    file = 2


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a verified token says."""

    kind: LinkKind
    delivery_id: int
    attachment_id: int
    expires_at: datetime


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(kind: LinkKind, *, delivery_id: int, expires_at: datetime, attachment_id: int = 0) -> str:
    """The token of a link (see the module docstring)."""
    seconds = int(expires_at.timestamp())
    payload = _LAYOUT.pack(int(kind), delivery_id, attachment_id, seconds)
    return _b64(payload + _mac(signing_keys(b"link")[0], payload))


def verify(token: str, kind: LinkKind, *, now: datetime) -> LinkClaim:
    """What `token` says, if this process signed it for `kind` and it has not expired;
    else LinkRefused ("invalid" or "expired")."""
    # Only the URL-safe alphabet: the decoder would otherwise skip characters it does not know.
    if not _TOKEN_SHAPE.fullmatch(token):
        raise LinkRefused("invalid", "the link is not one of Loa's")
    raw = _unb64(token)
    payload, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if len(mac) != _MAC_BYTES or not any(
        hmac.compare_digest(mac, _mac(key, payload)) for key in signing_keys(b"link")
    ):
        raise LinkRefused("invalid", "the link's signature does not match")
    found, delivery_id, attachment_id, seconds = _LAYOUT.unpack(payload)
    if found != kind:
        raise LinkRefused("invalid", "the link is of another kind")
    expires_at = datetime.fromtimestamp(seconds, UTC)
    if now >= expires_at:
        raise LinkRefused("expired", "the link has expired")
    return LinkClaim(LinkKind(found), delivery_id, attachment_id, expires_at)


class LinkMaker:
    """Makes the links of deliveries: `<public_url>/a/<token>`, `<public_url>/f/<token>`,
    each valid for `lifetime` from now (`clock`)."""

    def __init__(
        self,
        *,
        public_url: str,
        lifetime: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.lifetime = lifetime
        self._clock = clock

    @property
    def url_length(self) -> int:
        """Every link's length (the paths have the same length, the token is fixed)."""
        return len(self.public_url) + len(ACK_PATH) + TOKEN_CHARS

    def ack_url(self, delivery_id: int) -> str:
        expires = self._clock() + self.lifetime
        return (
            self.public_url
            + ACK_PATH
            + sign(LinkKind.ack, delivery_id=delivery_id, expires_at=expires)
        )

    def file_url(self, delivery_id: int, attachment_id: int) -> str:
        expires = self._clock() + self.lifetime
        token = sign(
            LinkKind.file, delivery_id=delivery_id, attachment_id=attachment_id, expires_at=expires
        )
        return self.public_url + FILE_PATH + token


def link_maker(settings: Settings) -> LinkMaker | None:
    """The process's links, or None when `LOA_API__PUBLIC_URL` is unset (or no key signs)."""
    if settings.api.public_url is None or not has_token_key():
        return None
    return LinkMaker(
        public_url=settings.api.public_url,
        lifetime=timedelta(days=settings.api.link_lifetime_days),
    )


# --- the acknowledgement page's cookie and CSRF check -------------------------------------


def new_person_cookie() -> str:
    """A fresh browser id with its signature: «<id>.<mac>»."""
    person = secrets.token_urlsafe(_PERSON_BYTES)
    return f"{person}.{_b64(_mac(signing_keys(b'person')[0], person.encode()))}"


def person_of_cookie(value: str | None) -> str | None:
    """The browser id a cookie names, if this process signed it; else None."""
    if not value or value.count(".") != 1 or len(value) > 64:
        return None
    person, mac = value.split(".")
    try:
        given = _unb64(mac)
    except (binascii.Error, ValueError):
        return None
    if any(
        hmac.compare_digest(given, _mac(key, person.encode())) for key in signing_keys(b"person")
    ):
        return person
    return None


def page_check(token: str, person: str) -> str:
    """The CSRF value of the page of `token` shown to `person`."""
    return _b64(_mac(signing_keys(b"page")[0], f"{token}|{person}".encode()))


def is_page_check(value: str | None, token: str, person: str | None) -> bool:
    if not value or person is None:
        return False
    try:
        given = _unb64(value)
    except (binascii.Error, ValueError):
        return False
    payload = f"{token}|{person}".encode()
    return any(hmac.compare_digest(given, _mac(key, payload)) for key in signing_keys(b"page"))
