"""Signed links: what a token says, and every way one is refused (tampered, expired, of
another kind or delivery, signed by another key); the page's cookie and CSRF check."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from broadcasts.errors import LinkRefused
from broadcasts.links import (
    TOKEN_CHARS,
    LinkKind,
    LinkMaker,
    is_page_check,
    new_person_cookie,
    page_check,
    person_of_cookie,
    sign,
    verify,
)
from broadcasts.tokens import use_token_key

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _refused(token: str, kind: LinkKind, now: datetime = NOW) -> str:
    with pytest.raises(LinkRefused) as caught:
        verify(token, kind, now=now)
    return caught.value.reason


def test_a_link_says_its_delivery_and_expiry_and_is_always_as_long() -> None:
    maker = LinkMaker(public_url="https://loa.example.vn/", lifetime=WEEK, clock=Clock(NOW))
    for delivery_id in (1, 7, 2**40):
        url = maker.ack_url(delivery_id)
        assert url.startswith("https://loa.example.vn/a/")
        assert len(url) == maker.url_length
        claim = verify(_token(url), LinkKind.ack, now=NOW)
        assert (claim.kind, claim.delivery_id) == (LinkKind.ack, delivery_id)
        assert claim.attachment_id == 0
        assert claim.expires_at == NOW + WEEK
    file_url = maker.file_url(9, 31)
    assert file_url.startswith("https://loa.example.vn/f/") and len(file_url) == maker.url_length
    claim = verify(_token(file_url), LinkKind.file, now=NOW)
    assert (claim.delivery_id, claim.attachment_id) == (9, 31)


def test_a_tampered_token_is_refused_wherever_it_is_changed() -> None:
    token = sign(LinkKind.ack, delivery_id=12, expires_at=NOW + WEEK)
    assert len(token) == TOKEN_CHARS
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    for index in range(len(raw)):  # every byte: kind, delivery, attachment, expiry, MAC
        changed = bytearray(raw)
        changed[index] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        assert _refused(forged, LinkKind.ack) == "invalid", index
    assert _refused(token[:-1], LinkKind.ack) == "invalid"
    assert _refused(token + "A", LinkKind.ack) == "invalid"
    assert _refused("!" * TOKEN_CHARS, LinkKind.ack) == "invalid"
    assert _refused("", LinkKind.ack) == "invalid"


def test_a_token_for_another_delivery_is_not_this_one() -> None:
    """Changing the delivery id inside a valid token (to acknowledge another group's
    notice) breaks the signature; a token of delivery 12 opens delivery 12 only."""
    token = sign(LinkKind.ack, delivery_id=12, expires_at=NOW + WEEK)
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    raw[1:9] = (13).to_bytes(8, "big")
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert _refused(forged, LinkKind.ack) == "invalid"
    assert verify(token, LinkKind.ack, now=NOW).delivery_id == 12


def test_a_token_expires_at_its_time_by_the_injected_clock() -> None:
    clock = Clock(NOW)
    maker = LinkMaker(public_url="http://x.test", lifetime=timedelta(days=2), clock=clock)
    token = _token(maker.ack_url(5))
    assert verify(token, LinkKind.ack, now=NOW + timedelta(days=2, seconds=-1)).delivery_id == 5
    assert _refused(token, LinkKind.ack, NOW + timedelta(days=2)) == "expired"
    assert _refused(token, LinkKind.ack, NOW + timedelta(days=30)) == "expired"
    clock.at = NOW + timedelta(days=30)  # a link made later lives from then
    later = _token(maker.ack_url(5))
    assert verify(later, LinkKind.ack, now=NOW + timedelta(days=31)).delivery_id == 5


def test_an_acknowledgement_token_is_no_download_and_back() -> None:
    ack = sign(LinkKind.ack, delivery_id=3, expires_at=NOW + WEEK)
    download = sign(LinkKind.file, delivery_id=3, attachment_id=4, expires_at=NOW + WEEK)
    assert _refused(ack, LinkKind.file) == "invalid"
    assert _refused(download, LinkKind.ack) == "invalid"


def test_another_key_refuses_and_a_rotated_key_still_verifies(token_key: str) -> None:
    token = sign(LinkKind.ack, delivery_id=3, expires_at=NOW + WEEK)
    new_key = Fernet.generate_key().decode()
    use_token_key(new_key)
    assert _refused(token, LinkKind.ack) == "invalid"
    use_token_key(f"{new_key},{token_key}")  # rotation: the old key still verifies
    assert verify(token, LinkKind.ack, now=NOW).delivery_id == 3
    assert sign(LinkKind.ack, delivery_id=3, expires_at=NOW + WEEK) != token  # the new signs


def test_the_person_cookie_and_the_page_check() -> None:
    cookie = new_person_cookie()
    person = person_of_cookie(cookie)
    assert person is not None and len(f"link:{person}") <= 64
    assert person_of_cookie(new_person_cookie()) != person
    forged = ("A" if cookie[0] != "A" else "B") + cookie[1:]
    assert person_of_cookie(forged) is None
    assert person_of_cookie(cookie + "x") is None
    assert person_of_cookie(None) is None
    assert person_of_cookie("no-dot") is None
    token = sign(LinkKind.ack, delivery_id=3, expires_at=NOW + WEEK)
    other = sign(LinkKind.ack, delivery_id=4, expires_at=NOW + WEEK)
    check = page_check(token, person)
    assert is_page_check(check, token, person)
    assert not is_page_check(check, other, person)  # bound to the link
    assert not is_page_check(check, token, "someone-else")  # and to the browser
    assert not is_page_check(check, token, None)
    assert not is_page_check("", token, person)
    assert not is_page_check(check[:-2] + "AA", token, person)
