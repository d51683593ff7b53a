"""Bot tokens at rest: encrypted with Fernet, found again by a hash.

`bot_account.token` holds the Fernet ciphertext (`SealedToken` encrypts on write and
decrypts on read, so code handles plain tokens only); `bot_account.token_hash` holds the
token's SHA-256, which finds an account by its token without decrypting every row
(Fernet ciphertexts differ each time). A Telegram token has far too much entropy for its
hash to be reversed.

The key is one per process (`LOA_SECRET_KEY`), installed once at start by the runtime
(`use_token_key`); reading or writing a token without it raises `TokenKeyMissing`. Several
keys separated by commas rotate it: the first encrypts, any of them decrypts.

The same keys sign Loa's links (`broadcasts.links`): `signing_keys(purpose)` derives one
HMAC key per key and purpose, so a link signature never doubles as anything else and a
rotated key keeps the links it signed working until it is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from broadcasts.errors import LoaError

# What Fernet ciphertexts start with (version byte 0x80, base64): a stored plain token
# (from before encryption) never does.
FERNET_PREFIX = "gAAAAA"


class TokenKeyMissing(LoaError):
    """Raised when a bot token must be read or written and no key is installed."""


class TokenKeyInvalid(LoaError):
    """Raised when the key is malformed or does not decrypt a stored token."""


_cipher: MultiFernet | None = None
_keys: tuple[bytes, ...] = ()


def make_cipher(keys: str) -> MultiFernet:
    """The cipher of a comma-separated list of Fernet keys (the first one encrypts)."""
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise TokenKeyInvalid("LOA_SECRET_KEY is empty")
    try:
        return MultiFernet([Fernet(k) for k in parts])
    except ValueError as exc:
        raise TokenKeyInvalid(
            "LOA_SECRET_KEY must be a Fernet key: 32 url-safe base64-encoded bytes "
            '(python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())")'
        ) from exc


def use_token_key(keys: str | None) -> None:
    """Install (or, with None, remove) this process's key."""
    global _cipher, _keys
    _cipher = make_cipher(keys) if keys is not None else None
    _keys = (
        tuple(base64.urlsafe_b64decode(k.strip()) for k in keys.split(",") if k.strip())
        if keys is not None
        else ()
    )


def signing_keys(purpose: bytes) -> tuple[bytes, ...]:
    """The HMAC keys for `purpose`, derived from this process's keys (the first signs,
    any of them verifies); TokenKeyMissing without a key."""
    _current()
    return tuple(hmac.new(key, b"loa:" + purpose, hashlib.sha256).digest() for key in _keys)


def has_token_key() -> bool:
    return _cipher is not None


def _current() -> MultiFernet:
    if _cipher is None:
        raise TokenKeyMissing(
            "bot tokens are encrypted: set LOA_SECRET_KEY (a Fernet key) to store or read them"
        )
    return _cipher


def seal(token: str) -> str:
    return _current().encrypt(token.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _current().decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise TokenKeyInvalid(
            "a stored bot token does not decrypt with LOA_SECRET_KEY (wrong key?)"
        ) from exc


def is_sealed(value: str) -> bool:
    return value.startswith(FERNET_PREFIX)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SealedToken(TypeDecorator[str]):
    """A string column stored encrypted: plain in Python, Fernet ciphertext in the table."""

    impl = String(200)  # a 46-character token's ciphertext is 140
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return unseal(str(value))
